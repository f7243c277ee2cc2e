//! Presets: how to start a REPL, what its prompts look like, its timeouts.
//!
//! A preset is data (TOML). Built-in presets are embedded in the binary; the
//! user's config dir and the project dir can add or override them.

mod builtin;
mod error;
mod input;
mod registry;
mod schema;

pub use error::PresetError;
pub use input::{InputConfig, InputMode, LongLines};
pub use registry::{LoadedPreset, PresetDirs, PresetRegistry, PresetSource, preset_files};
pub use schema::{Preset, PresetFile, PromptConfig, ShellFlavor, ShellIntegration, StrategyConfig};
