//! Building repl-mcp plugins: compile a guest crate for
//! `wasm32-unknown-unknown`, turn the core module into a component with
//! `wit-component` (no external tool), and write the component beside its
//! manifest with the sha256 filled in.
//!
//! One path for one job: the server's `repl-mcp plugin build` and the
//! repository's `plugins/xtask` (which rebuilds the built-in plugins) both
//! call this crate.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

/// The target every plugin is compiled for.
pub const TARGET: &str = "wasm32-unknown-unknown";
/// The manifest file beside the component.
pub const MANIFEST_FILE: &str = "plugin.toml";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error(
        "the {TARGET} target is not installed for the toolchain that builds {}; run:\n    rustup target add {TARGET}",
        dir.display()
    )]
    MissingTarget { dir: PathBuf },
    #[error("cannot run {program}: {source} (is Rust installed? https://rustup.rs)")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{} does not compile for {TARGET}:\n{messages}", dir.display())]
    Compile { dir: PathBuf, messages: String },
    #[error("{} is not a plugin module: {message}", path.display())]
    Componentize { path: PathBuf, message: String },
}

/// Lower-case hex sha256 of `bytes`, as written in a manifest.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Wraps a core module built with wit-bindgen into a component. The module
/// carries its WIT world in a custom section that wit-bindgen wrote.
pub fn componentize(core: &[u8]) -> Result<Vec<u8>, String> {
    wit_component::ComponentEncoder::default()
        .module(core)
        .map_err(|e| format!("reading the core module: {e:#}"))?
        .validate(true)
        .encode()
        .map_err(|e| format!("encoding the component: {e:#}"))
}

/// The source manifest with `sha256` set: an existing line is replaced, or
/// one is added after `api`. `source` names the file for the header comment.
pub fn stamp_manifest(text: &str, sha: &str, source: &str) -> String {
    let mut out = format!("# Generated from {source}; edit that file, then rebuild.\n");
    let mut placed = false;
    for line in text.lines() {
        let key = line.split('=').next().unwrap_or("").trim();
        if key == "sha256" {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if key == "api" && !placed {
            out.push_str(&format!("sha256 = \"{sha}\"\n"));
            placed = true;
        }
    }
    if !placed {
        out = format!("sha256 = \"{sha}\"\n{out}");
    }
    out
}

fn read(path: &Path) -> Result<String, BuildError> {
    std::fs::read_to_string(path).map_err(|source| BuildError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn string_key(path: &Path, text: &str, keys: &[&str]) -> Result<String, BuildError> {
    let invalid = |message: String| BuildError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let mut value = Some(&toml::Value::Table(table));
    for key in keys {
        value = value.and_then(|v| v.get(key));
    }
    value
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| invalid(format!("no `{}`", keys.join("."))))
}

/// `package.name` of the crate in `dir`.
pub fn crate_name(dir: &Path) -> Result<String, BuildError> {
    let path = dir.join("Cargo.toml");
    string_key(&path, &read(&path)?, &["package", "name"])
}

/// Whether the toolchain that builds `dir` (rustup may pin one there) has
/// the wasm target; `None` when that cannot be told (no rustc on PATH is
/// reported by the build itself).
pub fn target_installed(dir: &Path) -> Option<bool> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Some(sysroot.join("lib/rustlib").join(TARGET).is_dir())
}

/// A `cargo build --release --target wasm32-unknown-unknown`.
#[derive(Debug, Clone)]
pub struct CargoBuild {
    /// The `Cargo.toml` of the crate or workspace.
    pub manifest: PathBuf,
    pub target_dir: PathBuf,
    /// `-p` arguments; empty builds the manifest's package.
    pub packages: Vec<String>,
    /// Use the lock file as it is (`--locked`).
    pub locked: bool,
    /// Source path prefixes rewritten in the output (`--remap-path-prefix`),
    /// so the bytes do not depend on where the sources or cargo's registry
    /// live and do not carry the author's paths.
    pub remap: Vec<(PathBuf, String)>,
}

impl CargoBuild {
    /// A build of the crate at `dir`, remapped to `/plugin` and `/cargo`.
    pub fn for_crate(dir: &Path, target_dir: &Path) -> CargoBuild {
        let mut remap = vec![(dir.to_path_buf(), "/plugin".to_string())];
        if let Some(home) = cargo_home() {
            remap.push((home, "/cargo".to_string()));
        }
        CargoBuild {
            manifest: dir.join("Cargo.toml"),
            target_dir: target_dir.to_path_buf(),
            packages: Vec::new(),
            locked: false,
            remap,
        }
    }

    /// Where cargo leaves the core module of crate `name`.
    pub fn core_module(&self, name: &str) -> PathBuf {
        self.target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", name.replace('-', "_")))
    }

    fn command(&self) -> Command {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.arg("build")
            .arg("--release")
            .args(["--target", TARGET])
            .arg("--manifest-path")
            .arg(&self.manifest)
            .arg("--target-dir")
            .arg(&self.target_dir);
        if self.locked {
            cmd.arg("--locked");
        }
        for p in &self.packages {
            cmd.args(["-p", p]);
        }
        if let Some(dir) = self.manifest.parent() {
            // rustup picks the toolchain from the crate's folder.
            cmd.current_dir(dir);
        }
        let flags: Vec<String> = self
            .remap
            .iter()
            .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
            .collect();
        cmd.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"));
        cmd.env_remove("RUSTFLAGS");
        cmd
    }

    /// Runs cargo. Its messages pass through to our stderr as they come; on
    /// failure the error carries the compiler's error messages again.
    pub fn run(&self) -> Result<(), BuildError> {
        let dir = self
            .manifest
            .parent()
            .map_or_else(PathBuf::new, Path::to_path_buf);
        if target_installed(&dir) == Some(false) {
            return Err(BuildError::MissingTarget { dir });
        }
        let mut child = self
            .command()
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| BuildError::Spawn {
                program: "cargo".into(),
                source,
            })?;
        let mut errors = Vec::new();
        let mut in_error = false;
        if let Some(stderr) = child.stderr.take() {
            let mut ours = std::io::stderr();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(ours, "{line}");
                // An error message runs from `error…` to the next blank line.
                if line.starts_with("error") {
                    in_error = true;
                }
                if in_error {
                    if line.trim().is_empty() {
                        in_error = false;
                    }
                    errors.push(line);
                }
            }
        }
        let status = child.wait().map_err(|source| BuildError::Spawn {
            program: "cargo".into(),
            source,
        })?;
        if status.success() {
            return Ok(());
        }
        let mut messages = errors.join("\n");
        if messages.trim().is_empty() {
            messages = format!("cargo exited with {status}");
        }
        // A target that vanished between the check and the build.
        if messages.contains("target may not be installed") {
            return Err(BuildError::MissingTarget { dir });
        }
        Err(BuildError::Compile { dir, messages })
    }
}

