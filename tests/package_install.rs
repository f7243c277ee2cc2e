//! `repl-mcp preset …`: install from a folder, a tarball and a git repo;
//! refusals; atomicity; list / remove / validate / new.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};

/// A scratch world: `$XDG_CONFIG_HOME` and `$HOME` inside a temp dir.
struct World {
    tmp: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(tmp.path().join("home")).expect("home");
        std::fs::create_dir_all(tmp.path().join("work")).expect("work");
        Self { tmp }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn presets_dir(&self) -> PathBuf {
        self.path("config/repl-mcp/presets")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_repl-mcp"))
            .args(args)
            .current_dir(self.path("work"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("HOME", self.path("home"))
            .env_remove(FAIL_ENV)
            .stdin(Stdio::null())
            .output()
            .expect("run repl-mcp")
    }

    fn run_env(&self, args: &[&str], key: &str, value: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_repl-mcp"))
            .args(args)
            .current_dir(self.path("work"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("HOME", self.path("home"))
            .env(key, value)
            .stdin(Stdio::null())
            .output()
            .expect("run repl-mcp")
    }
}

const FAIL_ENV: &str = "REPL_MCP_TEST_FAIL_INSTALL_AFTER_STAGE";

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_code(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
}

const PRESET: &str = r#"
name = "oddrepl"
display_name = "Odd REPL"
command = ["python3", "-q"]
env = { ODD = "1" }
cwd = "/tmp"

[prompt]
ready = ['^>>> $']

[strategy]
plugin = "odd-prompt"
"#;

/// A real component (a built-in plugin's), installed under another id.
const WASM: &[u8] = include_bytes!("../plugins/dist/psql-recovery/psql-recovery.wasm");

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn manifest(hash: &str, extra_caps: &str) -> String {
    format!(
        r#"id = "odd-prompt"
version = "0.1.0"
api = "0.2"
wasm = "odd_prompt.wasm"
sha256 = "{hash}"
hooks = ["detect-prompt", "on-timeout"]

[limits]
memory_mib = 16
deadline_ms = 50

[capabilities]
signals = ["SIGINT"]
inputs = ["q"]
may_set_ready = true
{extra_caps}
"#
    )
}

/// A package with one preset and one plugin at `dir`.
fn write_package(dir: &Path, preset: &str, manifest: &str) {
    let plugin = dir.join("plugins/odd-prompt");
    std::fs::create_dir_all(&plugin).unwrap();
    std::fs::write(dir.join("preset.toml"), preset).unwrap();
    std::fs::write(dir.join("README.md"), "odd\n").unwrap();
    std::fs::write(plugin.join("plugin.toml"), manifest).unwrap();
    std::fs::write(plugin.join("odd_prompt.wasm"), WASM).unwrap();
}

fn good_package(dir: &Path) {
    write_package(dir, PRESET, &manifest(&sha(WASM), ""));
}

fn assert_installed(w: &World, name: &str) {
    let dir = w.presets_dir().join(name);
    assert!(dir.join("preset.toml").is_file(), "{}", dir.display());
    assert!(dir.join("plugins/odd-prompt/plugin.toml").is_file());
    assert!(dir.join("plugins/odd-prompt/odd_prompt.wasm").is_file());
    let list = w.run(&["preset", "list", "--json"]);
    assert_code(&list, 0);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let odd = v["presets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "oddrepl")
        .unwrap_or_else(|| panic!("oddrepl not listed: {v}"));
    assert_eq!(odd["source"], "user");
    assert_eq!(odd["package"], name);
    assert_eq!(odd["active"], true);
}

#[test]
fn install_from_a_folder_shows_what_it_runs() {
    let w = World::new();
    let pkg = w.path("work/odd-pkg");
    good_package(&pkg);
    let o = w.run(&["preset", "install", pkg.to_str().unwrap(), "--yes"]);
    assert_code(&o, 0);
    let out = String::from_utf8_lossy(&o.stdout);
    for want in [
        "python3 -q",
        "ODD=1",
        "/tmp",
        "odd-prompt",
        "send signals: SIGINT",
        "type inputs: \"q\"",
        "declare the REPL ready",
    ] {
        assert!(out.contains(want), "summary lacks {want:?}\n{}", text(&o));
    }
    assert_installed(&w, "odd-pkg");
    // Only the package's own files are copied.
    assert!(w.presets_dir().join("odd-pkg/README.md").is_file());
}

#[test]
fn install_without_a_terminal_or_yes_is_refused() {
    let w = World::new();
    let pkg = w.path("work/odd-pkg");
    good_package(&pkg);
    let o = w.run(&["preset", "install", pkg.to_str().unwrap()]);
    assert_code(&o, 1);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--yes"),
        "{}",
        text(&o)
    );
    assert!(!w.presets_dir().join("odd-pkg").exists());
}

#[test]
fn install_from_a_tarball() {
    let w = World::new();
    let pkg = w.path("src/tarred");
    good_package(&pkg);
    let tarball = w.path("work/tarred-1.0.tar.gz");
    let file = std::fs::File::create(&tarball).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    builder.append_dir_all("tarred", &pkg).unwrap();
    builder.into_inner().unwrap().finish().unwrap();

    let o = w.run(&["preset", "install", tarball.to_str().unwrap(), "--yes"]);
    assert_code(&o, 0);
    assert_installed(&w, "tarred");
}

#[test]
fn tarball_with_path_traversal_is_refused() {
    let w = World::new();
    let tarball = w.path("work/evil.tar.gz");
    let file = std::fs::File::create(&tarball).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    let data = PRESET.as_bytes();
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "preset.toml", data)
        .unwrap();
    // A symlink that points out of the package.
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    builder
        .append_link(&mut link, "escape", "../../../etc")
        .unwrap();
    builder.into_inner().unwrap().finish().unwrap();

    let o = w.run(&["preset", "install", tarball.to_str().unwrap(), "--yes"]);
    assert_code(&o, 1);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("outside"),
        "{}",
        text(&o)
    );
    assert!(!w.presets_dir().join("evil").exists());
}

#[test]
fn install_from_a_local_git_repo() {
    let w = World::new();
    let repo = w.path("src/odd-presets.git");
    good_package(&repo);
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .env("HOME", w.path("home"))
            .output()
            .expect("git");
        assert!(o.status.success(), "git {args:?}: {}", text(&o));
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "presets"]);
    let url = format!("file://{}", repo.display());
    let o = w.run(&["preset", "install", &url, "--yes"]);
    assert_code(&o, 0);
    assert_installed(&w, "odd-presets");
    assert!(!w.presets_dir().join("odd-presets/.git").exists());
}

