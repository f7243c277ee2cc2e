//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "repl-mcp",
    version,
    about = "MCP server for real interactive REPLs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// Parse the command line. Server options may stand before `serve` or
    /// after it (`repl-mcp --no-web-ui serve --http …`): each one given on
    /// the command line counts wherever it stands, the later place winning.
    pub fn parse_merged() -> Cli {
        let matches = Cli::command().get_matches();
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        if let (Some(Command::Serve(sub)), Some(("serve", sub_matches))) =
            (&mut cli.command, matches.subcommand())
        {
            *sub = ServeArgs::merged(&cli.serve, &matches, sub, sub_matches);
        }
        cli
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the MCP server (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Measure the server end to end over stdio (see README, Benchmarks).
    Bench(crate::bench::BenchArgs),
    /// Install, list, remove, validate and create preset packages.
    Preset(crate::package::cli::PresetArgs),
    /// Print (or --write) the config that adds this server to an MCP client.
    Config(crate::client_config::ConfigArgs),
    /// Write, build, test and check WebAssembly strategy plugins.
    Plugin(crate::plugin::cli::PluginArgs),
    /// The per-user daemon that keeps sessions for `--persist` fronts
    /// (`daemon` runs it; `daemon status`, `daemon stop`).
    Daemon(crate::daemon::DaemonArgs),
    /// Internal: the orphan watchdog started by the server.
    #[command(name = "__reaper", hide = true)]
    Reaper,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Serve MCP over streamable HTTP on this address (e.g. 127.0.0.1:8080) instead of stdio.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Bearer token required on HTTP requests (mandatory off loopback).
    #[arg(long, env = "REPL_MCP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Do not start the web view.
    #[arg(long)]
    pub no_web_ui: bool,
    /// First port tried for the web view.
    #[arg(long, default_value_t = 8023)]
    pub web_port: u16,
    /// Address the web view binds to (non-loopback needs --web-allow-remote).
    #[arg(long, default_value = "127.0.0.1")]
    pub web_host: std::net::IpAddr,
    /// Allow the web view on a non-loopback address.
    #[arg(long)]
    pub web_allow_remote: bool,
    /// Output kept per session, in bytes (a ring; older output is dropped).
    #[arg(long, default_value_t = 4 << 20)]
    pub history_bytes: usize,
    /// Characters of output returned in one tool result before head+tail truncation.
    #[arg(long, default_value_t = 20_000)]
    pub max_output_chars: usize,
    /// Policy file (default: ~/.config/repl-mcp/policy.toml if it exists, else built-in defaults).
    #[arg(long, env = "REPL_MCP_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Extra preset directory (instead of ./.repl-mcp/presets).
    #[arg(long, value_name = "DIR")]
    pub presets_dir: Option<PathBuf>,
    /// Record every session as an asciicast v2 transcript, DIR/<session id>.cast.
    #[arg(long, env = "REPL_MCP_RECORD_DIR", value_name = "DIR")]
    pub record_dir: Option<PathBuf>,
    /// Keep sessions in a per-user daemon, so they outlive this client
    /// (also REPL_MCP_PERSIST=1; README, Sessions that survive restarts).
    #[arg(long)]
    pub persist: bool,
    /// With --persist: how long a session no client uses is kept (e.g. 30m, 2h, 0).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = crate::daemon::parse_duration)]
    pub keep_for: std::time::Duration,
}

/// An option given on the command line (not a default, not the environment,
/// which both places read alike).
fn given(matches: &ArgMatches, id: &str) -> bool {
    matches!(matches.value_source(id), Some(ValueSource::CommandLine))
}

/// Every field of [`ServeArgs`], taken from the later place that gives it.
/// (A new field must be added here: the struct literal does not compile
/// without it.)
macro_rules! merge_fields {
    ($before:ident, $before_m:ident, $after:ident, $after_m:ident; $($field:ident),* $(,)?) => {
        ServeArgs {
            $($field: if !given($after_m, stringify!($field)) && given($before_m, stringify!($field)) {
                $before.$field.clone()
            } else {
                $after.$field.clone()
            },)*
        }
    };
}

impl ServeArgs {
    /// Options given before the subcommand (`before`) under those given
    /// after it (`after`).
    pub fn merged(
        before: &ServeArgs,
        before_m: &ArgMatches,
        after: &ServeArgs,
        after_m: &ArgMatches,
    ) -> ServeArgs {
        merge_fields!(before, before_m, after, after_m;
            http, token, no_web_ui, web_port, web_host, web_allow_remote,
            history_bytes, max_output_chars, policy, presets_dir, record_dir, persist, keep_for)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(argv: &[&str]) -> ServeArgs {
        let matches = Cli::command()
            .try_get_matches_from(argv)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| panic!("{e}"));
        match (&mut cli.command, matches.subcommand()) {
            (Some(Command::Serve(sub)), Some(("serve", m))) => {
                ServeArgs::merged(&cli.serve, &matches, sub, m)
            }
            _ => cli.serve,
        }
    }

    #[test]
    fn options_count_before_and_after_serve() {
        let a = serve_args(&["repl-mcp", "--no-web-ui", "serve", "--http", "127.0.0.1:9"]);
        assert!(a.no_web_ui);
        assert_eq!(
            a.http,
            Some("127.0.0.1:9".parse().unwrap_or_else(|e| panic!("{e}")))
        );
        let a = serve_args(&[
            "repl-mcp",
            "--web-port",
            "9000",
            "serve",
            "--web-port",
            "9001",
        ]);
        assert_eq!(a.web_port, 9001, "the later place wins");
        let a = serve_args(&["repl-mcp", "--web-port", "9000", "serve"]);
        assert_eq!(a.web_port, 9000);
        let a = serve_args(&["repl-mcp", "serve", "--no-web-ui"]);
        assert!(a.no_web_ui);
        let a = serve_args(&["repl-mcp", "--max-output-chars", "5000"]);
        assert_eq!(a.max_output_chars, 5000);
        let a = serve_args(&["repl-mcp", "serve"]);
        assert!(!a.no_web_ui && a.web_port == 8023);
        let a = serve_args(&["repl-mcp", "--record-dir", "/tmp/c", "serve"]);
        assert_eq!(a.record_dir, Some(PathBuf::from("/tmp/c")));
        let a = serve_args(&["repl-mcp", "serve", "--record-dir", "/tmp/d"]);
        assert_eq!(a.record_dir, Some(PathBuf::from("/tmp/d")));
    }
}
