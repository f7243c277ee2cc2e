//! The bulk output rows: a python session printing 20,000 and 200,000
//! lines, next to the same work on a raw PTY. One run of each is at the
//! mercy of whatever else the machine does for those 200 ms, so the two
//! alternate and the medians are compared.

use std::time::Duration;

use super::recorded::timed;
use super::{Client, RawPty, median, ms};

/// Alternated runs per row.
const RUNS: usize = 7;

pub(super) fn bulk_rows(
    c: &mut Client,
    raw: &mut RawPty,
    id: &str,
    row: &mut dyn FnMut(&str, String, String, String),
) -> anyhow::Result<()> {
    for lines in [20_000usize, 200_000] {
        let cmd = format!(
            "print('\\n'.join(f'line {{i}} of the bulk output test' for i in range({lines})))"
        );
        let (mut server, mut bare): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            server.push(timed(c, id, &cmd)?);
            bare.push(raw.run(&cmd)?);
        }
        let (server, bare) = (median(server), median(bare));
        row(
            &format!("bulk output, {lines} lines"),
            ms(server),
            ms(bare),
            format!(
                "{:.2}× raw (medians of {RUNS}, alternated)",
                server.as_secs_f64() / bare.as_secs_f64()
            ),
        );
    }
    Ok(())
}
