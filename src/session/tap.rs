//! A session's transcript tap: what the session hands its recorder (see
//! [`crate::cast`]). Without a recorder every call is a no-op, so the
//! session calls it unconditionally, one line at each point.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cast::{CastInfo, CastRecorder, Recordings};

/// How long ending a session waits for its cast to reach the disk.
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

/// The awaiting kind (see `detect`) under which typed input is a secret.
const SECRET_KIND: &str = "password";

/// The session's recorder, if it is recorded.
#[derive(Debug, Default)]
pub struct Tap(Option<Recording>);

#[derive(Debug)]
struct Recording {
    recorder: Arc<CastRecorder>,
    /// A secret is being typed (and was recorded once): keystrokes that
    /// follow, up to the Enter, are not recorded, so its length is not told.
    in_secret: AtomicBool,
}

impl Tap {
    pub fn new(recorder: Option<Arc<CastRecorder>>) -> Tap {
        Tap(recorder.map(|recorder| Recording {
            recorder,
            in_secret: AtomicBool::new(false),
        }))
    }

    /// The tap of a new session: a recorder bound to its cast file when
    /// the server records every session or `requested` (`record: true`);
    /// otherwise none. Called before the session's first byte is read.
    pub fn for_session(
        recordings: Option<&Recordings>,
        requested: bool,
        info: &super::SessionInfo,
        (cols, rows): (u16, u16),
    ) -> Tap {
        let Some(recordings) = recordings else {
            return Tap::default();
        };
        let Some(recorder) = recordings.recorder(requested) else {
            return Tap::default();
        };
        let cast = CastInfo {
            session_id: info.id.clone(),
            preset: info.preset.clone(),
            argv: info.argv.clone(),
            env: info.env.clone(),
            cols,
            rows,
            timeout_ms: Some(info.timeout_ms),
            target: info.target.clone(),
        };
        // Not bound (no directory for casts): nothing would ever be written.
        match recordings.bind(&recorder, &cast) {
            Some(_) => Tap::new(Some(recorder)),
            None => Tap::default(),
        }
    }

    /// Output as the reader got it from the PTY.
    pub fn output(&self, chunk: &[u8]) {
        if let Some(r) = &self.0 {
            r.recorder.output(chunk);
        }
    }

    /// Input about to be written to the PTY. `awaiting` tells what the
    /// session awaits (`None` unless it awaits an answer); it is asked only
    /// when the session is recorded. Typed at a password prompt, the input
    /// is recorded as one `********` however many writes (keystrokes) it
    /// takes, then the Enter that ends it.
    pub fn input(&self, bytes: &[u8], awaiting: impl FnOnce() -> Option<String>) {
        let Some(r) = self.0.as_ref().filter(|_| !bytes.is_empty()) else {
            return;
        };
        if awaiting().as_deref() != Some(SECRET_KIND) {
            r.in_secret.store(false, Ordering::Relaxed);
            r.recorder.input(bytes, false);
            return;
        }
        let entered = matches!(bytes.last(), Some(b'\r' | b'\n'));
        let typing = bytes.iter().any(|b| !matches!(b, b'\r' | b'\n'));
        // Whether a `********` was already recorded for this secret.
        let told = r.in_secret.swap(!entered, Ordering::Relaxed);
        match (told || !typing, entered) {
            (false, _) => r.recorder.input(bytes, true),
            // Only Enter: kept as it is.
            (true, true) if !typing => r.recorder.input(bytes, false),
            (true, true) => r.recorder.input(&bytes[bytes.len() - 1..], false),
            (true, false) => {}
        }
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        if let Some(r) = &self.0 {
            r.recorder.resize(cols, rows);
        }
    }

    /// The session ended for good: finish the file (blocking, bounded).
    pub fn finish(&self) {
        if let Some(r) = &self.0
            && !r.recorder.finish(FINISH_TIMEOUT)
        {
            tracing::warn!("a session's cast was not complete within {FINISH_TIMEOUT:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cast::{Cast, CastHeader, EventCode};

    #[test]
    fn password_answers_are_hidden_and_enter_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.cast");
        let recorder = Arc::new(CastRecorder::start().expect("thread"));
        let header = CastHeader {
            version: 2,
            width: 80,
            height: 24,
            timestamp: None,
            command: None,
            title: None,
            env: Default::default(),
            repl_mcp: None,
        };
        recorder.bind(path.clone(), header);
        let tap = Tap::new(Some(recorder));
        let password = || Some("password".to_string());
        tap.input(b"", password);
        tap.input(b"s3cret", password);
        tap.input(b"\r", password);
        // Typed a key at a time (the web view): still one `********`.
        for key in [b"p", b"w", b"\r"] {
            tap.input(key, password);
        }
        tap.input(b"hunter2\r", password);
        tap.input(b"yes\r", || Some("confirm".to_string()));
        tap.input(b"1+1\r", || None);
        tap.resize(90, 30);
        tap.finish();
        let text = std::fs::read_to_string(&path).expect("cast");
        assert!(!text.contains("s3cret"), "{text}");
        let cast = Cast::parse(&text, &path).expect("valid cast");
        let inputs: Vec<&str> = cast
            .events
            .iter()
            .filter(|e| e.code == EventCode::Input)
            .map(|e| e.data.as_str())
            .collect();
        assert_eq!(
            inputs,
            [
                "********",
                "\r",
                "********",
                "\r",
                "********\r",
                "yes\r",
                "1+1\r"
            ]
        );
        assert!(
            !text.contains("hunter2") && !text.contains("\"p\""),
            "{text}"
        );
        assert_eq!(cast.events.last().and_then(|e| e.size()), Some((90, 30)));
        // Without a recorder, nothing is asked.
        Tap::default().input(b"x", || panic!("not recorded: not asked"));
    }
}
