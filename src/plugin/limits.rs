//! The host's ceilings. A manifest may ask for less, never for more.

use super::error::PluginError;

/// Maxima the host enforces on every plugin, and the defaults a manifest gets
/// when it names no limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLimits {
    /// Largest linear memory a plugin instance may grow to.
    pub max_memory_bytes: u64,
    /// Longest wall-clock time one hook call may take.
    pub max_deadline_ms: u64,
    /// Native stack for wasm frames. Wasmtime sets this per engine, so it is
    /// the effective cap for every plugin; a manifest may only declare less.
    pub max_stack_bytes: u64,
    /// Defaults for a manifest that names no limit.
    pub default_memory_bytes: u64,
    pub default_deadline_ms: u64,
    pub default_stack_bytes: u64,
}

pub const MIB: u64 = 1024 * 1024;
pub const KIB: u64 = 1024;

impl Default for HostLimits {
    fn default() -> Self {
        HostLimits {
            max_memory_bytes: 64 * MIB,
            max_deadline_ms: 1000,
            max_stack_bytes: 1024 * KIB,
            default_memory_bytes: 16 * MIB,
            default_deadline_ms: 100,
            default_stack_bytes: 512 * KIB,
        }
    }
}

impl HostLimits {
    pub(crate) fn check(&self) -> Result<(), PluginError> {
        let bad = |what: &str| Err(PluginError::HostConfig(what.to_string()));
        if self.max_memory_bytes == 0 || self.max_deadline_ms == 0 || self.max_stack_bytes == 0 {
            return bad("maxima must be positive");
        }
        // wasm32 linear memory cannot exceed 4 GiB, and wasmtime wants the
        // stack well below the thread's own stack.
        if self.max_memory_bytes > 4096 * MIB {
            return bad("max_memory_bytes exceeds 4 GiB");
        }
        if self.max_stack_bytes > 64 * MIB {
            return bad("max_stack_bytes exceeds 64 MiB");
        }
        if self.default_memory_bytes > self.max_memory_bytes
            || self.default_deadline_ms > self.max_deadline_ms
            || self.default_stack_bytes > self.max_stack_bytes
        {
            return bad("a default exceeds its maximum");
        }
        Ok(())
    }
}
