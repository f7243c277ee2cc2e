//! The composition root: from the server's options to a running server —
//! the policy and its audit log, the plugin host, the session manager, the
//! web view, and the MCP transport. Blocking set-up (reading the policy,
//! compiling plugins) happens before the async runtime starts; nothing else
//! in the crate wires these parts together.

mod plugins;
mod web;

use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

pub use plugins::start_plugin_host;

use crate::cast::Recordings;
use crate::cli::ServeArgs;
use crate::mcp::{Guard, OutputLimits, PolicyGate, ReplServer, WebGate, WebLinks, transport};
use crate::plugin::PluginHost;
use crate::policy::{AuditLog, Policy};
use crate::preset::PresetDirs;
use crate::session::{ManagerConfig, SessionManager};

/// Smallest `--max-output-chars` honoured.
const MIN_OUTPUT_CHARS: usize = 1000;

/// What is ready before the runtime starts.
pub struct Prepared {
    guard: Arc<Guard>,
    preset_dirs: PresetDirs,
    plugins: Option<PluginHost>,
    recordings: Arc<Recordings>,
}

/// Load the policy and open the audit log; a mistake in the policy file
/// stops the server with the file, line and key.
fn load_guard(args: &ServeArgs) -> anyhow::Result<Arc<Guard>> {
    let policy = match &args.policy {
        Some(path) => Policy::load(path)?,
        None => Policy::load_default()?,
    };
    let names = ReplServer::tool_names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    policy.check_tool_names(&names)?;
    let audit = AuditLog::open(policy.audit_config())?;
    if let Some(path) = audit.path() {
        tracing::info!("audit log: {}", path.display());
    }
    Ok(Arc::new(Guard::new(policy, audit)))
}

/// Where sessions are recorded. `--record-dir` is created if missing (one
/// that cannot be stops the server, naming it) and made absolute, since
/// clients read `castPath` from another working directory.
fn recordings(args: &ServeArgs) -> anyhow::Result<Arc<Recordings>> {
    let dir = match &args.record_dir {
        Some(dir) => {
            let cannot = || {
                format!(
                    "--record-dir {}: cannot create the directory",
                    dir.display()
                )
            };
            std::fs::create_dir_all(dir).with_context(cannot)?;
            let dir = std::fs::canonicalize(dir).with_context(cannot)?;
            tracing::info!("recording every session into {}", dir.display());
            Some(dir)
        }
        None => None,
    };
    Ok(Arc::new(Recordings::new(dir)))
}

/// The blocking part of start-up (before the async runtime starts).
pub fn prepare(args: &ServeArgs) -> anyhow::Result<Prepared> {
    let guard = load_guard(args)?;
    let recordings = recordings(args)?;
    let mut preset_dirs = PresetDirs::standard();
    if let Some(dir) = &args.presets_dir {
        preset_dirs.project = Some(dir.clone());
    }
    let plugins = start_plugin_host(&preset_dirs);
    Ok(Prepared {
        guard,
        preset_dirs,
        plugins,
        recordings,
    })
}

/// Run the MCP server until the client goes or a signal comes. With
/// `--persist` (or `REPL_MCP_PERSIST=1`) this process is only a front for
/// the per-user daemon, which owns the sessions.
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if args.persist || crate::daemon::persist_from_env() {
        if args.http.is_some() {
            anyhow::bail!("--persist serves stdio clients; it cannot be combined with --http");
        }
        return crate::daemon::run_front(&args);
    }
    let prepared = prepare(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(args, prepared))
}

/// The parts every MCP connection shares: one session manager, one policy
/// guard, one web view.
pub struct Composed {
    pub manager: Arc<SessionManager>,
    pub guard: Arc<Guard>,
    pub web: Option<Arc<dyn WebLinks>>,
    limits: OutputLimits,
}

impl Composed {
    /// The MCP server of one new connection.
    pub fn connect(&self) -> ReplServer {
        ReplServer::new(
            Arc::clone(&self.manager),
            self.web.clone(),
            self.limits.clone(),
            Arc::clone(&self.guard),
        )
    }

    /// End every session and flush the audit log.
    pub async fn finish(&self) {
        tracing::info!("shutting down; ending every session");
        let manager = Arc::clone(&self.manager);
        let _ = tokio::task::spawn_blocking(move || manager.shutdown()).await;
        // Flushing waits for the audit writer: not on an async worker.
        let guard = Arc::clone(&self.guard);
        let _ = tokio::task::spawn_blocking(move || guard.flush()).await;
    }
}

/// Build the shared parts inside the runtime, from what [`prepare`] loaded.
pub async fn compose(args: &ServeArgs, prepared: Prepared) -> Composed {
    let Prepared {
        guard,
        preset_dirs,
        plugins,
        recordings,
    } = prepared;
    let manager = SessionManager::new(ManagerConfig {
        history_bytes: args.history_bytes,
        preset_dirs,
        plugins,
        recordings: Some(Arc::clone(&recordings)),
        // A plugin's decisions meet the same policy as the agent's calls.
        gate: Arc::new(PolicyGate::new(Arc::clone(&guard))),
        ..Default::default()
    });
    let limits = OutputLimits {
        max_chars: args.max_output_chars.max(MIN_OUTPUT_CHARS),
    };
    let web: Option<Arc<dyn WebLinks>> = if args.no_web_ui {
        None
    } else {
        // A person's lines in the web view meet the same input rules.
        let gate = WebGate::new(Arc::clone(&guard));
        web::start(args, &manager, recordings, gate).await
    };
    Composed {
        manager,
        guard,
        web,
        limits,
    }
}

async fn run(args: ServeArgs, prepared: Prepared) -> anyhow::Result<()> {
    let composed = Arc::new(compose(&args, prepared).await);
    let stop = CancellationToken::new();
    spawn_signal_handler(stop.clone());
    let connect = {
        let composed = Arc::clone(&composed);
        move || composed.connect()
    };
    let result = match args.http {
        Some(addr) => transport::serve_http(connect, addr, args.token.clone(), stop.clone()).await,
        None => transport::serve_stdio(connect(), stop).await,
    };
    composed.finish().await;
    result
}

/// SIGTERM, SIGINT or SIGHUP cancel `stop`.
pub fn spawn_signal_handler(stop: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = hup.recv() => {}
        }
        stop.cancel();
    });
}
