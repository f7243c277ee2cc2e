//! A page's lines: keys reach the backend as typed, each Enter is submitted
//! with its line, and a refused line is killed (Ctrl-E Ctrl-U) instead of
//! entered, the rest of its message dropped and the page told why.

use repl_mcp::web::Actor;

use crate::support::*;

#[tokio::test]
async fn a_refused_line_is_killed_not_entered_and_the_page_is_told() {
    let backend = TestBackend::new(64);
    backend.refuse_lines_with("danger");
    let session = backend.add("sh", "Shell");
    session.feed(b"$ ");
    session.set_state("ready", Some(Actor::Agent));
    let web = start(backend.clone()).await;
    let page = path_of(&web.register_session("sh").interactive_url);
    let mut ws = connect(&web, &page, None).await.expect("connect");
    handshake(&mut ws).await;

    // Keys pass one by one; the allowed line's Enter follows them.
    for key in b"ls\r" {
        send_bytes(&mut ws, &[*key]).await;
    }
    session.wait_for(|s| s.inputs() == b"ls\r").await;

    // A refused line in a paste: its keys reached the terminal, its Enter
    // did not, the line is killed and the paste's next line dropped.
    send_bytes(&mut ws, b"echo danger\rrm -x\r").await;
    let refused = loop {
        let v = next_json(&mut ws).await;
        if v["type"] == "refused" {
            break v;
        }
    };
    assert_eq!(refused["message"], "refused: echo danger");
    session
        .wait_for(|s| s.inputs().ends_with(b"\x05\x15"))
        .await;
    assert_eq!(session.inputs(), b"ls\recho danger\x05\x15");

    // A line inside a bracketed paste: the paste is closed before the kill.
    send_bytes(&mut ws, b"\x1b[200~danger\r").await;
    session
        .wait_for(|s| s.inputs().ends_with(b"\x1b[201~\x05\x15"))
        .await;
    send_bytes(&mut ws, b"pwd\r").await;
    session.wait_for(|s| s.inputs().ends_with(b"pwd\r")).await;
    assert_eq!(
        session.inputs(),
        b"ls\recho danger\x05\x15\x1b[200~danger\x1b[201~\x05\x15pwd\r"
    );
    assert_eq!(
        backend.lines(),
        ["ls", "echo danger", "\x1b[200~danger", "pwd"]
    );
}

#[tokio::test]
async fn a_read_only_page_submits_no_line() {
    let backend = TestBackend::new(64);
    let session = backend.add("sh", "Shell");
    let web = start(backend.clone()).await;
    let links = web.register_session("sh");
    let mut watcher = connect(&web, &path_of(&links.readonly_url), None)
        .await
        .expect("connect");
    handshake(&mut watcher).await;
    send_bytes(&mut watcher, b"echo sneaky\r").await;
    let mut typist = connect(&web, &path_of(&links.interactive_url), None)
        .await
        .expect("connect");
    handshake(&mut typist).await;
    send_bytes(&mut typist, b"ok\r").await;
    session.wait_for(|s| s.inputs().ends_with(b"ok\r")).await;
    assert_eq!(session.inputs(), b"ok\r");
    assert_eq!(backend.lines(), ["ok"]);
}
