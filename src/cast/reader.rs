//! Reading a cast file, strictly: anything that is not asciicast v2, or a
//! file cut short, is an error naming the file and the line.

use std::path::{Path, PathBuf};

use super::format::{CastEvent, CastHeader, EventCode};

/// A cast problem, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct CastError {
    pub file: PathBuf,
    /// One-based; 0 when the file could not be read at all.
    pub line: usize,
    pub message: String,
}

/// A whole recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Cast {
    pub header: CastHeader,
    pub events: Vec<CastEvent>,
    /// The line of each event in the file (for messages).
    pub lines: Vec<usize>,
}

impl Cast {
    pub fn read(path: &Path) -> Result<Cast, CastError> {
        let bytes = std::fs::read(path).map_err(|e| CastError {
            file: path.to_path_buf(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            CastError {
                file: path.to_path_buf(),
                line,
                message: "not UTF-8 text: a cast is JSON lines".to_string(),
            }
        })?;
        Cast::parse(&text, path)
    }

    /// Parses cast text; `file` is only used in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Cast, CastError> {
        let err = |line: usize, message: String| CastError {
            file: file.to_path_buf(),
            line,
            message,
        };
        let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        let Some((_, first)) = lines.find(|(_, l)| !l.trim().is_empty()) else {
            return Err(err(1, "empty file: not an asciicast v2 recording".into()));
        };
        let header = parse_header(first).map_err(|m| err(1, m))?;
        let ends_with_newline = text.ends_with('\n');
        let last_line = text.split('\n').count();
        let mut events = Vec::new();
        let mut at = Vec::new();
        let mut previous = 0.0_f64;
        for (n, line) in lines {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let event = match parse_event(line) {
                Ok(e) => e,
                Err(m) if n == last_line && !ends_with_newline => {
                    return Err(err(
                        n,
                        format!(
                            "truncated: the last event is cut short ({m}); was the recording still being written?"
                        ),
                    ));
                }
                Err(m) => return Err(err(n, m)),
            };
            if event.time < previous {
                return Err(err(
                    n,
                    format!("time goes backwards: {} after {previous}", event.time),
                ));
            }
            previous = event.time;
            events.push(event);
            at.push(n);
        }
        Ok(Cast {
            header,
            events,
            lines: at,
        })
    }

    /// Seconds from the start to the last event.
    pub fn duration(&self) -> f64 {
        self.events.last().map_or(0.0, |e| e.time)
    }
}

fn parse_header(line: &str) -> Result<CastHeader, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|_| {
        if line.trim() == "{" {
            "not asciicast v2: this looks like asciicast v1 (one JSON document); \
             record it again with repl-mcp or convert it with `asciinema convert`"
                .to_string()
        } else {
            "not an asciicast v2 header: the first line must be a JSON object with \"version\": 2"
                .to_string()
        }
    })?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(2) => {}
        Some(v) => {
            return Err(format!(
                "asciicast version {v} is not supported; this reads version 2"
            ));
        }
        None => {
            return Err(
                "not an asciicast v2 header: no \"version\": 2 in the first line".to_string(),
            );
        }
    }
    let header: CastHeader =
        serde_json::from_value(value).map_err(|e| format!("invalid asciicast v2 header: {e}"))?;
    if header.width == 0 || header.height == 0 {
        return Err(format!(
            "invalid asciicast v2 header: a {}x{} terminal",
            header.width, header.height
        ));
    }
    Ok(header)
}

fn parse_event(line: &str) -> Result<CastEvent, String> {
    let (time, code, data): (f64, String, String) = serde_json::from_str(line).map_err(|e| {
        format!("not an event: expected [seconds, \"o\"|\"i\"|\"r\"|\"m\", \"data\"] ({e})")
    })?;
    if !time.is_finite() || time < 0.0 {
        return Err(format!("event time {time} is not a non-negative number"));
    }
    let code = EventCode::parse(&code)
        .ok_or_else(|| format!("unknown event code {code:?} (asciicast v2 has o, i, r, m)"))?;
    let event = CastEvent { time, code, data };
    if code == EventCode::Resize && event.size().is_none() {
        return Err(format!("a resize is \"COLSxROWS\", not {:?}", event.data));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        r#"{"version": 2, "width": 80, "height": 24, "env": {"TERM": "xterm-256color"}}"#;

    fn parse(text: &str) -> Result<Cast, CastError> {
        Cast::parse(text, Path::new("x.cast"))
    }

    #[test]
    fn reads_events_in_order() {
        let text = format!(
            "{HEADER}\n[0.1, \"o\", \">>> \"]\n\n[0.5, \"i\", \"1+1\\r\"]\n[0.6, \"r\", \"100x30\"]\n[0.7, \"m\", \"x\"]\n"
        );
        let cast = parse(&text).expect("valid");
        assert_eq!(cast.header.width, 80);
        assert_eq!(cast.events.len(), 4);
        assert_eq!(cast.lines, vec![2, 4, 5, 6]);
        assert_eq!(cast.events[2].size(), Some((100, 30)));
        assert!((cast.duration() - 0.7).abs() < 1e-9);
    }

    #[test]
    fn bad_files_name_the_line() {
        for (text, line, needle) in [
            (String::new(), 1, "empty"),
            ("hello\n".to_string(), 1, "not an asciicast v2 header"),
            ("{\n  \"version\": 1\n}\n".to_string(), 1, "asciicast v1"),
            (
                "{\"version\": 3, \"term\": {}}\n".to_string(),
                1,
                "version 3",
            ),
            (
                format!("{HEADER}\n[0.1, \"o\", \"a\"]\n[oops]\n"),
                3,
                "not an event",
            ),
            (
                format!("{HEADER}\n[0.5, \"o\", \"a\"]\n[0.1, \"o\", \"b\"]\n"),
                3,
                "backwards",
            ),
            (
                format!("{HEADER}\n[0.1, \"x\", \"a\"]\n"),
                2,
                "unknown event code",
            ),
            (format!("{HEADER}\n[-1, \"o\", \"a\"]\n"), 2, "non-negative"),
            (
                format!("{HEADER}\n[0.1, \"r\", \"wide\"]\n"),
                2,
                "COLSxROWS",
            ),
            (
                format!("{HEADER}\n[0.1, \"o\", \"a\"]\n[0.2, \"o\", \"ab"),
                3,
                "truncated",
            ),
        ] {
            let e = parse(&text).expect_err(&text);
            assert_eq!(e.line, line, "{e}");
            assert!(e.message.contains(needle), "{e}");
            assert!(
                e.to_string().starts_with(&format!("x.cast:{line}: ")),
                "{e}"
            );
        }
    }
}
