//! The kernel-facts rows (issue 10): how soon a line read and a secret read
//! are reported, a program with no prompt (`bc -q` through customConfig),
//! and what one probe costs.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use super::{Client, RawPty, median, ms};

/// Time from sending `code` to a result that says the program awaits
/// `kind`; then `answer` is typed so the session is back at its prompt.
fn detection(
    c: &mut Client,
    id: &str,
    code: &str,
    kind: &str,
    answer: &str,
    runs: usize,
) -> anyhow::Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let r = c.tool(
            "send_input_to_session",
            json!({"sessionId": id, "input": code,
                   "options": {"wait_for_prompt": true, "timeout": 10000}}),
        )?;
        times.push(t.elapsed());
        if r["state"] != "awaiting_input" || r["awaitingInput"] != kind {
            bail!("{code}: expected awaiting_input/{kind}, got {r}");
        }
        let back = c.eval(id, answer)?;
        if back["state"] != "ready" {
            bail!("{code}: the answer did not bring the prompt back: {back}");
        }
    }
    Ok(median(times))
}

pub(super) fn kernel_rows(
    c: &mut Client,
    row: &mut dyn FnMut(&str, String, String, String),
) -> anyhow::Result<()> {
    let created = c.tool("create_session", json!({"presetConfig": "python"}))?;
    let id = created["sessionId"]
        .as_str()
        .context("no sessionId")?
        .to_string();
    let line = detection(c, &id, "x = input('Name? ')", "line", "Ada", 20)?;
    row(
        "a line read reported (python `input`), median of 20",
        ms(line),
        "–".into(),
        "target ≤ 100 ms (before: the whole timeout)".into(),
    );
    let secret = detection(
        c,
        &id,
        "import getpass; p = getpass.getpass('Secret: ')",
        "password",
        "hunter2",
        20,
    )?;
    row(
        "a secret read reported (getpass, prompt `Secret: `), median of 20",
        ms(secret),
        "–".into(),
        "target ≤ 100 ms (before: 10 s)".into(),
    );
    c.tool("destroy_repl_session", json!({"sessionId": id}))?;

    let t = Instant::now();
    let created = c.tool(
        "create_session",
        json!({"customConfig": {"commands": ["bc -q"]}}),
    )?;
    let create_time = t.elapsed();
    let id = created["sessionId"]
        .as_str()
        .context("no sessionId")?
        .to_string();
    let mut evals = Vec::new();
    for i in 0..20 {
        let t = Instant::now();
        let r = c.eval(&id, &format!("{i}*7"))?;
        evals.push(t.elapsed());
        if r["output"].as_str() != Some((i * 7).to_string().as_str()) {
            bail!("bc: wrong answer for {i}*7: {r}");
        }
    }
    row(
        "`bc -q` via customConfig (no prompt): create / eval median of 20",
        format!("{} / {}", ms(create_time), ms(median(evals))),
        "–".into(),
        "targets ≤ 1 s / ≤ 50 ms (before: 30 s and failure)".into(),
    );
    c.tool("destroy_repl_session", json!({"sessionId": id}))?;

    let (raw, _) = RawPty::python()?;
    let fd = raw._master.as_raw_fd().context("no master fd")?;
    let mut probes = Vec::new();
    for _ in 0..2000 {
        let t = Instant::now();
        let facts = crate::session::kernel::probe(fd);
        probes.push(t.elapsed());
        if facts.reading_terminal() != Some(true) {
            bail!("probe of python at its prompt: {facts:?}");
        }
    }
    row(
        "one kernel probe (termios, foreground, /proc), median of 2000",
        format!("{:.1} µs", median(probes).as_secs_f64() * 1e6),
        "–".into(),
        "paid once per prompt and when output pauses".into(),
    );
    Ok(())
}
