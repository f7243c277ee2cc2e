//! Real REPLs through the real binary: evaluation, states, recovery tools.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn python_eval_is_clean_and_continuation_returns_at_once() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    let r = eval(c, &id, "print('a'); print('b')").await;
    assert_eq!(r["output"], "a\nb");
    assert!(r["rawOutput"].as_str().unwrap().contains(">>> "));
    assert_eq!(r["state"], "ready");

    // An open block: the answer is "continuation", long before the timeout.
    let r = eval_opts(
        c,
        &id,
        "for i in range(3):",
        json!({"wait_for_prompt": true, "timeout": 30000}),
    )
    .await;
    assert_eq!(r["state"], "continuation", "{r:#}");
    assert!(r["executionTime"].as_u64().unwrap() < 15_000);
    let r = eval(c, &id, "    print(i * 10)\n").await;
    assert_eq!(r["output"], "0\n10\n20");

    // Errors are output too, and the session carries on.
    let r = eval(c, &id, "1/0").await;
    assert!(r["output"].as_str().unwrap().contains("ZeroDivisionError"));
    assert_eq!(eval(c, &id, "print(2**10)").await["output"], "1024");
}

#[tokio::test]
async fn progress_bars_collapse_and_colours_vanish() {
    let s = start().await;
    let id = create(&s.client, "python").await;
    let r = eval(
        &s.client,
        &id,
        r"print(' 10%\r 50%\r100%'); print('\x1b[31mred\x1b[0m')",
    )
    .await;
    assert_eq!(r["output"], "100%\nred");
}

#[tokio::test]
async fn default_send_returns_once_the_prompt_is_back() {
    let s = start().await;
    let id = create(&s.client, "python").await;
    // takafu's default is wait_for_prompt=false: still get the answer.
    let r = call(
        &s.client,
        "send_input_to_session",
        json!({"sessionId": id, "input": "print(123)"}),
    )
    .await
    .0;
    assert_eq!(r["output"], "123");
    assert_eq!(r["state"], "ready");
}

#[tokio::test]
async fn node_and_sqlite3_evaluate() {
    let s = start().await;
    let c = &s.client;
    let node = create(c, "node").await;
    assert_eq!(
        eval(c, &node, "[1,2,3].map(x => x * 2).join(',')").await["output"],
        "'2,4,6'"
    );
    let sql = create(c, "sqlite3").await;
    eval(
        c,
        &sql,
        "create table t(x); insert into t values (1),(2),(3);",
    )
    .await;
    assert_eq!(eval(c, &sql, "select sum(x) from t;").await["output"], "6");
    let r = eval(c, &sql, "select 1").await;
    assert_eq!(
        r["state"], "continuation",
        "a statement without ';' continues: {r:#}"
    );
    assert_eq!(eval(c, &sql, ";").await["output"], "1");
}

#[tokio::test]
async fn bash_reports_exit_codes_and_survives_sigint() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "bash").await;
    let r = eval(c, &id, "echo hello; (exit 3)").await;
    assert_eq!(
        (r["output"].as_str(), r["exitCode"].as_i64()),
        (Some("hello"), Some(3))
    );
    // A marker printed by the command cannot fake completion of the echo.
    let r = eval(c, &id, "printf 'x\\n'; true").await;
    assert_eq!(
        (r["output"].as_str(), r["exitCode"].as_i64()),
        (Some("x"), Some(0))
    );
    let r = eval(c, &id, "for i in 1 2; do\n  echo n$i\ndone").await;
    assert_eq!(r["output"], "n1\nn2");

    let r = eval_opts(
        c,
        &id,
        "sleep 100",
        json!({"wait_for_prompt": true, "timeout": 300}),
    )
    .await;
    assert_eq!(r["success"], false);
    assert_eq!(r["questionType"], "timeout_analysis");
    assert_eq!(r["canContinue"], true);
    assert_eq!(r["state"], "busy");
    let (r, err) = call(
        c,
        "send_signal_to_session",
        json!({"sessionId": id, "signal": "SIGINT"}),
    )
    .await;
    assert!(!err, "{r}");
    let (r, _) = call(
        c,
        "wait_for_session",
        json!({"sessionId": id, "seconds": 10}),
    )
    .await;
    assert_eq!(
        (r["state"].as_str(), r["exitCode"].as_i64()),
        (Some("ready"), Some(130))
    );
    assert_eq!(
        eval(c, &id, "echo still here").await["output"],
        "still here"
    );
}

