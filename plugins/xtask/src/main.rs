//! Builds the repl-mcp plugins: compiles each guest crate for
//! `wasm32-unknown-unknown`, turns the core module into a component with
//! `wit-component` (so no extra CLI is needed), and writes the component
//! and its manifest (with the sha256 filled in) to `plugins/dist/<id>/`.
//!
//! ```text
//! cargo run --manifest-path plugins/xtask/Cargo.toml -- build
//! cargo run --manifest-path plugins/xtask/Cargo.toml -- check
//! cargo run --manifest-path plugins/xtask/Cargo.toml -- build-plugin path/to/my-plugin
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// The built-in plugins, embedded in the server (`src/plugin/builtin.rs`).
const BUILTINS: &[&str] = &["prompt-regex", "default-recovery", "psql-recovery"];
/// Crates built alongside to prove they still compile, but not shipped.
const ALSO_BUILT: &[&str] = &["my-plugin"];
const TARGET: &str = "wasm32-unknown-unknown";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plugins = plugins_dir()?;
    match args.first().map(String::as_str) {
        Some("build") => {
            let dist = plugins.join("dist");
            build_builtins(&plugins, &dist)?;
            println!("built {} plugin(s) into {}", BUILTINS.len(), dist.display());
        }
        Some("check") => check(&plugins)?,
        Some("build-plugin") => {
            let dir = args.get(1).context("usage: build-plugin DIR [OUT_DIR]")?;
            let dir =
                std::fs::canonicalize(dir).with_context(|| format!("no plugin folder at {dir}"))?;
            let out = args.get(2).map_or_else(|| dir.join("dist"), PathBuf::from);
            let id = build_plugin_dir(&dir, &out)?;
            println!("built {id} into {}", out.join(&id).display());
        }
        Some("componentize") => {
            let (Some(input), Some(output)) = (args.get(1), args.get(2)) else {
                bail!("usage: componentize CORE.wasm COMPONENT.wasm");
            };
            let core = std::fs::read(input).with_context(|| format!("reading {input}"))?;
            std::fs::write(output, componentize(&core)?)
                .with_context(|| format!("writing {output}"))?;
        }
        _ => bail!(
            "usage: xtask <build | check | build-plugin DIR [OUT_DIR] | componentize IN OUT>\n\
             build          rebuild the built-in plugins into plugins/dist\n\
             check          rebuild into a temporary folder and compare with plugins/dist\n\
             build-plugin   build the plugin crate in DIR into DIR/dist/<id>/ (or OUT_DIR/<id>/)"
        ),
    }
    Ok(())
}

/// `plugins/`, found from this crate's own location.
fn plugins_dir() -> Result<PathBuf> {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = xtask.parent().context("xtask has no parent folder")?;
    Ok(dir.to_path_buf())
}

