//! No orphans, even when the server is killed with SIGKILL.
//!
//! At start-up the server forks a tiny watchdog (`repl-mcp __reaper`) in its
//! own process group and tells it, over a pipe, the session id (sid) of every
//! REPL it starts and ends. When the pipe closes — the server exited for any
//! reason, including `kill -9` — the watchdog ends every process still in
//! those sessions.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// Handle the server keeps on its watchdog.
pub struct Reaper {
    stdin: Mutex<Option<ChildStdin>>,
    _child: Mutex<Child>,
}

impl Reaper {
    /// Start the watchdog from this very binary.
    pub fn spawn() -> std::io::Result<Self> {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg("__reaper")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            // Own process group: a Ctrl-C aimed at the server's terminal
            // group must not take the watchdog down before it has cleaned up.
            .process_group(0)
            .spawn()?;
        let stdin = child.stdin.take();
        Ok(Self {
            stdin: Mutex::new(stdin),
            _child: Mutex::new(child),
        })
    }

    pub fn watch(&self, sid: i32) {
        self.send(&format!("+{sid}\n"));
    }

    pub fn unwatch(&self, sid: i32) {
        self.send(&format!("-{sid}\n"));
    }

    fn send(&self, line: &str) {
        let mut guard = self.stdin.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(stdin) = guard.as_mut()
            && let Err(e) = stdin.write_all(line.as_bytes())
        {
            tracing::warn!(error = %e, "reaper pipe closed; orphans are no longer guarded");
            *guard = None;
        }
    }
}

/// The watchdog's main loop (`repl-mcp __reaper`).
pub fn run_watchdog() -> ! {
    let mut sids = BTreeSet::new();
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let (op, sid) = line.split_at(1.min(line.len()));
        let Ok(sid) = sid.trim().parse::<i32>() else {
            continue;
        };
        match op {
            "+" => {
                sids.insert(sid);
            }
            "-" => {
                sids.remove(&sid);
            }
            _ => {}
        }
    }
    for sid in sids {
        super::pty::kill_session_tree(sid);
    }
    std::process::exit(0)
}
