//! How the web server binds and which origins it trusts.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use crate::cast::Recordings;

/// Start-up settings of the web view.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Address to bind. Loopback unless `allow_remote` is set.
    pub bind: IpAddr,
    /// First port to try; `0` lets the OS choose (used by tests).
    pub port: u16,
    /// How many consecutive ports to try from `port` before giving up
    /// (`1` means exactly `port`).
    pub port_attempts: u16,
    /// Required to bind a non-loopback address: the page can type into the
    /// user's shell, so exposing it must be a deliberate choice.
    pub allow_remote: bool,
    /// Host name used in the URLs handed out, and accepted as an Origin
    /// (e.g. the machine's name when `allow_remote` is set).
    pub public_host: Option<String>,
    /// Further exact origins allowed to open sockets, e.g. `https://repl.example`
    /// behind a TLS reverse proxy.
    pub extra_origins: Vec<String>,
    /// The server's recordings: a recorded session's page offers its cast
    /// (asciicast v2) for download, with the page's own token.
    pub casts: Option<Arc<Recordings>>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8023,
            port_attempts: 100,
            allow_remote: false,
            public_host: None,
            extra_origins: Vec::new(),
            casts: None,
        }
    }
}
