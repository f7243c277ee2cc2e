//! The policy file as written: serde structures that mirror the TOML, with
//! every key optional so that a user's file can be laid over the built-in
//! defaults section by section and key by key.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// What to do with a call to a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Let the call through (subject to its rate limit).
    Allow,
    /// Refuse the call.
    Deny,
    /// Ask the person first (MCP elicitation); refuse when the client cannot ask.
    RequireApproval,
}

impl Action {
    /// The spelling used in the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
            Action::RequireApproval => "require_approval",
        }
    }
}

/// Whether a strategy's question may be put to the client's model (MCP
/// sampling), and whether a person approves its answer first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplingMode {
    /// Never ask the client's model.
    Off,
    /// Ask it, and let a person approve its answer before it is carried out.
    Ask,
    /// Ask it and carry out its answer under the same rules as the agent's.
    On,
}

/// The built-in defaults, also shown in full in `docs/policy.md`.
pub const DEFAULT_POLICY_TOML: &str = include_str!("default_policy.toml");

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    #[serde(default)]
    pub default: Option<RawToolRule>,
    #[serde(default)]
    pub tools: BTreeMap<Spanned<String>, RawToolRule>,
    #[serde(default)]
    pub sessions: RawSessions,
    #[serde(default)]
    pub presets: RawPresets,
    #[serde(default)]
    pub custom_commands: RawCustomCommands,
    #[serde(default)]
    pub input: RawInput,
    #[serde(default)]
    pub audit: RawAudit,
    #[serde(default)]
    pub sampling: RawSampling,
    #[serde(default)]
    pub targets: super::targets::RawTargets,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSampling {
    pub mode: Option<SamplingMode>,
    pub timeout_seconds: Option<Spanned<u64>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawToolRule {
    #[serde(default = "allow")]
    pub action: Action,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub rate_limit: Option<Spanned<RawRateLimit>>,
}

fn allow() -> Action {
    Action::Allow
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateLimit {
    pub max: u32,
    pub window: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSessions {
    pub max_concurrent: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPresets {
    pub allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCustomCommands {
    pub allow: Option<Vec<Spanned<String>>>,
    pub deny: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInput {
    pub deny: Option<Vec<Spanned<String>>>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAudit {
    pub enabled: Option<bool>,
    pub path: Option<Spanned<String>>,
    pub max_bytes: Option<Spanned<u64>>,
    pub keep: Option<u32>,
}

/// Which source text a value came from: the user's file or the built-in one.
/// Spans are only meaningful against the text they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    User,
    BuiltIn,
}

/// A value together with the layer it came from.
#[derive(Debug, Clone)]
pub(crate) struct Layered<T> {
    pub layer: Layer,
    pub value: T,
}

fn pick<T>(user: Option<T>, builtin: Option<T>) -> Option<Layered<T>> {
    match (user, builtin) {
        (Some(value), _) => Some(Layered {
            layer: Layer::User,
            value,
        }),
        (None, Some(value)) => Some(Layered {
            layer: Layer::BuiltIn,
            value,
        }),
        (None, None) => None,
    }
}

/// The user's file laid over the built-in defaults.
#[derive(Debug, Clone)]
pub(crate) struct Merged {
    pub default: Option<Layered<RawToolRule>>,
    pub tools: Vec<(Spanned<String>, Layered<RawToolRule>)>,
    pub max_concurrent: Option<Layered<usize>>,
    pub presets_allow: Option<Layered<Vec<String>>>,
    pub presets_deny: Option<Layered<Vec<String>>>,
    pub custom_allow: Option<Layered<Vec<Spanned<String>>>>,
    pub custom_deny: Option<Layered<Vec<Spanned<String>>>>,
    pub input_deny: Option<Layered<Vec<Spanned<String>>>>,
    pub input_reason: Option<String>,
    pub audit_enabled: Option<bool>,
    pub audit_path: Option<Layered<Spanned<String>>>,
    pub audit_max_bytes: Option<Layered<Spanned<u64>>>,
    pub audit_keep: Option<u32>,
    pub sampling_mode: Option<SamplingMode>,
    pub sampling_timeout: Option<Layered<Spanned<u64>>>,
}

pub(crate) fn merge(user: RawPolicy, builtin: RawPolicy) -> Merged {
    let mut tools: BTreeMap<String, (Spanned<String>, Layered<RawToolRule>)> = BTreeMap::new();
    for (name, rule) in builtin.tools {
        let value = Layered {
            layer: Layer::BuiltIn,
            value: rule,
        };
        tools.insert(name.get_ref().clone(), (name, value));
    }
    for (name, rule) in user.tools {
        let value = Layered {
            layer: Layer::User,
            value: rule,
        };
        tools.insert(name.get_ref().clone(), (name, value));
    }
    Merged {
        default: pick(user.default, builtin.default),
        tools: tools.into_values().collect(),
        max_concurrent: pick(
            user.sessions.max_concurrent,
            builtin.sessions.max_concurrent,
        ),
        presets_allow: pick(user.presets.allow, builtin.presets.allow),
        presets_deny: pick(user.presets.deny, builtin.presets.deny),
        custom_allow: pick(user.custom_commands.allow, builtin.custom_commands.allow),
        custom_deny: pick(user.custom_commands.deny, builtin.custom_commands.deny),
        input_deny: pick(user.input.deny, builtin.input.deny),
        input_reason: user.input.reason.or(builtin.input.reason),
        audit_enabled: user.audit.enabled.or(builtin.audit.enabled),
        audit_path: pick(user.audit.path, builtin.audit.path),
        audit_max_bytes: pick(user.audit.max_bytes, builtin.audit.max_bytes),
        audit_keep: user.audit.keep.or(builtin.audit.keep),
        sampling_mode: user.sampling.mode.or(builtin.sampling.mode),
        sampling_timeout: pick(
            user.sampling.timeout_seconds,
            builtin.sampling.timeout_seconds,
        ),
    }
}
