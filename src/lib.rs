//! repl-mcp: an MCP server that gives AI agents real interactive programs
//! through pseudo-terminals.
//!
//! The crate is organised so that the session layer knows nothing about MCP or
//! HTTP: the MCP tools, the web view and (later) a daemon are all callers of
//! [`session::SessionManager`].

pub mod app;
pub mod bench;
pub mod cast;
pub mod cli;
pub mod client_config;
pub mod daemon;
pub mod mcp;
pub mod package;
pub mod paths;
pub mod plugin;
pub mod policy;
pub mod preset;
pub mod session;
pub mod web;
