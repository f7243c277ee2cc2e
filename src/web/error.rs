//! Errors of the web view's start-up.

use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(
        "refusing to bind the web view to non-loopback address {0} without allow_remote: \
         anyone who can reach it could watch the sessions"
    )]
    RemoteNotAllowed(IpAddr),
    #[error("no free port for the web view in {first}..={last} on {bind}")]
    NoFreePort { bind: IpAddr, first: u16, last: u16 },
    #[error("could not bind the web view to {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
