//! What the plugin-host tests share: a host with the built-ins, fixture
//! loading, and the inputs a python session would give a plugin.
#![allow(dead_code)]

use std::collections::BTreeMap;

use repl_mcp::plugin::{
    DetectInput, HookFacts, HostLimits, PluginError, PluginHost, PluginSession,
};

use super::wat::{Bodies, component, manifest};

pub fn host() -> PluginHost {
    let host = PluginHost::new(HostLimits::default()).expect("host");
    host.add_builtins().expect("builtins");
    host
}

/// Loads a WAT fixture under `id` with extra manifest text.
pub fn load(
    host: &PluginHost,
    id: &str,
    bodies: &Bodies,
    extra: &str,
) -> Result<String, PluginError> {
    let wat = component(bodies);
    host.load_bytes(&manifest(id, wat.as_bytes(), extra), wat.as_bytes())
}

pub fn session(host: &PluginHost, id: &str) -> PluginSession {
    host.instantiate(id, &BTreeMap::new()).expect("instantiate")
}

pub const SCREEN: &str = "Python 3.12\n>>> ";

pub fn input() -> DetectInput<'static> {
    DetectInput {
        screen: SCREEN,
        cursor_row: 1,
        cursor_col: 4,
        cursor_line: ">>> ",
        recent_output: ">>> ",
        alternate_screen: false,
        preset: "python",
        ..Default::default()
    }
}

pub fn facts(state: &str) -> HookFacts {
    HookFacts {
        preset: "python".into(),
        state: state.into(),
        elapsed_ms: 10_000,
        screen: SCREEN.into(),
        recent_output: String::new(),
        exit_code: None,
        restarts: 0,
        last_input: "1+1\n".into(),
        ..Default::default()
    }
}

pub fn python_settings() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("ready".to_string(), "^>>> $".to_string()),
        ("continuation".to_string(), "^\\.\\.\\. $".to_string()),
    ])
}