#[test]
fn bad_hash_is_refused() {
    let w = World::new();
    let pkg = w.path("work/badhash");
    write_package(&pkg, PRESET, &manifest(&"0".repeat(64), ""));
    let o = w.run(&["preset", "install", pkg.to_str().unwrap(), "--yes"]);
    assert_code(&o, 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("sha256"), "{}", text(&o));
    assert!(err.contains(&sha(WASM)), "{}", text(&o));
    assert!(!w.presets_dir().join("badhash").exists());
}

#[test]
fn bad_manifest_is_refused_with_its_line() {
    let w = World::new();
    let pkg = w.path("work/badmanifest");
    let bad = manifest(&sha(WASM), "").replace("version = \"0.1.0\"", "version = 1");
    write_package(&pkg, PRESET, &bad);
    let o = w.run(&["preset", "validate", pkg.to_str().unwrap()]);
    assert_code(&o, 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("plugin.toml:2:"), "{}", text(&o));
    let o = w.run(&["preset", "install", pkg.to_str().unwrap(), "--yes"]);
    assert_code(&o, 1);
    assert!(!w.presets_dir().join("badmanifest").exists());
}

#[test]
fn unknown_capabilities_are_refused() {
    let w = World::new();
    let pkg = w.path("work/greedy");
    write_package(&pkg, PRESET, &manifest(&sha(WASM), "may_read_files = true"));
    let o = w.run(&["preset", "install", pkg.to_str().unwrap(), "--yes"]);
    assert_code(&o, 1);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("may_read_files"),
        "{}",
        text(&o)
    );

    let pkg2 = w.path("work/greedy2");
    let caps = manifest(&sha(WASM), "").replace("[\"SIGINT\"]", "[\"SIGSEGV\"]");
    write_package(&pkg2, PRESET, &caps);
    let o = w.run(&["preset", "install", pkg2.to_str().unwrap(), "--yes"]);
    assert_code(&o, 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("SIGSEGV") && err.contains("plugin.toml"),
        "{}",
        text(&o)
    );
    assert!(!w.presets_dir().exists() || !w.presets_dir().join("greedy2").exists());
}

