//! Rebuilds the built-in repl-mcp plugins into `plugins/dist/<id>/`, and
//! checks that the committed files match their sources. The work itself —
//! compiling for `wasm32-unknown-unknown`, componentizing with
//! `wit-component`, stamping the manifest's sha256 — is the
//! `repl-mcp-plugin-build` crate, which `repl-mcp plugin build` uses too.
//!
//! ```text
//! cargo run --manifest-path plugins/xtask/Cargo.toml -- build
//! cargo run --manifest-path plugins/xtask/Cargo.toml -- check
//! ```
//!
//! A plugin of your own: `repl-mcp plugin build DIR`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use repl_mcp_plugin_build::{CargoBuild, cargo_home, package};

/// The built-in plugins, embedded in the server (`src/plugin/builtin.rs`).
const BUILTINS: &[&str] = &["prompt-regex", "default-recovery", "psql-recovery"];
/// Crates built alongside to prove they still compile, but not shipped.
const ALSO_BUILT: &[&str] = &["my-plugin"];

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
        _ => bail!(
            "usage: xtask <build | check>\n\
             build   rebuild the built-in plugins into plugins/dist\n\
             check   rebuild into a temporary folder and compare with plugins/dist\n\
             (a plugin of your own: `repl-mcp plugin build DIR`)"
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

fn build_builtins(plugins: &Path, out: &Path) -> Result<()> {
    let mut remap = vec![(plugins.to_path_buf(), "/plugins".to_string())];
    if let Some(home) = cargo_home() {
        remap.push((home, "/cargo".to_string()));
    }
    let build = CargoBuild {
        manifest: plugins.join("Cargo.toml"),
        target_dir: plugins.join("target").join("guest"),
        packages: BUILTINS
            .iter()
            .chain(ALSO_BUILT)
            .map(|s| s.to_string())
            .collect(),
        locked: true,
        remap,
    };
    build.run()?;
    for name in BUILTINS {
        let p = package(
            &plugins.join(name),
            &build.core_module(name),
            out,
            &format!("plugins/{name}/plugin.toml"),
        )?;
        println!(
            "  {}: {} bytes (core module {} bytes)",
            p.id, p.component_bytes, p.core_bytes
        );
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
