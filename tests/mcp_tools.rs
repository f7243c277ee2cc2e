//! The tool surface: names, schemas, annotations, protocol versions, errors.

mod common;

use common::*;
use rmcp::model::ProtocolVersion;
use serde_json::json;

#[tokio::test]
async fn every_tool_has_schemas_and_annotations() {
    let s = start().await;
    let tools = s.client.list_all_tools().await.expect("tools/list");
    for name in TOOLS {
        let t = tools
            .iter()
            .find(|t| t.name == *name)
            .unwrap_or_else(|| panic!("tool {name} missing"));
        assert_eq!(t.input_schema.get("type"), Some(&json!("object")), "{name}");
        assert!(t.output_schema.is_some(), "{name} has no output schema");
        let a = t
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{name} has no annotations"));
        assert!(
            a.read_only_hint.is_some() && a.destructive_hint.is_some(),
            "{name}"
        );
    }
    let ro = |n: &str| {
        tools
            .iter()
            .find(|t| t.name == n)
            .and_then(|t| t.annotations.as_ref()?.read_only_hint)
    };
    assert_eq!(ro("list_repl_sessions"), Some(true));
    assert_eq!(ro("send_input_to_session"), Some(false));
    let schema = serde_json::to_string(
        &tools
            .iter()
            .find(|t| t.name == "create_session")
            .unwrap()
            .input_schema,
    )
    .unwrap();
    for field in [
        "presetConfig",
        "displayName",
        "customConfig",
        "startingDirectory",
        "environment",
        "commands",
        "debug",
    ] {
        assert!(
            schema.contains(field),
            "create_session schema lacks {field}"
        );
    }
    let schema = serde_json::to_string(
        &tools
            .iter()
            .find(|t| t.name == "send_input_to_session")
            .unwrap()
            .input_schema,
    )
    .unwrap();
    for field in [
        "sessionId",
        "input",
        "wait_for_prompt",
        "add_newline",
        "timeout",
    ] {
        assert!(
            schema.contains(field),
            "send_input_to_session schema lacks {field}"
        );
    }
}

#[tokio::test]
async fn negotiates_every_supported_protocol_version() {
    for v in [
        ProtocolVersion::V_2025_06_18,
        ProtocolVersion::V_2025_11_25,
        ProtocolVersion::V_2026_07_28,
    ] {
        let s = start_with(v.clone(), &[]).await;
        let negotiated = s.client.peer_info().map(|i| i.protocol_version.clone());
        assert_eq!(negotiated, Some(v.clone()), "negotiated version");
        let id = create(&s.client, "python").await;
        let r = eval(&s.client, &id, "print(6*7)").await;
        assert_eq!(r["output"], "42", "{v:?}: {r:#}");
    }
}

