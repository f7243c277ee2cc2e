//! `PluginSession`: one plugin instance serving one REPL session.
//!
//! Every hook call runs under the plugin's deadline and memory cap. The first
//! misbehaviour (trap, timeout, memory cap, malformed or refused answer)
//! disables the plugin for this session: its instance is dropped, the reason
//! is logged, and every later call answers `PluginError::Disabled` so the
//! caller keeps using the preset's own rules.

use std::sync::Arc;

use wasmtime::{Store, Trap};

use super::decision::{
    Decision, DetectInput, Detection, HookFacts, Rejection, check_decision, check_detection,
};
use super::epoch::{Ticker, deadline_ticks};
use super::error::PluginError;
use super::host::Ready;
use super::manifest::PluginLimits;
use super::state::StoreState;
use super::wit::Bindings;

pub(super) struct Live {
    pub store: Store<StoreState>,
    pub bindings: Bindings,
}

pub struct PluginSession {
    ready: Arc<Ready>,
    ticker: Arc<Ticker>,
    /// `None` once disabled, which also frees the instance's memory.
    live: Option<Live>,
    disabled: Option<String>,
}

impl std::fmt::Debug for PluginSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginSession")
            .field("plugin", &self.plugin_id())
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// Turns a wasmtime error from a call into our error, telling a deadline, a
/// memory cap and a trap apart. Errors that are not traps come from lifting
/// the answer (bad pointers, invalid UTF-8, unknown discriminants).
pub(super) fn classify(
    plugin: &str,
    limits: PluginLimits,
    hook: &'static str,
    error: wasmtime::Error,
    store: &Store<StoreState>,
) -> PluginError {
    let plugin = plugin.to_string();
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PluginError::Timeout {
            plugin,
            hook,
            deadline_ms: limits.deadline_ms,
        },
        _ if store.data().memory_denied => PluginError::MemoryCap {
            plugin,
            hook,
            cap_bytes: limits.memory_bytes,
        },
        Some(trap) => PluginError::Trap {
            plugin,
            hook,
            message: trap.to_string(),
        },
        None => PluginError::Malformed {
            plugin,
            hook,
            message: format!("{error:#}"),
        },
    }
}

/// The recovery hooks a strategy plugin may export (the one list: session
/// recovery picks one of these and calls [`PluginSession::on_hook`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Timeout,
    Exit,
    StartupFailure,
}

impl Hook {
    pub fn name(self) -> &'static str {
        match self {
            Hook::Timeout => "on-timeout",
            Hook::Exit => "on-exit",
            Hook::StartupFailure => "on-startup-failure",
        }
    }
}

impl PluginSession {
    pub(super) fn new(live: Live, ready: Arc<Ready>, ticker: Arc<Ticker>) -> PluginSession {
        PluginSession {
            ready,
            ticker,
            live: Some(live),
            disabled: None,
        }
    }

    pub fn plugin_id(&self) -> &str {
        &self.ready.manifest.id
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled.is_some()
    }

    /// Why the plugin was disabled, if it was.
    pub fn disabled_reason(&self) -> Option<&str> {
        self.disabled.as_deref()
    }

