//! Writing a plugin with nothing but the server binary: `plugin new` makes
//! a crate that builds on its own (its SDK and WIT come out of the binary),
//! `plugin build` turns it into a validated component and installs it, and
//! every bad input gets a clear error with nothing installed.
//!
//! These tests run cargo for wasm32-unknown-unknown (CI installs the
//! target); the guest builds share one target dir under the test target,
//! so only the first run compiles the SDK's dependencies.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    root: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            root: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn config(&self) -> PathBuf {
        self.root.path().join("config")
    }

    /// `repl-mcp ARGS` in the scratch folder, with its own config and cache.
    fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_repl-mcp"));
        cmd.args(args)
            .current_dir(self.root.path())
            .env("REPL_MCP_LOG", "error")
            .env("XDG_CONFIG_HOME", self.config())
            .env("XDG_CACHE_HOME", self.root.path().join("cache"))
            .env_remove("CARGO_TARGET_DIR");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.output().expect("run repl-mcp")
    }

    fn new_plugin(&self, name: &str) -> PathBuf {
        let out = self.run(&["plugin", "new", name], &[]);
        assert!(out.status.success(), "{}", text(&out));
        self.root.path().join(name)
    }

    fn build(&self, dir: &Path, extra: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let target = guest_target_dir();
        let mut args = vec![
            "plugin",
            "build",
            dir.to_str().expect("utf-8 path"),
            "--target-dir",
            target.to_str().expect("utf-8 path"),
        ];
        args.extend_from_slice(extra);
        self.run(&args, extra_env)
    }
}

fn guest_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-guests")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn installed(env: &Env, id: &str) -> bool {
    env.config().join("repl-mcp/plugins").join(id).exists()
}

#[test]
fn new_then_build_gives_an_installed_validated_plugin() {
    let env = Env::new();
    let dir = env.new_plugin("tiny-repl");
    for f in [
        "Cargo.toml",
        "src/lib.rs",
        "plugin.toml",
        "README.md",
        "tests/hooks.rs",
        "sdk/src/lib.rs",
        "wit/0.2/plugin.wit",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }

    // The sample test passes natively, with no checkout of this repository.
    let test = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "--quiet", "--target-dir"])
        .arg(guest_target_dir().join("native"))
        .current_dir(&dir)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo test");
    assert!(test.status.success(), "{}", text(&test));

    let out = env.build(&dir, &["--install"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("validated: plugin `tiny-repl`") && stdout.contains("API 0.2"),
        "{stdout}"
    );
    let built = dir.join("dist/tiny-repl");
    let manifest = std::fs::read_to_string(built.join("plugin.toml")).expect("stamped manifest");
    assert!(manifest.contains("sha256 = \""), "{manifest}");
    assert!(installed(&env, "tiny-repl"));

    // The server sees it, and `validate` agrees.
    let list = env.run(&["plugin", "list"], &[]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("tiny-repl\tAPI 0.2"),
        "{}",
        text(&list)
    );
    let ok = env.run(&["plugin", "validate", built.to_str().expect("utf-8")], &[]);
    assert!(ok.status.success(), "{}", text(&ok));

    // A tampered component: the digest no longer matches.
    let wasm = built.join("tiny-repl.wasm");
    let mut bytes = std::fs::read(&wasm).expect("wasm");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&wasm, bytes).expect("write");
    let bad = env.run(&["plugin", "validate", built.to_str().expect("utf-8")], &[]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("sha256"),
        "{}",
        text(&bad)
    );
}

#[test]
fn a_crate_that_does_not_compile_shows_the_compiler_and_installs_nothing() {
    let env = Env::new();
    let dir = env.new_plugin("broken");
    let lib = dir.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).expect("lib.rs");
    std::fs::write(
        &lib,
        source.replace(
            "prompt: self.prompt.clone(),",
            "prompt: self.prompt.clone() + 1,",
        ),
    )
    .expect("write");
    let out = env.build(&dir, &["--install"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not compile for wasm32-unknown-unknown"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error[E"),
        "the compiler's own message: {stderr}"
    );
    assert!(stderr.contains("src/lib.rs"), "{stderr}");
    assert!(stderr.contains("nothing was installed"), "{stderr}");
    assert!(!dir.join("dist").exists());
    assert!(!installed(&env, "broken"));
}

#[test]
fn a_module_importing_another_interface_is_refused() {
    let env = Env::new();
    let dir = env.new_plugin("sneaky");
    let lib = dir.join("src/lib.rs");
    let mut source = std::fs::read_to_string(&lib).expect("lib.rs");
    // A way out of the sandbox the host does not offer.
    source = source.replace(
        "        let prompt = settings",
        "        unsafe { fd_write(1, 0, 0, 0) };\n        let prompt = settings",
    );
    source.push_str(
        "\n#[link(wasm_import_module = \"wasi_snapshot_preview1\")]\nunsafe extern \"C\" {\n    fn fd_write(fd: i32, iovs: i32, len: i32, written: i32) -> i32;\n}\n",
    );
    std::fs::write(&lib, source).expect("write");
    let out = env.build(&dir, &["--install"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wasi_snapshot_preview1"), "{stderr}");
    assert!(!installed(&env, "sneaky"));
    assert!(!dir.join("dist/sneaky/sneaky.wasm").exists());
}

#[test]
fn a_missing_wasm_target_gets_the_rustup_command() {
    let env = Env::new();
    let dir = env.new_plugin("no-target");
    // A toolchain whose sysroot has no wasm32 standard library.
    let sysroot = env.root.path().join("sysroot");
    std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu")).expect("mkdir");
    let rustc = env.root.path().join("fake-rustc");
    std::fs::write(&rustc, format!("#!/bin/sh\necho {}\n", sysroot.display())).expect("write");
    std::fs::set_permissions(&rustc, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let out = env.build(&dir, &[], &[("RUSTC", rustc.to_str().expect("utf-8"))]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rustup target add wasm32-unknown-unknown"),
        "{stderr}"
    );
}

#[test]
fn bad_names_and_bad_manifests_are_refused_before_compiling() {
    let env = Env::new();
    let out = env.run(&["plugin", "new", "Bad Name"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a usable plugin name"));
    let dir = env.new_plugin("limits");
    let again = env.run(&["plugin", "new", "limits"], &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let manifest = dir.join("plugin.toml");
    let text_before = std::fs::read_to_string(&manifest).expect("plugin.toml");
    std::fs::write(
        &manifest,
        text_before.replace("memory_mib = 8", "memory_mib = 4096"),
    )
    .expect("write");
    let out = env.build(&dir, &[], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("plugin.toml:") && stderr.contains("`limits.memory_mib`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("compiling"),
        "refused before compiling: {stderr}"
    );

    let not_a_crate = env.run(
        &["plugin", "build", env.root.path().to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(not_a_crate.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&not_a_crate.stderr).contains("no Cargo.toml"));
}