#[tokio::test]
async fn zsh_reports_exit_codes() {
    if !have("zsh") {
        eprintln!("zsh not installed; skipped (CI installs it)");
        return;
    }
    let s = start().await;
    let id = create(&s.client, "zsh").await;
    let r = eval(&s.client, &id, "echo zz; false").await;
    assert_eq!(
        (r["output"].as_str(), r["exitCode"].as_i64()),
        (Some("zz"), Some(1))
    );
}

#[tokio::test]
async fn pager_and_password_prompts_are_reported_not_waited_out() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    let r = eval_opts(
        c,
        &id,
        "help(len)",
        json!({"wait_for_prompt": true, "timeout": 30000}),
    )
    .await;
    assert_eq!(r["state"], "awaiting_input", "{r:#}");
    assert_eq!(r["awaitingInput"], "pager");
    assert!(r["executionTime"].as_u64().unwrap() < 15_000);
    let r = eval_opts(
        c,
        &id,
        "q",
        json!({"wait_for_prompt": true, "add_newline": false}),
    )
    .await;
    assert_eq!(r["state"], "ready", "{r:#}");

    let r = eval_opts(
        c,
        &id,
        "import getpass; pw = getpass.getpass()",
        json!({"wait_for_prompt": true, "timeout": 30000}),
    )
    .await;
    assert_eq!(
        (r["state"].as_str(), r["awaitingInput"].as_str()),
        (Some("awaiting_input"), Some("password")),
        "{r:#}"
    );
    eval(c, &id, "s3cret").await;
    assert_eq!(eval(c, &id, "print(len(pw))").await["output"], "6");
}

#[tokio::test]
async fn a_crash_is_reported_and_input_after_it_refused() {
    // A preset without a strategy plugin: nobody restarts it.
    let s = start_with_presets(&[
        ("plain.toml", "name = \"plain\"\ncommand = [\"python3\", \"-q\"]\nenv = { PYTHON_BASIC_REPL = \"1\" }\n[prompt]\nready = ['^>>> $']\n"),
    ])
    .await;
    let c = &s.client;
    let id = create(c, "plain").await;
    let r = eval(c, &id, "import os; os._exit(3)").await;
    assert_eq!(
        (r["state"].as_str(), r["exitCode"].as_i64()),
        (Some("exited"), Some(3)),
        "{r:#}"
    );
    assert_eq!(r["canContinue"], false);
    assert_input_refused(c, &id, "exited").await;
}

#[tokio::test]
async fn big_output_is_bounded_and_pageable() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    let r = eval(
        c,
        &id,
        "print('\\n'.join(f'line {i}' for i in range(20000)))",
    )
    .await;
    assert_eq!(r["truncated"], true);
    let total = r["totalLength"].as_u64().unwrap() as usize;
    assert!(r["output"].as_str().unwrap().len() < 30_000);
    assert!(r["output"].as_str().unwrap().starts_with("line 0\n"));
    assert!(r["output"].as_str().unwrap().ends_with("line 19999"));
    // Page through everything and get exactly the lines back.
    let mut text = String::new();
    let mut offset = 0;
    loop {
        let (p, _) = call(
            c,
            "get_full_output",
            json!({"sessionId": id, "offset": offset, "limit": 50000}),
        )
        .await;
        text.push_str(p["output"].as_str().unwrap());
        assert_eq!(p["totalLength"].as_u64().unwrap() as usize, total);
        match p["nextOffset"].as_u64() {
            Some(n) if p["hasMore"] == true => offset = n as usize,
            _ => break,
        }
    }
    let expected: Vec<String> = (0..20000).map(|i| format!("line {i}")).collect();
    assert_eq!(text, expected.join("\n"));
}

