//! The MCP face of the server: tools over stdio or streamable HTTP.

mod ask;
mod bound;
mod guard;
mod params;
mod results;
mod server;
pub mod transport;

pub use guard::Guard;
pub use server::{OutputLimits, ReplServer, WebLinks, WebUrls};
