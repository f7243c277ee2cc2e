//! `repl-mcp config <client>`: snippets, and `--write` merging into existing
//! config files without losing entries, with a backup.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin_abs() -> String {
    Path::new(env!("CARGO_BIN_EXE_repl-mcp"))
        .canonicalize()
        .unwrap()
        .display()
        .to_string()
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_repl-mcp"))
        .arg("config")
        .args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env("XDG_CONFIG_HOME", dir.join("home/.config"))
        .env_remove("CODEX_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("run repl-mcp")
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn snippets_name_the_absolute_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = bin_abs();
    let out = ok(&run(tmp.path(), &["claude-code"]));
    assert_eq!(out.trim(), format!("claude mcp add repl-mcp -- {exe}"));

    for (client, key) in [
        ("claude-desktop", "mcpServers"),
        ("cursor", "mcpServers"),
        ("windsurf", "mcpServers"),
        ("generic", "mcpServers"),
        ("vscode", "servers"),
        ("zed", "context_servers"),
    ] {
        let out = ok(&run(tmp.path(), &[client, "--name", "my-repls"]));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[key]["my-repls"]["command"], exe, "{client}: {out}");
        assert_eq!(
            v[key]["my-repls"]["args"],
            serde_json::json!([]),
            "{client}"
        );
        if client == "vscode" {
            assert_eq!(v[key]["my-repls"]["type"], "stdio");
        }
    }
    let out = ok(&run(tmp.path(), &["codex"]));
    let t: toml::Table = toml::from_str(&out).unwrap();
    assert_eq!(
        t["mcp_servers"]["repl-mcp"]["command"].as_str(),
        Some(exe.as_str())
    );
}

fn backups(dir: &Path, stem: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{stem}.bak"))
        })
        .collect()
}

#[test]
fn write_merges_json_keeping_entries_and_order() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("claude_desktop_config.json");
    let original = r#"{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "filesystem": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"] }
  },
  "zzz": { "keep": [1, 2, 3] }
}
"#;
    std::fs::write(&file, original).unwrap();
    let out = ok(&run(
        tmp.path(),
        &[
            "claude-desktop",
            "--write",
            "--path",
            file.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("Backup"), "{out}");
    let text = std::fs::read_to_string(&file).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["globalShortcut"], "Ctrl+Space");
    assert_eq!(v["zzz"]["keep"], serde_json::json!([1, 2, 3]));
    assert_eq!(v["mcpServers"]["filesystem"]["command"], "npx");
    assert_eq!(v["mcpServers"]["repl-mcp"]["command"], bin_abs());
    // Key order kept: top level, and the new server after the old one.
    let pos = |s: &str| text.find(s).unwrap();
    assert!(pos("globalShortcut") < pos("mcpServers") && pos("mcpServers") < pos("zzz"));
    assert!(pos("filesystem") < pos("\"repl-mcp\""));
    // The backup is the original, byte for byte.
    let baks = backups(tmp.path(), "claude_desktop_config.json");
    assert_eq!(baks.len(), 1);
    assert_eq!(std::fs::read_to_string(&baks[0]).unwrap(), original);

    // A second run changes nothing.
    let out = ok(&run(
        tmp.path(),
        &[
            "claude-desktop",
            "--write",
            "--path",
            file.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("nothing to do"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

#[test]
fn write_creates_missing_files_and_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    // vscode: .vscode/mcp.json of the current directory.
    ok(&run(tmp.path(), &["vscode", "--write"]));
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join(".vscode/mcp.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(v["servers"]["repl-mcp"]["type"], "stdio");
    // cursor: ~/.cursor/mcp.json
    ok(&run(tmp.path(), &["cursor", "--write", "--name", "repls"]));
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("home/.cursor/mcp.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(v["mcpServers"]["repls"]["command"], bin_abs());
}

#[test]
fn json_with_comments_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("settings.json");
    let original = "// Zed settings\n{\n  \"theme\": \"One Dark\", // mine\n}\n";
    std::fs::write(&file, original).unwrap();
    let o = run(
        tmp.path(),
        &["zed", "--write", "--path", file.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not strict JSON"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    assert!(backups(tmp.path(), "settings.json").is_empty());
}

#[test]
fn write_merges_codex_toml_keeping_comments() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("config.toml");
    let original = "# my codex config\nmodel = \"o3\"\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\nargs = [\"--stdio\"]\n\n[profiles.fast]\nmodel = \"mini\" # quick\n";
    std::fs::write(&file, original).unwrap();
    ok(&run(
        tmp.path(),
        &["codex", "--write", "--path", file.to_str().unwrap()],
    ));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("# my codex config\nmodel = \"o3\""),
        "{text}"
    );
    assert!(text.contains("model = \"mini\" # quick"), "{text}");
    let t: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(
        t["mcp_servers"]["docs"]["command"].as_str(),
        Some("docs-mcp")
    );
    assert_eq!(
        t["mcp_servers"]["repl-mcp"]["command"].as_str(),
        Some(bin_abs().as_str())
    );
    assert_eq!(t["profiles"]["fast"]["model"].as_str(), Some("mini"));
    let baks = backups(tmp.path(), "config.toml");
    assert_eq!(baks.len(), 1);
    assert_eq!(std::fs::read_to_string(&baks[0]).unwrap(), original);
}

#[test]
fn generic_write_needs_a_path() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(tmp.path(), &["generic", "--write"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--path"));
}

#[test]
fn persist_goes_into_every_clients_config() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = bin_abs();
    let out = ok(&run(tmp.path(), &["claude-code", "--persist"]));
    assert_eq!(
        out.trim(),
        format!("claude mcp add repl-mcp -- {exe} --persist")
    );
    let out = ok(&run(tmp.path(), &["cursor", "--persist"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["mcpServers"]["repl-mcp"]["args"],
        serde_json::json!(["--persist"])
    );
    // Codex: an existing entry keeps its own arguments and gains --persist.
    let file = tmp.path().join("config.toml");
    std::fs::write(
        &file,
        "[mcp_servers.repl-mcp]\ncommand = \"old\"\nargs = [\"--no-web-ui\"]\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    ok(&run(
        tmp.path(),
        &["codex", "--persist", "--write", "--path", path],
    ));
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let args = t["mcp_servers"]["repl-mcp"]["args"].as_array().unwrap();
    let args: Vec<&str> = args.iter().filter_map(|a| a.as_str()).collect();
    assert_eq!(args, ["--no-web-ui", "--persist"]);
    let again = ok(&run(
        tmp.path(),
        &["codex", "--persist", "--write", "--path", path],
    ));
    assert!(again.contains("nothing to do"), "{again}");
}
