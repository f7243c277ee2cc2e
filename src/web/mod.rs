//! The web view: every session live in the browser, private by default.
//!
//! An axum server on loopback serves, per session, a page with a real
//! terminal (xterm.js, compiled into the binary) fed over a WebSocket. Each
//! session has two unguessable tokens, an interactive one and a read-only
//! one; anything without a valid token is a 404, and sockets opened from a
//! foreign `Origin` are refused.
//!
//! The web view knows nothing of PTYs or MCP: it talks to the session layer
//! only through [`WebBackend`].
//!
//! # Wiring it to the session layer
//!
//! - At start-up: `WebServer::start(config, backend).await?` on the tokio
//!   runtime, and keep the returned [`WebHandle`] for the life of the server
//!   (dropping the last clone stops it).
//! - On session create: `handle.register_session(id)` gives the
//!   [`SessionLinks`]; `interactive_url` is the `webUrl` the tools return.
//! - On session destroy: `handle.forget_session(id)` (links answer 404, open
//!   pages are told the session closed), and send [`WebEvent::Closed`].
//! - For every chunk read from the PTY, under the lock that feeds the
//!   terminal model: process it, then send [`WebEvent::Output`]; `attach`
//!   takes the snapshot and subscribes under that same lock.
//! - On a state change or a change of who typed last: [`WebEvent::State`].
//!   On a PTY resize: [`WebEvent::Resized`].
//!
//! Files, one job each: `backend` (the seam), `config`, `error`, `server`
//! (start/stop, links), `tokens`, `guard` (Host/Origin checks, headers),
//! `routes` (HTTP), `socket` (one page's WebSocket), `line` (the line a page
//! is typing, checked at its Enter), `protocol` (its framing),
//! `assets` (embedded files).

mod assets;
mod backend;
mod cast_download;
mod config;
mod error;
mod guard;
mod line;
mod protocol;
mod routes;
mod server;
mod socket;
mod tokens;

pub use backend::{Actor, Attachment, LineOutcome, WebBackend, WebEvent, WebSessionInfo};
pub use config::WebConfig;
pub use error::WebError;
pub use protocol::{ClientMessage, ServerMessage};
pub use server::{SessionLinks, WebHandle, WebServer};
pub use tokens::Access;
