use repl_mcp::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_merged();
    match cli.command {
        Some(Command::Reaper) => repl_mcp::session::run_watchdog(),
        Some(Command::Bench(args)) => {
            init_logging();
            repl_mcp::bench::run(&args)
        }
        Some(Command::Serve(args)) => {
            init_logging();
            repl_mcp::app::serve(args)
        }
        Some(Command::Preset(args)) => std::process::exit(repl_mcp::package::cli::run(args)),
        Some(Command::Config(args)) => std::process::exit(repl_mcp::client_config::run(args)),
        Some(Command::Plugin(args)) => std::process::exit(repl_mcp::plugin::cli::run(&args)),
        Some(Command::Daemon(args)) => {
            init_logging();
            std::process::exit(repl_mcp::daemon::run(args))
        }
        None => {
            init_logging();
            repl_mcp::app::serve(cli.serve)
        }
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
