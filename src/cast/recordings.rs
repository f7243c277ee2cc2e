//! Which sessions are recorded, and where: every session when the server
//! runs with `--record-dir DIR` (`DIR/<session id>.cast`), or one asked for
//! with `record: true` in `create_session` (then in the state directory,
//! `~/.local/state/repl-mcp/casts/`). The web view asks here for a
//! session's cast to offer it for download.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::format::{CastHeader, ReplMcpMeta};
use super::recorder::CastRecorder;

/// What a cast's header says about its session.
#[derive(Debug, Clone, Default)]
pub struct CastInfo {
    pub session_id: String,
    pub preset: String,
    /// The program as started (argv).
    pub argv: Vec<String>,
    /// The environment given to the program (for `TERM`).
    pub env: Vec<(String, String)>,
    pub cols: u16,
    pub rows: u16,
    pub timeout_ms: Option<u64>,
    pub target: Option<String>,
}

/// The server's recordings. One per server; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Recordings {
    /// `--record-dir`: record every session there.
    all_into: Option<PathBuf>,
    /// Where sessions recorded on request go when there is no `--record-dir`.
    on_request_into: Option<PathBuf>,
    files: Mutex<HashMap<String, PathBuf>>,
}

impl Recordings {
    /// `record_dir`: the server's `--record-dir`, if given.
    pub fn new(record_dir: Option<PathBuf>) -> Recordings {
        Recordings {
            all_into: record_dir,
            on_request_into: crate::paths::state_dir().map(|d| d.join("casts")),
            files: Mutex::new(HashMap::new()),
        }
    }

    /// Whether every session is recorded.
    pub fn records_all(&self) -> bool {
        self.all_into.is_some()
    }

    /// A recorder for a new session, if it is to be recorded (`requested`:
    /// `record: true`). Attach it as the session's tap before it starts,
    /// then [`bind`](Self::bind) it once the session has an id.
    pub fn recorder(&self, requested: bool) -> Option<Arc<CastRecorder>> {
        if !requested && self.all_into.is_none() {
            return None;
        }
        match CastRecorder::start() {
            Ok(r) => Some(Arc::new(r)),
            Err(e) => {
                tracing::warn!("session not recorded: cannot start the recorder thread: {e}");
                None
            }
        }
    }

    /// Names the recorder's file after the session and writes its header.
    /// Returns the cast's path.
    pub fn bind(&self, recorder: &CastRecorder, info: &CastInfo) -> Option<PathBuf> {
        let Some(dir) = self.all_into.as_ref().or(self.on_request_into.as_ref()) else {
            tracing::warn!(session = %info.session_id, "session not recorded: no directory for casts (set HOME or --record-dir)");
            return None;
        };
        let path = cast_path(dir, &info.session_id);
        recorder.bind(path.clone(), header(info));
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(info.session_id.clone(), path.clone());
        tracing::info!(session = %info.session_id, path = %path.display(), "recording the session");
        Some(path)
    }

    /// The cast of session `id`, if it is recorded.
    pub fn path(&self, id: &str) -> Option<PathBuf> {
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }
}

/// `<dir>/<id>.cast`; an id that is not a plain file name is made one.
fn cast_path(dir: &Path, id: &str) -> PathBuf {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.cast"))
}

fn header(info: &CastInfo) -> CastHeader {
    let mut env = BTreeMap::new();
    let term = info
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "TERM")
        .map_or_else(|| "xterm-256color".to_string(), |(_, v)| v.clone());
    env.insert("TERM".to_string(), term);
    CastHeader {
        version: 2,
        width: info.cols.max(1),
        height: info.rows.max(1),
        timestamp: None,
        command: (!info.argv.is_empty()).then(|| shell_words(&info.argv)),
        title: Some(format!(
            "repl-mcp {} session {}",
            info.preset, info.session_id
        )),
        env,
        repl_mcp: Some(ReplMcpMeta {
            session: info.session_id.clone(),
            preset: info.preset.clone(),
            timeout_ms: info.timeout_ms,
            target: info.target.clone(),
        }),
    }
}

/// argv as one line a person can read (quoted where needed).
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_asked_for_sessions_are_recorded_without_a_record_dir() {
        let none = Recordings::new(None);
        assert!(none.recorder(false).is_none());
        assert!(none.recorder(true).is_some());
        let all = Recordings::new(Some(PathBuf::from("/tmp/x")));
        assert!(all.recorder(false).is_some());
    }

    #[test]
    fn header_carries_the_session() {
        let h = header(&CastInfo {
            session_id: "ab12".into(),
            preset: "python".into(),
            argv: vec!["python3".into(), "-c".into(), "print('hi there')".into()],
            env: vec![("TERM".into(), "xterm".into())],
            cols: 100,
            rows: 30,
            timeout_ms: Some(5000),
            target: None,
        });
        assert_eq!((h.width, h.height), (100, 30));
        assert_eq!(
            h.command.as_deref(),
            Some("python3 -c 'print('\\''hi there'\\'')'")
        );
        assert_eq!(h.env["TERM"], "xterm");
        assert_eq!(
            cast_path(Path::new("/d"), "../x"),
            PathBuf::from("/d/___x.cast")
        );
    }
}
