//! Sandboxed WebAssembly plugins (design decisions 5 and 6).
//!
//! A plugin is a WebAssembly component targeting the `strategy` world of
//! `plugins/wit/0.1/plugin.wit`, plus a `plugin.toml` manifest. The host links
//! nothing but the `host` interface (a log function): no WASI, no files, no
//! network, no clock. Each call runs with a memory cap, a wall-clock deadline
//! (epoch interruption) and a stack cap; each answer is checked for form and
//! against the manifest's capabilities before it reaches the caller.
//!
//! - [`PluginHost`] (one per server): engine, linker, compiled plugins.
//! - [`PluginSession`] (one per REPL session): a store and an instance.

mod bindings;
pub mod builtin;
mod compile;
mod decision;
mod epoch;
mod error;
mod host;
mod limits;
mod manifest;
mod session;
mod state;

pub use compile::sha256_hex;
pub use decision::{
    Decision, DetectInput, Detection, HookFacts, MAX_PROMPT_BYTES, MAX_QUESTION_BYTES,
    MAX_TEXT_BYTES, MAX_WAIT_MS, PromptKind, canonical_signal,
};
pub use error::{ManifestError, PluginError};
pub use host::{HOST_INTERFACE, PluginHost};
pub use limits::HostLimits;
pub use manifest::{
    Capabilities, HOOK_NAMES, Hooks, MANIFEST_FILE, Manifest, PluginLimits, SUPPORTED_APIS,
};
pub use session::PluginSession;

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
