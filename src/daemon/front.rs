//! The front: what an MCP client starts with `--persist`. It connects to
//! the daemon (starting one when none answers), says its version, and from
//! then on only copies bytes: stdin to the socket, the socket to stdout.
//! Plain threads and blocking I/O, no async runtime: a front starts fast
//! and adds no scheduling to a round trip.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::DaemonError;
use super::socket::{self, Hello, MAX_LINE, Paths, Reply, Want};
use crate::cli::ServeArgs;

/// How long a front waits for a daemon it started to answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a handshake answer may take (a daemon still starting takes longest).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// The handshake's reason when the daemon closed without answering.
const CLOSED: &str = "closed without an answer";

/// Run as a front until the client closes stdin or the daemon goes.
pub fn run_front(args: &ServeArgs) -> anyhow::Result<()> {
    let paths = Paths::discover()?;
    let (stream, leftover, started) = connect_or_start(&paths, args)?;
    if started {
        tracing::debug!("started the daemon ({})", paths.socket().display());
    }
    splice(stream, leftover)
}

/// A handshake done, MCP ready to flow: the stream, bytes already read past
/// the answer, and whether this front started the daemon.
fn connect_or_start(
    paths: &Paths,
    args: &ServeArgs,
) -> Result<(UnixStream, Vec<u8>, bool), DaemonError> {
    // Ours and private before anything is said on a socket in it.
    paths.ensure_dir()?;
    if let Some((s, rest)) = try_mcp(paths)? {
        return Ok((s, rest, false));
    }
    // One front starts the daemon; the others wait here, then find it.
    let _lock = socket::lock_file(&paths.start_lock(), true)?;
    if let Some((s, rest)) = try_mcp(paths)? {
        return Ok((s, rest, false));
    }
    let mut child = start_daemon(paths, args)?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some((s, rest)) = try_mcp(paths)? {
            // The daemon outlives this front; reap it should it end first.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
            return Ok((s, rest, true));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(DaemonError::StartFailed {
                seconds: START_TIMEOUT.as_secs(),
                detail: format!("it exited ({status}): {}", log_tail(&paths.log())),
                log: paths.log(),
            });
        }
        if Instant::now() > deadline {
            return Err(DaemonError::StartFailed {
                seconds: START_TIMEOUT.as_secs(),
                detail: "its socket never answered".into(),
                log: paths.log(),
            });
        }
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// Connect and ask for MCP; `None` when no daemon listens (no socket, or a
/// dead daemon's socket: connection refused).
fn try_mcp(paths: &Paths) -> Result<Option<(UnixStream, Vec<u8>)>, DaemonError> {
    let Some(stream) = connect(paths)? else {
        return Ok(None);
    };
    let (reply, stream, rest) = match handshake(paths, stream, Want::Mcp) {
        // A daemon on its way out (stopping, idle): as good as none.
        Err(DaemonError::Handshake { reason, .. }) if reason == CLOSED => return Ok(None),
        other => other?,
    };
    let ours = super::version();
    if !reply.ok {
        return Err(if reply.version != ours {
            DaemonError::VersionMismatch {
                daemon: reply.version,
                ours,
            }
        } else {
            DaemonError::Refused(reply.error.unwrap_or_default())
        });
    }
    if reply.version != ours {
        return Err(DaemonError::VersionMismatch {
            daemon: reply.version,
            ours,
        });
    }
    Ok(Some((stream, rest)))
}

/// The socket, or `None` when nothing listens on it.
pub(super) fn connect(paths: &Paths) -> Result<Option<UnixStream>, DaemonError> {
    let path = paths.socket();
    match UnixStream::connect(&path) {
        Ok(s) => Ok(Some(s)),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(DaemonError::io(&path, e)),
    }
}

/// Send the hello line and read the answer line.
pub(super) fn handshake(
    paths: &Paths,
    stream: UnixStream,
    want: Want,
) -> Result<(Reply, UnixStream, Vec<u8>), DaemonError> {
    let path = paths.socket();
    let fail = |reason: String| DaemonError::Handshake {
        path: path.clone(),
        reason,
    };
    let hello = Hello {
        version: super::version(),
        want,
    };
    let io = |e: std::io::Error| fail(e.to_string());
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).map_err(io)?;
    (&stream).write_all(&socket::line(&hello)).map_err(io)?;
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    (&mut reader)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)
        .map_err(io)?;
    if line.pop() != Some(b'\n') {
        return Err(fail(
            "no answer line (is another program on this socket?)".into(),
        ));
    }
    let reply: Reply = socket::parse(&line).map_err(fail)?;
    let rest = reader.buffer().to_vec();
    let stream = reader.into_inner();
    stream.set_read_timeout(None).map_err(io)?;
    Ok((reply, stream, rest))
}

