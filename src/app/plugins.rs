//! Starting the plugin host with the built-in plugins and those the user
//! and the project installed. Compiling plugins is blocking work: it runs
//! before the async runtime starts.

use std::path::{Path, PathBuf};

use crate::plugin::PluginHost;
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
pub fn start_plugin_host(presets: &PresetDirs) -> Option<PluginHost> {
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