#[tokio::test]
async fn set_ready_teaches_a_prompt_and_clean_text_shows_the_screen() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "bash").await;
    // A program with a prompt nobody knows: the kernel sees it read a line
    // at once (no timeout), and says at which text...
    let r = eval_opts(
        c,
        &id,
        "python3 -q -i -c \"import sys; sys.ps1='calc% '\"",
        json!({"wait_for_prompt": true, "timeout": 10000}),
    )
    .await;
    assert_eq!(r["questionType"], "awaiting_input", "{r:#}");
    assert_eq!(r["awaitingPrompt"], "calc% ", "{r:#}");
    let (t, _) = call(c, "get_clean_text", json!({"sessionId": id})).await;
    assert_eq!(t["text"], "calc% ");
    // ...until the agent names the prompt; then it is remembered.
    let (r, _) = call(
        c,
        "set_session_ready",
        json!({"sessionId": id, "pattern": "calc% "}),
    )
    .await;
    assert_eq!(r["state"], "ready", "{r}");
    let r = eval(c, &id, "print(7 * 6)").await;
    assert_eq!(
        (r["output"].as_str(), r["state"].as_str()),
        (Some("42"), Some("ready")),
        "{r:#}"
    );
    let (t, _) = call(
        c,
        "get_clean_text",
        json!({"sessionId": id, "fullText": true}),
    )
    .await;
    assert!(t["text"].as_str().unwrap().contains("calc% print(7 * 6)"));
    let (d, _) = call(c, "get_session_details", json!({"sessionId": id})).await;
    assert_eq!(d["session"]["learnedPromptPatterns"], json!(["calc% "]));
}

#[tokio::test]
async fn mark_failed_keeps_the_transcript_and_refuses_input() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    eval(c, &id, "print('before')").await;
    let (r, err) = call(
        c,
        "mark_session_failed",
        json!({"sessionId": id, "reason": "wedged"}),
    )
    .await;
    assert!(!err && r["state"] == "failed", "{r}");
    assert_input_refused(c, &id, "wedged").await;
    let (r, _) = call(c, "get_full_output", json!({"sessionId": id})).await;
    assert_eq!(r["output"], "before");
    let (d, _) = call(c, "get_session_details", json!({"sessionId": id})).await;
    assert_eq!(
        (
            d["session"]["state"].as_str(),
            d["session"]["status"].as_str()
        ),
        (Some("failed"), Some("error"))
    );
}

/// One evaluation in every other preset whose program is installed (CI
/// installs ruby, pry, zsh and lua; the rest come with the machine).
#[tokio::test]
async fn the_other_presets_evaluate_cleanly() {
    let cases = [
        ("irb", "irb", "[1, 2, 3].sum * 7", "=> 42"),
        ("pry", "pry", "[1, 2, 3].sum * 7", "=> 42"),
        ("ipython", "ipython", "6 * 7", "Out[1]: 42"),
        ("lua", "lua", "print(6 * 7)", "42"),
        ("perl", "perl", "p 6 * 7", "42"),
        ("tclsh", "tclsh", "expr {6 * 7}", "42"),
        ("gdb", "gdb", "print 6 * 7", "$1 = 42"),
        ("sh", "sh", "echo $((6 * 7))", "42"),
    ];
    let s = start().await;
    let mut ran = 0;
    for (preset, program, input, expected) in cases {
        if !have(program) {
            eprintln!("{program} not installed; {preset} skipped");
            continue;
        }
        let id = create(&s.client, preset).await;
        let r = eval(&s.client, &id, input).await;
        assert_eq!(
            (r["output"].as_str(), r["state"].as_str()),
            (Some(expected), Some("ready")),
            "{preset}: {r:#}"
        );
        ran += 1;
    }
    assert!(
        ran >= 4,
        "most of these REPLs come with the machine or with CI"
    );
}