    /// Runs one hook under the deadline; a failure disables the plugin.
    fn call<R>(
        &mut self,
        hook: &'static str,
        f: impl FnOnce(&Bindings, &mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let limits = self.ready.manifest.limits;
        let Some(live) = self.live.as_mut() else {
            return Err(self.disabled_error());
        };
        live.store.data_mut().begin_call();
        live.store
            .set_epoch_deadline(deadline_ticks(limits.deadline_ms));
        let guard = self.ticker.enter();
        let result = f(&live.bindings, &mut live.store);
        drop(guard);
        match result {
            Ok(r) => Ok(r),
            Err(e) => {
                let err = classify(&self.ready.manifest.id, limits, hook, e, &live.store);
                Err(self.disable(err))
            }
        }
    }

    fn disabled_error(&self) -> PluginError {
        PluginError::Disabled {
            plugin: self.plugin_id().to_string(),
            reason: self
                .disabled
                .clone()
                .unwrap_or_else(|| "disabled".to_string()),
        }
    }

    /// Disables the plugin for this session, logs why, and hands the error
    /// back for the caller.
    fn disable(&mut self, err: PluginError) -> PluginError {
        tracing::warn!(plugin = self.plugin_id(), error = %err, "plugin disabled for this session; falling back to the preset's rules");
        self.disabled = Some(err.to_string());
        self.live = None;
        err
    }

    fn reject(&mut self, hook: &'static str, r: Rejection) -> PluginError {
        let plugin = self.plugin_id().to_string();
        let err = match r {
            Rejection::Malformed(message) => PluginError::Malformed {
                plugin,
                hook,
                message,
            },
            Rejection::Refused { decision, reason } => PluginError::Refused {
                plugin,
                hook,
                decision,
                reason,
            },
        };
        self.disable(err)
    }

    /// Classifies the screen. `Ok(None)`: the plugin has no opinion (or does
    /// not export this hook).
    pub fn detect_prompt(
        &mut self,
        input: &DetectInput<'_>,
    ) -> Result<Option<Detection>, PluginError> {
        if self.disabled.is_some() {
            return Err(self.disabled_error());
        }
        if !self.ready.manifest.hooks.detect_prompt {
            return Ok(None);
        }
        const HOOK: &str = "detect-prompt";
        let Some(detection) = self.call(HOOK, |b, s| b.detect_prompt(s, input))? else {
            return Ok(None);
        };
        check_detection(&detection).map_err(|r| self.reject(HOOK, r))?;
        Ok(Some(detection))
    }

    /// The current command ran past its timeout.
    pub fn on_timeout(&mut self, facts: &HookFacts) -> Result<Option<Decision>, PluginError> {
        self.decide(Hook::Timeout, facts)
    }

    /// The REPL exited.
    pub fn on_exit(&mut self, facts: &HookFacts) -> Result<Option<Decision>, PluginError> {
        self.decide(Hook::Exit, facts)
    }

    /// The REPL did not reach its first prompt.
    pub fn on_startup_failure(
        &mut self,
        facts: &HookFacts,
    ) -> Result<Option<Decision>, PluginError> {
        self.decide(Hook::StartupFailure, facts)
    }

    /// Any recovery hook, by its name in [`Hook`].
    pub fn on_hook(
        &mut self,
        hook: Hook,
        facts: &HookFacts,
    ) -> Result<Option<Decision>, PluginError> {
        self.decide(hook, facts)
    }

    fn decide(&mut self, hook: Hook, facts: &HookFacts) -> Result<Option<Decision>, PluginError> {
        if self.disabled.is_some() {
            return Err(self.disabled_error());
        }
        let hooks = self.ready.manifest.hooks;
        let exported = match hook {
            Hook::Timeout => hooks.on_timeout,
            Hook::Exit => hooks.on_exit,
            Hook::StartupFailure => hooks.on_startup_failure,
        };
        if !exported {
            return Ok(None);
        }
        let name = hook.name();
        let answer = self.call(name, |b, s| match hook {
            Hook::Timeout => b.on_timeout(s, facts),
            Hook::Exit => b.on_exit(s, facts),
            Hook::StartupFailure => b.on_startup_failure(s, facts),
        })?;
        let Some(d) = answer else { return Ok(None) };
        let ready = Arc::clone(&self.ready);
        match check_decision(d, &ready.manifest.capabilities, &ready.input_patterns) {
            Ok(d) => {
                tracing::debug!(plugin = self.plugin_id(), hook = name, decision = %d.label(), "plugin decision");
                Ok(Some(d))
            }
            Err(r) => Err(self.reject(name, r)),
        }
    }
}
