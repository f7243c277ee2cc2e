//! Presets: how to start a REPL, what its prompts look like, its timeouts.
//! Targets: where it runs (ssh, docker, kubectl…). Parameters: the values
//! both take from `create_session`.
//!
//! Presets and targets are data (TOML). Built-in ones are embedded in the
//! binary; the user's config dir and the project dir can add or override them.

mod builtin;
mod error;
pub mod params;
mod place;
mod registry;
mod schema;
pub mod target;
mod templates;

pub use error::PresetError;
pub use place::{Placement, Remote, place};
pub use registry::{LoadedPreset, PresetDirs, PresetRegistry, PresetSource, preset_files};
pub use schema::{Preset, PresetFile, PromptConfig, ShellFlavor, ShellIntegration, StrategyConfig};
pub use target::{LoadedTarget, RemoteRc, Target, TargetRegistry};
