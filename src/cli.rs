//! Command-line interface definition.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "repl-mcp", version, about = "MCP server for real interactive REPLs")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the MCP server (the default when no subcommand is given).
    Serve,
}
