//! The audit log: one JSON line per tool call, written by a dedicated thread
//! so that a slow disk never blocks the async runtime, rotated by size.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;

use super::error::PolicyError;
use super::summary::{MAX_SUMMARY_BYTES, summarize_arguments, truncate_str};
use super::time::rfc3339;
use super::verdict::Verdict;

/// Lines that may wait for the writer thread before new ones are dropped.
const QUEUE_LINES: usize = 4096;
/// Bound on short text fields (tool name, session id, rule, error).
const MAX_FIELD_CHARS: usize = 200;

/// Where and how the audit log is written (from the `[audit]` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// `false` turns the audit log off.
    pub enabled: bool,
    /// The file; `None` when no path was configured and no home directory is
    /// known (the log is then off, with a warning).
    pub path: Option<PathBuf>,
    /// Rotate before the file would grow past this many bytes; 0 = never.
    pub max_bytes: u64,
    /// How many rotated files to keep (`audit.jsonl.1` … `audit.jsonl.N`); 0 =
    /// the file is simply started afresh.
    pub keep: u32,
}

/// What became of a call, as recorded in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Allowed by policy.
    Allow,
    /// Refused by a deny rule.
    Deny,
    /// Refused by a rate limit.
    RateLimited,
    /// Needed approval and the person approved.
    Approved,
    /// Needed approval and the person declined (or cancelled).
    Declined,
    /// Needed approval and nobody could be asked, so it was refused.
    ApprovalUnavailable,
}

impl Decision {
    /// The decision for a verdict taken as final. `RequireApproval` maps to
    /// [`Decision::ApprovalUnavailable`]; record [`Decision::Approved`] or
    /// [`Decision::Declined`] when a person was asked.
    pub fn from_verdict(verdict: &Verdict) -> Decision {
        match verdict {
            Verdict::Allow => Decision::Allow,
            Verdict::Deny { .. } => Decision::Deny,
            Verdict::RateLimited { .. } => Decision::RateLimited,
            Verdict::RequireApproval { .. } => Decision::ApprovalUnavailable,
        }
    }
}

/// One tool call, as the MCP layer saw it.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// When the call arrived.
    pub time: SystemTime,
    /// The MCP connection it came on.
    pub connection_id: u64,
    /// The tool's name.
    pub tool: String,
    /// The session it concerned, if any.
    pub session_id: Option<String>,
    /// What the policy (and the person, if asked) decided.
    pub decision: Decision,
    /// The rule behind a non-`allow` decision.
    pub rule: Option<String>,
    /// From arrival to result.
    pub duration: Duration,
    /// Whether the tool itself succeeded (`None` when it never ran).
    pub ok: Option<bool>,
    /// The tool's error message, if it failed (truncated in the log).
    pub error: Option<String>,
    /// The call's arguments; only a bounded summary (≤ 1 KiB) is written.
    pub arguments: Value,
    /// For an action taken inside a call rather than the call itself: who
    /// decided it (`answer:sampling`, `answer:elicitation`, …).
    pub origin: Option<String>,
    /// For such an action: what it was (`send`, `wait`, `set_ready`, …).
    pub action: Option<String>,
}

impl AuditEntry {
    /// An entry for a call to `tool` on `connection_id` arriving now, with
    /// the decision and rule taken from `verdict`.
    pub fn new(connection_id: u64, tool: &str, verdict: &Verdict) -> AuditEntry {
        AuditEntry {
            time: SystemTime::now(),
            connection_id,
            tool: tool.to_string(),
            session_id: None,
            decision: Decision::from_verdict(verdict),
            rule: verdict.rule().map(str::to_string),
            duration: Duration::ZERO,
            ok: None,
            error: None,
            arguments: Value::Null,
            origin: None,
            action: None,
        }
    }

    /// The JSON line for this entry (without the trailing newline).
    pub fn to_json_line(&self) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            time: String,
            tool: String,
            session_id: Option<String>,
            decision: Decision,
            #[serde(skip_serializing_if = "Option::is_none")]
            rule: Option<String>,
            duration_ms: u64,
            connection_id: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            ok: Option<bool>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<String>,
            args: &'a Value,
            #[serde(skip_serializing_if = "Option::is_none")]
            origin: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            action: Option<&'a str>,
        }
        let args = summarize_arguments(&self.arguments, MAX_SUMMARY_BYTES);
        let line = Line {
            time: rfc3339(self.time),
            tool: truncate_str(&self.tool, MAX_FIELD_CHARS),
            session_id: self
                .session_id
                .as_deref()
                .map(|s| truncate_str(s, MAX_FIELD_CHARS)),
            decision: self.decision,
            rule: self
                .rule
                .as_deref()
                .map(|s| truncate_str(s, MAX_FIELD_CHARS)),
            duration_ms: u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
            connection_id: self.connection_id,
            ok: self.ok,
            error: self
                .error
                .as_deref()
                .map(|s| truncate_str(s, MAX_FIELD_CHARS)),
            args: &args,
            origin: self.origin.as_deref(),
            action: self.action.as_deref(),
        };
        serde_json::to_string(&line).unwrap_or_else(|e| {
            format!(
                "{{\"time\":\"{}\",\"error\":\"audit entry not serializable: {}\"}}",
                rfc3339(self.time),
                e.to_string().replace(['"', '\\'], "'")
            )
        })
    }
}

