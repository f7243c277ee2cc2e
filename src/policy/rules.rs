//! The merged policy turned into rules ready to apply: regexes compiled,
//! limits checked, paths resolved. Every error names where the value was written.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use regex::{Regex, RegexBuilder};
use toml::Spanned;

use super::audit::AuditConfig;
use super::config::{Action, Layer, Layered, Merged, RawToolRule, SamplingMode};
use super::error::{Location, PolicyError, invalid_at};
use super::paths::{default_audit_path, resolve_config_path};
use super::rate::RateLimit;

/// Largest `rate_limit.max`: each allowed call in a window keeps an instant.
const MAX_RATE: u32 = 100_000;
/// Smallest `audit.max_bytes` other than 0 (one line can be about 2 KiB).
const MIN_AUDIT_BYTES: u64 = 4096;
/// Longest wait for a client's model (`sampling.timeout_seconds`).
const MAX_SAMPLING_SECS: u64 = 600;
/// Compiled size limit per regex.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone)]
pub(crate) struct ToolRule {
    /// `tools.NAME` or `default`.
    pub key: String,
    pub action: Action,
    pub reason: Option<String>,
    pub rate: Option<RateLimit>,
}

#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// `input.deny[3]`.
    pub key: String,
    /// As written.
    pub source: String,
    pub regex: Regex,
}

#[derive(Debug)]
pub(crate) struct Rules {
    pub default_rule: ToolRule,
    pub tools: HashMap<String, ToolRule>,
    /// Tool tables of the user's file, with where their names were written.
    pub user_tool_sites: Vec<(String, Location)>,
    pub max_concurrent: usize,
    pub presets_allow: Vec<String>,
    pub presets_deny: Vec<String>,
    pub custom_allow: Option<Vec<Pattern>>,
    pub custom_deny: Vec<Pattern>,
    pub input_deny: Vec<Pattern>,
    pub input_reason: Option<String>,
    pub audit: AuditConfig,
    pub sampling: SamplingPolicy,
}

/// The `[sampling]` table, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamplingPolicy {
    pub mode: SamplingMode,
    /// How long a client may take to answer before the next way to ask is tried.
    pub timeout: Duration,
}

/// The two source texts a merged policy came from, to report errors against.
pub(crate) struct Sources<'a> {
    pub user_src: &'a str,
    pub user_origin: &'a str,
    pub builtin_src: &'a str,
    pub policy_file: Option<&'a Path>,
}

impl Sources<'_> {
    fn error(
        &self,
        layer: Layer,
        span: std::ops::Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> PolicyError {
        match layer {
            Layer::User => invalid_at(self.user_src, self.user_origin, span, key, message),
            Layer::BuiltIn => invalid_at(self.builtin_src, "built-in defaults", span, key, message),
        }
    }
}