#[tokio::test]
async fn configurations_list_presets_with_their_source() {
    let s = start().await;
    let (r, err) = call(&s.client, "list_repl_configurations", json!({})).await;
    assert!(!err);
    let names: Vec<&str> = r["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for want in [
        "python",
        "ipython",
        "node",
        "irb",
        "pry",
        "bash",
        "zsh",
        "rails_console",
        "rails_console_production",
        "sqlite3",
        "psql",
        "perl",
        "tclsh",
        "gdb",
        "lua",
        "ghci",
        "R",
        "julia",
        "iex",
        "erl",
        "utop",
        "ocaml",
        "clojure",
        "redis-cli",
        "mysql",
    ] {
        assert!(names.contains(&want), "preset {want} missing");
    }
    let py = r["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "python")
        .unwrap();
    assert_eq!(py["source"], "builtin");
    assert_eq!(py["available"], true);
}

#[tokio::test]
async fn user_and_project_presets_override_builtin_ones() {
    let s = start().await;
    drop(s);
    let cfg = scratch("override");
    std::fs::create_dir_all(cfg.join("repl-mcp/presets")).unwrap();
    std::fs::write(
        cfg.join("repl-mcp/presets/mine.toml"),
        "name = \"python\"\ndisplay_name = \"My Python\"\ncommand = [\"python3\", \"-q\"]\n[prompt]\nready = ['^>>> $']\n",
    )
    .unwrap();
    std::fs::write(
        cfg.join("repl-mcp/presets/broken.toml"),
        "name = \"broken\"\ncommand = 5\n",
    )
    .unwrap();
    let transport = server_transport(&cfg, &[]);
    let client = rmcp::ServiceExt::serve((), transport).await.unwrap();
    let (r, _) = call_unit(&client, "list_repl_configurations", json!({})).await;
    let py = r["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "python")
        .unwrap();
    assert_eq!(py["source"], "user");
    assert_eq!(py["overrides"], json!(["builtin"]));
    let errors = r["errors"].as_array().expect("broken preset reported");
    let e = errors[0].as_str().unwrap();
    assert!(e.contains("broken.toml:2:") && e.contains("command"), "{e}");
}

async fn call_unit(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &str,
    args: serde_json::Value,
) -> (serde_json::Value, bool) {
    let serde_json::Value::Object(args) = args else {
        unreachable!()
    };
    let r = client
        .call_tool(rmcp::model::CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap();
    (
        r.structured_content.clone().unwrap(),
        r.is_error.unwrap_or(false),
    )
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_others_carry_on() {
    let s = start().await;
    let c = &s.client;
    let good = create(c, "python").await;
    assert_eq!(eval(c, &good, "x = 5").await["state"], "ready");

    let (r, err) = call(
        c,
        "send_input_to_session",
        json!({"sessionId": "nope", "input": "1"}),
    )
    .await;
    assert!(
        err && r["error"].as_str().unwrap().contains("not found"),
        "{r}"
    );

    let (r, err) = call(c, "create_session", json!({"presetConfig": "cobol"})).await;
    let msg = r["error"].as_str().unwrap();
    assert!(
        err && msg.contains("unknown preset `cobol`") && msg.contains("python"),
        "{msg}"
    );

    let (r, err) = call(
        c,
        "create_session",
        json!({"customConfig": {"type": "custom", "shell": "/no/such/shell", "commands": []}}),
    )
    .await;
    assert!(err, "{r}");
    let (r, err) = call(c, "create_session", json!({"customConfig": {"type": "python", "shell": "bash", "commands": ["python3 -q"], "startingDirectory": "/no/such/dir"}})).await;
    assert!(
        err && r["error"].as_str().unwrap().contains("/no/such/dir"),
        "{r}"
    );
    let (r, err) = call(c, "create_session", json!({"customConfig": {"type": "python", "shell": "bash", "commands": ["no-such-program-xyz --flag"]}})).await;
    assert!(
        err && r["error"].as_str().unwrap().contains("no-such-program-xyz"),
        "{r}"
    );

    // A preset whose program is not installed here names the program.
    let missing = [
        "julia",
        "ghci",
        "iex",
        "erl",
        "utop",
        "clojure",
        "redis-cli",
        "mysql",
    ]
    .into_iter()
    .find(|p| !have(p));
    if let Some(program) = missing {
        let (r, err) = call(c, "create_session", json!({"presetConfig": program})).await;
        let msg = r["error"].as_str().unwrap();
        assert!(
            err && msg.contains(&format!("`{program}` not found")),
            "{msg}"
        );
    }

    // Unknown tool and mistyped arguments are protocol errors, not crashes.
    let unknown = c
        .call_tool(rmcp::model::CallToolRequestParams::new("no_such_tool"))
        .await;
    assert!(unknown.is_err() || unknown.unwrap().is_error == Some(true));
    let mut args = serde_json::Map::new();
    args.insert("sessionId".into(), json!(42));
    let mistyped = c
        .call_tool(
            rmcp::model::CallToolRequestParams::new("send_input_to_session").with_arguments(args),
        )
        .await;
    assert!(mistyped.is_err() || mistyped.unwrap().is_error == Some(true));

    // A guessed field is refused by name, with the fields there are (it
    // used to be dropped: a bare shell, a preset without its environment),
    // and no session is made.
    for (args, field, known) in [
        (
            json!({"customConfig": {"command": "awk", "args": ["{print}"]}}),
            "command",
            "commands",
        ),
        (
            json!({"presetConfig": "python", "environment": {"PGHOST": "/tmp"}}),
            "environment",
            "customConfig",
        ),
    ] {
        let serde_json::Value::Object(args) = args else {
            unreachable!()
        };
        let guessed = c
            .call_tool(
                rmcp::model::CallToolRequestParams::new("create_session").with_arguments(args),
            )
            .await;
        let said = match guessed {
            Ok(r) => {
                assert_eq!(r.is_error, Some(true), "{r:?}");
                serde_json::to_string(&r.content).unwrap_or_default()
            }
            Err(e) => e.to_string(),
        };
        assert!(
            said.contains(&format!("unknown field `{field}`")) && said.contains(known),
            "{said}"
        );
    }
    let (listed, _) = call(c, "list_repl_sessions", json!({})).await;
    assert_eq!(
        listed["sessions"].as_array().map(Vec::len),
        Some(1),
        "{listed:#}"
    );

    // The good session is untouched.
    assert_eq!(eval(c, &good, "print(x * 2)").await["output"], "10");
}

#[tokio::test]
async fn customconfig_runs_commands_in_a_shell() {
    let s = start().await;
    let dir = scratch("cwd");
    let (r, err) = call(
        &s.client,
        "create_session",
        json!({"displayName": "venv python", "customConfig": {"type": "python", "shell": "bash",
            "commands": ["export GREETING=hi", "python3 -q"], "startingDirectory": dir, "environment": {"WHO": "agent"}}}),
    )
    .await;
    assert!(!err, "{r:#}");
    assert_eq!(r["config"], "venv python");
    let id = r["sessionId"].as_str().unwrap();
    let out = eval(
        &s.client,
        id,
        "import os; print(os.getcwd(), os.environ['GREETING'], os.environ['WHO'])",
    )
    .await;
    assert_eq!(out["output"], format!("{} hi agent", dir.display()));
}