/// Runs `cargo build` for the guest crates. Paths are remapped so that the
/// bytes do not depend on where the repository or cargo's registry live,
/// which lets `check` compare them.
fn cargo_build(manifest: &Path, target_dir: &Path, packages: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--locked")
        .args(["--target", TARGET])
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir);
    for p in packages {
        cmd.args(["-p", p]);
    }
    let root = manifest.parent().context("manifest has no folder")?;
    let mut flags = vec![format!("--remap-path-prefix={}=/plugins", root.display())];
    if let Some(home) = cargo_home() {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"));
    cmd.env_remove("RUSTFLAGS");
    let status = cmd.status().context("running cargo")?;
    if !status.success() {
        bail!(
            "cargo build for {TARGET} failed (is the target installed? `rustup target add {TARGET}`)"
        );
    }
    Ok(())
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// Wraps a core module built with wit-bindgen into a component. The module
/// carries its WIT world in a custom section that wit-bindgen wrote.
fn componentize(core: &[u8]) -> Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(core)
        .context("reading the core module")?
        .validate(true)
        .encode()
        .context("encoding the component")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The manifest's `id`.
fn manifest_id(text: &str, path: &Path) -> Result<String> {
    let table: toml::Table =
        toml::from_str(text).with_context(|| format!("parsing {}", path.display()))?;
    let id = table.get("id").and_then(|v| v.as_str());
    Ok(id
        .with_context(|| format!("{}: no `id`", path.display()))?
        .to_string())
}

/// The source manifest with `sha256` set: an existing line is replaced, or
/// one is added after `api`.
fn stamp_manifest(text: &str, sha: &str, source: &str) -> String {
    let mut out =
        format!("# Generated by plugins/xtask from {source}; edit that file, then rebuild.\n");
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

/// Componentizes `crate_name`'s build output and writes `<out>/<id>/`.
fn package(
    crate_dir: &Path,
    wasm_dir: &Path,
    crate_name: &str,
    out: &Path,
    source: &str,
) -> Result<String> {
    let manifest_path = crate_dir.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let id = manifest_id(&text, &manifest_path)?;
    let core_path = wasm_dir.join(format!("{}.wasm", crate_name.replace('-', "_")));
    let core =
        std::fs::read(&core_path).with_context(|| format!("reading {}", core_path.display()))?;
    let component = componentize(&core).with_context(|| format!("componentizing {crate_name}"))?;
    let dir = out.join(&id);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join(format!("{id}.wasm")), &component)?;
    std::fs::write(
        dir.join("plugin.toml"),
        stamp_manifest(&text, &sha256_hex(&component), source),
    )?;
    println!(
        "  {id}: {} bytes (core module {} bytes)",
        component.len(),
        core.len()
    );
    Ok(id)
}

fn build_builtins(plugins: &Path, out: &Path) -> Result<()> {
    let target_dir = plugins.join("target").join("guest");
    let all: Vec<&str> = BUILTINS.iter().chain(ALSO_BUILT).copied().collect();
    cargo_build(&plugins.join("Cargo.toml"), &target_dir, &all)?;
    let wasm_dir = target_dir.join(TARGET).join("release");
    for name in BUILTINS {
        package(
            &plugins.join(name),
            &wasm_dir,
            name,
            out,
            &format!("plugins/{name}/plugin.toml"),
        )?;
    }
    Ok(())
}

/// Rebuilds into a scratch folder and compares with the committed `dist/`.
fn check(plugins: &Path) -> Result<()> {
    let scratch = plugins.join("target").join("check-dist");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)
            .with_context(|| format!("clearing {}", scratch.display()))?;
    }
    build_builtins(plugins, &scratch)?;
    let committed = plugins.join("dist");
    let mut problems = Vec::new();
    for name in BUILTINS {
        let fresh_dir = scratch.join(name);
        for entry in std::fs::read_dir(&fresh_dir)? {
            let file = entry?.file_name();
            let fresh = std::fs::read(fresh_dir.join(&file))?;
            let old_path = committed.join(name).join(&file);
            match std::fs::read(&old_path) {
                Ok(old) if old == fresh => {}
                Ok(_) => {
                    problems.push(format!("{} differs from a fresh build", old_path.display()))
                }
                Err(_) => problems.push(format!("{} is missing", old_path.display())),
            }
        }
    }
    if problems.is_empty() {
        println!(
            "plugins/dist matches its sources ({} plugins)",
            BUILTINS.len()
        );
        Ok(())
    } else {
        bail!(
            "{}\nrun `cargo run --manifest-path plugins/xtask/Cargo.toml -- build` and commit plugins/dist",
            problems.join("\n")
        )
    }
}

/// Builds a plugin crate that lives anywhere (a user's plugin).
fn build_plugin_dir(dir: &Path, out: &Path) -> Result<String> {
    let manifest = dir.join("Cargo.toml");
    let cargo_toml = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let table: toml::Table =
        toml::from_str(&cargo_toml).with_context(|| format!("parsing {}", manifest.display()))?;
    let name = table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .with_context(|| format!("{}: no package.name", manifest.display()))?
        .to_string();
    // A crate inside this repository's plugin workspace still builds from its
    // own manifest; cargo picks up the workspace's lock file and profile.
    let target_dir = dir.join("target");
    cargo_build(&manifest, &target_dir, &[&name])?;
    let wasm_dir = target_dir.join(TARGET).join("release");
    package(
        dir,
        &wasm_dir,
        &name,
        out,
        &dir.join("plugin.toml").display().to_string(),
    )
}
