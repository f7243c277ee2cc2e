use std::path::PathBuf;

use crate::preset::PresetError;

/// Why a package could not be validated, fetched, installed or removed.
///
/// Validation problems (exit code 1) are kept apart from I/O failures
/// (exit code 2) by [`PackageError::exit_code`].
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(transparent)]
    Preset(#[from] PresetError),
    #[error("{file}:{line}:{column}: {message}")]
    Manifest {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: key `{key}`: {message}")]
    Plugin {
        file: String,
        key: String,
        message: String,
    },
    #[error("{file}: sha256 mismatch: plugin.toml says {expected}, the file hashes to {actual}")]
    HashMismatch {
        file: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{file}: preset `{preset}`: key `strategy.plugin`: `{plugin}` is neither a built-in plugin (`builtin:…`) nor a plugin of this package (plugins/<id>/plugin.toml)"
    )]
    UnknownPlugin {
        file: String,
        preset: String,
        plugin: String,
    },
    #[error("{file}: preset `{preset}` is defined twice in this package")]
    DuplicatePreset { file: String, preset: String },
    #[error("{0}: not a preset package (no preset.toml)")]
    NotAPackage(PathBuf),
    #[error("{0}")]
    Source(String),
    #[error("invalid name `{name}`: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PackageError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PackageError::Io {
            path: path.into(),
            source,
        }
    }

    /// 1 for validation and usage errors, 2 for I/O errors.
    pub fn exit_code(&self) -> i32 {
        match self {
            PackageError::Io { .. } | PackageError::Preset(PresetError::Io { .. }) => 2,
            _ => 1,
        }
    }
}

/// Names of packages (directories under the presets dir): a safe path component.
pub fn check_name(name: &str) -> Result<(), PackageError> {
    let bad = |reason: &str| {
        Err(PackageError::InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name.starts_with('.') {
        return bad("must not start with `.`");
    }
    if name.len() > 100 {
        return bad("at most 100 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return bad("use only letters, digits, `_`, `-` and `.`");
    }
    Ok(())
}
