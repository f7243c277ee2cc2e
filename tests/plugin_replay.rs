//! `repl-mcp plugin test`: a recorded session replayed through a plugin,
//! its decisions printed with their times and checked against an
//! expectations file; bad casts and bad plugins get clear errors.

use std::path::Path;
use std::process::{Command, Output};

fn repl_mcp(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_repl-mcp"))
        .args(args)
        .current_dir(dir)
        .env("REPL_MCP_LOG", "error")
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .output()
        .expect("run repl-mcp")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_synthetic_session_replays_and_meets_its_expectations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cast = dir.path().join("s.cast");
    repl_mcp::cast::bench::write_synthetic(&cast, 200).expect("cast");
    let expect = dir.path().join("e.toml");
    std::fs::write(
        &expect,
        "[[expect]]\nafter_input = 1\nstate = \"ready\"\n\n[[expect]]\nafter_input = 20\nstate = \"ready\"\n\n[[expect]]\nat = 0.0\nhook = \"on-exit\"\ndecision = \"none\"\n",
    )
    .expect("write");
    let args = [
        "plugin",
        "test",
        "builtin:prompt-regex",
        "--cast",
        "s.cast",
        "--preset",
        "python",
        "--expect",
        "e.toml",
    ];
    let out = repl_mcp(dir.path(), &args);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("detect-prompt → ready \">>> \""),
        "{stdout}"
    );
    assert!(stdout.contains("3 of 3 expectations met"), "{stdout}");

    std::fs::write(
        &expect,
        "[[expect]]\nafter_input = 1\nstate = \"continuation\"\n",
    )
    .expect("write");
    let out = repl_mcp(dir.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "MISMATCH e.toml:1: after input 1: expected state `continuation`, got `ready`"
        ),
        "{stdout}"
    );
}

#[test]
fn bad_casts_name_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let header = "{\"version\": 2, \"width\": 80, \"height\": 24}\n";
    for (body, needle) in [
        (
            "{\"version\": 1, \"stdout\": []}\n".to_string(),
            "bad.cast:1: asciicast version 1",
        ),
        (
            format!("{header}[0.1, \"o\", \">>> \"]\n[0.2, \"o\", \"cut"),
            "bad.cast:3: truncated",
        ),
        (
            format!("{header}[0.1, \"o\"]\n"),
            "bad.cast:2: not an event",
        ),
        (
            "PNG\u{1}\n".to_string(),
            "bad.cast:1: not an asciicast v2 header",
        ),
    ] {
        std::fs::write(dir.path().join("bad.cast"), body).expect("write");
        let out = repl_mcp(
            dir.path(),
            &[
                "plugin",
                "test",
                "builtin:prompt-regex",
                "--cast",
                "bad.cast",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{needle}: {}",
            text(&out)
        );
    }
    std::fs::write(
        dir.path().join("bad.cast"),
        format!("{header}[0.1, \"o\", \">>> \"]\n"),
    )
    .expect("write");
    let out = repl_mcp(
        dir.path(),
        &["plugin", "test", "builtin:nope", "--cast", "bad.cast"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no built-in plugin `nope`"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_plugin_folder_whose_digest_does_not_match_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("psql-recovery");
    std::fs::create_dir_all(&copy).expect("mkdir");
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/dist/psql-recovery");
    let manifest = std::fs::read_to_string(dist.join("plugin.toml")).expect("manifest");
    std::fs::write(
        copy.join("plugin.toml"),
        manifest.replace("sha256 = \"", "sha256 = \"0"),
    )
    .expect("write");
    std::fs::copy(
        dist.join("psql-recovery.wasm"),
        copy.join("psql-recovery.wasm"),
    )
    .expect("copy");
    repl_mcp::cast::bench::write_synthetic(&dir.path().join("s.cast"), 10).expect("cast");
    let out = repl_mcp(
        dir.path(),
        &["plugin", "test", "psql-recovery", "--cast", "s.cast"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sha256") || stderr.contains("64 hex digits"),
        "{stderr}"
    );
}

/// The built-in plugins against real recorded sessions: every
/// `plugins/<id>/tests/<cast>.expect.toml` is met by replaying
/// `plugins/casts/<cast>.cast` through `builtin:<id>` (the casts were
/// recorded with `--record-dir` — python, and psql against a real
/// PostgreSQL server — and are replayed with their own preset, a 400 ms
/// timeout and exit status 3, as their expectation files say).
#[test]
fn built_in_plugins_meet_their_expectations_on_recorded_sessions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    for plugin in std::fs::read_dir(&root).expect("plugins/").flatten() {
        let Ok(tests) = std::fs::read_dir(plugin.path().join("tests")) else {
            continue;
        };
        let id = plugin.file_name().to_string_lossy().into_owned();
        for file in tests.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".expect.toml") else {
                continue;
            };
            let cast = root.join("casts").join(format!("{stem}.cast"));
            let expect = file.path();
            let out = repl_mcp(
                dir.path(),
                &[
                    "plugin",
                    "test",
                    &format!("builtin:{id}"),
                    "--cast",
                    cast.to_str().expect("utf-8 path"),
                    // No --preset: each cast names the one it ran.
                    "--timeout-ms",
                    "400",
                    "--exit-code",
                    "3",
                    "--expect",
                    expect.to_str().expect("utf-8 path"),
                ],
            );
            assert!(out.status.success(), "{id} on {stem}: {}", text(&out));
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("expectations met"),
                "{}",
                text(&out)
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} recorded-session tests found");
}
