//! Sandboxed WebAssembly plugins (design decisions 5 and 6).
//!
//! A plugin is a WebAssembly component targeting the `strategy` world of
//! `plugins/wit/<api>/plugin.wit` (0.1 or 0.2, see [`ApiVersion`]), plus a
//! `plugin.toml` manifest. The host links
//! nothing but the `host` interface (a log function): no WASI, no files, no
//! network, no clock. Each call runs with a memory cap, a wall-clock deadline
//! (epoch interruption) and a stack cap; each answer is checked for form and
//! against the manifest's capabilities before it reaches the caller.
//!
//! - [`PluginHost`] (one per server): engine, linker, compiled plugins.
//! - [`PluginSession`] (one per REPL session): a store and an instance.

pub mod builtin;
pub mod cli;
mod compile;
mod decision;
mod epoch;
mod error;
mod facts;
mod host;
mod limits;
mod manifest;
mod preset_settings;
pub mod replay;
pub mod scaffold;
mod session;
mod state;
mod wit;

pub use compile::sha256_hex;
pub use decision::{
    Decision, DetectInput, Detection, HookFacts, MAX_PROMPT_BYTES, MAX_QUESTION_BYTES,
    MAX_TEXT_BYTES, MAX_WAIT_MS, PromptKind, canonical_signal,
};
pub use error::{ManifestError, PluginError};
pub use facts::{PluginForeground, PluginKernelFacts, SessionFacts};
pub use host::PluginHost;
pub use limits::HostLimits;
pub use manifest::{
    Capabilities, HOOK_NAMES, Hooks, MANIFEST_FILE, Manifest, PluginLimits, SUPPORTED_APIS,
};
pub use preset_settings::settings_for;
pub use session::{Hook, PluginSession};
pub use wit::ApiVersion;

/// A loaded plugin's id, as returned by [`PluginHost::load_dir`].
pub type PluginId = String;

// The session layer keeps a host in shared state and moves sessions between
// threads; keep that possible.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    send_sync::<PluginHost>();
    send::<PluginSession>();
};
