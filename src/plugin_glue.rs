//! Starting the plugin host with the built-in plugins and those the user
//! and the project installed.

use std::path::{Path, PathBuf};

use crate::plugin::{HostLimits, PluginHost};
use crate::preset::PresetDirs;

/// Plugin folders (each holding a `plugin.toml`) under `dir`.
fn plugin_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("plugin.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Where installed plugins live: `<config>/plugins/*`, the `plugins/*` of
/// every installed preset package, and `./.repl-mcp/plugins/*`.
fn installed_plugin_dirs(presets: &PresetDirs) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(config) = crate::paths::config_dir() {
        out.extend(plugin_dirs(&config.join("plugins")));
    }
    for root in [&presets.user, &presets.project].into_iter().flatten() {
        if let Ok(entries) = std::fs::read_dir(root) {
            let mut packages: Vec<PathBuf> =
                entries.filter_map(Result::ok).map(|e| e.path()).collect();
            packages.sort();
            for package in packages {
                out.extend(plugin_dirs(&package.join("plugins")));
            }
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        out.extend(plugin_dirs(&cwd.join(".repl-mcp").join("plugins")));
    }
    out
}

/// The host with every plugin that loads; a broken plugin is logged and
/// skipped, never fatal. `None` only if the engine itself cannot start.
pub fn start_host(presets: &PresetDirs) -> Option<PluginHost> {
    let host = match PluginHost::with_builtins() {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!("plugin engine unavailable, presets' regexes decide: {e}");
            return None;
        }
    };
    for dir in installed_plugin_dirs(presets) {
        match host.load_dir(&dir) {
            Ok(id) => tracing::info!(plugin = %id, dir = %dir.display(), "plugin loaded"),
            Err(e) => tracing::warn!(dir = %dir.display(), "plugin not loaded: {e}"),
        }
    }
    Some(host)
}

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
