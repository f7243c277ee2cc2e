//! Checks of a plugin folder (`plugins/<id>/plugin.toml` + its `.wasm`) in a
//! package, by the plugin host itself: the manifest (errors with file, line
//! and key), the sha256 of the component, the capability names, and that the
//! component compiles and imports nothing but our interface.

use std::path::{Path, PathBuf};

use super::PackageError;
use crate::plugin::{HostLimits, Manifest, PluginError, PluginHost};

/// A plugin that passed every check.
#[derive(Debug, Clone)]
pub struct PluginSummary {
    pub dir: PathBuf,
    pub wasm: PathBuf,
    pub manifest: Manifest,
}

impl PluginSummary {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// One line per capability, for the confirmation prompt.
    pub fn describe_capabilities(&self) -> Vec<String> {
        let c = &self.manifest.capabilities;
        let mut out = Vec::new();
        if !c.signals.is_empty() {
            out.push(format!("send signals: {}", c.signals.join(", ")));
        }
        if !c.inputs.is_empty() {
            let inputs: Vec<String> = c.inputs.iter().map(|i| format!("{i:?}")).collect();
            out.push(format!("type inputs: {}", inputs.join(", ")));
        }
        if !c.input_patterns.is_empty() {
            out.push(format!(
                "type inputs matching: {}",
                c.input_patterns.join(", ")
            ));
        }
        for (flag, what) in [
            (c.may_restart, "restart the REPL"),
            (c.may_mark_failed, "mark the session failed"),
            (c.may_ask_llm, "ask the agent a question"),
            (
                c.may_set_ready,
                "declare the REPL ready (set a prompt pattern)",
            ),
        ] {
            if flag {
                out.push(what.to_string());
            }
        }
        if out.is_empty() {
            out.push("none (prompt detection only)".to_string());
        }
        out
    }
}

/// The host's messages already name the file, line and key.
fn plugin_error(_dir: &Path, e: PluginError) -> PackageError {
    PackageError::Refused(e.to_string())
}

/// Validate one plugin folder with the real host: read and check the
/// manifest and hash, then compile the component in a scratch host so that
/// a component that does not fit our WIT (or imports WASI, files, …) is
/// refused before anything is installed.
pub fn validate_plugin_dir(dir: &Path) -> Result<PluginSummary, PackageError> {
    let manifest = PluginHost::validate_dir(dir).map_err(|e| plugin_error(dir, e))?;
    let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if manifest.id != folder {
        return Err(PackageError::Plugin {
            file: dir.join("plugin.toml").display().to_string(),
            key: "id".to_string(),
            message: format!(
                "is `{}` but the folder is `{folder}`; they must match",
                manifest.id
            ),
        });
    }
    let host = PluginHost::new(HostLimits::default()).map_err(|e| plugin_error(dir, e))?;
    host.load_dir(dir).map_err(|e| plugin_error(dir, e))?;
    Ok(PluginSummary {
        dir: dir.to_path_buf(),
        wasm: dir.join(&manifest.wasm),
        manifest,
    })
}
