//! Checks of a plugin folder (`plugins/<id>/plugin.toml` + its `.wasm`).
//!
//! This is the package installer's own check: the manifest schema, the
//! sha256 of the component, its magic bytes, and the capability names. The
//! plugin host's full check (the component loads against our WIT) takes its
//! place once the host lands: swap the body of [`validate_plugin_dir`] for a
//! call to `crate::plugin::PluginHost::validate_dir`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::PackageError;
use crate::preset::PresetError;

/// Plugin interface versions this build can host (`plugins/wit/<version>`).
pub const SUPPORTED_API_VERSIONS: &[&str] = &["0.1"];

/// Hooks a plugin may export.
pub const HOOKS: &[&str] = &[
    "detect-prompt",
    "on-timeout",
    "on-exit",
    "on-startup-failure",
];

/// Signals a plugin may ask the host to send.
pub const SIGNALS: &[&str] = &[
    "SIGINT", "SIGTERM", "SIGKILL", "SIGQUIT", "SIGHUP", "SIGTSTP", "SIGCONT", "SIGUSR1",
    "SIGUSR2", "SIGWINCH",
];

/// `plugin.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginManifest {
    pub id: String,
    pub version: String,
    pub api_version: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The component file, relative to the plugin folder (default `<id>.wasm`).
    #[serde(default)]
    pub wasm: Option<String>,
    /// Hex sha256 of the component (optionally prefixed `sha256:`).
    pub sha256: String,
    #[serde(default)]
    pub hooks: Vec<String>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub capabilities: Capabilities,
    /// Defaults handed to the plugin's `init`, overridable by the preset.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default)]
    pub memory_mb: Option<u64>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub stack_kb: Option<u64>,
}

/// What a plugin may ask the host to do. Unknown names are refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default)]
    pub signals: Vec<String>,
    #[serde(default)]
    pub inputs: Vec<String>,
    #[serde(default)]
    pub may_restart: bool,
    #[serde(default)]
    pub may_mark_failed: bool,
    #[serde(default)]
    pub may_ask_llm: bool,
    #[serde(default)]
    pub may_set_ready: bool,
}

/// A plugin that passed the checks.
#[derive(Debug, Clone, Serialize)]
pub struct PluginSummary {
    pub dir: PathBuf,
    pub wasm: PathBuf,
    pub manifest: PluginManifest,
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

/// Validate one plugin folder: manifest schema (errors with file:line:column
/// and key), known hooks / signals / capability names, the component's
/// sha256 and its header (`\0asm`, component layer).
pub fn validate_plugin_dir(dir: &Path) -> Result<PluginSummary, PackageError> {
    let manifest_path = dir.join("plugin.toml");
    let file = manifest_path.display().to_string();
    let src =
        std::fs::read_to_string(&manifest_path).map_err(|e| PackageError::io(&manifest_path, e))?;
    let manifest: PluginManifest =
        toml::from_str(&src).map_err(|e| match PresetError::from_toml(&file, &src, &e) {
            PresetError::Parse {
                file,
                line,
                column,
                message,
            } => PackageError::Manifest {
                file,
                line,
                column,
                message,
            },
            other => PackageError::Preset(other),
        })?;
    let invalid = |key: &str, message: String| PackageError::Plugin {
        file: file.clone(),
        key: key.to_string(),
        message,
    };

    let id = &manifest.id;
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        || id.starts_with('.')
    {
        return Err(invalid(
            "id",
            "use only letters, digits, `_`, `-` and `.`".into(),
        ));
    }
    if id.starts_with("builtin") {
        return Err(invalid("id", "the `builtin` prefix is reserved".into()));
    }
    if let Some(folder) = dir.file_name().and_then(|n| n.to_str())
        && folder != id
    {
        return Err(invalid(
            "id",
            format!("`{id}` must match its folder name `plugins/{folder}`"),
        ));
    }
    if manifest.version.trim().is_empty() {
        return Err(invalid("version", "must not be empty".into()));
    }
    let api = manifest.api_version.trim();
    if !SUPPORTED_API_VERSIONS
        .iter()
        .any(|v| api == *v || api.strip_prefix(v).is_some_and(|r| r.starts_with('.')))
    {
        return Err(invalid(
            "api_version",
            format!(
                "`{api}` is not supported by this repl-mcp (supported: {})",
                SUPPORTED_API_VERSIONS.join(", ")
            ),
        ));
    }
    if manifest.hooks.is_empty() {
        return Err(invalid(
            "hooks",
            format!("list at least one hook ({})", HOOKS.join(", ")),
        ));
    }
    for (i, hook) in manifest.hooks.iter().enumerate() {
        if !HOOKS.contains(&hook.replace('_', "-").as_str()) {
            return Err(invalid(
                &format!("hooks[{i}]"),
                format!("unknown hook `{hook}` (known: {})", HOOKS.join(", ")),
            ));
        }
    }
    for (i, signal) in manifest.capabilities.signals.iter().enumerate() {
        if !SIGNALS.contains(&signal.as_str()) {
            return Err(invalid(
                &format!("capabilities.signals[{i}]"),
                format!("unknown signal `{signal}` (known: {})", SIGNALS.join(", ")),
            ));
        }
    }
    for (key, value) in [
        ("limits.memory_mb", manifest.limits.memory_mb),
        ("limits.timeout_ms", manifest.limits.timeout_ms),
        ("limits.stack_kb", manifest.limits.stack_kb),
    ] {
        if value == Some(0) {
            return Err(invalid(key, "must be greater than 0".into()));
        }
    }

    let wasm_name = manifest
        .wasm
        .clone()
        .unwrap_or_else(|| format!("{id}.wasm"));
    let wasm_rel = Path::new(&wasm_name);
    if wasm_rel.is_absolute()
        || wasm_rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(invalid(
            "wasm",
            "must be a path inside the plugin folder".into(),
        ));
    }
    let wasm = dir.join(wasm_rel);
    let bytes = std::fs::read(&wasm).map_err(|e| PackageError::io(&wasm, e))?;
    let expected = manifest
        .sha256
        .trim()
        .trim_start_matches("sha256:")
        .to_ascii_lowercase();
    if expected.len() != 64 || !expected.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid(
            "sha256",
            "must be 64 hex digits (the sha256 of the .wasm file)".into(),
        ));
    }
    let actual = sha256_hex(&bytes);
    if actual != expected {
        return Err(PackageError::HashMismatch {
            file: wasm.display().to_string(),
            expected,
            actual,
        });
    }
    check_component_header(&bytes).map_err(|m| invalid("wasm", format!("{wasm_name}: {m}")))?;

    Ok(PluginSummary {
        dir: dir.to_path_buf(),
        wasm,
        manifest,
    })
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A component starts with `\0asm`, then version 0x0d (LEB 2 bytes) and layer 1.
fn check_component_header(bytes: &[u8]) -> Result<(), String> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err("not a WebAssembly file (no `\\0asm` header)".into());
    }
    match &bytes[4..8] {
        [_, _, 1, 0] => Ok(()),
        [1, 0, 0, 0] => Err(
            "a core wasm module, not a component: componentize it (e.g. `wasm-tools component new`)"
                .into(),
        ),
        other => Err(format!("unknown wasm version/layer bytes {other:02x?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_header() {
        assert!(check_component_header(b"\0asm\x0d\0\x01\0rest").is_ok());
        assert!(check_component_header(b"\0asm\x01\0\0\0").is_err());
        assert!(check_component_header(b"hello").is_err());
    }

    #[test]
    fn hash_is_lower_hex() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
