//! REPLs through the `ssh` target, against a real OpenSSH server that each
//! test starts on 127.0.0.1 with its own keys (`LoopbackSshd`). Skipped,
//! loudly, where openssh-server is not installed (`.ci/run` installs it).

mod common;

use std::time::{Duration, Instant};

use common::*;
use repl_mcp::preset::target::loopback::LoopbackSshd;
use serde_json::{Value, json};

/// A loopback sshd and a server that knows it as the user target `loopback`
/// (the built-in `ssh` target plus `-F` with this server's client config).
struct Remote {
    sshd: LoopbackSshd,
    server: Server,
}

async fn remote() -> Option<Remote> {
    remote_with(&[], None).await
}

/// With extra presets (a project presets dir) and a policy file's text.
async fn remote_with(presets: &[(&str, &str)], policy: Option<&str>) -> Option<Remote> {
    if !LoopbackSshd::available() {
        eprintln!("SKIPPED: openssh-server is not installed (apt-get install openssh-server)");
        return None;
    }
    let sshd = LoopbackSshd::start().expect("loopback sshd");
    let dir = scratch("ssh-args");
    let mut args = Vec::new();
    if !presets.is_empty() {
        for (name, toml) in presets {
            std::fs::write(dir.join(name), toml).unwrap();
        }
        args.push("--presets-dir".to_string());
        args.push(dir.display().to_string());
    }
    if let Some(text) = policy {
        std::fs::write(dir.join("policy.toml"), text).unwrap();
        args.push("--policy".to_string());
        args.push(dir.join("policy.toml").display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = start_with(rmcp::model::ProtocolVersion::V_2025_11_25, &args).await;
    let targets = server.config_home.join("repl-mcp").join("targets");
    std::fs::create_dir_all(&targets).unwrap();
    std::fs::write(
        targets.join("loopback.toml"),
        sshd.target_toml("loopback").unwrap(),
    )
    .unwrap();
    let (r, _) = call(&server.client, "reload_presets", json!({})).await;
    assert!(r["errors"].as_array().is_none_or(|e| e.is_empty()), "{r:#}");
    Some(Remote { sshd, server })
}

impl Remote {
    fn parameters(&self) -> Value {
        json!({
            "host": "127.0.0.1",
            "port": self.sshd.port.to_string(),
            "user": self.sshd.user,
        })
    }

    async fn create(&self, preset: &str) -> (Value, bool) {
        self.create_with(preset, "loopback", self.parameters())
            .await
    }

    async fn create_with(&self, preset: &str, target: &str, parameters: Value) -> (Value, bool) {
        call(
            &self.server.client,
            "create_session",
            json!({ "presetConfig": preset, "target": target, "parameters": parameters }),
        )
        .await
    }

    async fn open(&self, preset: &str) -> String {
        let (r, err) = self.create(preset).await;
        assert!(
            !err,
            "create_session({preset}) over ssh failed: {r:#}\nsshd log:\n{}",
            self.sshd.log()
        );
        r["sessionId"].as_str().unwrap().to_string()
    }
}

fn session_pid(details: &Value) -> i32 {
    i32::try_from(details["session"]["pid"].as_i64().unwrap()).unwrap()
}

#[tokio::test]
async fn python_evaluates_remotely_and_says_where_it_runs() {
    let Some(r) = remote().await else { return };
    let c = &r.server.client;
    let id = r.open("python").await;
    assert_eq!(eval(c, &id, "print(6 * 7)").await["output"], "42");
    let r2 = eval(c, &id, "print('héllo wörld ✓ 日本')").await;
    assert_eq!(r2["output"], "héllo wörld ✓ 日本");
    // The program runs under sshd, not under the server: the server's
    // child is ssh.
    let (d, _) = call(c, "get_session_details", json!({ "sessionId": id })).await;
    assert_eq!(d["session"]["target"], "loopback");
    assert_eq!(d["session"]["parameters"]["host"], "127.0.0.1");
    assert_eq!(d["session"]["argv"][0], "ssh");
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", session_pid(&d))).unwrap();
    assert_eq!(comm.trim(), "ssh");
    let remote_parent = eval(
        c,
        &id,
        "import os; print(open(f'/proc/{os.getppid()}/comm').read().strip())",
    )
    .await;
    assert_ne!(remote_parent["output"], "ssh", "{remote_parent:#}");
    // Lists say where it runs, and so does the title of its web page.
    let (list, _) = call(c, "list_repl_sessions", json!({})).await;
    let s = &list["sessions"][0];
    assert_eq!(s["target"], "loopback");
    assert_eq!(s["parameters"]["port"], r.sshd.port.to_string());
    assert!(
        s["displayName"]
            .as_str()
            .unwrap()
            .contains("loopback host=127.0.0.1"),
        "{s:#}"
    );
}

#[tokio::test]
async fn bash_exit_codes_come_back_from_the_remote_shell() {
    let Some(r) = remote().await else { return };
    let c = &r.server.client;
    let id = r.open("bash").await;
    let ok = eval(c, &id, "echo hi").await;
    assert_eq!(ok["output"], "hi");
    assert_eq!(ok["exitCode"], 0);
    assert_eq!(eval(c, &id, "false").await["exitCode"], 1);
    assert_eq!(eval(c, &id, "(exit 7)").await["exitCode"], 7);
    let pwd = eval(c, &id, "cd /tmp && pwd").await;
    assert_eq!(pwd["output"], "/tmp");
    // The prompt set-up deleted its own directory on the other side.
    let rc = eval(c, &id, "echo \"${REPL_MCP_RC_DIR:-unset}\"").await;
    assert_eq!(rc["output"], "unset");
    assert_eq!(eval(c, &id, "echo ünï ✓").await["output"], "ünï ✓");
}

#[tokio::test]
async fn sigint_reaches_the_remote_program() {
    let Some(r) = remote().await else { return };
    let c = &r.server.client;
    let py = r.open("python").await;
    let busy = eval_opts(
        c,
        &py,
        "import time; time.sleep(120)",
        json!({ "wait_for_prompt": false, "settle_ms": 300 }),
    )
    .await;
    assert_eq!(busy["state"], "busy", "{busy:#}");
    let (sig, err) = call(
        c,
        "send_signal_to_session",
        json!({ "sessionId": py, "signal": "SIGINT" }),
    )
    .await;
    assert!(!err, "{sig:#}");
    let after = call(
        c,
        "wait_for_session",
        json!({ "sessionId": py, "seconds": 20 }),
    )
    .await
    .0;
    assert!(
        after["output"]
            .as_str()
            .unwrap_or_default()
            .contains("KeyboardInterrupt")
            || after["rawOutput"]
                .as_str()
                .unwrap_or_default()
                .contains("KeyboardInterrupt"),
        "{after:#}"
    );
    // The connection survived: the same interpreter answers.
    assert_eq!(
        eval(c, &py, "print('still here')").await["output"],
        "still here"
    );

    let sh = r.open("bash").await;
    eval_opts(
        c,
        &sh,
        "sleep 120",
        json!({ "wait_for_prompt": false, "settle_ms": 300 }),
    )
    .await;
    call(
        c,
        "send_signal_to_session",
        json!({ "sessionId": sh, "signal": "SIGINT" }),
    )
    .await;
    let done = call(
        c,
        "wait_for_session",
        json!({ "sessionId": sh, "seconds": 20 }),
    )
    .await
    .0;
    assert_eq!(done["exitCode"], 130, "{done:#}");
}

#[tokio::test]
async fn a_dropped_connection_ends_the_session_as_exited() {
    let Some(r) = remote().await else { return };
    let c = &r.server.client;
    let id = r.open("python").await;
    assert_eq!(eval(c, &id, "x = 1; print(x)").await["output"], "1");
    let (d, _) = call(c, "get_session_details", json!({ "sessionId": id })).await;
    let pid = session_pid(&d);
    let connections = r.sshd.connection_pids();
    assert!(!connections.is_empty());
    for p in connections {
        // SAFETY: kill(2) on pids of our own sshd's children.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
    let after = eval(c, &id, "print(x)").await;
    assert_eq!(after["state"], "exited", "{after:#}");
    assert_eq!(after["success"], false);
    let error = after["error"].as_str().unwrap();
    assert!(error.contains("through target `loopback`"), "{error}");
    // ssh's own words: "closed by remote host", or "Broken pipe" when the
    // input was sent into the dead connection.
    assert!(error.contains("whose last output was: "), "{error}");
    // Not restarted, and nothing left running here.
    assert!(after["restarted"].is_null(), "{after:#}");
    assert!(eventually(|| session_members(pid).is_empty(), Duration::from_secs(10)).await);
    let (d, _) = call(c, "get_session_details", json!({ "sessionId": id })).await;
    assert_eq!(d["session"]["state"], "exited");
    assert!(
        d["session"]["lastError"]
            .as_str()
            .unwrap()
            .contains("through target")
    );
}

/// Values that try to run `touch MARKER` one way or another.
fn injections(marker: &str) -> Vec<String> {
    vec![
        format!("-oProxyCommand=touch {marker}"),
        "-oProxyCommand=sh".to_string(),
        format!("127.0.0.1;touch {marker}"),
        format!("$(touch {marker})"),
        format!("`touch {marker}`"),
        format!("x\ntouch {marker}"),
        format!("x\rtouch {marker}"),
        "x\0y".to_string(),
        format!("x|touch {marker}"),
        format!("x&&touch {marker}"),
        format!("x' ; touch {marker} '"),
        format!("x\" ; touch {marker} \""),
        format!("$(touch${{IFS}}{marker})"),
    ]
}

#[tokio::test]
async fn injection_attempts_are_refused_and_nothing_runs() {
    // Over a hundred refused calls: more than the default rate limit.
    let policy = "[tools.create_session]\naction = \"allow\"\n";
    let Some(r) = remote_with(&[], Some(policy)).await else {
        return;
    };
    let c = &r.server.client;
    let marker = scratch("injection").join("pwned");
    let m = marker.display().to_string();
    let mut attempts = 0;
    for name in ["host", "user", "port", "identity"] {
        for bad in injections(&m) {
            let mut params = r.parameters();
            params[name] = json!(bad);
            for target in ["loopback", "ssh"] {
                let (res, err) = r.create_with("python", target, params.clone()).await;
                attempts += 1;
                assert!(
                    err && res["success"] == false,
                    "{name}={bad:?} accepted: {res:#}"
                );
                assert!(res["sessionId"].is_null(), "{res:#}");
                let e = res["error"].as_str().unwrap();
                assert!(e.contains(&format!("`{name}`")), "{e}");
            }
        }
    }
    assert!(attempts > 90);
    let (list, _) = call(c, "list_repl_sessions", json!({})).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 0);
    assert!(!marker.exists(), "an injection ran");
}

const ECHO_PRESET: &str = r#"
name = "echo_env"
command = ["python3", "-q"]
env = { PYTHON_BASIC_REPL = "1", MSG = "{msg}" }
[prompt]
ready = ['^>>> $']
continuation = ['^\.\.\. $']
[parameters.msg]
description = "Any text at all"
required = true
pattern = '(?s).*'
"#;

#[tokio::test]
async fn shell_metacharacters_in_allowed_values_arrive_literally() {
    let Some(r) = remote_with(&[("echo_env.toml", ECHO_PRESET)], None).await else {
        return;
    };
    let c = &r.server.client;
    let marker = scratch("literal").join("pwned");
    let msg = format!(
        "$(touch {m}) `touch {m}`; touch {m} 'q' \"d\" \\ ~ * ünï",
        m = marker.display()
    );
    let mut params = r.parameters();
    params["msg"] = json!(msg);
    let (res, err) = r.create_with("echo_env", "loopback", params).await;
    assert!(!err, "{res:#}");
    let id = res["sessionId"].as_str().unwrap();
    let out = eval(c, id, "import os; print(os.environ['MSG'])").await;
    assert_eq!(out["output"], msg);
    assert!(!marker.exists(), "the remote shell ran part of a value");
}

#[tokio::test]
async fn ssh_failures_say_why_and_leave_nothing_running() {
    let Some(r) = remote().await else { return };
    let c = &r.server.client;
    let dir = scratch("sshfail");
    // A known_hosts that holds another key for this server.
    let other = dir.join("other_host_key");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let wrong_known = dir.join("known_hosts");
    std::fs::write(
        &wrong_known,
        format!("[127.0.0.1]:{} {other_pub}", r.sshd.port),
    )
    .unwrap();
    let wrong_cfg = dir.join("wrong_key_config");
    r.sshd
        .write_client_config(&wrong_cfg, &wrong_known, Some(&r.sshd.identity()))
        .unwrap();
    // The right known_hosts but no key of ours: the key given is refused.
    let no_key_cfg = dir.join("no_key_config");
    r.sshd
        .write_client_config(&no_key_cfg, &r.sshd.dir().join("known_hosts"), None)
        .unwrap();
    let targets = r.server.config_home.join("repl-mcp").join("targets");
    for (name, cfg) in [("wrongkey", &wrong_cfg), ("nokey", &no_key_cfg)] {
        std::fs::write(
            targets.join(format!("{name}.toml")),
            r.sshd.target_toml_with(name, cfg).unwrap(),
        )
        .unwrap();
    }
    call(c, "reload_presets", json!({})).await;
    let stray_key = dir.join("stray_key");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stray_key)
        .status()
        .unwrap();

    let mut refused = r.parameters();
    refused["identity"] = json!(stray_key.display().to_string());
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "wrongkey",
            r.parameters(),
            "does not match the one in known_hosts",
        ),
        ("nokey", refused, "authentication was refused"),
        (
            "ssh",
            json!({ "host": "no-such-host.invalid" }),
            "could not find the host no-such-host.invalid",
        ),
        (
            "loopback",
            json!({ "host": "127.0.0.1", "port": closed_port.to_string() }),
            "connection refused",
        ),
    ];
    for (target, params, why) in cases {
        let t = Instant::now();
        let (res, err) = r.create_with("python", target, params).await;
        assert!(err && res["success"] == false, "{target}: {res:#}");
        let e = res["error"].as_str().unwrap();
        assert!(e.contains(why), "{target}: expected {why:?} in {e}");
        // Well within python's start-up timeout plus the target's.
        assert!(
            t.elapsed() < Duration::from_secs(22),
            "{target} took {:?}",
            t.elapsed()
        );
        let id = res["sessionId"].as_str().unwrap();
        let (d, _) = call(c, "get_session_details", json!({ "sessionId": id })).await;
        assert_eq!(d["session"]["state"], "exited", "{target}");
        let pid = session_pid(&d);
        assert!(
            eventually(|| session_members(pid).is_empty(), Duration::from_secs(10)).await,
            "{target}: processes left"
        );
    }
}
