//! The `ssh` target's row (issue 13): an eval round trip through a
//! throwaway sshd on 127.0.0.1, next to a raw PTY running the very same
//! ssh command.

use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use super::{Client, RawPty, ms};
use crate::preset::target::loopback::LoopbackSshd;

pub(super) fn ssh_round_trip(
    c: &mut Client,
    evals: usize,
    row: &mut dyn FnMut(&str, String, String, String),
) -> anyhow::Result<()> {
    let what = format!("eval round trip over ssh to 127.0.0.1, median of {evals}");
    if !LoopbackSshd::available() {
        row(
            &what,
            "skipped".into(),
            "–".into(),
            "openssh-server is not installed".into(),
        );
        return Ok(());
    }
    let sshd = LoopbackSshd::start().map_err(anyhow::Error::msg)?;
    let dir = super::config_home().join("repl-mcp").join("targets");
    std::fs::create_dir_all(&dir)?;
    let toml = sshd
        .target_toml("bench-loopback")
        .map_err(anyhow::Error::msg)?;
    std::fs::write(dir.join("bench-loopback.toml"), toml)?;
    c.tool("reload_presets", json!({}))?;
    let t = Instant::now();
    let created = c.tool(
        "create_session",
        json!({"presetConfig": "python", "target": "bench-loopback",
               "parameters": {"host": "127.0.0.1", "port": sshd.port.to_string(), "user": sshd.user}}),
    )?;
    let create_time = t.elapsed();
    let id = created["sessionId"]
        .as_str()
        .context("no sessionId")?
        .to_string();
    let details = c.tool("get_session_details", json!({"sessionId": id}))?;
    let argv: Vec<String> = serde_json::from_value(details["session"]["argv"].clone())?;
    let (mut raw, raw_start) = RawPty::spawn(argv)?;

    let (server_median, raw_median) = super::round_trips(c, &mut raw, &id, evals)?;
    row(
        "create_session(python) over ssh to 127.0.0.1",
        ms(create_time),
        ms(raw_start),
        "raw = the same ssh command to python's first prompt".into(),
    );
    row(
        &what,
        ms(server_median),
        ms(raw_median),
        "`print(i*7)` through sshd, result checked".into(),
    );
    c.tool("destroy_repl_session", json!({"sessionId": id}))?;
    Ok(())
}
