//! How input reaches each REPL: blocks with blank lines, long lines,
//! non-ASCII text, line-motion escapes in the echo — on real programs
//! through the real binary.

mod common;

use common::*;
use rmcp::ServiceExt;
use rmcp::model::{ClientCapabilities, ClientConfig as ClientInfo, Implementation};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};

const CLASS_WITH_BLANK_LINES: &str = "class Greeter:\n    def __init__(self, name):\n        self.name = name\n\n    def greet(self):\n\n        return 'hi ' + self.name\n\n\nprint(Greeter('ada').greet())";

/// The call came back at the prompt with exactly `output`.
fn assert_ready_with(r: &Value, output: &str) {
    assert_eq!(
        (r["output"].as_str(), r["state"].as_str()),
        (Some(output), Some("ready")),
        "{r:#}"
    );
}

/// The same text through both waits: line by line (`wait_for_prompt`) and
/// all at once (takafu's default).
async fn eval_both_ways(c: &Client, id: &str, input: &str) -> [Value; 2] {
    [
        eval(c, id, input).await,
        eval_opts(
            c,
            id,
            input,
            json!({"wait_for_prompt": false, "timeout": 20000}),
        )
        .await,
    ]
}

#[tokio::test]
async fn python_takes_a_class_with_blank_lines_between_its_methods() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    for r in eval_both_ways(c, &id, CLASS_WITH_BLANK_LINES).await {
        assert_ready_with(&r, "hi ada");
    }
    // A docstring's blank lines survive; a decorator stays with its function;
    // `else` at column 0 continues its `if`.
    let src = "import functools\n\n@functools.lru_cache\n\ndef f(n):\n    \"\"\"Square.\n\n    Cached.\"\"\"\n\n    return n * n\n\nif f(3) > 5:\n    x = 'big'\n\nelse:\n    x = 'small'\nprint(x, repr(f.__doc__))";
    let r = eval(c, &id, src).await;
    assert_eq!(r["output"], "big 'Square.\\n\\n    Cached.'", "{r:#}");
    // A header alone leaves the block open; its body closes it.
    let r = eval(c, &id, "for i in range(3):").await;
    assert_eq!(r["state"], "continuation", "{r:#}");
    let r = eval(c, &id, "    print(i * 10)").await;
    assert_eq!(r["output"], "0\n10\n20", "{r:#}");
}

#[tokio::test]
async fn ipython_takes_a_class_with_blank_lines_between_its_methods() {
    if !have("ipython3") {
        eprintln!("ipython3 not installed; skipped");
        return;
    }
    let s = start().await;
    let c = &s.client;
    let id = create(c, "ipython").await;
    for r in eval_both_ways(c, &id, CLASS_WITH_BLANK_LINES).await {
        assert_ready_with(&r, "hi ada");
    }
}

/// A JSON literal of about 6,000 bytes on one line, with non-ASCII text.
fn long_json() -> (String, usize) {
    let entries: Vec<String> = (0..120)
        .map(|i| format!("\"key{i}\": \"{}é✓\"", "v".repeat(40)))
        .collect();
    let json = format!("{{{}}}", entries.join(", "));
    assert!(json.len() > 6000, "{}", json.len());
    (json, 120)
}

#[tokio::test]
async fn node_evaluates_a_6000_byte_line() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "node").await;
    let (json, keys) = long_json();
    let r = eval(
        c,
        &id,
        &format!("const big = {json}; Object.keys(big).length + ':' + big.key119.slice(-2)"),
    )
    .await;
    assert_eq!(r["output"], format!("'{keys}:é✓'"), "{r:#}");
    assert_eq!(r["state"], "ready");
    // The session goes on normally.
    assert_eq!(eval(c, &id, "big.key0.length").await["output"], "42");
}

