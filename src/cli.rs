//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
}
