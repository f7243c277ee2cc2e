//! The web server against an in-memory session layer: tokens, origins,
//! the socket protocol, lag and floods. (The browser tests are the `.mjs`
//! files beside this one.)

mod casts;
mod lines;
mod support;

use repl_mcp::web::{Access, Actor};
use serde_json::json;
use support::*;

#[tokio::test]
async fn pages_need_the_right_token() {
    let backend = TestBackend::new(64);
    backend.add("s1", "Python <3");
    backend.add("s2", "Node");
    backend.add("unregistered", "Hidden");
    let web = start(backend.clone()).await;
    let s1 = web.register_session("s1");
    let s2 = web.register_session("s2");
    assert_eq!(
        web.register_session("s1"),
        s1,
        "registering again keeps the links"
    );
    let index = path_of(&web.index_url());

    for path in [
        "/",
        "/?token=",
        "/?token=nope",
        "/api/sessions",
        "/api/sessions?token=x",
    ] {
        assert_eq!(get(&web, path, None).await.status, 404, "{path}");
    }
    let page = get(&web, &index, None).await;
    assert_eq!(page.status, 200);
    let list = get(&web, &index.replace("/?", "/api/sessions?"), None).await;
    assert_eq!(list.status, 200);
    let list: serde_json::Value = serde_json::from_str(&list.body).expect("JSON list");
    let ids: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"s1") && ids.contains(&"s2"), "{ids:?}");

    let interactive = path_of(&s1.interactive_url);
    let readonly = path_of(&s1.readonly_url);
    let wrong = [
        "/s/s1".to_owned(),
        "/s/s1?token=".to_owned(),
        interactive.replace("token=", "token=0"),
        // s2's token does not open s1.
        format!(
            "/s/s1?{}",
            path_of(&s2.interactive_url)
                .split_once('?')
                .expect("query")
                .1
        ),
        format!(
            "/s/unregistered?{}",
            interactive.split_once('?').expect("query").1
        ),
        "/s/nope?token=x".to_owned(),
        "/nothing-here".to_owned(),
        "/assets/nothing.js".to_owned(),
    ];
    for path in &wrong {
        assert_eq!(get(&web, path, None).await.status, 404, "{path}");
        if path.starts_with("/s/") {
            assert_eq!(
                refused_status(connect(&web, path, None).await),
                404,
                "socket {path}"
            );
        }
    }

    let page = get(&web, &interactive, None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<title>Python &lt;3</title>"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"data-mode="interactive""#));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));

    let page = get(&web, &readonly, None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"data-mode="read-only""#));

    let script = get(&web, "/assets/vendor/xterm.mjs", None).await;
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/javascript"))
    );
    assert!(script.body.contains("Terminal"));

    assert_eq!(
        web.session_url("s1", Access::ReadOnly),
        Some(s1.readonly_url.clone())
    );
    assert_eq!(web.session_url("unregistered", Access::ReadOnly), None);
    web.shutdown().await;
}

#[tokio::test]
async fn foreign_origins_and_hosts_are_refused() {
    let backend = TestBackend::new(64);
    backend.add("s1", "Shell");
    let web = start(backend).await;
    let page = path_of(&web.register_session("s1").interactive_url);
    let port = web.local_addr().port();

    for origin in [
        "http://evil.example".to_owned(),
        "null".to_owned(),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        format!("https://127.0.0.1:{port}"),
        format!("http://localhost.evil.example:{port}"),
    ] {
        assert_eq!(
            refused_status(connect(&web, &page, Some(&origin)).await),
            403,
            "{origin}"
        );
    }
    // Refused before the token is looked at, so a foreign page learns nothing.
    assert_eq!(
        refused_status(connect(&web, "/s/nope?token=x", Some("http://evil.example")).await),
        403
    );
    for origin in [
        Some(format!("http://127.0.0.1:{port}")),
        Some(format!("http://localhost:{port}")),
        None,
    ] {
        let mut ws = connect(&web, &page, origin.as_deref())
            .await
            .expect("allowed origin");
        handshake(&mut ws).await;
    }

    // DNS rebinding: a page served from evil.example that resolves to us.
    let rebound = get(&web, &page, Some(&format!("evil.example:{port}"))).await;
    assert_eq!(rebound.status, 421);
    assert_eq!(
        get(&web, &page, Some(&format!("localhost:{port}")))
            .await
            .status,
        200
    );
    web.shutdown().await;
}

