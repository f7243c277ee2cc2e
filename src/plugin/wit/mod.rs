//! The plugin interface, one version at a time: one WIT folder
//! (`plugins/wit/<version>/`) and one host binding module per version, the
//! way Zed serves its extension API. The manifest's `api` picks the
//! binding; a plugin built against 0.1 keeps working next to 0.2 ones.
//!
//! Each binding module converts between its generated types and the host's
//! own (`DetectInput`, `HookFacts`, `Decision`, …), so nothing outside this
//! folder knows which version a plugin speaks.

use wasmtime::Store;
use wasmtime::component::{HasSelf, InstancePre, Linker};

use super::decision::{Decision, DetectInput, Detection, HookFacts};
use super::state::StoreState;

/// A plugin's log level, whichever version it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// What every version module has alike: the host's `log`, the conversions
/// of the types that did not change, and the hook exports as values.
macro_rules! shared_glue {
    () => {
        impl self::repl_mcp::plugin::host::Host for StoreState {
            fn log(&mut self, level: self::repl_mcp::plugin::host::LogLevel, message: String) {
                use self::repl_mcp::plugin::host::LogLevel as L;
                let level = match level {
                    L::Trace => super::LogLevel::Trace,
                    L::Debug => super::LogLevel::Debug,
                    L::Info => super::LogLevel::Info,
                    L::Warn => super::LogLevel::Warn,
                    L::Error => super::LogLevel::Error,
                };
                StoreState::log(self, level, message);
            }
        }

        fn prompt_kind(kind: self::PromptKind) -> host::PromptKind {
            match kind {
                self::PromptKind::Ready => host::PromptKind::Ready,
                self::PromptKind::Continuation => host::PromptKind::Continuation,
                self::PromptKind::Busy => host::PromptKind::Busy,
                self::PromptKind::AwaitingInput => host::PromptKind::AwaitingInput,
            }
        }

        fn decision(d: self::Decision) -> host::Decision {
            match d {
                self::Decision::Wait(ms) => host::Decision::Wait { ms },
                self::Decision::SendInput(text) => host::Decision::SendInput { text },
                self::Decision::SendSignal(name) => host::Decision::SendSignal { name },
                self::Decision::SetReady(pattern) => host::Decision::SetReady { pattern },
                self::Decision::Restart => host::Decision::Restart,
                self::Decision::MarkFailed(reason) => host::Decision::MarkFailed { reason },
                self::Decision::AskLlm(q) => host::Decision::AskLlm {
                    question: q.question,
                    question_type: q.question_type,
                },
            }
        }

        /// Which export a hook call goes to.
        pub type HookExport = fn(
            &Strategy,
            &mut Store<StoreState>,
            self::HookFacts<'_>,
        ) -> wasmtime::Result<Option<self::Decision>>;

        pub const ON_TIMEOUT: HookExport = |b, s, f| b.call_on_timeout(s, f);
        pub const ON_EXIT: HookExport = |b, s, f| b.call_on_exit(s, f);
        pub const ON_STARTUP_FAILURE: HookExport = |b, s, f| b.call_on_startup_failure(s, f);
    };
}

mod since_v0_1;
mod since_v0_2;

/// A version of the plugin interface, as named by a manifest's `api`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    V0_1,
    V0_2,
}

impl ApiVersion {
    /// Every version this host serves, oldest first.
    pub const ALL: [ApiVersion; 2] = [ApiVersion::V0_1, ApiVersion::V0_2];
    /// What new plugins are built against.
    pub const LATEST: ApiVersion = ApiVersion::V0_2;

    pub fn parse(api: &str) -> Option<ApiVersion> {
        ApiVersion::ALL.into_iter().find(|v| v.as_str() == api)
    }

