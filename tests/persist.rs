//! `--persist`: real fronts and a real daemon, each test in its own
//! `XDG_RUNTIME_DIR` and `HOME` so tests never share a daemon.

mod common;
#[path = "persist/world.rs"]
mod world;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;

use common::{bin, call, create, eval, eventually, session_members};
use rmcp::ServiceExt;
use serde_json::json;
use world::{Approver, World, alive, children, cmdline, kill9, listed, mode, session_sid};

#[tokio::test(flavor = "multi_thread")]
async fn a_session_outlives_its_front() {
    let w = World::new("outlive");
    let a = w.front(&[]).await;
    let id = create(&a.client, "python").await;
    let r = eval(&a.client, &id, "x = 41").await;
    assert_eq!(r["state"], "ready", "{r}");
    a.kill9();
    drop(a);
    let b = w.front(&[]).await;
    assert_eq!(listed(&b.client).await, vec![id.clone()]);
    let r = eval(&b.client, &id, "print(x + 1)").await;
    assert_eq!(r["output"], "42", "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_fronts_share_one_session() {
    let w = World::new("two");
    let (a, b) = tokio::join!(w.front(&[]), w.front(&[]));
    let id = create(&a.client, "python").await;
    let r = eval(&b.client, &id, "y = 6 * 7").await;
    assert_eq!(r["state"], "ready", "{r}");
    let r = eval(&a.client, &id, "print(y)").await;
    assert_eq!(r["output"], "42", "{r}");
    assert_eq!(listed(&b.client).await, vec![id.clone()]);
    let (code, out, err) = w.run(&["daemon", "status"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("sessions: 1"), "{out}");
    assert!(out.contains("fronts:   2"), "{out}");
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
    let (r1, r2) = tokio::join!(
        eval(&a.client, &id, "import time; time.sleep(0.3); print('a')"),
        eval(&b.client, &id, "print('b')"),
    );
    // One command at a time still holds across fronts: the second waits
    // for the first, and each gets its own output.
    assert_eq!(r1["output"], "a", "{r1}");
    assert_eq!(r2["output"], "b", "{r2}");
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_daemon_leaves_no_session_process() {
    let w = World::new("kill");
    let a = w.front(&[]).await;
    let id = create(&a.client, "python").await;
    let sid = session_sid(&a.client, &id).await;
    assert!(!session_members(sid).is_empty());
    let daemon = w.daemon_pid();
    // The daemon notes its sessions within a sweep (250 ms).
    let noted = w.dir().join("daemon.sessions");
    assert!(eventually(|| noted.exists(), Duration::from_secs(5)).await);
    kill9(daemon);
    assert!(
        eventually(|| session_members(sid).is_empty(), Duration::from_secs(10)).await,
        "left behind: {:?}",
        session_members(sid)
    );
    // The front goes with its daemon.
    let front = a.pid as i32;
    assert!(eventually(|| !alive(front), Duration::from_secs(10)).await);
    // The next front starts a new daemon (the stale socket is replaced).
    let b = w.front(&[]).await;
    assert!(listed(&b.client).await.is_empty());
    assert_ne!(w.daemon_pid(), daemon);
    // … and a call naming an old session says why it is gone.
    let (r, err) = call(&b.client, "get_session_details", json!({ "sessionId": id })).await;
    let error = r["error"].as_str().unwrap_or_default();
    assert!(
        err && error.contains("ended unexpectedly") && error.contains(&id),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn socket_and_directory_are_private() {
    let w = World::new("modes");
    let _a = w.front(&[]).await;
    assert_eq!(mode(&w.dir()), 0o700);
    assert_eq!(mode(&w.dir().join("daemon.sock")), 0o600);
    assert_eq!(mode(&w.dir().join("daemon.log")), 0o600);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grown_log_is_moved_aside_when_a_daemon_starts() {
    let w = World::new("log-rotate");
    std::fs::create_dir_all(w.dir()).expect("daemon dir");
    std::fs::set_permissions(w.dir(), std::fs::Permissions::from_mode(0o700)).expect("mode");
    let old = "old daemon line\n".repeat(600_000);
    std::fs::write(w.dir().join("daemon.log"), &old).expect("a grown log");
    let a = w.front(&[]).await;
    let id = create(&a.client, "python").await;
    assert_eq!(eval(&a.client, &id, "print(6*7)").await["output"], "42");
    let moved = std::fs::read_to_string(w.dir().join("daemon.log.1")).unwrap_or_default();
    assert_eq!(moved.len(), old.len(), "the old log was not kept whole");
    let fresh = std::fs::metadata(w.dir().join("daemon.log")).map_or(u64::MAX, |m| m.len());
    assert!(fresh < 1 << 20, "the new daemon's log is {fresh} bytes");
    assert_eq!(mode(&w.dir().join("daemon.log")), 0o600);
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_stop_ends_every_session_and_itself() {
    let w = World::new("stop");
    let a = w.front(&[]).await;
    let s1 = create(&a.client, "python").await;
    let s2 = create(&a.client, "bash").await;
    let sids = [
        session_sid(&a.client, &s1).await,
        session_sid(&a.client, &s2).await,
    ];
    let daemon = w.daemon_pid();
    let (code, out, err) = w.run(&["daemon", "stop"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 sessions ended"), "{out}");
    for sid in sids {
        assert!(
            session_members(sid).is_empty(),
            "{:?}",
            session_members(sid)
        );
    }
    assert!(eventually(|| !alive(daemon), Duration::from_secs(5)).await);
    assert!(!w.dir().join("daemon.sock").exists());
    let (code, out, _) = w.run(&["daemon", "status"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no repl-mcp daemon is running"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_version_is_refused_clearly() {
    let w = World::new("version");
    let a = w.front(&[]).await;
    let id = create(&a.client, "python").await;
    let (code, out, err) = w.run(&["--persist"], &[("REPL_MCP_TEST_VERSION", "99.0.0")]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(out.is_empty(), "nothing half-spoken on stdout: {out}");
    assert!(
        err.contains("version 99.0.0") && err.contains(env!("CARGO_PKG_VERSION")),
        "{err}"
    );
    assert!(err.contains("daemon stop"), "{err}");
    // The daemon and its session are untouched.
    let r = eval(&a.client, &id, "print('still here')").await;
    assert_eq!(r["output"], "still here", "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_on_the_socket_does_not_kill_the_daemon() {
    let w = World::new("garbage");
    let a = w.front(&[]).await;
    let id = create(&a.client, "python").await;
    let sock = w.dir().join("daemon.sock");
    let probes: Vec<Vec<u8>> = vec![
        b"hello\n".to_vec(),
        vec![0xff, 0xfe, 0x00, b'\n'],
        b"{\"repl-mcp\":1}\n".to_vec(),
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}\n".to_vec(),
        vec![b'x'; 100_000],
        Vec::new(),
    ];
    for probe in probes {
        let Ok(mut s) = UnixStream::connect(&sock) else {
            panic!("the daemon stopped listening")
        };
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let _ = s.write_all(&probe);
        if probe.is_empty() {
            drop(s);
            continue;
        }
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(text.contains("\"ok\":false"), "{text}");
    }
    let r = eval(&a.client, &id, "print(1 + 1)").await;
    assert_eq!(r["output"], "2", "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unattached_sessions_end_after_keep_for() {
    let w = World::new("keep");
    let a = w.front(&["--keep-for", "1s"]).await;
    let short = create(&a.client, "python").await;
    let (r, err) = call(
        &a.client,
        "create_session",
        json!({ "presetConfig": "python", "keepFor": "1h" }),
    )
    .await;
    assert!(!err, "{r}");
    let long = r["sessionId"].as_str().expect("sessionId").to_string();
    let bad = a
        .client
        .call_tool(common::tool(
            "create_session",
            json!({ "presetConfig": "python", "keepFor": "soon" }),
        ))
        .await;
    match bad {
        Err(e) => assert!(e.to_string().contains("keepFor"), "{e}"),
        Ok(r) => assert_eq!(r.is_error, Some(true), "{r:?}"),
    }
    let short_sid = session_sid(&a.client, &short).await;
    a.kill9();
    drop(a);
    assert!(
        eventually(
            || session_members(short_sid).is_empty(),
            Duration::from_secs(10)
        )
        .await
    );
    let b = w.front(&[]).await;
    assert_eq!(listed(&b.client).await, vec![long]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_front_killed_mid_call_leaves_the_session_usable() {
    let w = World::new("midcall");
    let a = w.front(&[]).await;
    let id = create(&a.client, "python").await;
    let pending = {
        let client = a.client.peer().clone();
        let id = id.clone();
        tokio::spawn(async move {
            client
                .call_tool(common::tool(
                    "send_input_to_session",
                    json!({ "sessionId": id, "input": "import time; time.sleep(1.5); z = 7",
                            "options": { "wait_for_prompt": true, "timeout": 20000 } }),
                ))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.kill9();
    let _ = pending.await;
    drop(a);
    let b = w.front(&[]).await;
    // The command typed before the front died still runs to its end.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = common::eval_opts(
        &b.client,
        &id,
        "print(z * 6)",
        json!({ "wait_for_prompt": true, "timeout": 20000 }),
    )
    .await;
    assert_eq!(r["output"], "42", "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn elicitation_reaches_the_front_that_made_the_call() {
    let w = World::new("elicit");
    let policy = w.root.join("policy.toml");
    std::fs::write(
        &policy,
        "[tools.create_session]\naction = \"require_approval\"\n",
    )
    .expect("policy");
    let policy = policy.to_str().expect("utf-8");
    let yes = Approver { answer: true }
        .serve(w.transport(&["--policy", policy]))
        .await
        .expect("initialize");
    let no = Approver { answer: false }
        .serve(w.transport(&[]))
        .await
        .expect("initialize");
    let create = || common::tool("create_session", json!({ "presetConfig": "python" }));
    let (a, b) = tokio::join!(yes.call_tool(create()), no.call_tool(create()));
    let (a, b) = (a.expect("call"), b.expect("call"));
    assert_ne!(a.is_error, Some(true), "approved by its own person: {a:?}");
    assert_eq!(b.is_error, Some(true), "refused by its own person: {b:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_serves_one_web_view_for_every_front() {
    let w = World::new("web");
    let a = w.front(&["--web-port", "0"]).await;
    let b = w.front(&["--web-port", "0"]).await;
    let (ra, _) = call(
        &a.client,
        "create_session",
        json!({ "presetConfig": "bash" }),
    )
    .await;
    let (rb, _) = call(
        &b.client,
        "create_session",
        json!({ "presetConfig": "bash" }),
    )
    .await;
    let origin = |r: &serde_json::Value| {
        let url = r["webUrl"]
            .as_str()
            .unwrap_or_else(|| panic!("no webUrl: {r}"));
        url.split('/').take(3).collect::<Vec<_>>().join("/")
    };
    assert_eq!(origin(&ra), origin(&rb));
    let (_, out, _) = w.run(&["daemon", "status"], &[]);
    assert!(out.contains(&format!("web view: {}", origin(&ra))), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daemon_that_cannot_start_is_reported_at_once() {
    let w = World::new("nostart");
    let policy = w.root.join("policy.toml");
    std::fs::write(&policy, "[tools.create_session]\naction = \"alow\"\n").expect("policy");
    let started = std::time::Instant::now();
    let (code, out, err) = w.run(
        &[
            "--persist",
            "--no-web-ui",
            "--policy",
            policy.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("did not start") && err.contains("policy.toml:2"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_destroyed_by_one_front_answers_the_other() {
    let w = World::new("destroy");
    let (a, b) = tokio::join!(w.front(&[]), w.front(&[]));
    let id = create(&a.client, "python").await;
    let waiting = {
        let client = a.client.peer().clone();
        let id = id.clone();
        tokio::spawn(async move {
            client
                .call_tool(common::tool(
                    "send_input_to_session",
                    json!({ "sessionId": id, "input": "import time; time.sleep(30)",
                            "options": { "wait_for_prompt": true, "timeout": 60000 } }),
                ))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (r, err) = call(
        &b.client,
        "destroy_repl_session",
        json!({ "sessionId": id }),
    )
    .await;
    assert!(!err, "{r}");
    let answered = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the waiting call is answered, not left hanging")
        .expect("join");
    let r = answered.expect("a tool result");
    let r = r.structured_content.expect("structured");
    assert!(r["state"] != "ready", "{r}");
    assert!(listed(&a.client).await.is_empty());
    // The REPL's recovery did not bring it back behind the destroy.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let left: Vec<i32> = children(w.daemon_pid())
        .into_iter()
        .filter(|p| alive(*p) && cmdline(*p).contains("python"))
        .collect();
    assert!(left.is_empty(), "a python came back: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_daemon_exits() {
    let w = World::new("idle");
    let mut daemon = Command::new(bin())
        .args(["daemon", "--no-web-ui", "--idle-exit", "500ms"])
        .envs(w.envs())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("daemon");
    let sock = w.dir().join("daemon.sock");
    assert!(eventually(|| sock.exists(), Duration::from_secs(10)).await);
    let (code, out, _) = w.run(&["daemon", "status"], &[]);
    assert_eq!(code, 0, "{out}");
    let exited = eventually(
        || matches!(daemon.try_wait(), Ok(Some(_))),
        Duration::from_secs(10),
    )
    .await;
    assert!(exited, "the daemon is still running");
    assert!(!sock.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn repl_mcp_persist_in_the_environment_makes_a_front() {
    let w = World::new("env");
    // stdin is /dev/null: the front connects, sees the client gone, exits.
    let (code, out, err) = w.run(&["--no-web-ui"], &[("REPL_MCP_PERSIST", "1")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    let (code, out, _) = w.run(&["daemon", "status"], &[]);
    assert_eq!(code, 0, "a daemon was started: {out}");
    let (code, out, err) = w.run(&["--persist", "--http", "127.0.0.1:0"], &[]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("--http"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_front_started_while_the_daemon_stops_never_hangs() {
    let w = World::new("restop");
    let a = w.front(&[]).await;
    create(&a.client, "bash").await;
    let stopping = {
        let envs = w.envs();
        std::thread::spawn(move || {
            Command::new(bin())
                .args(["daemon", "stop"])
                .envs(envs)
                .stdout(std::process::Stdio::null())
                .status()
        })
    };
    let b = w.front(&[]).await;
    let _ = stopping.join();
    // Whichever daemon it reached, it is served (or the old one ended it
    // and the client sees a closed server, never a hang).
    let listed = tokio::time::timeout(
        Duration::from_secs(10),
        b.client
            .call_tool(common::tool("list_repl_sessions", json!({}))),
    )
    .await;
    assert!(listed.is_ok(), "no answer, no close: a hang");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_user_is_refused_even_through_open_modes() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 || !common::have("python3") {
        eprintln!("needs root (to play another user) and python3; skipped");
        return;
    }
    let w = World::new("uid");
    let _a = w.front(&[]).await;
    // Open the modes wide, so only the peer-uid check stands in the way.
    let sock = w.dir().join("daemon.sock");
    for (path, m) in [
        (w.root.clone(), 0o755),
        (w.root.join("run"), 0o755),
        (w.dir(), 0o755),
        (sock.clone(), 0o777),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).expect("chmod");
    }
    let script = format!(
        "import os, socket\nos.setgid(65534)\nos.setuid(65534)\n\
         s = socket.socket(socket.AF_UNIX)\ns.connect({:?})\ns.settimeout(10)\n\
         try:\n    s.sendall(b'{{\"repl-mcp\": \"{}\", \"want\": \"status\"}}\\n')\n    \
         print(repr(s.recv(4096)))\nexcept (ConnectionResetError, BrokenPipeError):\n    \
         print('reset')\n",
        sock.to_str().expect("utf-8"),
        env!("CARGO_PKG_VERSION")
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        matches!(text.trim(), "b''" | "reset"),
        "another uid got an answer: {text}"
    );
    // Its own user still gets one.
    let (code, out, _) = w.run(&["daemon", "status"], &[]);
    assert_eq!(code, 0, "{out}");
}
