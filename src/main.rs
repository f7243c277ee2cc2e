use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use repl_mcp::cli::{Cli, Command, ServeArgs};
use repl_mcp::mcp::{Guard, OutputLimits, ReplServer, transport};
use repl_mcp::policy::{AuditLog, Policy};
use repl_mcp::preset::PresetDirs;
use repl_mcp::session::{ManagerConfig, SessionManager};
use tokio_util::sync::CancellationToken;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Reaper) => repl_mcp::session::run_watchdog(),
        Some(Command::Bench(args)) => {
            init_logging();
            repl_mcp::bench::run(&args)
        }
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Preset(args)) => std::process::exit(repl_mcp::package::cli::run(args)),
        Some(Command::Config(args)) => std::process::exit(repl_mcp::client_config::run(args)),
        Some(Command::Plugin(args)) => std::process::exit(repl_mcp::plugin::cli::run(&args)),
        None => serve(cli.serve),
    }
}

/// Logs go to stderr: stdout carries the MCP protocol and nothing else.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("REPL_MCP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async_serve(args))
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

async fn async_serve(args: ServeArgs) -> anyhow::Result<()> {
    let guard = load_guard(&args)?;
    let mut preset_dirs = PresetDirs::standard();
    if let Some(dir) = &args.presets_dir {
        preset_dirs.project = Some(dir.clone());
    }
    let plugins = repl_mcp::plugin_glue::start_host(&preset_dirs);
    let manager = SessionManager::new(ManagerConfig {
        history_bytes: args.history_bytes,
        preset_dirs,
        plugins,
        ..Default::default()
    });
    let limits = OutputLimits {
        max_chars: args.max_output_chars.max(1000),
    };
    let web = repl_mcp::web_glue::start(&args, &manager).await;
    let stop = CancellationToken::new();
    spawn_signal_handler(stop.clone());
    let result = match args.http {
        Some(addr) => {
            let (m, w, l, g) = (
                Arc::clone(&manager),
                web.clone(),
                limits.clone(),
                Arc::clone(&guard),
            );
            transport::serve_http(
                move || ReplServer::new(Arc::clone(&m), w.clone(), l.clone(), Arc::clone(&g)),
                addr,
                args.token.clone(),
                stop.clone(),
            )
            .await
        }
        None => {
            let server = ReplServer::new(Arc::clone(&manager), web, limits, Arc::clone(&guard));
            transport::serve_stdio(server, stop).await
        }
    };
    tracing::info!("shutting down; ending every session");
    manager.shutdown();
    guard.flush();
    result
}

fn spawn_signal_handler(stop: CancellationToken) {
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
