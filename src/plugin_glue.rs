//! `repl-mcp plugin …`: checking plugins against this server's host. (The
//! host itself is started by the composition root, `crate::app`.)

use std::path::PathBuf;

use crate::app::start_plugin_host as start_host;
use crate::plugin::{HostLimits, PluginHost};
use crate::preset::PresetDirs;

#[derive(Debug, Clone, clap::Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum PluginCommand {
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
        PluginCommand::Validate { dirs } => {
            let mut failed = false;
            for dir in dirs {
                let checked = PluginHost::validate_dir(dir).and_then(|m| {
                    PluginHost::new(HostLimits::default())?.load_dir(dir)?;
                    Ok(m)
                });
                match checked {
                    Ok(m) => println!(
                        "{}: ok — plugin `{}` {} (API {}), {} ms / {} MiB per call",
                        dir.display(),
                        m.id,
                        m.version,
                        m.api,
                        m.limits.deadline_ms,
                        m.limits.memory_bytes >> 20
                    ),
                    Err(e) => {
                        failed = true;
                        eprintln!("{}: refused: {e}", dir.display());
                    }
                }
            }
            i32::from(failed)
        }
        PluginCommand::List => match start_host(&PresetDirs::standard()) {
            Some(host) => {
                for id in host.ids() {
                    let description = host
                        .manifest(&id)
                        .map(|m| m.description.clone())
                        .unwrap_or_default();
                    println!("{id}\t{description}");
                }
                0
            }
            None => 2,
        },
    }
}