/// A long line reaches every canonical-mode REPL whole (in pieces ended by
/// Ctrl-D) — or is refused; never cut.
#[tokio::test]
async fn long_lines_arrive_whole_in_every_canonical_mode_preset() {
    let text = format!("{}{}", "é".repeat(100), "x".repeat(5800));
    let cases = [
        (
            "ipython",
            "ipython3",
            format!("print(len('{text}'))"),
            "5900",
        ),
        ("irb", "irb", format!("puts '{text}'.size"), "5900\n=> nil"),
        ("pry", "pry", format!("puts '{text}'.size"), "5900\n=> nil"),
        ("sh", "sh", format!("x='{text}'; echo ${{#x}}"), ""),
        (
            "tclsh",
            "tclsh",
            format!("string length \"{text}\""),
            "5900",
        ),
        ("perl", "perl", format!("p length('{text}')"), "6000"),
    ];
    let s = start().await;
    let mut ran = 0;
    for (preset, program, input, expected) in cases {
        let Some(id) = create_if_installed(&s.client, preset, program).await else {
            continue;
        };
        let r = eval(&s.client, &id, &input).await;
        let out = r["output"].as_str().unwrap_or_default();
        if preset == "sh" {
            // dash counts bytes or characters depending on its build.
            assert!(out == "6000" || out == "5900", "{preset}: {r:#}");
        } else {
            assert_eq!(out, expected, "{preset}: {r:#}");
        }
        assert_eq!(r["state"], "ready", "{preset}: {r:#}");
        ran += 1;
    }
    assert!(ran >= 3, "sh, tclsh and perl come with the machine");
}

#[tokio::test]
async fn a_line_over_the_limit_is_refused_and_nothing_typed() {
    let s = start_with_presets(&[(
        "canon.toml",
        r#"
name = "canon"
command = ["sh"]
[shell_integration]
flavor = "sh"
[prompt]
ready = ['[$#] $']
[input]
max_line_bytes = 4095
"#,
    )])
    .await;
    let c = &s.client;
    let id = create(c, "canon").await;
    let long = format!("echo {}", "LONGLINE".repeat(700));
    let (r, is_error) = call(
        c,
        "send_input_to_session",
        json!({"sessionId": id, "input": format!("echo first\n{long}"), "options": {"wait_for_prompt": true}}),
    )
    .await;
    let error = r["error"].as_str().unwrap_or_default();
    assert!(is_error, "{r:#}");
    assert!(
        error.contains("line 2") && error.contains("4095") && error.contains("nothing was typed"),
        "{r:#}"
    );
    // Not even the first line was typed, and the session goes on.
    let r = eval(c, &id, "echo after").await;
    assert_eq!(r["output"], "after", "{r:#}");
    let (screen, _) = call(
        c,
        "get_clean_text",
        json!({"sessionId": id, "fullText": true}),
    )
    .await;
    let text = screen["text"].as_str().unwrap_or_default();
    assert!(
        !text.contains("first") && !text.contains("LONGLINE"),
        "{text}"
    );
    // At the limit it is typed.
    let at = format!("echo {}", "y".repeat(4090));
    assert_eq!(at.len(), 4095);
    let r = eval(c, &id, &at).await;
    assert_eq!(r["output"].as_str().map(str::len), Some(4090), "{r:#}");
}

#[tokio::test]
async fn ghci_output_is_exactly_the_result() {
    if !have("ghci") {
        eprintln!("ghci not installed; skipped");
        return;
    }
    let s = start().await;
    let c = &s.client;
    let id = create(c, "ghci").await;
    let r = eval(c, &id, "6*7").await;
    assert_ready_with(&r, "42");
    // A definition prints nothing: its echo ends with ESC E (next line) and
    // the prompt follows on the next row, so it is recognised at once.
    let r = eval(c, &id, "double x = x * 2").await;
    assert_ready_with(&r, "");
    assert!(
        r["executionTime"].as_u64().unwrap_or(u64::MAX) < 15_000,
        "{r:#}"
    );
    assert_eq!(eval(c, &id, "double 21").await["output"], "42");
}

#[tokio::test]
async fn irb_and_pry_keep_non_ascii_text() {
    let s = start().await;
    let mut ran = 0;
    for preset in ["irb", "pry"] {
        let Some(id) = create_if_installed(&s.client, preset, preset).await else {
            continue;
        };
        let r = eval(&s.client, &id, "puts 'héllo ✓'").await;
        assert_eq!(r["output"], "héllo ✓\n=> nil", "{preset}: {r:#}");
        // A block with a blank line in it, too.
        let r = eval(
            &s.client,
            &id,
            "def twice(s)\n\n  s * 2\nend\ntwice('日本')",
        )
        .await;
        assert!(
            r["output"]
                .as_str()
                .unwrap_or_default()
                .ends_with("=> \"日本日本\""),
            "{preset}: {r:#}"
        );
        ran += 1;
    }
    assert!(ran > 0 || !have("ruby"), "CI installs ruby and pry");
}