#[tokio::test]
async fn socket_sends_screen_then_stream_and_takes_input() {
    let backend = TestBackend::new(64);
    let session = backend.add("py", "Python REPL");
    session.feed(b"Python 3.11\r\n>>> ");
    session.set_state("ready", Some(Actor::Agent));
    let web = start(backend.clone()).await;
    let page = path_of(&web.register_session("py").interactive_url);

    let mut ws = connect(&web, &page, None).await.expect("connect");
    let (hello, snapshot) = handshake(&mut ws).await;
    assert_eq!(hello["displayName"], "Python REPL");
    assert_eq!(hello["readOnly"], false);
    assert_eq!(hello["state"], "ready");
    assert_eq!(hello["lastActor"], "agent");
    assert!(snapshot.contains("Python 3.11"), "{snapshot:?}");

    session.feed(b"1+1\r\n2\r\n>>> ");
    read_until_output(&mut ws, "2\r\n>>> ").await;

    send_bytes(&mut ws, b"print('hi')\r").await;
    session.wait_for(|s| s.inputs() == b"print('hi')\r").await;
    send_json(&mut ws, json!({"type": "input", "data": "x"})).await;
    session.wait_for(|s| s.inputs().ends_with(b"x")).await;

    send_json(&mut ws, json!({"type": "resize", "cols": 100, "rows": 30})).await;
    session.wait_for(|s| s.sizes() == [(100, 30)]).await;
    // Absurd sizes never reach the PTY.
    send_json(&mut ws, json!({"type": "resize", "cols": 0, "rows": 30})).await;
    send_json(&mut ws, json!({"type": "bogus"})).await;

    session.set_state("busy", Some(Actor::Person));
    let mut saw_resize = false;
    loop {
        match next_frame(&mut ws).await {
            Frame::Json(v) if v["type"] == "resized" => {
                assert_eq!(
                    (v["cols"].as_u64(), v["rows"].as_u64()),
                    (Some(100), Some(30))
                );
                saw_resize = true;
            }
            Frame::Json(v) if v["type"] == "state" => {
                assert_eq!(v["state"], "busy");
                assert_eq!(v["lastActor"], "person");
                break;
            }
            Frame::Closed => panic!("closed early"),
            _ => {}
        }
    }
    assert!(saw_resize);
    assert_eq!(session.sizes(), [(100, 30)]);
    web.shutdown().await;
}

#[tokio::test]
async fn read_only_socket_cannot_type_or_resize() {
    let backend = TestBackend::new(64);
    let session = backend.add("sh", "Shell");
    let web = start(backend.clone()).await;
    let links = web.register_session("sh");

    let mut watcher = connect(&web, &path_of(&links.readonly_url), None)
        .await
        .expect("connect");
    let (hello, _) = handshake(&mut watcher).await;
    assert_eq!(hello["readOnly"], true);
    send_bytes(&mut watcher, b"rm -rf ~\r").await;
    send_json(&mut watcher, json!({"type": "input", "data": "evil"})).await;
    send_json(
        &mut watcher,
        json!({"type": "resize", "cols": 50, "rows": 10}),
    )
    .await;

    // The server reads a socket's messages in order, so once it answered
    // this ping it has handled everything the watcher sent before.
    round_trip(&mut watcher).await;

    let mut typist = connect(&web, &path_of(&links.interactive_url), None)
        .await
        .expect("connect");
    handshake(&mut typist).await;
    send_bytes(&mut typist, b"ok").await;
    session.wait_for(|s| !s.inputs().is_empty()).await;
    assert_eq!(session.inputs(), b"ok");
    assert!(session.sizes().is_empty());

    // The watcher still sees what happens.
    session.feed(b"still watching");
    read_until_output(&mut watcher, "still watching").await;
    web.shutdown().await;
}

