//! The asciicast v2 header and event lines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The first line of a cast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CastHeader {
    /// Always 2.
    pub version: u32,
    /// Terminal columns and rows at the start.
    pub width: u16,
    pub height: u16,
    /// Unix seconds when the recording started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `TERM` (and `SHELL`) as the program saw them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// What repl-mcp knows of the session (players ignore unknown keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repl_mcp: Option<ReplMcpMeta>,
}

/// repl-mcp's own header fields: enough for `plugin test` to replay the
/// cast as the session ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplMcpMeta {
    #[serde(default)]
    pub session: String,
    #[serde(default)]
    pub preset: String,
    /// The preset's evaluation timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// What an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCode {
    /// Bytes the program wrote to the terminal.
    Output,
    /// Bytes typed into the program.
    Input,
    /// The terminal was resized (`COLSxROWS`).
    Resize,
    /// A marker (a label).
    Marker,
}

impl EventCode {
    pub fn as_str(self) -> &'static str {
        match self {
            EventCode::Output => "o",
            EventCode::Input => "i",
            EventCode::Resize => "r",
            EventCode::Marker => "m",
        }
    }

    pub fn parse(code: &str) -> Option<EventCode> {
        match code {
            "o" => Some(EventCode::Output),
            "i" => Some(EventCode::Input),
            "r" => Some(EventCode::Resize),
            "m" => Some(EventCode::Marker),
            _ => None,
        }
    }
}

/// One event of a cast.
#[derive(Debug, Clone, PartialEq)]
pub struct CastEvent {
    /// Seconds since the start of the recording.
    pub time: f64,
    pub code: EventCode,
    pub data: String,
}

impl CastEvent {
    /// The size of a resize event.
    pub fn size(&self) -> Option<(u16, u16)> {
        if self.code != EventCode::Resize {
            return None;
        }
        let (cols, rows) = self.data.split_once('x')?;
        Some((cols.trim().parse().ok()?, rows.trim().parse().ok()?))
    }
}

/// Writes one event line (`[time, "code", "data"]\n`) to `out`.
pub fn write_event(
    mut out: impl std::io::Write,
    time: f64,
    code: EventCode,
    data: &str,
) -> std::io::Result<()> {
    // Microseconds, as asciinema writes them.
    write!(out, "[{time:.6}, \"{}\", ", code.as_str())?;
    // A &str always serializes; only the writer can fail.
    serde_json::to_writer(&mut out, data).map_err(std::io::Error::other)?;
    out.write_all(b"]\n")
}

/// The header line, with its newline.
pub fn header_line(header: &CastHeader) -> String {
    let mut line = serde_json::to_string(header).unwrap_or_else(|_| "{}".to_string());
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_json_arrays_with_microseconds() {
        let mut out = Vec::new();
        write_event(&mut out, 1.5, EventCode::Output, "a\"b\u{1b}[0m\n").expect("a Vec takes it");
        write_event(&mut out, 2.0, EventCode::Resize, "100x40").expect("a Vec takes it");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            text,
            "[1.500000, \"o\", \"a\\\"b\\u001b[0m\\n\"]\n[2.000000, \"r\", \"100x40\"]\n"
        );
        let size = CastEvent {
            time: 0.0,
            code: EventCode::Resize,
            data: "100x40".into(),
        }
        .size();
        assert_eq!(size, Some((100, 40)));
    }
}