enum Msg {
    Line(String),
    Flush(SyncSender<()>),
}

/// The audit log. Cheap to share behind an `Arc`; `record` never blocks.
#[derive(Debug)]
pub struct AuditLog {
    tx: Option<SyncSender<Msg>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    dropped: Arc<AtomicU64>,
    path: Option<PathBuf>,
}

impl AuditLog {
    /// Open (creating directories and the file, mode 0600) and start the
    /// writer thread. A disabled config, or one without a path, gives a log
    /// that records nothing.
    pub fn open(config: &AuditConfig) -> Result<AuditLog, PolicyError> {
        let path = match (&config.path, config.enabled) {
            (Some(path), true) => path.clone(),
            (None, true) => {
                tracing::warn!("audit log disabled: no path configured and no home directory");
                return Ok(AuditLog::disabled());
            }
            (_, false) => return Ok(AuditLog::disabled()),
        };
        let audit_err = |source| PolicyError::Audit {
            path: path.clone(),
            source,
        };
        let mut writer = Writer {
            path: path.clone(),
            max_bytes: config.max_bytes,
            keep: config.keep,
            file: None,
            size: 0,
            failing: false,
        };
        writer.open().map_err(audit_err)?;
        let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
        let thread = std::thread::Builder::new()
            .name("repl-mcp-audit".into())
            .spawn(move || writer.run(rx))
            .map_err(audit_err)?;
        Ok(AuditLog {
            tx: Some(tx),
            thread: Mutex::new(Some(thread)),
            dropped: Arc::new(AtomicU64::new(0)),
            path: Some(path),
        })
    }

    /// A log that records nothing.
    pub fn disabled() -> AuditLog {
        AuditLog {
            tx: None,
            thread: Mutex::new(None),
            dropped: Arc::new(AtomicU64::new(0)),
            path: None,
        }
    }

    /// The file written to, if the log is on.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Queue one entry. Never blocks: if the writer has fallen more than
    /// 4096 lines behind, the entry is dropped and counted (see [`dropped`](Self::dropped)).
    pub fn record(&self, entry: AuditEntry) {
        let Some(tx) = &self.tx else { return };
        let line = entry.to_json_line();
        match tx.try_send(Msg::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(dropped = n, "audit log writer is behind; entries dropped");
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::warn!("audit log writer has stopped; entry dropped");
            }
        }
    }

    /// Entries dropped because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Block until every entry recorded so far is written and flushed to the
    /// file. For tests and shutdown; do not call it on an async worker.
    pub fn flush(&self) {
        let Some(tx) = &self.tx else { return };
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        if tx.send(Msg::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv();
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Closing the channel lets the writer drain what is queued and stop.
        drop(self.tx.take());
        let handle = self
            .thread
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

/// The writer thread's state.
struct Writer {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    file: Option<BufWriter<File>>,
    size: u64,
    /// An error was logged and has not cleared yet (log each streak once).
    failing: bool,
}

impl Writer {
    fn run(mut self, rx: Receiver<Msg>) {
        while let Ok(first) = rx.recv() {
            let mut acks = Vec::new();
            let mut next = Some(first);
            while let Some(msg) = next {
                match msg {
                    Msg::Line(line) => self.write_line(&line),
                    Msg::Flush(ack) => acks.push(ack),
                }
                next = rx.try_recv().ok();
            }
            self.flush();
            for ack in acks {
                let _ = ack.send(());
            }
        }
        self.flush();
    }

    fn open(&mut self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent()
            && !dir.as_os_str().is_empty()
        {
            create_private_dir(dir)?;
        }
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&self.path)?;
        self.size = file.metadata()?.len();
        self.file = Some(BufWriter::new(file));
        Ok(())
    }

    fn write_line(&mut self, line: &str) {
        let len = line.len() as u64 + 1;
        let result = (|| -> std::io::Result<()> {
            if self.file.is_none() {
                self.open()?;
            }
            if self.max_bytes > 0 && self.size > 0 && self.size + len > self.max_bytes {
                self.rotate()?;
            }
            let file = match self.file.as_mut() {
                Some(file) => file,
                None => return Err(std::io::Error::other("audit file not open")),
            };
            file.write_all(line.as_bytes())?;
            file.write_all(b"\n")?;
            self.size += len;
            Ok(())
        })();
        self.note(result);
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush()?;
        }
        if self.keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            let _ = fs::remove_file(numbered(&self.path, self.keep));
            for i in (1..self.keep).rev() {
                let from = numbered(&self.path, i);
                if from.exists() {
                    fs::rename(&from, numbered(&self.path, i + 1))?;
                }
            }
            fs::rename(&self.path, numbered(&self.path, 1))?;
        }
        self.open()
    }

    fn flush(&mut self) {
        let result = match self.file.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        };
        self.note(result);
    }

    fn note(&mut self, result: std::io::Result<()>) {
        match result {
            Ok(()) => {
                if self.failing {
                    tracing::info!(path = %self.path.display(), "audit log writable again");
                }
                self.failing = false;
            }
            Err(e) => {
                if !self.failing {
                    tracing::error!(path = %self.path.display(), error = %e, "cannot write audit log");
                }
                self.failing = true;
                // Reopen on the next line (the file may have been removed).
                self.file = None;
            }
        }
    }
}

/// `audit.jsonl` → `audit.jsonl.3`.
fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}
