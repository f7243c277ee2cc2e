//! Preset packages: a folder (or a `.tar.gz` of one, or a git repository)
//! with a `preset.toml` and optional wasm plugins under `plugins/<id>/`.
//! Validate, install (atomically, after showing what it will run), list,
//! remove, and scaffold new ones. See `docs/packages.md`.

pub mod cli;
mod error;
pub mod install;
pub mod load;
pub mod manage;
pub mod plugin_check;
pub mod scaffold;
pub mod source;

pub use error::{PackageError, check_name};
pub use load::{Package, ValidationReport, validate_package, validate_path};
pub use plugin_check::{PluginSummary, validate_plugin_dir};