#[tokio::test]
async fn forgetting_a_session_closes_its_pages_and_links() {
    let backend = TestBackend::new(64);
    backend.add("sh", "Shell");
    let web = start(backend.clone()).await;
    let page = path_of(&web.register_session("sh").interactive_url);
    let mut ws = connect(&web, &page, None).await.expect("connect");
    handshake(&mut ws).await;

    web.forget_session("sh");
    loop {
        match next_frame(&mut ws).await {
            Frame::Json(v) if v["type"] == "closed" => break,
            Frame::Closed => panic!("closed without saying why"),
            _ => {}
        }
    }
    assert!(matches!(next_frame(&mut ws).await, Frame::Closed));
    assert_eq!(get(&web, &page, None).await.status, 404);
    assert_eq!(refused_status(connect(&web, &page, None).await), 404);
    web.shutdown().await;
}

/// Single-threaded on purpose: the feeding loop below never yields, so the
/// socket task cannot keep up and must see `Lagged`.
#[tokio::test(flavor = "current_thread")]
async fn a_lagging_viewer_is_resynced_from_the_screen() {
    let backend = TestBackend::new(8);
    let session = backend.add("sh", "Shell");
    let web = start(backend.clone()).await;
    let page = path_of(&web.register_session("sh").interactive_url);
    let mut ws = connect(&web, &page, None).await.expect("connect");
    handshake(&mut ws).await;

    for i in 0..100 {
        session.feed(format!("line {i}\r\n").as_bytes());
    }
    session.feed(b"the end");
    loop {
        match next_frame(&mut ws).await {
            Frame::Json(v) if v["type"] == "screen" => {
                assert_eq!(v["resync"], true);
                let Frame::Bytes(snapshot) = next_frame(&mut ws).await else {
                    panic!("expected the snapshot after a screen message");
                };
                let snapshot = String::from_utf8_lossy(&snapshot).into_owned();
                // The snapshot is the screen: the last 23 lines and the end.
                assert!(
                    snapshot.contains("line 99") && snapshot.contains("the end"),
                    "{snapshot:?}"
                );
                assert!(!snapshot.contains("line 50"), "{snapshot:?}");
                break;
            }
            Frame::Bytes(b) => {
                assert!(
                    !String::from_utf8_lossy(&b).contains("the end"),
                    "no lag detected"
                );
            }
            Frame::Json(_) => {}
            Frame::Closed => panic!("closed early"),
        }
    }
    web.shutdown().await;
}

/// 200,000 lines to a viewer that does not read: the server skips ahead
/// instead of buffering, so memory stays flat and the viewer catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_200k_lines_keeps_memory_bounded() {
    const LINES: usize = 200_000;
    const PER_CHUNK: usize = 100;
    let backend = TestBackend::new(64);
    let session = backend.add("flood", "Flood");
    let web = start(backend.clone()).await;
    let page = path_of(&web.register_session("flood").interactive_url);
    let mut ws = connect(&web, &page, None).await.expect("connect");
    handshake(&mut ws).await;
    // Several idle viewers too: none of them may pin memory either.
    let mut idle = Vec::new();
    for _ in 0..5 {
        let mut viewer = connect(&web, &page, None).await.expect("connect");
        handshake(&mut viewer).await;
        idle.push(viewer);
    }

    let before = rss_bytes();
    let mut peak = before;
    let padding = "x".repeat(80);
    let mut produced = 0usize;
    for chunk in 0..LINES / PER_CHUNK {
        let mut text = String::new();
        for line in 0..PER_CHUNK {
            text.push_str(&format!("{:06} {padding}\r\n", chunk * PER_CHUNK + line));
        }
        produced += text.len();
        session.feed(text.as_bytes());
        if chunk % 100 == 0 {
            peak = peak.max(rss_bytes());
            tokio::task::yield_now().await;
        }
    }
    session.feed(b"FLOOD DONE");
    peak = peak.max(rss_bytes());

    let mut received = 0usize;
    let mut resyncs = 0usize;
    let mut tail = String::new();
    loop {
        match next_frame(&mut ws).await {
            Frame::Json(v) if v["type"] == "screen" => resyncs += 1,
            Frame::Bytes(b) => {
                received += b.len();
                tail.push_str(&String::from_utf8_lossy(&b));
                if tail.contains("FLOOD DONE") {
                    break;
                }
                let keep = tail.len().saturating_sub(32);
                tail = tail.split_off(tail.floor_char_boundary(keep));
            }
            Frame::Json(_) => {}
            Frame::Closed => panic!("closed during the flood"),
        }
    }
    let growth = peak.saturating_sub(before);
    eprintln!(
        "produced {produced} bytes, viewer received {received}, {resyncs} resyncs, peak RSS growth {growth}"
    );
    assert!(
        resyncs >= 1,
        "a viewer that did not read must have been skipped ahead"
    );
    assert!(received < produced, "skipped output is not sent");
    // Five idle viewers buffering everything would be ~100 MB; bounded
    // buffering is the broadcast ring plus socket buffers.
    assert!(growth < 48 << 20, "RSS grew by {growth} bytes");
    drop(idle);
    web.shutdown().await;
}

