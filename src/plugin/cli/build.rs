//! `repl-mcp plugin build DIR`: from source to an installable, validated
//! plugin in one command. The compile and componentize steps are the
//! `repl-mcp-plugin-build` crate, shared with `plugins/xtask`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use repl_mcp_plugin_build::{CargoBuild, MANIFEST_FILE, crate_name, package};

use crate::plugin::{HostLimits, Manifest};

#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    /// The plugin crate (Cargo.toml + plugin.toml), e.g. one made by `plugin new`.
    pub dir: PathBuf,
    /// Also install it for this user (`~/.config/repl-mcp/plugins/<id>/`).
    #[arg(long)]
    pub install: bool,
    /// Cargo's target directory (default: DIR/target).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
}

pub fn run(args: &BuildArgs) -> i32 {
    match build(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            eprintln!("nothing was installed");
            1
        }
    }
}

/// The source manifest, checked before spending a compile on it.
fn check_source_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Manifest::parse_source(
        &text,
        &path,
        &HostLimits::default(),
    )?)
}

fn build(args: &BuildArgs) -> Result<()> {
    let dir = std::fs::canonicalize(&args.dir)
        .with_context(|| format!("no plugin folder at {}", args.dir.display()))?;
    if !dir.join("Cargo.toml").is_file() {
        if dir.join(MANIFEST_FILE).is_file() {
            bail!(
                "{} holds a plugin.toml but no Cargo.toml: it looks built already; \
                 check it with `repl-mcp plugin validate {}`",
                dir.display(),
                args.dir.display()
            );
        }
        bail!(
            "{} has no Cargo.toml: not a plugin crate (`repl-mcp plugin new NAME` makes one)",
            dir.display()
        );
    }
    let source = check_source_manifest(&dir)?;
    let name = crate_name(&dir)?;
    let target_dir = args
        .target_dir
        .clone()
        .unwrap_or_else(|| dir.join("target"));
    eprintln!("compiling `{name}` for wasm32-unknown-unknown…");
    let cargo = CargoBuild::for_crate(&dir, &target_dir);
    cargo.run()?;
    let out = dir.join("dist");
    let built = package(&dir, &cargo.core_module(&name), &out, MANIFEST_FILE)?;
    if built.id != source.id {
        bail!(
            "plugin.toml changed during the build (id `{}` became `{}`)",
            source.id,
            built.id
        );
    }
    let checked = match super::load_checked(&built.dir) {
        Ok(c) => c,
        Err(e) => {
            // Leave no component the host refuses where one would install from.
            let _ = std::fs::remove_dir_all(&built.dir);
            bail!("the host refuses the built plugin: {e}");
        }
    };
    println!(
        "built {}: {} bytes, sha256 {}",
        built.dir.display(),
        built.component_bytes,
        built.sha256
    );
    println!("validated: {}", checked.summary());
    if args.install {
        let dest = super::install::install(&built.dir, &built.id)?;
        println!("installed: {}", dest.display());
        println!(
            "use it in a preset: [strategy] plugin = \"{}\" (the server loads it at start)",
            built.id
        );
    } else {
        println!(
            "install: repl-mcp plugin build {} --install  (or copy {} into ~/.config/repl-mcp/plugins/)",
            args.dir.display(),
            built.dir.display()
        );
    }
    Ok(())
}
