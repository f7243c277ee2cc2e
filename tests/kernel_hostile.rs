//! Programs that make the kernel's facts hard to read (issue 10, bad
//! input): output floods while reading, termios flipped thousands of times,
//! the terminal closed or reopened, children forked and left behind. No
//! panic, no hang, no wrong `ready`; the server and other sessions go on.

mod common;

use common::*;
use serde_json::{Value, json};

fn long() -> Value {
    json!({ "wait_for_prompt": true, "timeout": 20000 })
}

#[tokio::test]
async fn a_flood_while_reading_ends_in_a_question_not_a_hang() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    let r = eval_opts(
        c,
        &id,
        "import threading; t = threading.Thread(target=lambda: [print('x' * 70) for _ in range(50000)]); t.start(); s = input('Q? ')",
        long(),
    )
    .await;
    assert_eq!(r["state"], "awaiting_input", "{}", r["state"]);
    assert_eq!(r["awaitingInput"], "line", "{}", r["awaitingInput"]);
    let r = eval(c, &id, "fertig").await;
    assert_eq!(r["state"], "ready", "{r:#}");
    assert_eq!(eval(c, &id, "print(s)").await["output"], "fertig");
}

#[tokio::test]
async fn termios_flipped_thousands_of_times_is_no_secret_and_no_question() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    let r = eval(
        c,
        &id,
        "import termios\nfor i in range(20000):\n    a = termios.tcgetattr(0); a[3] ^= termios.ECHO; termios.tcsetattr(0, termios.TCSANOW, a)\n\nprint('done', i)",
    )
    .await;
    assert_eq!(r["state"], "ready", "{r:#}");
    assert!(
        r["output"]
            .as_str()
            .unwrap_or_default()
            .contains("done 19999"),
        "{r:#}"
    );
}

#[tokio::test]
async fn a_closed_terminal_a_reopened_one_and_a_left_child_are_handled() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "bash").await;
    // The program closes its terminal and sleeps: busy, then the shell's prompt.
    let r = eval(
        c,
        &id,
        "python3 -c 'import os, time; [os.close(f) for f in (0, 1, 2)]; time.sleep(0.5)'; echo back",
    )
    .await;
    assert_eq!(
        (r["state"].as_str(), r["output"].as_str()),
        (Some("ready"), Some("back")),
        "{r:#}"
    );
    // Reading through /dev/tty (a fresh handle on the terminal) is a read.
    let r = eval_opts(
        c,
        &id,
        "python3 -c \"print(open('/dev/tty').readline().upper())\"",
        long(),
    )
    .await;
    assert_eq!(
        (r["state"].as_str(), r["awaitingInput"].as_str()),
        (Some("awaiting_input"), Some("line")),
        "{r:#}"
    );
    let r = eval(c, &id, "tty").await;
    assert_eq!(
        (r["state"].as_str(), r["output"].as_str()),
        (Some("ready"), Some("TTY")),
        "{r:#}"
    );
    // A child left running in the background: the command is done at once.
    let r = eval(c, &id, "(sleep 5 &); echo forked").await;
    assert_eq!(
        (r["state"].as_str(), r["output"].as_str()),
        (Some("ready"), Some("forked")),
        "{r:#}"
    );
    assert!(
        r["executionTime"].as_u64().unwrap_or(u64::MAX) < 3000,
        "{r:#}"
    );

    // The server and another session never noticed.
    let other = create(c, "python").await;
    assert_eq!(eval(c, &other, "print(6 * 7)").await["output"], "42");
}