#[tokio::test]
async fn a_tab_in_a_bash_heredoc_stays_a_tab() {
    let s = start().await;
    let id = create(&s.client, "bash").await;
    let r = eval(
        &s.client,
        &id,
        "cat <<'EOF' | tr '\\t' '>'\n\tindented\n\t\ttwice\nEOF",
    )
    .await;
    assert_eq!(r["output"], ">indented\n>>twice", "{r:#}");
    assert_eq!(r["exitCode"], 0);
}

/// How to print a string in each preset, and what else its REPL prints.
fn print_command(preset: &str, text: &str) -> Option<(String, &'static str)> {
    let t = text;
    Some(match preset {
        "python" | "ipython" => (format!("print('{t}')"), ""),
        "node" => (format!("console.log('{t}')"), "\nundefined"),
        "irb" | "pry" => (format!("puts '{t}'"), "\n=> nil"),
        "bash" | "zsh" | "sh" => (format!("echo '{t}'"), ""),
        "sqlite3" => (format!("select '{t}';"), ""),
        "perl" => (format!("print \"{t}\\n\""), ""),
        "tclsh" => (format!("puts \"{t}\""), ""),
        "gdb" => (format!("echo {t}\\n"), ""),
        "lua" => (format!("print(\"{t}\")"), ""),
        "ghci" => (format!("putStrLn \"{t}\""), ""),
        "R" => (format!("cat(\"{t}\\n\")"), ""),
        "iex" => (format!("IO.puts(\"{t}\")"), "\n:ok"),
        "erl" => (format!("io:format(\"~ts~n\", [\"{t}\"])."), "\nok"),
        "ocaml" | "utop" => (format!("print_endline \"{t}\";;"), "\n- : unit = ()"),
        "julia" => (format!("println(\"{t}\")"), ""),
        "clojure" => (format!("(println \"{t}\")"), "\nnil"),
        _ => return None,
    })
}

/// The server without any locale in its environment (a client that starts
/// it with a bare environment): sessions still get UTF-8.
async fn start_without_locale() -> Client {
    let cfg = scratch("cfg");
    let transport = TokioChildProcess::new(tokio::process::Command::new(bin()).configure(|cmd| {
        cmd.arg("serve").arg("--no-web-ui");
        cmd.env("XDG_CONFIG_HOME", &cfg);
        cmd.env("XDG_STATE_HOME", cfg.join("state"));
        cmd.env("XDG_CACHE_HOME", cfg.join("cache"));
        cmd.env("REPL_MCP_LOG", "warn");
        for var in ["LANG", "LC_ALL", "LC_CTYPE", "LANGUAGE"] {
            cmd.env_remove(var);
        }
    }))
    .expect("spawn repl-mcp");
    ClientInfo::new(
        ClientCapabilities::default(),
        Implementation::new("repl-mcp-tests", "0"),
    )
    .serve(transport)
    .await
    .expect("MCP initialize")
}

#[tokio::test]
async fn non_ascii_round_trips_in_every_installed_preset() {
    let c = start_without_locale().await;
    let (list, _) = call(&c, "list_repl_configurations", json!({})).await;
    let text = "héllo ✓ 日本語 😀";
    // These need a server (or a Rails app) to talk to.
    let need_a_server = [
        "psql",
        "mysql",
        "redis-cli",
        "rails_console",
        "rails_console_production",
    ];
    let mut ran = Vec::new();
    for preset in list["configurations"].as_array().expect("configurations") {
        let name = preset["name"].as_str().unwrap_or_default();
        if preset["available"] != true || need_a_server.contains(&name) {
            continue;
        }
        let (input, extra) =
            print_command(name, text).unwrap_or_else(|| panic!("add a print command for `{name}`"));
        let (r, _) = call(&c, "create_session", json!({ "presetConfig": name })).await;
        assert_eq!(r["success"], true, "{name}: {r:#}");
        let id = r["sessionId"].as_str().expect("sessionId");
        let r = eval(&c, id, &input).await;
        assert_eq!(
            r["output"].as_str(),
            Some(format!("{text}{extra}").as_str()),
            "{name}: {r:#}"
        );
        call(&c, "destroy_repl_session", json!({ "sessionId": id })).await;
        ran.push(name.to_string());
    }
    assert!(ran.len() >= 6, "only {ran:?}");
}
