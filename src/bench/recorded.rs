//! The transcripts row (issue 14): the 200,000-line bulk output with the
//! session recorded (`--record-dir`), next to the same workload on a
//! session that is not, so that what recording costs shows.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use super::{Client, median, ms};

/// Runs of each workload, alternated; the medians are compared.
const RUNS: usize = 7;

/// `cmd` on session `id` of `c`, timed; the output must not be empty.
pub(super) fn timed(c: &mut Client, id: &str, cmd: &str) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let r = c.eval(id, cmd)?;
    let took = t.elapsed();
    if r["totalLength"].as_u64().unwrap_or(0) == 0 {
        bail!("bulk output came back empty: {r}");
    }
    Ok(took)
}

/// `plain`/`plain_id`: the unrecorded server and python session the other
/// rows use. Runs alternate between the two, so both see the same machine.
pub(super) fn bulk_recorded(
    bin: &std::path::PathBuf,
    plain: &mut Client,
    plain_id: &str,
    lines: usize,
    row: &mut dyn FnMut(&str, String, String, String),
) -> anyhow::Result<()> {
    let casts = tempfile::tempdir().context("no temporary directory for the casts")?;
    let dir = casts
        .path()
        .to_str()
        .context("temporary directory not UTF-8")?;
    let mut c = Client::spawn_with(bin, &["--no-web-ui", "--record-dir", dir])?;
    c.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}),
    )?;
    c.notify("notifications/initialized")?;
    let created = c.tool("create_session", json!({"presetConfig": "python"}))?;
    let id = created["sessionId"]
        .as_str()
        .context("no sessionId")?
        .to_string();
    let cast = created["castPath"]
        .as_str()
        .context("the session is not recorded (no castPath)")?
        .to_string();
    let cmd =
        format!("print('\\n'.join(f'line {{i}} of the bulk output test' for i in range({lines})))");
    let (mut recorded, mut unrecorded) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        unrecorded.push(timed(plain, plain_id, &cmd)?);
        recorded.push(timed(&mut c, &id, &cmd)?);
    }
    let (recorded, unrecorded) = (median(recorded), median(unrecorded));
    // Wall time on a busy machine varies more than recording costs; the
    // recorder thread's own CPU time says what it takes.
    let recorder_cpu = thread_cpu(c.child.id(), "cast-recorder");
    // Destroying the session waits for the cast to be complete.
    c.tool("destroy_repl_session", json!({"sessionId": id}))?;
    drop(c.stdin);
    let _ = c.child.wait();
    let text = std::fs::read_to_string(&cast).with_context(|| format!("reading {cast}"))?;
    let parsed = crate::cast::Cast::parse(&text, std::path::Path::new(&cast))?;
    let output: String = parsed
        .events
        .iter()
        .filter(|e| e.code == crate::cast::EventCode::Output)
        .map(|e| e.data.as_str())
        .collect();
    let last = format!("line {} of the bulk output test", lines - 1);
    if output.matches(last.as_str()).count() < RUNS {
        bail!("the cast {cast} lacks output: {last:?} is not there {RUNS} times");
    }
    row(
        &format!("bulk output, {lines} lines, recorded"),
        ms(recorded),
        "–".into(),
        format!(
            "{:+.1}% vs {} unrecorded (medians of {RUNS}, alternated); recorder thread {} CPU per run; cast {:.1} MB per run",
            (recorded.as_secs_f64() / unrecorded.as_secs_f64() - 1.0) * 100.0,
            ms(unrecorded),
            recorder_cpu.map_or_else(|| "?".to_string(), |d| ms(d / RUNS as u32)),
            text.len() as f64 / 1e6 / RUNS as f64
        ),
    );
    Ok(())
}

/// CPU time (user + system) of the threads of process `pid` named `name`.
fn thread_cpu(pid: u32, name: &str) -> Option<Duration> {
    // SAFETY: sysconf has no preconditions.
    let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?;
    let (mut total, mut found) = (0u64, false);
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let dir = task.ok()?.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        found = true;
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        // Fields after the `(comm)`: utime and stime are the 12th and 13th.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        for i in [11, 12] {
            total += fields.get(i)?.parse::<u64>().ok()?;
        }
    }
    found.then(|| Duration::from_millis(total * 1000 / ticks.max(1)))
}
