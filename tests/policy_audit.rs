//! The audit log: valid, bounded JSON lines, rotated by size, off stdout.

use std::path::{Path, PathBuf};
use std::time::Duration;

use repl_mcp::policy::{AuditConfig, AuditEntry, AuditLog, Decision, Policy, Verdict};
use serde_json::{Value, json};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("repl-mcp-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("temp dir: {e}"));
    dir
}

fn config(path: &Path, max_bytes: u64, keep: u32) -> AuditConfig {
    AuditConfig {
        enabled: true,
        path: Some(path.to_path_buf()),
        max_bytes,
        keep,
    }
}

fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid JSON line {l:?}: {e}")))
        .collect()
}

fn entry(i: u64, input_len: usize) -> AuditEntry {
    let mut e = AuditEntry::new(i % 3, "send_input_to_session", &Verdict::Allow);
    e.session_id = Some(format!("session-{i}"));
    e.duration = Duration::from_millis(i);
    e.ok = Some(true);
    e.arguments =
        json!({"sessionId": format!("session-{i}"), "input": "é".repeat(input_len), "n": i});
    e
}

#[test]
fn lines_are_valid_bounded_json_with_all_fields() {
    let dir = temp_dir("fields");
    let path = dir.join("state/repl-mcp/audit.jsonl");
    let log = AuditLog::open(&config(&path, 0, 0)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log.path(), Some(path.as_path()));

    log.record(entry(1, 10));
    log.record(entry(2, 1_000_000));
    let denied = Policy::builtin().check_input("", "rm -rf /");
    let mut e = AuditEntry::new(9, "send_input_to_session", &denied);
    e.arguments = json!({"input": "rm -rf /"});
    log.record(e);
    log.flush();

    let lines = read_lines(&path);
    assert_eq!(lines.len(), 3);
    let first = &lines[0];
    let time = first["time"].as_str().unwrap_or_default();
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{time}"
    );
    assert_eq!(first["tool"], "send_input_to_session");
    assert_eq!(first["session_id"], "session-1");
    assert_eq!(first["decision"], "allow");
    assert_eq!(first["duration_ms"], 1);
    assert_eq!(first["connection_id"], 1);
    assert_eq!(first["ok"], true);
    assert_eq!(first["args"]["n"], 1);

    let second = serde_json::to_string(&lines[1]["args"]).unwrap_or_default();
    assert!(second.len() <= 1024, "summary bounded: {}", second.len());
    assert!(second.contains("truncated, 2000000 bytes"), "{second}");

    assert_eq!(lines[2]["decision"], "deny");
    assert_eq!(lines[2]["rule"], "input.deny[0]");

    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(text.lines().all(|l| l.len() < 2048));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        assert_eq!(mode & 0o077, 0, "audit log must be private: {mode:o}");
    }
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rotates_at_max_bytes_and_keeps_n_files() {
    let dir = temp_dir("rotate");
    let path = dir.join("audit.jsonl");
    let max = 4096u64;
    let log = AuditLog::open(&config(&path, max, 2)).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..200 {
        log.record(entry(i, 50));
    }
    log.flush();
    drop(log);

    let rotated: Vec<PathBuf> = (1..=3)
        .map(|n| dir.join(format!("audit.jsonl.{n}")))
        .collect();
    assert!(
        rotated[0].exists() && rotated[1].exists(),
        "two rotated files kept"
    );
    assert!(!rotated[2].exists(), "no third rotated file");
    for file in [&path, &rotated[0], &rotated[1]] {
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(u64::MAX);
        assert!(size <= max, "{} is {size} bytes", file.display());
        assert!(!read_lines(file).is_empty());
    }
    // Order is preserved across files: .2 is older than .1, older than the live file.
    let last_n = |p: &Path| {
        read_lines(p)
            .last()
            .map(|v| v["args"]["n"].as_u64().unwrap_or(0))
    };
    let first_n = |p: &Path| {
        read_lines(p)
            .first()
            .map(|v| v["args"]["n"].as_u64().unwrap_or(0))
    };
    assert!(last_n(&rotated[1]) < first_n(&rotated[0]));
    assert!(last_n(&rotated[0]) < first_n(&path));
    assert_eq!(last_n(&path), Some(199));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn appends_to_an_existing_file_and_survives_its_removal() {
    let dir = temp_dir("reopen");
    let path = dir.join("audit.jsonl");
    {
        let log = AuditLog::open(&config(&path, 0, 0)).unwrap_or_else(|e| panic!("{e}"));
        log.record(entry(1, 1));
        log.flush();
    }
    let log = AuditLog::open(&config(&path, 0, 0)).unwrap_or_else(|e| panic!("{e}"));
    log.record(entry(2, 1));
    log.flush();
    assert_eq!(read_lines(&path).len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
    // The directory is gone: recording neither panics nor blocks nor drops entries.
    log.record(entry(3, 1));
    log.flush();
    assert_eq!(log.dropped(), 0);
}

#[test]
fn disabled_log_records_nothing_and_bad_path_is_an_error() {
    let dir = temp_dir("disabled");
    let path = dir.join("audit.jsonl");
    let mut cfg = config(&path, 0, 0);
    cfg.enabled = false;
    let log = AuditLog::open(&cfg).unwrap_or_else(|e| panic!("{e}"));
    log.record(entry(1, 1));
    log.flush();
    assert!(log.path().is_none());
    assert!(!path.exists());

    // A path under a regular file cannot be created.
    let file = dir.join("file");
    std::fs::write(&file, "x").unwrap_or_else(|e| panic!("{e}"));
    let err = AuditLog::open(&config(&file.join("audit.jsonl"), 0, 0)).err();
    assert!(
        err.map(|e| e.to_string())
            .unwrap_or_default()
            .contains("cannot open audit log")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn decisions_map_from_verdicts() {
    let v = Verdict::RequireApproval {
        rule: "tools.x".into(),
        prompt: "ok?".into(),
        fix: String::new(),
    };
    assert_eq!(Decision::from_verdict(&v), Decision::ApprovalUnavailable);
    let mut e = AuditEntry::new(1, "x", &v);
    e.decision = Decision::Approved;
    let line: Value = serde_json::from_str(&e.to_json_line()).unwrap_or(Value::Null);
    assert_eq!(line["decision"], "approved");
    assert_eq!(line["rule"], "tools.x");
}
