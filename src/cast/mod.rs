//! Transcripts in asciicast v2, the format of asciinema (design decision
//! 16): a JSON header line, then one JSON array per event —
//! `[seconds, "o", output]`, `[seconds, "i", input]`, `[seconds, "r",
//! "COLSxROWS"]`, `[seconds, "m", label]`.
//!
//! - [`format`]: the header and the event lines, written and read.
//! - [`reader`]: a whole cast file, checked, with errors naming file and line.
//! - [`recorder`]: a session tap that writes a cast on its own thread.
//! - [`recordings`]: which sessions are recorded where (`--record-dir`,
//!   `record: true`), for the server and the web view's download.

#[doc(hidden)]
pub mod bench;
pub mod format;
pub mod reader;
pub mod recorder;
pub mod recordings;

pub use format::{CastEvent, CastHeader, EventCode, ReplMcpMeta};
pub use reader::{Cast, CastError};
pub use recorder::{CastRecorder, REDACTED};
pub use recordings::{CastInfo, Recordings};
