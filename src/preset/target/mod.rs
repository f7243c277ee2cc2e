//! Targets: where a preset's program runs. A target wraps any preset's
//! command — `ssh -tt … -- host <command>`, `docker exec -it … <command>`,
//! `kubectl exec -it … -- <command>` — with parameters that become argv
//! elements, never a shell string (decision 15).

pub(crate) mod failure;
pub mod loopback;
mod registry;
mod shell_line;
mod wrap;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::params::{Parameters, is_name};

pub use failure::{FailureRule, ended_through};
pub use registry::{LoadedTarget, TargetRegistry};
pub use shell_line::{RC_DIR, quote};
pub use wrap::{Inner, RemoteRc, Wrapped};

/// One target file: how to run a program elsewhere.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Identifier used in `create_session { target }`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The argv that reaches the other machine; the preset's command is
    /// added after it. An element may be a list: that group of elements is
    /// left out when one of its parameters has no value (`["-p", "{port}"]`).
    /// A group holding `{@env}` is repeated for each of the preset's
    /// environment variables (`NAME=value`); one holding `{@cwd}` carries
    /// the preset's directory. Without them, both travel in the command.
    pub command: Vec<ArgvItem>,
    /// How the preset's command is handed over.
    #[serde(default)]
    pub remote: RemoteMode,
    /// Environment of the local program (e.g. `KUBECONFIG`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Added to the preset's start-up timeout (connecting takes time).
    #[serde(default)]
    pub startup_timeout_ms: u64,
    /// Values the agent gives in `create_session { parameters }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: Parameters,
    /// What the program's last words mean when it cannot connect, tried in
    /// order (first match wins).
    #[serde(default, rename = "failure", skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<FailureRule>,
}

/// An argv element, or a group of them kept or left out together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ArgvItem {
    One(String),
    Group(Vec<String>),
}

/// How the preset's command reaches the program on the other side.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RemoteMode {
    /// As argv elements after the target's command (docker, kubectl). When
    /// a directory or a shell's prompt set-up must travel too, the command
    /// runs under `sh -c` with a fixed script.
    #[default]
    Argv,
    /// As one POSIX shell command line, every element quoted (ssh joins its
    /// remote arguments into one string for the remote login shell).
    Shell,
}

/// `{@env}` in a group: one `NAME=value` of the preset's environment.
pub const ENV_SLOT: &str = "{@env}";
/// `{@cwd}` in a group: the preset's directory.
pub const CWD_SLOT: &str = "{@cwd}";

impl ArgvItem {
    pub fn elements(&self) -> &[String] {
        match self {
            ArgvItem::One(s) => std::slice::from_ref(s),
            ArgvItem::Group(g) => g,
        }
    }
}

impl Target {
    pub fn display_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }

    /// The program run on this machine (checked in PATH here).
    pub fn program(&self) -> Option<&str> {
        match self.command.first()? {
            ArgvItem::One(p) => Some(p),
            ArgvItem::Group(_) => None,
        }
    }

    /// Check what serde cannot, naming the key. Placeholders are checked
    /// against the source text by [`crate::preset::templates`].
    pub fn validate(&self, file: &str) -> Result<(), super::PresetError> {
        let invalid = |key: &str, message: String| super::PresetError::InvalidTarget {
            file: file.to_string(),
            target: self.name.clone(),
            key: key.to_string(),
            message,
        };
        if !is_definition_name(&self.name) {
            return Err(invalid(
                "name",
                "use only letters, digits, `_`, `-` and `.`".into(),
            ));
        }
        match self.command.first() {
            None => return Err(invalid("command", "give the argv to run".into())),
            Some(ArgvItem::Group(_)) => {
                return Err(invalid(
                    "command[0]",
                    "the program must be a plain string".into(),
                ));
            }
            Some(ArgvItem::One(p)) if p.contains('{') => {
                return Err(invalid(
                    "command[0]",
                    "the program cannot come from a parameter".into(),
                ));
            }
            Some(_) => {}
        }
        for (i, item) in self.command.iter().enumerate() {
            if let ArgvItem::Group(g) = item {
                if g.is_empty() {
                    return Err(invalid(&format!("command[{i}]"), "empty group".into()));
                }
                let slots = g
                    .iter()
                    .filter(|e| e.contains(ENV_SLOT) || e.contains(CWD_SLOT))
                    .count();
                if slots > 1 {
                    return Err(invalid(
                        &format!("command[{i}]"),
                        "a group holds at most one `{@env}` or `{@cwd}`".into(),
                    ));
                }
            } else if let ArgvItem::One(s) = item
                && (s.contains(ENV_SLOT) || s.contains(CWD_SLOT))
            {
                return Err(invalid(
                    &format!("command[{i}]"),
                    "`{@env}` and `{@cwd}` belong in a group, e.g. [\"--env\", \"{@env}\"]".into(),
                ));
            }
        }
        for key in self.env.keys() {
            if !is_name(key) {
                return Err(invalid(
                    &format!("env.{key}"),
                    "not a valid variable name".into(),
                ));
            }
        }
        for (name, p) in &self.parameters {
            if !is_name(name) {
                return Err(invalid(
                    &format!("parameters.{name}"),
                    "a parameter name is a letter or `_`, then letters, digits and `_`".into(),
                ));
            }
            p.validate()
                .map_err(|(k, m)| invalid(&format!("parameters.{name}.{k}"), m))?;
        }
        for (i, f) in self.failures.iter().enumerate() {
            f.validate()
                .map_err(|m| invalid(&format!("failure[{i}].output"), m))?;
        }
        Ok(())
    }

    /// Where a session runs, for titles and lists: `ssh host=db1 user=me`.
    pub fn label(&self, values: &BTreeMap<String, String>) -> String {
        let mut label = self.name.clone();
        for name in self.parameters.keys() {
            if let Some(v) = values.get(name) {
                label.push_str(&format!(" {name}={v}"));
            }
        }
        label
    }
}

/// Names of presets and targets.
pub fn is_definition_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// The key that makes a terminal send `signal` (Ctrl-C, Ctrl-\, Ctrl-Z):
/// through a target the wrapper forwards the byte to the other side's
/// terminal, which signals the program there.
pub fn signal_key(signal: i32) -> Option<u8> {
    match signal {
        libc::SIGINT => Some(0x03),
        libc::SIGQUIT => Some(0x1c),
        libc::SIGTSTP => Some(0x1a),
        _ => None,
    }
}
