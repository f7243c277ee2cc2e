//! Errors of the plugin host. Every variant names the plugin (or file) it is
//! about, so a log line or a tool result can be acted on without context.

use std::path::PathBuf;

/// A problem in a `plugin.toml`, located by line, column and key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {}{message}", file.display(), key.as_deref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
pub struct ManifestError {
    pub file: PathBuf,
    /// One-based line; 0 when the problem has no place in the file.
    pub line: usize,
    /// One-based column; 0 when the problem has no place in the file.
    pub column: usize,
    /// The key at fault (dotted, e.g. `limits.memory_mib`), when known.
    pub key: Option<String>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid plugin manifest: {0}")]
    Manifest(#[from] ManifestError),

    #[error(
        "{}: sha256 of {} is {actual}, but the manifest says {expected}",
        manifest.display(),
        wasm.display()
    )]
    HashMismatch {
        manifest: PathBuf,
        wasm: PathBuf,
        expected: String,
        actual: String,
    },

    #[error("plugin `{plugin}` is not a valid component: {message}")]
    Compile { plugin: String, message: String },

    #[error(
        "plugin `{plugin}` imports `{import}`, which the host does not provide \
         (plugins may import only `{allowed}`; WASI and other interfaces are refused)"
    )]
    ForeignImport {
        plugin: String,
        import: String,
        allowed: &'static str,
    },

    #[error("plugin `{plugin}` does not match the plugin interface: {message}")]
    Link { plugin: String, message: String },

    #[error("invalid host limits: {0}")]
    HostConfig(String),

    #[error("no plugin with id `{0}` is loaded")]
    UnknownPlugin(String),

    #[error("a plugin with id `{0}` is already loaded")]
    DuplicatePlugin(String),

    #[error("plugin `{plugin}` could not be instantiated: {message}")]
    Instantiate { plugin: String, message: String },

    #[error("plugin `{plugin}` refused its settings: {message}")]
    Init { plugin: String, message: String },

    #[error("plugin `{plugin}` trapped in `{hook}`: {message}")]
    Trap {
        plugin: String,
        hook: &'static str,
        message: String,
    },

    #[error("plugin `{plugin}` ran past its deadline of {deadline_ms} ms in `{hook}`")]
    Timeout {
        plugin: String,
        hook: &'static str,
        deadline_ms: u64,
    },

    #[error("plugin `{plugin}` hit its memory cap of {cap_bytes} bytes in `{hook}`")]
    MemoryCap {
        plugin: String,
        hook: &'static str,
        cap_bytes: u64,
    },

    #[error("plugin `{plugin}` gave a malformed answer from `{hook}`: {message}")]
    Malformed {
        plugin: String,
        hook: &'static str,
        message: String,
    },

    #[error(
        "plugin `{plugin}` decided `{decision}` in `{hook}`, which its manifest does not allow: {reason}"
    )]
    Refused {
        plugin: String,
        hook: &'static str,
        decision: String,
        reason: String,
    },

    #[error("plugin `{plugin}` is disabled for this session: {reason}")]
    Disabled { plugin: String, reason: String },
}

impl PluginError {
    /// Whether this error means the plugin misbehaved, which disables it for
    /// the rest of the session.
    pub fn disables_plugin(&self) -> bool {
        matches!(
            self,
            PluginError::Trap { .. }
                | PluginError::Timeout { .. }
                | PluginError::MemoryCap { .. }
                | PluginError::Malformed { .. }
                | PluginError::Refused { .. }
        )
    }
}