    /// As written in a manifest: `0.1`, `0.2`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V0_1 => "0.1",
            ApiVersion::V0_2 => "0.2",
        }
    }

    /// The one import a plugin of this version may have.
    pub fn host_interface(self) -> &'static str {
        match self {
            ApiVersion::V0_1 => since_v0_1::HOST_INTERFACE,
            ApiVersion::V0_2 => since_v0_2::HOST_INTERFACE,
        }
    }
}

/// Links the host interface of every version.
pub(super) fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    since_v0_1::Strategy::add_to_linker::<StoreState, HasSelf<StoreState>>(linker, |s| s)?;
    since_v0_2::Strategy::add_to_linker::<StoreState, HasSelf<StoreState>>(linker, |s| s)?;
    Ok(())
}

/// A component linked and type-checked against its version's world.
pub(super) enum StrategyPre {
    V0_1(since_v0_1::StrategyPre<StoreState>),
    V0_2(since_v0_2::StrategyPre<StoreState>),
}

impl StrategyPre {
    /// Checks that the component's exports match `api`'s world.
    pub fn new(api: ApiVersion, pre: InstancePre<StoreState>) -> wasmtime::Result<StrategyPre> {
        Ok(match api {
            ApiVersion::V0_1 => StrategyPre::V0_1(since_v0_1::StrategyPre::new(pre)?),
            ApiVersion::V0_2 => StrategyPre::V0_2(since_v0_2::StrategyPre::new(pre)?),
        })
    }

    pub fn instantiate(&self, store: &mut Store<StoreState>) -> wasmtime::Result<Bindings> {
        Ok(match self {
            StrategyPre::V0_1(p) => Bindings::V0_1(p.instantiate(store)?),
            StrategyPre::V0_2(p) => Bindings::V0_2(p.instantiate(store)?),
        })
    }
}

/// A live instance's exports.
pub(super) enum Bindings {
    V0_1(since_v0_1::Strategy),
    V0_2(since_v0_2::Strategy),
}

impl Bindings {
    pub fn init(
        &self,
        store: &mut Store<StoreState>,
        settings: &[(&str, &str)],
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            Bindings::V0_1(b) => b.call_init(store, settings),
            Bindings::V0_2(b) => b.call_init(store, settings),
        }
    }

    pub fn detect_prompt(
        &self,
        store: &mut Store<StoreState>,
        input: &DetectInput<'_>,
    ) -> wasmtime::Result<Option<Detection>> {
        match self {
            Bindings::V0_1(b) => since_v0_1::detect_prompt(b, store, input),
            Bindings::V0_2(b) => since_v0_2::detect_prompt(b, store, input),
        }
    }

    pub fn on_timeout(
        &self,
        store: &mut Store<StoreState>,
        facts: &HookFacts,
    ) -> wasmtime::Result<Option<Decision>> {
        match self {
            Bindings::V0_1(b) => since_v0_1::hook(since_v0_1::ON_TIMEOUT, b, store, facts),
            Bindings::V0_2(b) => since_v0_2::hook(since_v0_2::ON_TIMEOUT, b, store, facts),
        }
    }

    pub fn on_exit(
        &self,
        store: &mut Store<StoreState>,
        facts: &HookFacts,
    ) -> wasmtime::Result<Option<Decision>> {
        match self {
            Bindings::V0_1(b) => since_v0_1::hook(since_v0_1::ON_EXIT, b, store, facts),
            Bindings::V0_2(b) => since_v0_2::hook(since_v0_2::ON_EXIT, b, store, facts),
        }
    }

    pub fn on_startup_failure(
        &self,
        store: &mut Store<StoreState>,
        facts: &HookFacts,
    ) -> wasmtime::Result<Option<Decision>> {
        match self {
            Bindings::V0_1(b) => since_v0_1::hook(since_v0_1::ON_STARTUP_FAILURE, b, store, facts),
            Bindings::V0_2(b) => since_v0_2::hook(since_v0_2::ON_STARTUP_FAILURE, b, store, facts),
        }
    }
}