/// `$CARGO_HOME`, else `~/.cargo`, as a real path.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// What [`package`] wrote.
#[derive(Debug, Clone)]
pub struct Packaged {
    pub id: String,
    /// `<out>/<id>/`: the installable folder.
    pub dir: PathBuf,
    pub component_bytes: usize,
    pub core_bytes: usize,
    pub sha256: String,
}

/// Componentizes `core_module` and writes `<out>/<id>/{<id>.wasm,
/// plugin.toml}` from the manifest in `crate_dir`, stamped with the digest.
/// `source` names the source manifest in the generated file's header.
pub fn package(
    crate_dir: &Path,
    core_module: &Path,
    out: &Path,
    source: &str,
) -> Result<Packaged, BuildError> {
    let manifest_path = crate_dir.join(MANIFEST_FILE);
    let text = read(&manifest_path)?;
    let id = string_key(&manifest_path, &text, &["id"])?;
    if id.is_empty() || id.contains(['/', '\\', '.']) {
        return Err(BuildError::Invalid {
            path: manifest_path,
            message: format!("`id` {id:?} cannot name a folder"),
        });
    }
    let core = std::fs::read(core_module).map_err(|source| BuildError::Read {
        path: core_module.to_path_buf(),
        source,
    })?;
    let component = componentize(&core).map_err(|message| BuildError::Componentize {
        path: core_module.to_path_buf(),
        message,
    })?;
    let sha256 = sha256_hex(&component);
    let dir = out.join(&id);
    let write = |path: PathBuf, bytes: &[u8]| {
        std::fs::write(&path, bytes).map_err(|source| BuildError::Write { path, source })
    };
    std::fs::create_dir_all(&dir).map_err(|source| BuildError::Write {
        path: dir.clone(),
        source,
    })?;
    write(dir.join(format!("{id}.wasm")), &component)?;
    write(
        dir.join(MANIFEST_FILE),
        stamp_manifest(&text, &sha256, source).as_bytes(),
    )?;
    Ok(Packaged {
        id,
        dir,
        component_bytes: component.len(),
        core_bytes: core.len(),
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamping_replaces_or_adds_the_digest() {
        let text = "id = \"x\"\napi = \"0.2\"\nsha256 = \"old\"\nhooks = []\n";
        let out = stamp_manifest(text, "abc", "x/plugin.toml");
        assert!(
            out.contains("api = \"0.2\"\nsha256 = \"abc\"\nhooks"),
            "{out}"
        );
        assert!(!out.contains("old"));
        let out = stamp_manifest("id = \"x\"\n", "abc", "s");
        assert!(out.starts_with("sha256 = \"abc\"\n"), "{out}");
    }

    #[test]
    fn bytes_that_are_not_a_module_are_refused() {
        let e = componentize(b"not wasm").expect_err("not wasm");
        assert!(e.contains("core module"), "{e}");
    }
}