/// Output reaches every one of 20 watching pages quickly: no timers or
/// polling between the PTY and the socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_reaches_twenty_viewers_promptly() {
    let backend = TestBackend::new(64);
    let session = backend.add("sh", "Shell");
    let web = start(backend.clone()).await;
    let links = web.register_session("sh");
    let mut viewers = Vec::new();
    for i in 0..20 {
        let url = if i % 2 == 0 {
            &links.interactive_url
        } else {
            &links.readonly_url
        };
        let mut ws = connect(&web, &path_of(url), None).await.expect("connect");
        handshake(&mut ws).await;
        viewers.push(ws);
    }
    let mut worst = std::time::Duration::ZERO;
    let mut latencies = Vec::new();
    for round in 0..20 {
        let marker = format!("tick-{round}\r\n");
        let sent = std::time::Instant::now();
        session.feed(marker.as_bytes());
        for ws in &mut viewers {
            read_until_output(ws, &marker).await;
        }
        // The time until the last of the 20 has it.
        let latency = sent.elapsed();
        worst = worst.max(latency);
        latencies.push(latency);
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    eprintln!("20 viewers: median {median:?}, worst {worst:?}");
    assert!(
        median < std::time::Duration::from_millis(50),
        "median {median:?}"
    );
    web.shutdown().await;
}

#[tokio::test]
async fn binds_loopback_and_skips_busy_ports() {
    use repl_mcp::web::{WebConfig, WebError, WebServer};
    let backend = TestBackend::new(8);
    let remote = WebConfig {
        bind: "0.0.0.0".parse().expect("ip"),
        port: 0,
        ..WebConfig::default()
    };
    assert!(matches!(
        WebServer::start(remote, backend.clone()).await,
        Err(WebError::RemoteNotAllowed(_))
    ));

    let first = start(backend.clone()).await;
    let busy = first.local_addr().port();
    assert!(first.local_addr().ip().is_loopback());
    assert_eq!(first.base_url(), format!("http://127.0.0.1:{busy}"));
    let exact = WebConfig {
        port: busy,
        port_attempts: 1,
        ..WebConfig::default()
    };
    assert!(matches!(
        WebServer::start(exact, backend.clone()).await,
        Err(WebError::NoFreePort { .. })
    ));
    if busy < u16::MAX - 10 {
        let next = WebConfig {
            port: busy,
            port_attempts: 10,
            ..WebConfig::default()
        };
        let second = WebServer::start(next, backend).await.expect("a later port");
        let port = second.local_addr().port();
        assert!(port > busy && port < busy + 10, "{port} after {busy}");
        second.shutdown().await;
    }
    first.shutdown().await;
}
