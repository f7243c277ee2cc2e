//! `repl-mcp daemon status` and `repl-mcp daemon stop`: one request on the
//! daemon's socket after the handshake. Both work across versions, so an
//! old daemon can always be seen and stopped.

use super::DaemonError;
use super::front::{connect, handshake};
use super::socket::{Paths, Reply, Want};

fn request(want: Want) -> Result<Reply, DaemonError> {
    let paths = Paths::discover()?;
    let stream = connect(&paths)?.ok_or_else(|| DaemonError::NotRunning(paths.socket()))?;
    let (reply, _, _) = handshake(&paths, stream, want)?;
    if !reply.ok {
        return Err(DaemonError::Refused(reply.error.unwrap_or_default()));
    }
    Ok(reply)
}

/// Print the daemon's status; 0, or 1 when none runs, 2 on an error.
pub fn status() -> i32 {
    match request(Want::Status) {
        Ok(Reply {
            status: Some(s), ..
        }) => {
            println!("repl-mcp daemon {} (pid {})", s.version, s.pid);
            println!("  uptime:   {}", human(s.uptime_seconds));
            println!("  sessions: {}", s.sessions);
            println!("  fronts:   {}", s.fronts);
            println!("  keep-for: {}", human(s.keep_for_seconds));
            if let Some(url) = &s.web_url {
                println!("  web view: {url}");
            }
            println!("  socket:   {}", s.socket.display());
            0
        }
        Ok(_) => {
            eprintln!("repl-mcp daemon status: the daemon sent no status");
            2
        }
        Err(e @ DaemonError::NotRunning(_)) => {
            println!("{e}");
            1
        }
        Err(e) => {
            eprintln!("repl-mcp daemon status: {e}");
            2
        }
    }
}

/// Stop the daemon; 0 (also when none ran), 2 on an error.
pub fn stop() -> i32 {
    match request(Want::Stop) {
        Ok(reply) => {
            wait_for_exit();
            let n = reply.stopped.unwrap_or(0);
            println!(
                "repl-mcp daemon {} stopped; {n} session{} ended",
                reply.version,
                if n == 1 { "" } else { "s" }
            );
            0
        }
        Err(e @ DaemonError::NotRunning(_)) => {
            println!("{e}; nothing to stop");
            0
        }
        Err(e) => {
            eprintln!("repl-mcp daemon stop: {e}");
            2
        }
    }
}

/// The daemon holds `daemon.pid` locked until its very end: wait for that.
fn wait_for_exit() {
    let Ok(paths) = Paths::discover() else { return };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match super::socket::lock_file(&paths.pid_file(), false) {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}

fn human(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}
