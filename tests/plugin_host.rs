//! The plugin host against hostile plugins: endless loops, memory bombs,
//! traps, garbage answers, decisions beyond their capabilities, forbidden
//! imports. After each, the offending session is disabled and answers
//! `Disabled`, while other sessions and other plugins keep working.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use repl_mcp::plugin::{Decision, PluginError, PluginHost, PluginSession, PromptKind};
use support::plugins::{facts, host, input, load, python_settings, session};
use support::wat::{Bodies, component, manifest};

/// The session is disabled for good, and the rest of the host is fine: a
/// built-in plugin in a fresh session still detects a prompt.
fn assert_contained(host: &PluginHost, mut s: PluginSession) {
    assert!(s.is_disabled(), "session should be disabled");
    assert!(matches!(
        s.detect_prompt(&input()),
        Err(PluginError::Disabled { .. })
    ));
    assert!(matches!(
        s.on_timeout(&facts("busy")),
        Err(PluginError::Disabled { .. })
    ));
    let mut other = host
        .instantiate("builtin:prompt-regex", &python_settings())
        .expect("other plugin");
    let d = other
        .detect_prompt(&input())
        .expect("other works")
        .expect("a detection");
    assert_eq!(d.kind, PromptKind::Ready);
}

// ---- fixtures ---------------------------------------------------------

const LOOP: &str = "(loop $l (br $l)) (i32.const 0)";
const MEMORY_BOMB: &str = "(loop $l (drop (memory.grow (i32.const 16))) (br $l)) (i32.const 0)";
const TRAP: &str = "unreachable";
const STACK_OVERFLOW: &str = "(drop (call $recurse (i32.const 0))) (i32.const 0)";
/// `option<detection>` = some(ready, "")
const DETECT_READY: &str = "(i32.store8 (i32.const 256) (i32.const 1)) (i32.store (i32.const 264) (i32.const 1024)) (i32.const 256)";
/// An option tag that does not exist.
const BAD_OPTION_TAG: &str = "(i32.store8 (i32.const 256) (i32.const 7)) (i32.const 256)";
/// A prompt kind that does not exist.
const BAD_ENUM: &str = "(i32.store8 (i32.const 256) (i32.const 1)) (i32.store8 (i32.const 260) (i32.const 9)) (i32.const 256)";
/// A prompt string pointing outside memory.
const OOB_STRING: &str = "(i32.store8 (i32.const 256) (i32.const 1)) (i32.store (i32.const 264) (i32.const -65536)) (i32.store (i32.const 268) (i32.const 65536)) (i32.const 256)";
/// A valid but enormous prompt (5000 NULs).
const HUGE_PROMPT: &str = "(i32.store8 (i32.const 256) (i32.const 1)) (i32.store (i32.const 264) (i32.const 1024)) (i32.store (i32.const 268) (i32.const 5000)) (i32.const 256)";
/// A return area that is not aligned.
const MISALIGNED: &str = "(i32.const 257)";
/// `option<decision>` = some(restart)
const RESTART: &str = "(i32.store8 (i32.const 256) (i32.const 1)) (i32.store8 (i32.const 264) (i32.const 4)) (i32.const 256)";
/// `option<decision>` = some(wait(u64::MAX))
const WAIT_FOREVER: &str = "(i32.store8 (i32.const 256) (i32.const 1)) (i32.store8 (i32.const 264) (i32.const 0)) (i64.store (i32.const 272) (i64.const -1)) (i32.const 256)";
/// `option<decision>` = some(send-signal("KILL"))
const SIGKILL: &str = "(i32.store8 (i32.const 256) (i32.const 1)) (i32.store8 (i32.const 264) (i32.const 2)) (i32.store (i32.const 1024) (i32.const 0x4c4c494b)) (i32.store (i32.const 272) (i32.const 1024)) (i32.store (i32.const 276) (i32.const 4)) (i32.const 256)";
/// `result<_, string>` = err("bad")
const INIT_ERR: &str = "(i32.store8 (i32.const 256) (i32.const 1)) (i32.store (i32.const 1024) (i32.const 0x646162)) (i32.store (i32.const 260) (i32.const 1024)) (i32.store (i32.const 264) (i32.const 3)) (i32.const 256)";

const DEADLINE_100: &str = "[limits]\ndeadline_ms = 100\nmemory_mib = 4";

fn detect(body: &'static str) -> Bodies {
    Bodies {
        detect: body,
        ..Bodies::default()
    }
}

fn on_timeout(body: &'static str) -> Bodies {
    Bodies {
        on_timeout: body,
        ..Bodies::default()
    }
}

// ---- the well-behaved fixture proves the template is right ----------------

#[test]
fn a_well_formed_fixture_works() {
    let host = host();
    load(&host, "good", &detect(DETECT_READY), "").expect("load");
    let mut s = session(&host, "good");
    let d = s.detect_prompt(&input()).expect("detect").expect("some");
    assert_eq!(d.kind, PromptKind::Ready);
    assert_eq!(s.on_timeout(&facts("busy")).expect("timeout"), None);
    assert!(!s.is_disabled());
    assert_eq!(s.plugin_id(), "good");
}

