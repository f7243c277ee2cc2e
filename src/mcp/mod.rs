//! The MCP face of the server: tools over stdio or streamable HTTP.

mod act;
mod answer;
mod ask;
mod bound;
mod gate;
mod guard;
mod params;
mod results;
mod sampling;
mod schema;
mod server;
mod tools;
pub mod transport;

pub use answer::{AnswerError, parse_answer};
pub use gate::{
    Action, ActionFacts, AnswerVia, CallGate, Origin, PolicyGate, Refusal, WebGate, WebLine,
};
pub use guard::Guard;
pub use schema::problems as schema_problems;
pub use server::{OutputLimits, ReplServer, SessionUse, WebLinks, WebUrls};