pub(crate) fn compile(merged: Merged, sources: &Sources<'_>) -> Result<Rules, PolicyError> {
    let default_rule = match merged.default {
        Some(rule) => tool_rule("default".to_string(), rule, sources)?,
        None => ToolRule {
            key: "default".to_string(),
            action: Action::Allow,
            reason: None,
            rate: None,
        },
    };
    let mut tools = HashMap::new();
    let mut user_tool_sites = Vec::new();
    for (name, rule) in merged.tools {
        if rule.layer == Layer::User {
            user_tool_sites.push((
                name.get_ref().clone(),
                Location::of(sources.user_src, name.span().start),
            ));
        }
        let key = format!("tools.{}", name.get_ref());
        tools.insert(name.into_inner(), tool_rule(key, rule, sources)?);
    }

    let custom_allow = match merged.custom_allow {
        Some(list) => Some(patterns("custom_commands.allow", list, true, sources)?),
        None => None,
    };
    let custom_deny = match merged.custom_deny {
        Some(list) => patterns("custom_commands.deny", list, false, sources)?,
        None => Vec::new(),
    };
    let input_deny = match merged.input_deny {
        Some(list) => patterns("input.deny", list, false, sources)?,
        None => Vec::new(),
    };

    let audit_path = match merged.audit_path {
        Some(Layered { layer, value }) => {
            if value.get_ref().trim().is_empty() {
                return Err(sources.error(
                    layer,
                    value.span(),
                    "audit.path",
                    "the path is empty; leave the key out for the default location, \
                     or set `enabled = false` to turn the audit log off",
                ));
            }
            let file = match layer {
                Layer::User => sources.policy_file,
                Layer::BuiltIn => None,
            };
            Some(resolve_config_path(value.get_ref(), file))
        }
        None => default_audit_path(),
    };
    let max_bytes = match merged.audit_max_bytes {
        Some(Layered { layer, value }) => {
            let n = *value.get_ref();
            if n != 0 && n < MIN_AUDIT_BYTES {
                return Err(sources.error(
                    layer,
                    value.span(),
                    "audit.max_bytes",
                    format!("must be 0 (never rotate) or at least {MIN_AUDIT_BYTES}, not {n}"),
                ));
            }
            n
        }
        None => 0,
    };

    let sampling_timeout = match merged.sampling_timeout {
        Some(Layered { layer, value }) => {
            let n = *value.get_ref();
            if !(1..=MAX_SAMPLING_SECS).contains(&n) {
                return Err(sources.error(
                    layer,
                    value.span(),
                    "sampling.timeout_seconds",
                    format!("must be from 1 to {MAX_SAMPLING_SECS} seconds, not {n}"),
                ));
            }
            Duration::from_secs(n)
        }
        None => Duration::from_secs(60),
    };

    Ok(Rules {
        default_rule,
        tools,
        user_tool_sites,
        max_concurrent: merged.max_concurrent.map_or(0, |m| m.value),
        presets_allow: merged
            .presets_allow
            .map_or_else(|| vec!["*".to_string()], |l| l.value),
        presets_deny: merged.presets_deny.map_or_else(Vec::new, |l| l.value),
        custom_allow,
        custom_deny,
        input_deny,
        input_reason: merged.input_reason,
        audit: AuditConfig {
            enabled: merged.audit_enabled.unwrap_or(true),
            path: audit_path,
            max_bytes,
            keep: merged.audit_keep.unwrap_or(0),
        },
        sampling: SamplingPolicy {
            mode: merged.sampling_mode.unwrap_or(SamplingMode::On),
            timeout: sampling_timeout,
        },
    })
}

fn tool_rule(
    key: String,
    rule: Layered<RawToolRule>,
    sources: &Sources<'_>,
) -> Result<ToolRule, PolicyError> {
    let Layered { layer, value } = rule;
    let rate = match value.rate_limit {
        Some(spanned) => {
            let span = spanned.span();
            let raw = spanned.into_inner();
            let rate_key = format!("{key}.rate_limit");
            if raw.max == 0 || raw.max > MAX_RATE {
                return Err(sources.error(
                    layer,
                    span,
                    rate_key,
                    format!(
                        "`max` must be between 1 and {MAX_RATE}, not {} \
                         (to refuse the tool altogether use `action = \"deny\"`)",
                        raw.max
                    ),
                ));
            }
            if raw.window == 0 {
                return Err(sources.error(
                    layer,
                    span,
                    rate_key,
                    "`window` is in seconds and must be at least 1",
                ));
            }
            Some(RateLimit {
                max: raw.max,
                window: Duration::from_secs(raw.window),
            })
        }
        None => None,
    };
    Ok(ToolRule {
        key,
        action: value.action,
        reason: value.reason.filter(|r| !r.trim().is_empty()),
        rate,
    })
}

fn patterns(
    key: &str,
    list: Layered<Vec<Spanned<String>>>,
    whole: bool,
    sources: &Sources<'_>,
) -> Result<Vec<Pattern>, PolicyError> {
    let Layered { layer, value } = list;
    value
        .into_iter()
        .enumerate()
        .map(|(i, spanned)| {
            let item_key = format!("{key}[{i}]");
            let source = spanned.get_ref().clone();
            let text = if whole {
                format!("^(?:{source})$")
            } else {
                source.clone()
            };
            match RegexBuilder::new(&text)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
            {
                Ok(regex) => Ok(Pattern {
                    key: item_key,
                    source,
                    regex,
                }),
                Err(e) => Err(sources.error(
                    layer,
                    spanned.span(),
                    item_key,
                    format!("invalid regex: {}", one_line(&e.to_string())),
                )),
            }
        })
        .collect()
}

/// The gist of the regex crate's multi-line error text ("unclosed group").
fn one_line(s: &str) -> String {
    match s.rfind("error: ") {
        Some(i) => s[i + "error: ".len()..].trim().to_string(),
        None => s.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}
