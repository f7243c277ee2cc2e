//! Benchmark rows for transcripts (`repl-mcp bench`): replaying a
//! 10,000-chunk cast through a plugin, and what recording costs the bulk
//! output path.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{Cast, CastEvent, CastHeader, EventCode};
use crate::plugin::PluginHost;
use crate::plugin::replay::{ReplayOptions, replay};

/// A python-like session: `chunks` output events, an input every ten.
pub fn synthetic_cast(chunks: usize) -> Cast {
    let mut events = Vec::with_capacity(chunks + chunks / 10);
    let mut t = 0.0;
    for i in 0..chunks {
        t += 0.001;
        if i % 10 == 0 {
            events.push(CastEvent {
                time: t,
                code: EventCode::Input,
                data: format!("print({i})\r"),
            });
        }
        let data = match i % 10 {
            0 => format!("print({i})\r\n"),
            9 => format!("{i}\r\n>>> "),
            _ => format!("\x1b[32mline {i} of the replay benchmark\x1b[0m\r\n"),
        };
        events.push(CastEvent {
            time: t,
            code: EventCode::Output,
            data,
        });
    }
    let lines = (1..=events.len()).collect();
    Cast {
        header: CastHeader {
            version: 2,
            width: 80,
            height: 24,
            timestamp: None,
            command: Some("python3 -q".into()),
            title: None,
            env: BTreeMap::new(),
            repl_mcp: None,
        },
        events,
        lines,
    }
}

/// The replay of a 10,000-chunk cast through the built-in prompt-regex
/// plugin (compiled beforehand): (time, note).
pub fn replay_10k() -> anyhow::Result<(Duration, String)> {
    let cast = synthetic_cast(10_000);
    let host = PluginHost::with_builtins()?;
    let settings = BTreeMap::from([
        ("ready".to_string(), "^>>> $".to_string()),
        ("continuation".to_string(), "^\\.\\.\\. $".to_string()),
    ]);
    // Compile first: the row measures the replay, not Cranelift.
    drop(host.instantiate("prompt-regex", &settings)?);
    let mut best = Duration::MAX;
    let mut detections = 0;
    for _ in 0..3 {
        let mut plugin = host.instantiate("prompt-regex", &settings)?;
        let t = Instant::now();
        let r = replay(&cast, &mut plugin, &ReplayOptions::default());
        best = best.min(t.elapsed());
        detections = r.steps.iter().filter(|s| s.state == "ready").count();
        if r.outputs != 10_000 {
            anyhow::bail!("replayed {} chunks, not 10000", r.outputs);
        }
    }
    Ok((
        best,
        format!("prompt-regex, best of 3; {detections} steps at a ready prompt"),
    ))
}

/// Writes a cast of `chunks` chunks to `path` (for by-hand `plugin test`).
pub fn write_synthetic(path: &Path, chunks: usize) -> anyhow::Result<()> {
    let cast = synthetic_cast(chunks);
    let mut out = super::format::header_line(&cast.header).into_bytes();
    for e in &cast.events {
        super::format::write_event(&mut out, e.time, e.code, &e.data)?;
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}
