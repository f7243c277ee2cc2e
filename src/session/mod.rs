//! Sessions: real programs on pseudo-terminals, their screens, their state.
//!
//! Nothing here knows about MCP or HTTP. The MCP tools, the web view and
//! (later) a daemon are all callers of [`SessionManager`].

mod clean;
mod detect;
mod error;
pub mod gate;
pub mod kernel;
mod locale;
mod manager;
mod markers;
mod output;
mod plan;
pub mod pty;
mod reaper;
mod recovery;
mod ring;
#[allow(clippy::module_inception)]
mod session;
mod shell_integration;
mod state;
mod submit;
mod tap;
mod terminal;
mod writer;

pub use clean::lossy_utf8;
pub use clean::render as clean_text;
pub use detect::{Detected, PromptMatcher};
// The cursor line as prompt detection reads it (plugin replays build the same input).
pub use detect::cursor_line;
pub use error::SessionError;
pub use manager::{CreateOutcome, CreateRequest, MAX_TIMEOUT_MS, ManagerConfig, SessionManager};
pub use plan::CustomConfig;
pub use reaper::{Reaper, run_watchdog};
pub use recovery::Question;
pub use session::{
    CommandRecord, DEFAULT_SETTLE, HistoryEntry, Outcome, Respawn, SendOptions, Session,
    SessionEvent, SessionInfo, SessionSnapshot, SessionStatus, unix_ms,
};
pub use state::{Actor, SessionState};

/// The per-chunk and per-result hot paths, for the micro-benchmarks
/// (`cargo bench --bench hot_paths`). Not a stable API.
#[doc(hidden)]
pub mod hot {
    pub use super::markers::{Marker, MarkerScanner};
    pub use super::output::extract_output;
    pub use super::ring::OutputRing;
    pub use super::terminal::Terminal;
}
