//! `repl-mcp plugin …`: write, build, try and check plugins with nothing but
//! the server binary (and Rust with the wasm target for `build`).
//!
//! - `new NAME`: a standalone plugin crate (SDK and WIT written out with it)
//! - `build DIR`: cargo for wasm32, componentize, stamp the digest,
//!   validate with the real host, optionally install
//! - `test DIR --cast FILE`: replay a recorded session through the plugin
//! - `validate DIR…`, `list`: check folders, list what the server loads

mod build;
mod install;
mod test;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::plugin::{HostLimits, Manifest, PluginError, PluginHost};
use crate::preset::PresetDirs;

#[derive(Debug, Clone, clap::Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum PluginCommand {
    /// Create a plugin crate (Cargo.toml, src/lib.rs, plugin.toml, README,
    /// a test, and the SDK and WIT it builds against).
    New {
        /// The plugin's id and crate name: a-z, 0-9, `-`, `_`.
        name: String,
        /// Where to create it (default: ./NAME).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Build a plugin crate into an installable, validated component:
    /// cargo for wasm32-unknown-unknown, componentize, write the digest
    /// into DIR/dist/<id>/plugin.toml, load it in the real host.
    Build(build::BuildArgs),
    /// Replay a recorded session (asciicast v2) through a plugin and print
    /// what it decides; with --expect, exit 1 on a mismatch.
    Test(test::TestArgs),
    /// Check a plugin folder (plugin.toml + .wasm): manifest, digest,
    /// capabilities, and that the component compiles and imports nothing
    /// but our interface. Exit code 1 when it would be refused.
    Validate {
        /// Plugin folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// List the plugins this server would load: built-in and installed.
    List,
}

/// `repl-mcp plugin …`; returns the exit code.
pub fn run(args: &PluginArgs) -> i32 {
    match &args.command {
        PluginCommand::New { name, dir } => new(name, dir.as_deref()),
        PluginCommand::Build(a) => build::run(a),
        PluginCommand::Test(a) => test::run(a),
        PluginCommand::Validate { dirs } => {
            let mut failed = false;
            for dir in dirs {
                match load_checked(dir) {
                    Ok(checked) => println!("{}: ok — {}", dir.display(), checked.summary()),
                    Err(e) => {
                        failed = true;
                        eprintln!("{}: refused: {e}", dir.display());
                    }
                }
            }
            i32::from(failed)
        }
        PluginCommand::List => list(),
    }
}

fn new(name: &str, dir: Option<&Path>) -> i32 {
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    match crate::plugin::scaffold::create(&dir, name) {
        Ok(files) => {
            println!("created plugin `{name}` in {}:", dir.display());
            for f in files {
                println!("  {}", f.display());
            }
            println!(
                "next: edit src/lib.rs and plugin.toml, then\n  \
                 cd {} && cargo test && repl-mcp plugin build . --install",
                dir.display()
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn list() -> i32 {
    match crate::app::start_plugin_host(&PresetDirs::standard()) {
        Some(host) => {
            for id in host.ids() {
                let (api, description) = host
                    .manifest(&id)
                    .map(|m| (m.api.clone(), m.description.clone()))
                    .unwrap_or_default();
                println!("{id}\tAPI {api}\t{description}");
            }
            0
        }
        None => 2,
    }
}

/// A plugin folder as the server would load it.
pub(crate) struct Checked {
    pub manifest: Manifest,
    /// `init` refused the manifest's own settings (a preset must set some).
    pub init_error: Option<String>,
}

impl Checked {
    fn summary(&self) -> String {
        let m = &self.manifest;
        let mut s = format!(
            "plugin `{}` {} (API {}), {} ms / {} MiB per call",
            m.id,
            m.version,
            m.api,
            m.limits.deadline_ms,
            m.limits.memory_bytes >> 20
        );
        if let Some(e) = &self.init_error {
            s.push_str(&format!(
                "\n  note: with only its manifest's settings, init says: {e}"
            ));
        }
        s
    }
}

/// Loads the folder in a fresh host with the server's default limits —
/// manifest, digest, compile, imports, the exports' types — and runs `init`
/// with the manifest's settings.
pub(crate) fn load_checked(dir: &Path) -> Result<Checked, PluginError> {
    let host = PluginHost::new(HostLimits::default())?;
    let id = host.load_dir(dir)?;
    let manifest = host
        .manifest(&id)
        .map(|m| (*m).clone())
        .ok_or_else(|| PluginError::UnknownPlugin(id.clone()))?;
    let init_error = match host.instantiate(&id, &BTreeMap::new()) {
        Ok(_) => None,
        Err(PluginError::Init { message, .. }) => Some(message),
        Err(e) => return Err(e),
    };
    Ok(Checked {
        manifest,
        init_error,
    })
}
