//! The data each plugin `Store` carries: resource limits and the log budget.

use std::sync::Arc;

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use super::wit::LogLevel;

/// Longest log message kept from a plugin; the rest is cut.
pub const MAX_LOG_BYTES: usize = 1024;
/// Log lines a plugin may write per hook call; the rest are counted, not written.
pub const LOG_LINES_PER_CALL: u32 = 16;

pub struct StoreState {
    plugin: Arc<str>,
    limits: StoreLimits,
    memory_cap: usize,
    /// Bytes of linear memory across all of the instance's memories: a
    /// component may hold several core modules, each with its own memory, and
    /// the cap is for the plugin as a whole.
    memory_total: usize,
    /// Set when a growth was denied, to tell a memory bomb from other traps.
    pub memory_denied: bool,
    logs_left: u32,
    logs_dropped: u32,
}

impl StoreState {
    pub fn new(plugin: Arc<str>, memory_cap: u64) -> StoreState {
        let memory_cap = usize::try_from(memory_cap).unwrap_or(usize::MAX);
        StoreState {
            plugin,
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_cap)
                .table_elements(100_000)
                .instances(64)
                .tables(64)
                .memories(8)
                .trap_on_grow_failure(true)
                .build(),
            memory_cap,
            memory_total: 0,
            memory_denied: false,
            logs_left: LOG_LINES_PER_CALL,
            logs_dropped: 0,
        }
    }

    /// Resets the per-call log budget, reporting what the last call dropped.
    pub fn begin_call(&mut self) {
        if self.logs_dropped > 0 {
            tracing::warn!(plugin = %self.plugin, dropped = self.logs_dropped, "plugin log lines dropped (rate limit)");
        }
        self.logs_left = LOG_LINES_PER_CALL;
        self.logs_dropped = 0;
    }
}

impl ResourceLimiter for StoreState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .memory_total
            .saturating_add(desired.saturating_sub(current));
        if total > self.memory_cap {
            self.memory_denied = true;
            wasmtime::bail!("plugin memory cap of {} bytes reached", self.memory_cap);
        }
        match self.limits.memory_growing(current, desired, maximum) {
            Ok(true) => {
                self.memory_total = total;
                Ok(true)
            }
            other => {
                self.memory_denied = true;
                other
            }
        }
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_denied = true;
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl StoreState {
    /// The host interface's `log`, whichever API version called it.
    pub fn log(&mut self, level: LogLevel, message: String) {
        if self.logs_left == 0 {
            self.logs_dropped = self.logs_dropped.saturating_add(1);
            return;
        }
        self.logs_left -= 1;
        let msg = cut(&message, MAX_LOG_BYTES);
        let plugin = &*self.plugin;
        // Plugin text goes to the log as a field (not as the event message), which
        // the formatter quotes and escapes,
        // so it cannot forge log lines.
        match level {
            LogLevel::Trace => tracing::trace!(plugin, text = msg, "plugin log"),
            LogLevel::Debug => tracing::debug!(plugin, text = msg, "plugin log"),
            LogLevel::Info => tracing::info!(plugin, text = msg, "plugin log"),
            LogLevel::Warn => tracing::warn!(plugin, text = msg, "plugin log"),
            LogLevel::Error => tracing::error!(plugin, text = msg, "plugin log"),
        }
    }
}