#[test]
fn core_module_instead_of_component_is_refused() {
    let w = World::new();
    let pkg = w.path("work/core");
    let core: &[u8] = b"\0asm\x01\x00\x00\x00";
    write_package(&pkg, PRESET, &manifest(&sha(core), ""));
    std::fs::write(pkg.join("plugins/odd-prompt/odd_prompt.wasm"), core).unwrap();
    let o = w.run(&["preset", "validate", pkg.to_str().unwrap()]);
    assert_code(&o, 1);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("component"),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_preset_error_names_file_line_and_key() {
    let w = World::new();
    let pkg = w.path("work/badpreset");
    let bad = PRESET.replace("cwd = \"/tmp\"", "cwd = \"/tmp\"\ncolour = \"red\"");
    write_package(&pkg, &bad, &manifest(&sha(WASM), ""));
    let o = w.run(&["preset", "install", pkg.to_str().unwrap(), "--yes"]);
    assert_code(&o, 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("preset.toml:7:"), "{}", text(&o));
    assert!(err.contains("colour"), "{}", text(&o));
}

#[test]
fn strategy_must_name_a_builtin_or_packaged_plugin() {
    let w = World::new();
    let pkg = w.path("work/dangling");
    let bad = PRESET.replace("plugin = \"odd-prompt\"", "plugin = \"elsewhere\"");
    write_package(&pkg, &bad, &manifest(&sha(WASM), ""));
    let o = w.run(&["preset", "validate", pkg.to_str().unwrap()]);
    assert_code(&o, 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("strategy.plugin") && err.contains("elsewhere"),
        "{}",
        text(&o)
    );
}

#[test]
fn failure_midway_leaves_the_previous_version_intact() {
    let w = World::new();
    let pkg = w.path("work/atomic");
    good_package(&pkg);
    let o = w.run(&["preset", "install", pkg.to_str().unwrap(), "--yes"]);
    assert_code(&o, 0);
    let installed = w.presets_dir().join("atomic/preset.toml");
    let before = std::fs::read_to_string(&installed).unwrap();

    // Version 2 fails after staging.
    std::fs::write(
        pkg.join("preset.toml"),
        PRESET.replace("Odd REPL", "Odd REPL v2"),
    )
    .unwrap();
    let o = w.run_env(
        &["preset", "install", pkg.to_str().unwrap(), "--yes"],
        FAIL_ENV,
        "1",
    );
    assert_code(&o, 2);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("simulated"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&installed).unwrap(), before);
    // Nothing half-installed: only the package and the (empty) staging area.
    let mut entries: Vec<String> = std::fs::read_dir(w.presets_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, vec![".staging", "atomic"]);
    assert_eq!(
        std::fs::read_dir(w.presets_dir().join(".staging"))
            .unwrap()
            .count(),
        0
    );

    // Without the failure, version 2 replaces version 1.
    let o = w.run(&["preset", "install", pkg.to_str().unwrap(), "--yes"]);
    assert_code(&o, 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains("replacing"));
    assert!(std::fs::read_to_string(&installed).unwrap().contains("v2"));
    assert_eq!(
        std::fs::read_dir(w.presets_dir().join(".staging"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn unwritable_destination_fails_cleanly() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new();
    let pkg = w.path("work/ro");
    good_package(&pkg);
    std::fs::create_dir_all(w.presets_dir()).unwrap();
    std::fs::set_permissions(w.presets_dir(), std::fs::Permissions::from_mode(0o555)).unwrap();
    // root ignores permissions; only check when they apply.
    let probe = w.presets_dir().join("probe");
    let enforced = std::fs::create_dir(&probe).is_err();
    let o = w.run(&["preset", "install", pkg.to_str().unwrap(), "--yes"]);
    std::fs::set_permissions(w.presets_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    if enforced {
        assert_code(&o, 2);
        assert!(!w.presets_dir().join("ro").exists());
    }
}

#[test]
fn list_shows_sources_and_the_winner() {
    let w = World::new();
    let user = w.presets_dir();
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(
        user.join("python.toml"),
        "name = \"python\"\ncommand = [\"python3\"]\n[prompt]\nready = ['^> $']\n",
    )
    .unwrap();
    std::fs::write(user.join("broken.toml"), "name = \"broken\"\ncommand = 3\n").unwrap();
    let o = w.run(&["preset", "list", "--json"]);
    assert_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pythons: Vec<&serde_json::Value> = v["presets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "python")
        .collect();
    assert_eq!(pythons.len(), 2, "{v}");
    let builtin = pythons.iter().find(|p| p["source"] == "builtin").unwrap();
    let user_def = pythons.iter().find(|p| p["source"] == "user").unwrap();
    assert_eq!(builtin["active"], false);
    assert_eq!(user_def["active"], true);
    assert!(
        builtin["shadowed_by"]
            .as_str()
            .unwrap()
            .ends_with("python.toml")
    );
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.as_str().unwrap().contains("broken.toml:2:")),
        "{v}"
    );

    let o = w.run(&["preset", "list"]);
    assert_code(&o, 0);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("shadowed") && out.contains("Not loaded"),
        "{out}"
    );
}

#[test]
fn remove_by_package_or_preset_name_never_builtin() {
    let w = World::new();
    let pkg = w.path("work/removable");
    good_package(&pkg);
    assert_code(
        &w.run(&["preset", "install", pkg.to_str().unwrap(), "--yes"]),
        0,
    );
    // By preset name: the package that holds it goes.
    let o = w.run(&["preset", "remove", "oddrepl"]);
    assert_code(&o, 0);
    assert!(!w.presets_dir().join("removable").exists());
    // By package name.
    assert_code(
        &w.run(&["preset", "install", pkg.to_str().unwrap(), "--yes"]),
        0,
    );
    assert_code(&w.run(&["preset", "remove", "removable"]), 0);
    assert!(!w.presets_dir().join("removable").exists());
    // Built-ins stay.
    let o = w.run(&["preset", "remove", "python"]);
    assert_code(&o, 1);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("built-in"),
        "{}",
        text(&o)
    );
    let o = w.run(&["preset", "remove", "nosuchthing"]);
    assert_code(&o, 1);
}

#[test]
fn new_validate_install_round_trip() {
    let w = World::new();
    assert_code(&w.run(&["preset", "new", "starter"]), 0);
    let dir = w.path("work/starter");
    assert!(dir.join("preset.toml").is_file());
    assert_code(&w.run(&["preset", "validate", "starter"]), 0);
    assert_code(&w.run(&["preset", "install", "starter", "--yes"]), 0);
    let list = w.run(&["preset", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(
        v["presets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "starter" && p["package"] == "starter"),
        "{v}"
    );
    // Refuses to overwrite.
    assert_code(&w.run(&["preset", "new", "starter"]), 1);
    assert_code(&w.run(&["preset", "new", "../evil"]), 1);
}

#[test]
fn validate_the_repo_presets_folder() {
    let w = World::new();
    let repo_presets = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
    let o = w.run(&["preset", "validate", repo_presets.to_str().unwrap()]);
    assert_code(&o, 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains("python.toml"));
}

#[test]
fn validate_lists_every_error() {
    let w = World::new();
    let dir = w.path("work/loose");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.toml"),
        "name = \"a\"\ncommand = [\"x\"]\n[prompt]\nready = ['(']\n",
    )
    .unwrap();
    std::fs::write(dir.join("b.toml"), "name = \"b\"\n").unwrap();
    std::fs::write(
        dir.join("c.toml"),
        "name = \"c\"\ncommand = [\"x\"]\n[prompt]\nready = ['>']\n",
    )
    .unwrap();
    let o = w.run(&["preset", "validate", dir.to_str().unwrap()]);
    assert_code(&o, 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("a.toml") && err.contains("prompt.ready[0]"),
        "{}",
        text(&o)
    );
    assert!(
        err.contains("b.toml") && err.contains("command"),
        "{}",
        text(&o)
    );
    assert!(!err.contains("c.toml"), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("c.toml"));
}
