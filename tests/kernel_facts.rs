//! The kernel's facts in the session state (README, "What the kernel
//! tells"): a program that reads a line or a secret is reported at once,
//! whatever its prompt says; a program with no prompt at all works through
//! `customConfig`; a prompt printed by a sleeping program is not a prompt.

mod common;

use common::*;
use serde_json::{Value, json};

/// A wait long enough that only detection, not the timeout, ends it.
fn long() -> Value {
    json!({ "wait_for_prompt": true, "timeout": 15000 })
}

fn assert_waits_for(r: &Value, kind: &str) {
    assert_eq!(
        (r["state"].as_str(), r["awaitingInput"].as_str()),
        (Some("awaiting_input"), Some(kind)),
        "{r:#}"
    );
    let ms = r["executionTime"].as_u64().unwrap_or(u64::MAX);
    assert!(ms < 3000, "detected after {ms} ms, not at once: {r:#}");
}

#[tokio::test]
async fn python_input_and_a_secret_with_any_prompt_are_reported_at_once() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    let r = eval_opts(c, &id, "name = input('Wie heißt du? ')", long()).await;
    assert_waits_for(&r, "line");
    assert_eq!(r["awaitingPrompt"], "Wie heißt du? ", "{r:#}");
    assert!(
        r["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("Wie heißt du?")
    );
    let r = eval(c, &id, "Zoë").await;
    assert_eq!(r["state"], "ready", "{r:#}");
    assert_eq!(eval(c, &id, "print(name[::-1])").await["output"], "ëoZ");

    // getpass with a prompt no regex knows: echo is off, that is enough.
    let r = eval_opts(
        c,
        &id,
        "import getpass; pw = getpass.getpass('Geheimnis: ')",
        long(),
    )
    .await;
    assert_waits_for(&r, "password");
    eval(c, &id, "hunter2").await;
    assert_eq!(eval(c, &id, "print(len(pw))").await["output"], "7");

    // Two questions in a row: each is reported.
    let r = eval_opts(c, &id, "a = input(); b = input('b? ')", long()).await;
    assert_waits_for(&r, "line");
    let r = eval_opts(c, &id, "1", long()).await;
    assert_waits_for(&r, "line");
    assert_eq!(eval(c, &id, "2").await["state"], "ready");
    assert_eq!(eval(c, &id, "print(a + b)").await["output"], "12");
}

#[tokio::test]
async fn a_shell_read_is_a_line_a_silent_read_a_secret_and_the_foreground_is_named() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "bash").await;
    let r = eval_opts(c, &id, "read -p 'Ort: ' where", long()).await;
    assert_waits_for(&r, "line");
    let r = eval(c, &id, "Köln").await;
    assert_eq!(
        (r["state"].as_str(), r["exitCode"].as_i64()),
        (Some("ready"), Some(0)),
        "{r:#}"
    );
    assert_eq!(eval(c, &id, "echo \"$where\"").await["output"], "Köln");

    let r = eval_opts(c, &id, "read -s -p 'Mot de passe: ' pw", long()).await;
    assert_waits_for(&r, "password");
    eval(c, &id, "tr0ub4dor").await;
    assert_eq!(eval(c, &id, "echo ${#pw}").await["output"], "9");

    // A program started from the shell, reading: named in the result.
    let r = eval_opts(c, &id, "python3 -c \"input('Ja? ')\"", long()).await;
    assert_waits_for(&r, "line");
    assert_eq!(r["foreground"]["name"], "python3", "{r:#}");
    assert!(r["foreground"]["pid"].as_i64().unwrap_or(0) > 0);
    let (d, _) = call(c, "get_session_details", json!({ "sessionId": id })).await;
    let term = &d["session"]["terminal"];
    assert_eq!(term["foreground"]["name"], "python3", "{d:#}");
    assert_eq!(term["readingTerminal"], true, "{d:#}");
    let r = eval(c, &id, "ja").await;
    assert_eq!(r["state"], "ready", "{r:#}");
    assert!(r.get("foreground").is_none(), "{r:#}");

    // A program that answers each line and reads the next: each answer is
    // reported at once, not at the timeout.
    let r = eval_opts(c, &id, "cat", long()).await;
    assert_waits_for(&r, "line");
    for line in ["eins", "zwei"] {
        let r = eval_opts(c, &id, line, long()).await;
        assert_waits_for(&r, "line");
        assert_eq!(r["output"], line, "{r:#}");
    }
    call(
        c,
        "send_signal_to_session",
        json!({ "sessionId": id, "signal": "SIGINT" }),
    )
    .await;
}

