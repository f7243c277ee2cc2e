//! The `--persist` rows (issue 12): a front's start, cold and warm, and the
//! eval round trip through a front and the daemon next to the in-process
//! server, alternating so both see the same machine.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::{Client, median, ms};

/// A front: spawn it and finish the MCP handshake.
fn front(bin: &std::path::PathBuf, runtime: &Path) -> anyhow::Result<(Client, Duration)> {
    let t = Instant::now();
    let mut c = Client::spawn_env(
        bin,
        &["--persist", "--no-web-ui"],
        &[("XDG_RUNTIME_DIR", runtime)],
    )?;
    c.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}),
    )?;
    c.notify("notifications/initialized")?;
    Ok((c, t.elapsed()))
}

fn close(mut c: Client) {
    drop(c.stdin);
    let _ = c.child.wait();
}

pub(super) fn through_front(
    bin: &std::path::PathBuf,
    in_process: &mut Client,
    in_process_id: &str,
    evals: usize,
    row: &mut dyn FnMut(&str, String, String, String),
) -> anyhow::Result<()> {
    let runtime = super::config_home().join("run");
    std::fs::create_dir_all(&runtime)?;
    let result = measure(bin, &runtime, in_process, in_process_id, evals, row);
    let _ = std::process::Command::new(bin)
        .args(["daemon", "stop"])
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdout(std::process::Stdio::null())
        .status();
    result
}

fn measure(
    bin: &std::path::PathBuf,
    runtime: &Path,
    in_process: &mut Client,
    in_process_id: &str,
    evals: usize,
    row: &mut dyn FnMut(&str, String, String, String),
) -> anyhow::Result<()> {
    let (mut f, cold) = front(bin, runtime)?;
    row(
        "--persist front start, no daemon yet",
        ms(cold),
        "–".into(),
        "spawn + initialize; starts the daemon".into(),
    );
    let created = f.tool("create_session", json!({"presetConfig": "python"}))?;
    let id = created["sessionId"]
        .as_str()
        .context("no sessionId")?
        .to_string();
    let (mut through, mut direct) = (Vec::new(), Vec::new());
    for i in 0..evals {
        let t = Instant::now();
        let r = f.eval(&id, &format!("print({i}*7)"))?;
        through.push(t.elapsed());
        if r["output"].as_str().and_then(|s| s.parse::<usize>().ok()) != Some(i * 7) {
            anyhow::bail!("wrong answer through the front: {r}");
        }
        let t = Instant::now();
        in_process.eval(in_process_id, &format!("print({i}*7)"))?;
        direct.push(t.elapsed());
    }
    let (through, direct) = (median(through), median(direct));
    row(
        &format!("eval round trip through a --persist front, median of {evals}"),
        ms(through),
        "–".into(),
        format!(
            "in-process, same run: {}; {:+.3} ms",
            ms(direct),
            (through.as_secs_f64() - direct.as_secs_f64()) * 1000.0
        ),
    );
    let mut warm = Vec::new();
    for _ in 0..10 {
        let (c, took) = front(bin, runtime)?;
        warm.push(took);
        close(c);
    }
    row(
        "--persist front start, daemon running",
        ms(median(warm)),
        "–".into(),
        "spawn + initialize, median of 10".into(),
    );
    close(f);
    Ok(())
}
