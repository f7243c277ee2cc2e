//! The daemon: one session manager, one web view, and a whole MCP server
//! per front connected on the Unix socket.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rmcp::ServiceExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::sync::CancellationToken;

use super::lifetimes::{FrontUse, Lifetimes};
use super::socket::{self, Hello, MAX_LINE, Paths, Reply, Status, Want};
use crate::app::{self, Composed};
use crate::cli::ServeArgs;

/// How long a peer has to send its handshake line.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// How often session lifetimes and idleness are checked.
const SWEEP_EVERY: Duration = Duration::from_millis(250);

struct Daemon {
    composed: Composed,
    lifetimes: Arc<Lifetimes>,
    paths: Paths,
    started: Instant,
    version: String,
    stop: CancellationToken,
}

/// Run the daemon until `daemon stop`, a signal, or idleness.
pub fn run(args: ServeArgs, idle_exit: Duration) -> anyhow::Result<()> {
    // Leave the front's session and process group: a Ctrl-C or a hang-up
    // aimed at the client must not reach the daemon. (Fails harmlessly when
    // already a group leader, e.g. started by hand from a shell.)
    // SAFETY: setsid has no preconditions.
    unsafe { libc::setsid() };
    let paths = Paths::discover()?;
    paths.ensure_dir()?;
    let Some(mut pid_lock) = take_pid_lock(&paths)? else {
        anyhow::bail!(
            "a repl-mcp daemon already runs for this user ({})",
            paths.socket().display()
        );
    };
    write_pid(&mut pid_lock);
    // Before listening: a front waiting for a daemon that cannot start
    // (a mistake in the policy file) sees it exit, with its reason logged.
    let prepared = app::prepare(&args)?;
    let lost_note = lost_sessions(&paths);
    // Holding the pid lock, any socket left here is a dead daemon's.
    let socket_path = paths.socket();
    let _ = std::fs::remove_file(&socket_path);
    let listener = std::os::unix::net::UnixListener::bind(&socket_path)
        .with_context(|| format!("cannot listen on {}", socket_path.display()))?;
    std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot make {} private", socket_path.display()))?;
    listener.set_nonblocking(true)?;
    tracing::info!(
        version = %super::version(),
        pid = std::process::id(),
        "repl-mcp daemon listening on {}",
        socket_path.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        let listener = tokio::net::UnixListener::from_std(listener)?;
        let composed = app::compose(&args, prepared).await;
        let daemon = Arc::new(Daemon {
            composed,
            lifetimes: Lifetimes::with_lost_note(args.keep_for, lost_note),
            paths,
            started: Instant::now(),
            version: super::version(),
            stop: CancellationToken::new(),
        });
        app::spawn_signal_handler(daemon.stop.clone());
        tokio::spawn(sweep(Arc::clone(&daemon), idle_exit));
        accept(&daemon, listener).await;
        // Stop taking fronts before the sessions end.
        let _ = std::fs::remove_file(&socket_path);
        daemon.composed.finish().await;
        let _ = std::fs::remove_file(daemon.paths.sessions_file());
        anyhow::Ok(())
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    tracing::info!("daemon stopped");
    drop(pid_lock);
    result
}

/// The sessions a dead daemon left in `daemon.sessions` (a daemon that
/// ends cleanly removes the file), as a note for fronts.
fn lost_sessions(paths: &Paths) -> Option<String> {
    let file = paths.sessions_file();
    let text = std::fs::read_to_string(&file).ok()?;
    let _ = std::fs::remove_file(&file);
    let ids: Vec<&str> = text.split_whitespace().collect();
    if ids.is_empty() {
        return None;
    }
    tracing::warn!(
        "the previous daemon ended unexpectedly; its sessions are gone: {}",
        ids.join(" ")
    );
    Some(format!(
        "The repl-mcp daemon was restarted after the previous one ended unexpectedly; \
         its sessions ({}) are gone: create a new session",
        ids.join(", ")
    ))
}

/// The pid lock; a daemon on its way out (stopping, idle) has a few
/// seconds to finish first.
fn take_pid_lock(paths: &Paths) -> Result<Option<std::fs::File>, super::DaemonError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lock = socket::lock_file(&paths.pid_file(), false)?;
        if lock.is_some() || Instant::now() > deadline {
            return Ok(lock);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn write_pid(file: &mut std::fs::File) {
    use std::io::Write;
    let _ = file.set_len(0);
    let _ = writeln!(file, "{}", std::process::id());
}

async fn accept(daemon: &Arc<Daemon>, listener: tokio::net::UnixListener) {
    loop {
        tokio::select! {
            _ = daemon.stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let daemon = Arc::clone(daemon);
                    tokio::spawn(async move { daemon.connection(stream).await });
                }
                Err(e) => {
                    // Out of descriptors, say: wait rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// End sessions whose keep-for ran out; stop the daemon once idle.
async fn sweep(daemon: Arc<Daemon>, idle_exit: Duration) {
    let mut recorded: Vec<String> = Vec::new();
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = daemon.stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let manager = &daemon.composed.manager;
        let live: Vec<String> = manager.list().iter().map(|s| s.id().to_string()).collect();
        if live != recorded {
            record_sessions(&daemon.paths, &live);
            recorded.clone_from(&live);
        }
        let due = daemon.lifetimes.sweep(&live, Instant::now(), idle_exit);
        for id in due.expired {
            tracing::info!(session = %id, "no front for its keep-for; ending it");
            if manager.destroy(&id).await.is_ok()
                && let Some(web) = &daemon.composed.web
            {
                web.forget(&id);
            }
        }
        if due.idle {
            tracing::info!("no sessions and no fronts for {idle_exit:?}; exiting");
            daemon.stop.cancel();
            return;
        }
    }
}

/// Keep `daemon.sessions` listing the live sessions, so that a daemon
/// started after this one dies can say which sessions were lost.
fn record_sessions(paths: &Paths, live: &[String]) {
    let file = paths.sessions_file();
    let result = if live.is_empty() {
        std::fs::remove_file(&file).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        })
    } else {
        std::fs::write(&file, live.join("\n") + "\n")
    };
    if let Err(e) = result {
        tracing::debug!("{}: {e}", file.display());
    }
}

impl Daemon {
    async fn connection(self: Arc<Self>, stream: UnixStream) {
        match stream.peer_cred() {
            Ok(cred) if cred.uid() == socket::current_uid() => {}
            Ok(cred) => {
                tracing::warn!(uid = cred.uid(), "refused a connection from another user");
                return;
            }
            Err(e) => {
                tracing::warn!("refused a connection without peer credentials: {e}");
                return;
            }
        }
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        let hello = match read_hello(&mut reader).await {
            Ok(h) => h,
            Err(reason) => {
                tracing::warn!("refused a peer: {reason}");
                let _ = self.answer(&mut write, self.refusal(reason)).await;
                return;
            }
        };
        match hello.want {
            Want::Status => {
                let reply = Reply {
                    status: Some(self.status()),
                    ..self.ok()
                };
                let _ = self.answer(&mut write, reply).await;
            }
            Want::Stop => {
                let ended = self.composed.manager.count();
                tracing::info!("`daemon stop`: ending {ended} session(s)");
                self.composed.finish().await;
                let reply = Reply {
                    stopped: Some(ended),
                    ..self.ok()
                };
                let _ = self.answer(&mut write, reply).await;
                self.stop.cancel();
            }
            Want::Mcp if hello.version != self.version => {
                let reason = format!(
                    "version mismatch: the front is {}, the daemon is {}",
                    hello.version, self.version
                );
                tracing::warn!("refused a front: {reason}");
                let _ = self.answer(&mut write, self.refusal(reason)).await;
            }
            Want::Mcp => {
                if self.answer(&mut write, self.ok()).await.is_ok() {
                    self.serve_front(reader, write).await;
                }
            }
        }
    }

    /// MCP with one front, until it goes or the daemon stops.
    async fn serve_front(&self, reader: BufReader<OwnedReadHalf>, write: OwnedWriteHalf) {
        let front = self.lifetimes.open_front();
        tracing::info!(front, "front connected");
        let uses = Arc::new(FrontUse {
            front,
            lifetimes: Arc::clone(&self.lifetimes),
        });
        let server = self.composed.connect().with_session_use(uses);
        match server.serve((reader, write)).await {
            Ok(running) => {
                let cancel = running.cancellation_token();
                tokio::select! {
                    r = running.waiting() => {
                        if let Err(e) = r {
                            tracing::debug!(front, "front's MCP service ended: {e}");
                        }
                    }
                    _ = self.stop.cancelled() => cancel.cancel(),
                }
            }
            Err(e) => tracing::warn!(front, "front's MCP initialisation failed: {e}"),
        }
        self.lifetimes.close_front(front);
        tracing::info!(front, "front disconnected");
    }

    fn ok(&self) -> Reply {
        Reply {
            ok: true,
            version: self.version.clone(),
            ..Reply::default()
        }
    }

    fn refusal(&self, reason: String) -> Reply {
        Reply {
            ok: false,
            version: self.version.clone(),
            error: Some(reason),
            ..Reply::default()
        }
    }

    fn status(&self) -> Status {
        Status {
            pid: std::process::id(),
            version: self.version.clone(),
            uptime_seconds: self.started.elapsed().as_secs(),
            sessions: self.composed.manager.count(),
            fronts: self.lifetimes.fronts(),
            keep_for_seconds: self.lifetimes.default_keep().as_secs(),
            web_url: self.composed.web.as_ref().and_then(|w| w.index_url()),
            socket: self.paths.socket(),
        }
    }

    async fn answer(&self, write: &mut OwnedWriteHalf, reply: Reply) -> std::io::Result<()> {
        write.write_all(&socket::line(&reply)).await?;
        write.flush().await
    }
}

/// The peer's first line, within [`HELLO_TIMEOUT`] and [`MAX_LINE`] bytes.
async fn read_hello(reader: &mut BufReader<OwnedReadHalf>) -> Result<Hello, String> {
    let mut buf = Vec::new();
    let mut limited = (&mut *reader).take(MAX_LINE as u64);
    let read = limited.read_until(b'\n', &mut buf);
    match tokio::time::timeout(HELLO_TIMEOUT, read).await {
        Err(_) => return Err(format!("no handshake within {HELLO_TIMEOUT:?}")),
        Ok(Err(e)) => return Err(format!("reading the handshake: {e}")),
        Ok(Ok(0)) => return Err("closed before the handshake".into()),
        Ok(Ok(_)) => {}
    }
    if buf.pop() != Some(b'\n') {
        return Err(format!("no handshake line within {MAX_LINE} bytes"));
    }
    socket::parse(&buf)
}