#[tokio::test]
async fn programs_with_no_prompt_work_through_custom_config() {
    let s = start().await;
    let c = &s.client;
    for (command, input, want) in [
        ("bc -q", "6*7", "42"),
        ("awk '{ print $1 * 2; fflush() }'", "21", "42"),
    ] {
        if !have(command.split(' ').next().unwrap_or_default()) {
            eprintln!("{command} not installed; skipped");
            continue;
        }
        let began = std::time::Instant::now();
        let (r, err) = call(
            c,
            "create_session",
            json!({ "customConfig": { "commands": [command], "timeout": 20000 } }),
        )
        .await;
        assert!(!err && r["success"] == true, "{command}: {r:#}");
        let created = began.elapsed();
        assert!(
            created.as_millis() < 3000,
            "{command}: created in {created:?}"
        );
        let id = r["sessionId"].as_str().expect("sessionId").to_string();
        for _ in 0..3 {
            let r = eval(c, &id, input).await;
            assert_eq!(
                (r["state"].as_str(), r["output"].as_str()),
                (Some("ready"), Some(want)),
                "{command}: {r:#}"
            );
            assert!(
                r["executionTime"].as_u64().unwrap_or(u64::MAX) < 1000,
                "{r:#}"
            );
        }
    }
}

#[tokio::test]
async fn ed_edits_non_ascii_text_with_no_prompt() {
    if !have("ed") {
        eprintln!("ed not installed; skipped");
        return;
    }
    let s = start().await;
    let c = &s.client;
    // In its own directory: ed saves an unsaved buffer to ed.hup on hang-up.
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path().to_str().expect("utf-8 path");
    let (r, err) = call(
        c,
        "create_session",
        json!({ "customConfig": { "commands": ["ed"], "startingDirectory": cwd } }),
    )
    .await;
    assert!(!err && r["success"] == true, "{r:#}");
    let id = r["sessionId"].as_str().expect("sessionId").to_string();
    for line in ["a", "héllo ✓", "zweite Zeile", "."] {
        let r = eval(c, &id, line).await;
        assert_eq!(r["state"], "ready", "{line}: {r:#}");
    }
    let r = eval(c, &id, ",p").await;
    assert_eq!(r["output"], "héllo ✓\nzweite Zeile", "{r:#}");
}

#[tokio::test]
async fn a_prompt_printed_by_a_sleeping_program_is_not_a_prompt() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    let r = eval(
        c,
        &id,
        "import time; print('>>> ', end='', flush=True); time.sleep(1.5); print('done')",
    )
    .await;
    assert_eq!(r["state"], "ready", "{r:#}");
    assert!(
        r["output"].as_str().unwrap_or_default().contains("done"),
        "{r:#}"
    );
    assert!(r["executionTime"].as_u64().unwrap_or(0) >= 1400, "{r:#}");
}

#[tokio::test]
async fn node_awaiting_a_promise_is_busy_then_ready() {
    if !have("node") {
        eprintln!("node not installed; skipped");
        return;
    }
    let s = start().await;
    let c = &s.client;
    let id = create(c, "node").await;
    let r = eval(
        c,
        &id,
        "await new Promise(r => setTimeout(() => r(6 * 7), 1200))",
    )
    .await;
    assert_eq!(
        (r["state"].as_str(), r["output"].as_str()),
        (Some("ready"), Some("42")),
        "{r:#}"
    );
    // It watches the terminal all along; nothing on the line, no question.
    let r = eval(c, &id, "await new Promise(r => setTimeout(r, 300)); 'ok'").await;
    assert_eq!(r["output"], "'ok'", "{r:#}");
}

#[tokio::test]
async fn every_installed_repl_reads_a_line() {
    let s = start().await;
    let c = &s.client;
    // preset, program, code that reads a line, what to type, code that shows it, expected
    let cases = [
        (
            "irb",
            "irb",
            "x = gets",
            "abc",
            "puts x.strip.upcase",
            "ABC",
        ),
        (
            "lua",
            "lua5.4",
            "x = io.read()",
            "abc",
            "print(x:upper())",
            "ABC",
        ),
        (
            "sh",
            "sh",
            "read x",
            "abc",
            "echo \"$x\" | tr a-z A-Z",
            "ABC",
        ),
        ("zsh", "zsh", "read x", "abc", "echo ${x:u}", "ABC"),
        (
            "tclsh",
            "tclsh",
            "gets stdin x",
            "abc",
            "puts [string toupper $x]",
            "ABC",
        ),
        (
            "ghci",
            "ghci",
            "x <- getLine",
            "abc",
            "putStrLn (reverse x)",
            "cba",
        ),
    ];
    // ghci reads stdin unbuffered: line mode off, echo on — keys, as far as
    // the kernel can tell.
    let kind = |preset: &str| if preset == "ghci" { "key" } else { "line" };
    for (preset, program, read, answer, show, want) in cases {
        let Some(id) = create_if_installed(c, preset, program).await else {
            continue;
        };
        let r = eval_opts(c, &id, read, long()).await;
        assert_waits_for(&r, kind(preset));
        let r = eval(c, &id, answer).await;
        assert!(r["state"] == "ready", "{preset}: {r:#}");
        let r = eval(c, &id, show).await;
        // irb adds the value (`=> nil`) after what puts prints.
        let out = r["output"].as_str().unwrap_or_default();
        assert!(out.lines().next() == Some(want), "{preset}: {r:#}");
    }
}