/// Start `repl-mcp daemon` detached, with this front's server options and
/// its log in the daemon's directory.
fn start_daemon(paths: &Paths, args: &ServeArgs) -> Result<std::process::Child, DaemonError> {
    use std::os::unix::fs::OpenOptionsExt;
    let log_path = paths.log();
    rotate_log(&log_path);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|e| DaemonError::io(&log_path, e))?;
    let exe = std::env::current_exe().map_err(|e| DaemonError::io(Path::new("repl-mcp"), e))?;
    Command::new(&exe)
        .arg("daemon")
        .args(daemon_argv(args))
        // The sessions inherit the daemon's environment; this is the front's.
        .env_remove("REPL_MCP_PERSIST")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| DaemonError::io(&exe, e))
}

/// A log larger than this is moved aside when a daemon starts.
const LOG_ROTATE_BYTES: u64 = 8 << 20;

/// Keep the log bounded across daemons: one that has grown past
/// [`LOG_ROTATE_BYTES`] becomes `daemon.log.1` (replacing the one before),
/// and the new daemon writes a fresh log. A failure only costs the old log
/// its place; the daemon starts all the same.
fn rotate_log(path: &Path) {
    let big = std::fs::metadata(path).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES);
    if !big {
        return;
    }
    let mut old = path.as_os_str().to_owned();
    old.push(".1");
    if let Err(e) = std::fs::rename(path, &old) {
        tracing::warn!(log = %path.display(), "daemon log not rotated: {e}");
    }
}

/// The daemon's last words: the last line of its log that says something.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no log")
        .to_string()
}

/// The options the daemon takes from the front that starts it.
fn daemon_argv(a: &ServeArgs) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> = Vec::new();
    let mut opt = |k: &str, val: std::ffi::OsString| {
        v.push(k.into());
        v.push(val);
    };
    opt("--web-port", a.web_port.to_string().into());
    opt("--web-host", a.web_host.to_string().into());
    opt("--history-bytes", a.history_bytes.to_string().into());
    opt("--max-output-chars", a.max_output_chars.to_string().into());
    opt("--keep-for", format!("{}ms", a.keep_for.as_millis()).into());
    for (k, p) in [
        ("--policy", &a.policy),
        ("--presets-dir", &a.presets_dir),
        ("--record-dir", &a.record_dir),
    ] {
        if let Some(p) = p {
            let p = std::path::absolute(p).unwrap_or_else(|_| p.clone());
            opt(k, p.into_os_string());
        }
    }
    if a.no_web_ui {
        v.push("--no-web-ui".into());
    }
    if a.web_allow_remote {
        v.push("--web-allow-remote".into());
    }
    v
}

/// Copy stdin to the daemon and the daemon to stdout until either side ends.
fn splice(stream: UnixStream, leftover: Vec<u8>) -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static CLIENT_DONE: AtomicBool = AtomicBool::new(false);
    let mut to_daemon = stream.try_clone()?;
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to_daemon.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        // The client went: tell the daemon, which then closes its side.
        CLIENT_DONE.store(true, Ordering::SeqCst);
        let _ = to_daemon.shutdown(std::net::Shutdown::Write);
    });
    let mut from_daemon = stream;
    let mut stdout = std::io::stdout().lock();
    if !leftover.is_empty() {
        stdout.write_all(&leftover)?;
        stdout.flush()?;
    }
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match from_daemon.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                stdout.write_all(&buf[..n])?;
                stdout.flush()?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    if !CLIENT_DONE.load(Ordering::SeqCst) {
        tracing::error!(
            "the repl-mcp daemon closed the connection (stopped, or killed); the next start \
             of this server starts a new one"
        );
        std::process::exit(1);
    }
    // Do not wait for the stdin thread: it may sit in a read forever.
    std::process::exit(0)
}