// ---- deadline, memory, stack, traps ----------------------------------------

#[test]
fn endless_loop_is_stopped_by_its_deadline() {
    let host = host();
    load(&host, "spin", &detect(LOOP), DEADLINE_100).expect("load");
    let mut s = session(&host, "spin");
    let started = Instant::now();
    let err = s.detect_prompt(&input()).expect_err("must time out");
    let took = started.elapsed();
    assert!(
        matches!(
            err,
            PluginError::Timeout {
                deadline_ms: 100,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(95),
        "stopped too early: {took:?}"
    );
    assert!(
        took < Duration::from_millis(400),
        "stopped too late: {took:?}"
    );
    assert_contained(&host, s);
    // A fresh session of the same plugin is a fresh instance.
    assert!(!session(&host, "spin").is_disabled());
}

#[test]
fn endless_loop_in_init_refuses_the_session() {
    let host = host();
    let bodies = Bodies {
        init: LOOP,
        ..Bodies::default()
    };
    load(&host, "spin-init", &bodies, DEADLINE_100).expect("load");
    let err = host
        .instantiate("spin-init", &BTreeMap::new())
        .expect_err("must time out");
    assert!(
        matches!(err, PluginError::Timeout { hook: "init", .. }),
        "{err}"
    );
}

#[test]
fn memory_bomb_is_stopped_at_its_cap() {
    let host = host();
    load(&host, "bomb", &detect(MEMORY_BOMB), DEADLINE_100).expect("load");
    let mut s = session(&host, "bomb");
    let err = s.detect_prompt(&input()).expect_err("must hit the cap");
    assert!(
        matches!(err, PluginError::MemoryCap { cap_bytes, .. } if cap_bytes == 4 << 20),
        "{err}"
    );
    assert_contained(&host, s);
}

#[test]
fn a_trap_disables_the_plugin() {
    let host = host();
    load(&host, "trap", &on_timeout(TRAP), "").expect("load");
    let mut s = session(&host, "trap");
    // Hooks that do not trap still work before the trap...
    assert!(s.detect_prompt(&input()).is_ok());
    let err = s.on_timeout(&facts("busy")).expect_err("trap");
    assert!(
        matches!(
            err,
            PluginError::Trap {
                hook: "on-timeout",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("unreachable"), "{err}");
    // ...and none after it.
    assert_contained(&host, s);
}

#[test]
fn runaway_recursion_is_stopped_by_the_stack_cap() {
    let host = host();
    load(&host, "deep", &detect(STACK_OVERFLOW), "").expect("load");
    let mut s = session(&host, "deep");
    let err = s.detect_prompt(&input()).expect_err("overflow");
    assert!(matches!(err, PluginError::Trap { .. }), "{err}");
    assert!(err.to_string().contains("stack"), "{err}");
    assert_contained(&host, s);
}

// ---- garbage answers ------------------------------------------------------

#[test]
fn garbage_answers_are_malformed() {
    let host = host();
    for (id, body) in [
        ("bad-tag", BAD_OPTION_TAG),
        ("bad-enum", BAD_ENUM),
        ("oob-string", OOB_STRING),
        ("huge-prompt", HUGE_PROMPT),
        ("misaligned", MISALIGNED),
    ] {
        load(&host, id, &detect(body), "").expect("load");
        let mut s = session(&host, id);
        let err = s.detect_prompt(&input()).expect_err(id);
        assert!(matches!(err, PluginError::Malformed { .. }), "{id}: {err}");
        assert_contained(&host, s);
    }
}

#[test]
fn out_of_range_decision_is_malformed() {
    let host = host();
    load(&host, "wait-forever", &on_timeout(WAIT_FOREVER), "").expect("load");
    let mut s = session(&host, "wait-forever");
    let err = s.on_timeout(&facts("busy")).expect_err("too long");
    assert!(matches!(err, PluginError::Malformed { .. }), "{err}");
    assert_contained(&host, s);
}

// ---- capabilities ----------------------------------------------------------

#[test]
fn decisions_outside_capabilities_are_refused() {
    let host = host();
    load(&host, "restarter", &on_timeout(RESTART), "").expect("load");
    let mut s = session(&host, "restarter");
    let err = s.on_timeout(&facts("busy")).expect_err("refused");
    match &err {
        PluginError::Refused {
            decision, reason, ..
        } => {
            assert_eq!(decision, "restart");
            assert!(reason.contains("may_restart"), "{reason}");
        }
        other => panic!("expected a refusal, got {other}"),
    }
    assert_contained(&host, s);

    load(
        &host,
        "killer",
        &on_timeout(SIGKILL),
        "[capabilities]\nsignals = [\"SIGINT\"]",
    )
    .expect("load");
    let mut s = session(&host, "killer");
    let err = s.on_timeout(&facts("busy")).expect_err("refused");
    assert!(
        matches!(&err, PluginError::Refused { decision, .. } if decision.contains("SIGKILL")),
        "{err}"
    );
    assert_contained(&host, s);
}

#[test]
fn decisions_within_capabilities_pass() {
    let host = host();
    load(
        &host,
        "restarter-ok",
        &on_timeout(RESTART),
        "[capabilities]\nmay_restart = true",
    )
    .expect("load");
    let mut s = session(&host, "restarter-ok");
    assert_eq!(
        s.on_timeout(&facts("busy")).expect("allowed"),
        Some(Decision::Restart)
    );
    // Hooks not listed in the manifest are never entered.
    let trapping = Bodies {
        on_exit: TRAP,
        ..Bodies::default()
    };
    let wat = component(&trapping);
    let text = manifest("no-exit", wat.as_bytes(), "").replace(", \"on-exit\"", "");
    host.load_bytes(&text, wat.as_bytes()).expect("load");
    let mut s = session(&host, "no-exit");
    assert_eq!(s.on_exit(&facts("exited")).expect("not called"), None);
}

// ---- loading ----------------------------------------------------------------

#[test]
fn foreign_imports_are_refused_at_load() {
    let host = host();
    let bodies = Bodies {
        imports: r#"(import "wasi:filesystem/preopens@0.2.0" (instance (export "get-directories" (func (result u32)))))"#,
        ..Bodies::default()
    };
    let err = load(&host, "wasi", &bodies, "").expect_err("refused");
    assert!(matches!(err, PluginError::ForeignImport { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("wasi:filesystem/preopens@0.2.0"), "{msg}");
    assert!(host.instantiate("wasi", &BTreeMap::new()).is_err());
}

#[test]
fn a_component_missing_exports_is_refused_at_load() {
    let host = host();
    let wat = r#"(component (core module $m) (core instance $i (instantiate $m)))"#;
    let err = host
        .load_bytes(&manifest("empty", wat.as_bytes(), ""), wat.as_bytes())
        .expect_err("refused");
    assert!(matches!(err, PluginError::Link { .. }), "{err}");
}

#[test]
fn init_errors_refuse_the_session() {
    let host = host();
    let bodies = Bodies {
        init: INIT_ERR,
        ..Bodies::default()
    };
    load(&host, "picky", &bodies, "").expect("load");
    let err = host
        .instantiate("picky", &BTreeMap::new())
        .expect_err("init error");
    assert!(
        matches!(&err, PluginError::Init { message, .. } if message == "bad"),
        "{err}"
    );
}

#[test]
fn digest_mismatch_and_duplicates_are_refused() {
    let host = host();
    let wat = component(&Bodies::default());
    let text = manifest("x", b"something else", "");
    let err = host
        .load_bytes(&text, wat.as_bytes())
        .expect_err("mismatch");
    assert!(matches!(err, PluginError::HashMismatch { .. }), "{err}");
    let err = load(&host, "prompt-regex", &Bodies::default(), "").expect_err("duplicate");
    assert!(matches!(err, PluginError::DuplicatePlugin(_)), "{err}");
}

#[test]
fn load_dir_and_validate_dir_read_a_folder() {
    let dir = std::env::temp_dir().join(format!("repl-mcp-plugin-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let wat = component(&detect(DETECT_READY));
    let text = manifest("from-dir", wat.as_bytes(), "wasm = \"from-dir.wat\"");
    std::fs::write(dir.join("from-dir.wat"), &wat).expect("write wasm");
    std::fs::write(dir.join("plugin.toml"), &text).expect("write manifest");

    let m = PluginHost::validate_dir(&dir).expect("valid");
    assert_eq!(m.id, "from-dir");
    let host = host();
    assert_eq!(host.load_dir(&dir).expect("load"), "from-dir");
    assert!(host.ids().contains(&"from-dir".to_string()));

    // A bad key: the error names the file, the line and the key.
    std::fs::write(
        dir.join("plugin.toml"),
        text.replace("api = \"0.1\"", "api = \"0.1\"\nflavour = 1"),
    )
    .expect("write");
    let err = PluginHost::validate_dir(&dir).expect_err("unknown key");
    let msg = err.to_string();
    assert!(
        msg.contains("plugin.toml:4:1") && msg.contains("flavour"),
        "{msg}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

// ---- isolation between sessions ------------------------------------------

#[test]
fn a_spinning_plugin_does_not_stall_other_sessions() {
    let host = host();
    load(&host, "spin2", &detect(LOOP), DEADLINE_100).expect("load");
    let spinner = {
        let host = host.clone();
        std::thread::spawn(move || {
            let mut s = session(&host, "spin2");
            s.detect_prompt(&input()).expect_err("times out")
        })
    };
    let mut good = host
        .instantiate("prompt-regex", &python_settings())
        .expect("good");
    let started = Instant::now();
    for _ in 0..100 {
        assert!(good.detect_prompt(&input()).expect("detect").is_some());
    }
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "good session slowed down"
    );
    let err = spinner.join().expect("thread");
    assert!(matches!(err, PluginError::Timeout { .. }), "{err}");
}

// ---- the built-in plugins ------------------------------------------------
