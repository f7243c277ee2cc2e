//! Targets and parameters through the real binary, where no remote machine
//! is needed: listing, validation, bad input, the argv given to docker,
//! podman and kubectl (there is no engine or cluster here), the policy.

mod common;

use common::*;
use serde_json::{Value, json};

async fn create(s: &Server, args: Value) -> (Value, bool) {
    call(&s.client, "create_session", args).await
}

fn error_of(r: &Value) -> &str {
    r["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn configurations_list_targets_and_their_parameters() {
    let s = start().await;
    let (r, err) = call(&s.client, "list_repl_configurations", json!({})).await;
    assert!(!err);
    let targets = r["targets"].as_array().unwrap();
    let names: Vec<&str> = targets
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["docker", "kubectl", "podman", "ssh"]);
    let ssh = &targets[3];
    assert_eq!(ssh["source"], "builtin");
    assert_eq!(ssh["parameters"]["host"]["required"], true);
    assert!(
        ssh["parameters"]["host"]["description"]
            .as_str()
            .unwrap()
            .contains("Host")
    );
    assert!(ssh["parameters"]["port"]["pattern"].is_string());
    assert_eq!(ssh["config"]["remote"], "shell");
    assert_eq!(targets[1]["parameters"]["pod"]["required"], true);
    // Presets without parameters list none.
    let python = r["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "python")
        .unwrap();
    assert!(python["parameters"].is_null());
}

#[tokio::test]
async fn bad_targets_and_parameters_get_clear_errors_and_start_nothing() {
    let s = start().await;
    let cases = [
        (
            json!({"presetConfig": "python", "target": "nope"}),
            "unknown target `nope`; the targets are: docker, kubectl, podman, ssh",
        ),
        (
            json!({"presetConfig": "python", "parameters": {"host": "x"}}),
            "`host` is not a parameter of the preset `python`",
        ),
        (
            json!({"presetConfig": "python", "target": "ssh"}),
            "`host` (the target `ssh`) is required",
        ),
        (
            json!({"presetConfig": "python", "target": "ssh", "parameters": {"host": "h", "colour": "red"}}),
            "`colour` is not a parameter of the preset `python` or the target `ssh`",
        ),
        (
            json!({"presetConfig": "python", "target": "ssh", "parameters": {"host": "h", "port": "22x"}}),
            "the value of `port` (the target `ssh`) is refused: it does not match the pattern",
        ),
        (
            json!({"presetConfig": "python", "target": "ssh", "parameters": {"host": "-oProxyCommand=id"}}),
            "starts with `-`",
        ),
        (
            json!({"customConfig": {"shell": "bash"}, "target": "ssh", "parameters": {"host": "h"}}),
            "target and parameters work with presetConfig",
        ),
    ];
    for (args, want) in cases {
        let (r, err) = create(&s, args.clone()).await;
        assert!(err && r["success"] == false, "{args}: {r:#}");
        assert!(error_of(&r).contains(want), "{args}: {}", error_of(&r));
        assert!(r["sessionId"].is_null(), "{args}: {r:#}");
    }
    // Every parameter is listed with its description.
    let (r, _) = create(&s, json!({"presetConfig": "python", "target": "ssh"})).await;
    assert!(error_of(&r).contains("Private key file to use"), "{r:#}");
    // A number is accepted as a value, an object is not (clear protocol error).
    let (r, _) = create(
        &s,
        json!({"presetConfig": "python", "target": "ssh", "parameters": {"host": "h", "port": 70000}}),
    )
    .await;
    assert!(error_of(&r).contains("`port`"), "{r:#}");
    let (list, _) = call(&s.client, "list_repl_sessions", json!({})).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn object_parameter_values_are_refused_clearly() {
    let s = start().await;
    let args = json!({"presetConfig": "python", "target": "ssh", "parameters": {"host": {"x": 1}}});
    let Value::Object(args) = args else {
        unreachable!()
    };
    let r = s
        .client
        .call_tool(rmcp::model::CallToolRequestParams::new("create_session").with_arguments(args))
        .await
        .expect("a tool error, not a protocol error");
    assert_eq!(r.is_error, Some(true));
    let text = format!("{:?}", r.content);
    assert!(text.contains("parameter `host` must be a string"), "{text}");
    // The server lives on.
    let (r, err) = call(&s.client, "list_repl_sessions", json!({})).await;
    assert!(!err && r["success"] == true);
}

/// The argv a target builds, as `get_session_details` reports it. The
/// container tools may be missing or have no engine to talk to: either
/// way the error says so, and the argv is exactly the one documented.
async fn argv_of(s: &Server, args: Value) -> Option<Vec<String>> {
    let (r, err) = create(s, args.clone()).await;
    assert!(
        err,
        "{args}: there is no container engine or cluster here: {r:#}"
    );
    let Some(id) = r["sessionId"].as_str() else {
        // The program itself is missing: the error names it and the target.
        assert!(
            error_of(&r).contains("not found in PATH (needed by target"),
            "{r:#}"
        );
        return None;
    };
    let tool = args["target"].as_str().unwrap();
    assert!(
        error_of(&r).starts_with(&format!("{tool}: ")),
        "the failure is not explained: {r:#}"
    );
    let (d, _) = call(&s.client, "get_session_details", json!({"sessionId": id})).await;
    assert_eq!(d["session"]["state"], "exited");
    Some(
        d["session"]["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect(),
    )
}

#[tokio::test]
async fn docker_podman_and_kubectl_get_the_documented_argv() {
    let s = start().await;
    for tool in ["docker", "podman"] {
        let argv = argv_of(
            &s,
            json!({"presetConfig": "python", "target": tool, "parameters": {"container": "web", "user": "app"}}),
        )
        .await;
        if let Some(argv) = argv {
            assert_eq!(
                argv,
                [
                    tool,
                    "exec",
                    "-it",
                    "--user",
                    "app",
                    "--env",
                    "PYTHONUNBUFFERED=1",
                    "--env",
                    "PYTHON_BASIC_REPL=1",
                    "--",
                    "web",
                    "python3",
                    "-q"
                ]
            );
        }
    }
    let argv = argv_of(
        &s,
        json!({"presetConfig": "python", "target": "kubectl",
               "parameters": {"pod": "web-0", "namespace": "shop", "container": "app", "context": "prod"}}),
    )
    .await;
    if let Some(argv) = argv {
        assert_eq!(
            argv,
            [
                "kubectl",
                "--context",
                "prod",
                "--namespace",
                "shop",
                "exec",
                "-it",
                "--container",
                "app",
                "web-0",
                "--",
                "env",
                "PYTHONUNBUFFERED=1",
                "PYTHON_BASIC_REPL=1",
                "python3",
                "-q"
            ]
        );
    }
    // A shell needs its prompt set-up on the other side: a fixed `sh -c`
    // script creates it there; nothing is read from this machine.
    if let Some(argv) = argv_of(
        &s,
        json!({"presetConfig": "bash", "target": "kubectl", "parameters": {"pod": "web-0"}}),
    )
    .await
    {
        assert_eq!(&argv[..6], ["kubectl", "exec", "-it", "web-0", "--", "sh"]);
        assert_eq!(argv[6], "-c");
        assert!(argv[7].starts_with("d=$(mktemp -d"), "{}", argv[7]);
        assert!(
            argv[7].ends_with("'bash' '--noprofile' '--rcfile' \"$d\"'/bashrc' '-i'"),
            "{}",
            argv[7]
        );
    }
}

const GREET: &str = r#"
name = "greet"
command = ["python3", "-q"]
env = { PYTHON_BASIC_REPL = "1", GREETING = "{greeting}" }
[prompt]
ready = ['^>>> $']
continuation = ['^\.\.\. $']
[parameters.greeting]
description = "How to say hello"
default = "hello"
pattern = '[a-z ]+'
"#;

#[tokio::test]
async fn preset_parameters_work_locally() {
    let s = start_with_presets(&[("greet.toml", GREET)]).await;
    let c = &s.client;
    let show = "import os; print(os.environ['GREETING'])";
    let (r, err) = create(&s, json!({"presetConfig": "greet"})).await;
    assert!(!err, "{r:#}");
    let id = r["sessionId"].as_str().unwrap();
    assert_eq!(eval(c, id, show).await["output"], "hello");
    let (r, err) = create(
        &s,
        json!({"presetConfig": "greet", "parameters": {"greeting": "good day"}}),
    )
    .await;
    assert!(!err, "{r:#}");
    let id = r["sessionId"].as_str().unwrap();
    assert_eq!(eval(c, id, show).await["output"], "good day");
    let (d, _) = call(c, "get_session_details", json!({"sessionId": id})).await;
    assert_eq!(d["session"]["parameters"]["greeting"], "good day");
    assert!(d["session"]["target"].is_null());
    let (r, _) = create(
        &s,
        json!({"presetConfig": "greet", "parameters": {"greeting": "$(id)"}}),
    )
    .await;
    assert!(error_of(&r).contains("How to say hello"), "{r:#}");
    let (list, _) = call(c, "list_repl_configurations", json!({})).await;
    let greet = list["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "greet")
        .unwrap();
    assert_eq!(greet["parameters"]["greeting"]["default"], "hello");
}

#[tokio::test]
async fn broken_target_files_are_reported_with_file_line_and_key() {
    let s = start().await;
    let dir = s.config_home.join("repl-mcp").join("targets");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("staging.toml"),
        "name = \"staging\"\nremote = \"shell\"\ncommand = [\"ssh\", \"-tt\", \"--\",\n    \"{hots}\"]\n\
         [parameters.host]\ndescription = \"h\"\nrequired = true\npattern = '[a-z]+'\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bad.toml"),
        "name = \"bad\"\ncommand = [\"x\"]\nbogus = 1\n",
    )
    .unwrap();
    let (r, _) = call(&s.client, "reload_presets", json!({})).await;
    let errors: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("staging.toml:4:6: key `command[3]`") && e.contains("{hots}")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("bad.toml:3:") && e.contains("bogus")),
        "{errors:#?}"
    );
    let (l, _) = call(&s.client, "list_repl_configurations", json!({})).await;
    assert_eq!(l["targets"].as_array().unwrap().len(), 4);
    assert_eq!(l["errors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_policy_allows_denies_and_restricts_targets() {
    let dir = scratch("target-policy");
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        "[targets]\ndeny = [\"kubectl\"]\n[targets.parameters]\nhost = '[a-z0-9.-]+\\.invalid'\n",
    )
    .unwrap();
    let s = start_with(
        rmcp::model::ProtocolVersion::V_2025_11_25,
        &["--policy", policy.to_str().unwrap()],
    )
    .await;
    let (r, err) = create(
        &s,
        json!({"presetConfig": "python", "target": "kubectl", "parameters": {"pod": "p"}}),
    )
    .await;
    assert!(err && error_of(&r).contains("targets.deny"), "{r:#}");
    let (r, err) = create(
        &s,
        json!({"presetConfig": "python", "target": "ssh", "parameters": {"host": "evil.org"}}),
    )
    .await;
    assert!(
        err && error_of(&r).contains("targets.parameters.host"),
        "{r:#}"
    );
    assert!(error_of(&r).contains("evil.org"), "{r:#}");
    let (list, _) = call(&s.client, "list_repl_sessions", json!({})).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 0);
    // An allowed host gets past the policy (and fails to resolve).
    let (r, _) = create(
        &s,
        json!({"presetConfig": "python", "target": "ssh", "parameters": {"host": "db.invalid"}}),
    )
    .await;
    assert!(!error_of(&r).contains("policy"), "{r:#}");
}

#[test]
fn every_target_example_in_the_docs_loads() {
    let mut count = 0;
    for doc in ["docs/targets.md", "README.md"] {
        let path = format!("{}/{doc}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        for block in text.split("```toml\n").skip(1) {
            let toml = block.split("```").next().unwrap_or_default();
            if !toml.contains("command = [\"ssh\"") && !toml.contains("command = [\"lxc\"") {
                continue;
            }
            repl_mcp::preset::TargetRegistry::parse(doc, toml)
                .unwrap_or_else(|e| panic!("{doc}: example does not load: {e}\n{toml}"));
            count += 1;
        }
    }
    assert!(count >= 3, "found {count} target examples");
}
