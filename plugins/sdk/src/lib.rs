//! The guest SDK for repl-mcp plugins.
//!
//! A plugin implements [`Plugin`] and names its type once:
//!
//! ```ignore
//! use repl_mcp_plugin_sdk::*;
//!
//! struct Pager;
//!
//! impl Plugin for Pager {
//!     fn init(_settings: &Settings) -> Result<Self, String> {
//!         Ok(Pager)
//!     }
//!     fn on_timeout(&mut self, facts: &HookFacts) -> Option<Decision> {
//!         facts.screen.contains("(END)").then(|| Decision::SendInput("q".into()))
//!     }
//! }
//!
//! export_plugin!(Pager);
//! ```
//!
//! Build it with `repl-mcp plugin build DIR` (see `plugins/README.md`). The
//! host calls `init` once per REPL session, then the hooks; every hook has a
//! default that answers "no opinion".
//!
//! This SDK speaks the plugin interface 0.2 (`wit/0.2/plugin.wit`): besides
//! the screen, every hook sees [`SessionFacts`] — what the kernel says about
//! the terminal (echo, canonical mode, the foreground program, whether it
//! reads the terminal), the session's target and parameters, and the time
//! since the last input.

// Lets the generated code name this crate by its absolute path, which is
// also how it is named from a plugin crate when `export_plugin!` expands.
extern crate self as repl_mcp_plugin_sdk;

#[doc(hidden)]
pub use wit_bindgen;

#[doc(hidden)]
// The generated glue flattens WIT records into many parameters.
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/0.2",
        world: "strategy",
        pub_export_macro: true,
        export_macro_name: "__export_strategy",
        default_bindings_module: "::repl_mcp_plugin_sdk::bindings",
        runtime_path: "::repl_mcp_plugin_sdk::wit_bindgen::rt",
        // Lets plugin tests compare answers with `assert_eq!`.
        additional_derives: [PartialEq],
    });
}

mod facts;
mod settings;
mod text;

pub use bindings::{
    Decision, DetectInput, Detection, Foreground, HookFacts, KernelFacts, LlmQuestion, PromptKind,
    SessionFacts,
};
pub use settings::Settings;
pub use text::{last_line, screen_tail};

/// A plugin: built once per REPL session by [`Plugin::init`], then asked.
///
/// Every hook answers `None` ("no opinion") unless overridden; list the
/// hooks you implement in `plugin.toml` (`hooks = [...]`) so the host calls
/// them.
pub trait Plugin: Sized + 'static {
    /// Builds the plugin from its settings (manifest defaults overridden by
    /// the preset's). An `Err` tells the host to run without the plugin.
    fn init(settings: &Settings) -> Result<Self, String>;

    /// Classifies the screen after each chunk of output.
    fn detect_prompt(&mut self, _input: &DetectInput) -> Option<Detection> {
        None
    }

    /// The current command ran past its timeout.
    fn on_timeout(&mut self, _facts: &HookFacts) -> Option<Decision> {
        None
    }

    /// The REPL exited.
    fn on_exit(&mut self, _facts: &HookFacts) -> Option<Decision> {
        None
    }

    /// The REPL did not reach its first prompt.
    fn on_startup_failure(&mut self, _facts: &HookFacts) -> Option<Decision> {
        None
    }
}

/// Writes to the server's log (its stderr). The host cuts long messages and
/// drops lines past a small per-call budget.
pub mod log {
    use crate::bindings::repl_mcp::plugin::host::{LogLevel, log};

    pub fn debug(message: &str) {
        log(LogLevel::Debug, message);
    }
    pub fn info(message: &str) {
        log(LogLevel::Info, message);
    }
    pub fn warn(message: &str) {
        log(LogLevel::Warn, message);
    }
    pub fn error(message: &str) {
        log(LogLevel::Error, message);
    }
}

/// A question for the agent, as a decision.
pub fn ask_llm(question: impl Into<String>, question_type: impl Into<String>) -> Decision {
    Decision::AskLlm(LlmQuestion {
        question: question.into(),
        question_type: question_type.into(),
    })
}

#[doc(hidden)]
pub mod __private {
    use core::cell::RefCell;

    use crate::{Plugin, Settings};

    /// The plugin value of this instance. The host gives each REPL session
    /// its own instance, and a wasm32 guest is single-threaded, so one
    /// global slot is exactly one plugin per session.
    pub struct Slot<P>(RefCell<Option<P>>);

    // SAFETY: wasm32-unknown-unknown guests have one thread; the slot is
    // never touched from another.
    unsafe impl<P> Sync for Slot<P> {}

    impl<P: Plugin> Slot<P> {
        #[allow(clippy::new_without_default)]
        pub const fn new() -> Self {
            Slot(RefCell::new(None))
        }

        pub fn init(&self, settings: Vec<(String, String)>) -> Result<(), String> {
            let plugin = P::init(&Settings::new(settings))?;
            *self.0.borrow_mut() = Some(plugin);
            Ok(())
        }

        /// Runs `f` on the plugin; `None` if `init` has not succeeded.
        pub fn with<R>(&self, f: impl FnOnce(&mut P) -> Option<R>) -> Option<R> {
            let mut slot = self.0.try_borrow_mut().ok()?;
            f(slot.as_mut()?)
        }
    }
}

/// Exports `$ty` (a [`Plugin`]) as the component's implementation.
#[macro_export]
macro_rules! export_plugin {
    ($ty:ty) => {
        const _: () = {
            static __REPL_MCP_PLUGIN: $crate::__private::Slot<$ty> = $crate::__private::Slot::new();

            struct __ReplMcpPluginExport;

            impl $crate::bindings::Guest for __ReplMcpPluginExport {
                fn init(settings: ::std::vec::Vec<(::std::string::String, ::std::string::String)>) -> ::core::result::Result<(), ::std::string::String> {
                    __REPL_MCP_PLUGIN.init(settings)
                }
                fn detect_prompt(input: $crate::DetectInput) -> ::core::option::Option<$crate::Detection> {
                    __REPL_MCP_PLUGIN.with(|p| $crate::Plugin::detect_prompt(p, &input))
                }
                fn on_timeout(facts: $crate::HookFacts) -> ::core::option::Option<$crate::Decision> {
                    __REPL_MCP_PLUGIN.with(|p| $crate::Plugin::on_timeout(p, &facts))
                }
                fn on_exit(facts: $crate::HookFacts) -> ::core::option::Option<$crate::Decision> {
                    __REPL_MCP_PLUGIN.with(|p| $crate::Plugin::on_exit(p, &facts))
                }
                fn on_startup_failure(facts: $crate::HookFacts) -> ::core::option::Option<$crate::Decision> {
                    __REPL_MCP_PLUGIN.with(|p| $crate::Plugin::on_startup_failure(p, &facts))
                }
            }

            $crate::bindings::__export_strategy!(__ReplMcpPluginExport with_types_in $crate::bindings);
        };
    };
}
