//! The seam between the web view and the session layer.
//!
//! The web view never touches PTYs, terminal models or MCP. It only calls
//! [`WebBackend`], which the session manager implements. Keeping this trait
//! free of HTTP types lets the same session layer serve the MCP tools, this
//! web view and (later) a daemon.

use std::time::SystemTime;

use tokio::sync::broadcast;

/// Who typed into a session last (the session layer's own type).
pub use crate::session::Actor;

/// What the web view needs to know about a session to list it and title its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSessionInfo {
    pub id: String,
    /// Shown as the page title and in the index.
    pub display_name: String,
    /// The session state as the session layer names it: `starting`, `ready`,
    /// `busy`, `continuation`, `awaiting_input`, `exited`, `failed`, … A string
    /// so that new states need no change here; the page shows it verbatim and
    /// colours the ones it knows.
    pub state: String,
    /// `None` until someone typed.
    pub last_actor: Option<Actor>,
    pub created_at: SystemTime,
}

/// A consistent snapshot of a session's terminal plus the live stream that
/// follows it.
///
/// The backend must take the snapshot and subscribe to the stream atomically
/// (under the same lock that feeds PTY output to the terminal model and to the
/// broadcast), so that no output is lost or shown twice between the two.
#[derive(Debug)]
pub struct Attachment {
    /// Bytes that reproduce the current screen (and input modes) in a fresh
    /// terminal of size `cols`×`rows`, e.g. vt100's `Screen::state_formatted()`.
    pub screen: Vec<u8>,
    pub cols: u16,
    pub rows: u16,
    /// Everything that happens after the snapshot. Its capacity bounds the
    /// memory a slow viewer can pin: a viewer that falls behind gets
    /// `RecvError::Lagged`, and the web view re-attaches and resends the screen.
    pub events: broadcast::Receiver<WebEvent>,
}

/// What the session layer tells viewers, in order (the session layer's own
/// event type, so no per-viewer translation is needed).
pub use crate::session::SessionEvent as WebEvent;

/// What became of a line a person ended with Enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    /// The Enter reached the terminal.
    Sent,
    /// The Enter was held back; `message` says which rule and why.
    Refused { message: String },
}

/// The session layer as the web view sees it.
///
/// Every method is called from async tasks and must not block for long: queue
/// input to the PTY writer rather than writing synchronously to a full PTY.
pub trait WebBackend: Send + Sync + 'static {
    /// All live sessions (the index page shows the ones registered with the
    /// web server).
    fn list_sessions(&self) -> Vec<WebSessionInfo>;

    fn session_info(&self, id: &str) -> Option<WebSessionInfo>;

    /// A snapshot of the screen and a subscription to what follows; `None` if
    /// there is no such session.
    fn attach(&self, id: &str) -> Option<Attachment>;

    /// Bytes typed by a person in an interactive page. The backend records the
    /// person as last actor and broadcasts a [`WebEvent::State`].
    fn write_input(&self, id: &str, bytes: &[u8]) -> Result<(), String>;

    /// A person ended a line with Enter (`key`, `\r` or `\n`); `line` is
    /// every key they typed since the last Enter, as typed (control keys
    /// and escape sequences included; all already reached the terminal). The backend applies whatever rules it
    /// has, writes the Enter if the line may run, and records the line. A
    /// refused line's Enter is not written: the web view kills the line
    /// and tells the page why. Without rules, the Enter is simply written.
    fn submit_line(&self, id: &str, line: &str, key: u8) -> Result<LineOutcome, String> {
        let _ = line;
        self.write_input(id, &[key]).map(|()| LineOutcome::Sent)
    }

    /// Why no page may type (every page is then read-only), if the
    /// backend's rules say so.
    fn typing_refused(&self) -> Option<String> {
        None
    }

    /// Resize the PTY (and the terminal model); the backend broadcasts
    /// [`WebEvent::Resized`].
    fn resize(&self, id: &str, cols: u16, rows: u16) -> Result<(), String>;
}
