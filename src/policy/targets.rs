//! The `[targets]` table: which targets sessions may run through, and which
//! values parameters may take (e.g. only hosts of one domain).
//!
//! ```toml
//! [targets]
//! allow = ["ssh", "staging"]     # "*" = any (the default)
//! deny = ["kubectl"]
//! [targets.parameters]           # whole-value regexes
//! host = '[\w.-]+\.example\.com' # `host` of any target or preset
//! "ssh.user" = 'deploy|app'      # `user` of the `ssh` target only
//! ```

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::error::{PolicyError, invalid_at};
use super::summary::truncate_str;
use super::{Policy, Verdict};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTargets {
    pub allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
    pub parameters: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
}

/// One `[targets.parameters]` entry.
#[derive(Debug)]
struct ValueRule {
    /// `ssh` in `"ssh.host"`; `None` for a bare `host`.
    target: Option<String>,
    name: String,
    source: String,
    regex: Regex,
}

#[derive(Debug)]
pub(crate) struct TargetRules {
    allow: Vec<String>,
    deny: Vec<String>,
    values: Vec<ValueRule>,
}

impl Default for TargetRules {
    fn default() -> Self {
        Self {
            allow: vec!["*".into()],
            deny: Vec::new(),
            values: Vec::new(),
        }
    }
}

/// The user's `[targets]` over the built-in one (which has none today):
/// each key as a whole, like the other lists of the policy.
pub(crate) fn compile(
    user: &RawTargets,
    builtin: &RawTargets,
    user_src: &str,
    origin: &str,
) -> Result<TargetRules, PolicyError> {
    let mut rules = TargetRules::default();
    if let Some(allow) = user.allow.as_ref().or(builtin.allow.as_ref()) {
        rules.allow = allow.clone();
    }
    if let Some(deny) = user.deny.as_ref().or(builtin.deny.as_ref()) {
        rules.deny = deny.clone();
    }
    let (params, src, origin) = match (&user.parameters, &builtin.parameters) {
        (Some(p), _) => (p, user_src, origin),
        (None, Some(p)) => (p, super::DEFAULT_POLICY_TOML, "built-in defaults"),
        (None, None) => return Ok(rules),
    };
    for (key, pattern) in params {
        let dotted = format!("targets.parameters.{}", key.get_ref());
        let (target, name) = match key.get_ref().split_once('.') {
            Some((t, n)) => (Some(t.to_string()), n.to_string()),
            None => (None, key.get_ref().clone()),
        };
        let regex = regex::RegexBuilder::new(&format!("^(?:{})$", pattern.get_ref()))
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                invalid_at(
                    src,
                    origin,
                    pattern.span(),
                    &dotted,
                    format!("invalid regex: {e}"),
                )
            })?;
        rules.values.push(ValueRule {
            target,
            name,
            source: pattern.get_ref().clone(),
            regex,
        });
    }
    Ok(rules)
}

impl Policy {
    /// Check a session's target and parameter values (as the agent gave
    /// them) before anything starts.
    pub fn check_target(&self, target: Option<&str>, parameters: &[(&str, &str)]) -> Verdict {
        let r = &self.targets;
        if let Some(name) = target {
            if r.deny.iter().any(|t| t == name || t == "*") {
                return Verdict::Deny {
                    rule: "targets.deny".into(),
                    reason: format!("the target `{name}` may not be used"),
                    fix: format!(
                        "To allow it, remove \"{name}\" from `deny` in the `[targets]` table of {}.",
                        self.where_to_edit()
                    ),
                };
            }
            if !r.allow.iter().any(|t| t == name || t == "*") {
                return Verdict::Deny {
                    rule: "targets.allow".into(),
                    reason: format!(
                        "the target `{name}` is not in the list of targets that may be used ({})",
                        r.allow.join(", ")
                    ),
                    fix: format!(
                        "To allow it, add \"{name}\" to `allow` in the `[targets]` table of {}.",
                        self.where_to_edit()
                    ),
                };
            }
        }
        for &(name, value) in parameters {
            let applies = |rule: &&ValueRule| {
                rule.name == name && rule.target.as_deref().is_none_or(|t| Some(t) == target)
            };
            if let Some(rule) = r
                .values
                .iter()
                .filter(applies)
                .find(|rule| !rule.regex.is_match(value))
            {
                let key = match &rule.target {
                    Some(t) => format!("\"{t}.{name}\""),
                    None => name.to_string(),
                };
                return Verdict::Deny {
                    rule: format!("targets.parameters.{}", key.trim_matches('"')),
                    reason: format!(
                        "the value `{}` of the parameter `{name}` does not match `{}` (the whole value must match)",
                        truncate_str(value, 120),
                        rule.source
                    ),
                    fix: format!(
                        "To allow it, widen `{key}` in the `[targets.parameters]` table of {}.",
                        self.where_to_edit()
                    ),
                };
            }
        }
        Verdict::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        Policy::from_toml_str(text, "test").unwrap()
    }

    #[test]
    fn by_default_every_target_and_value_is_allowed() {
        let p = policy("");
        assert!(
            p.check_target(Some("ssh"), &[("host", "anything")])
                .is_allow()
        );
        assert!(p.check_target(None, &[]).is_allow());
    }

    #[test]
    fn targets_can_be_allowed_and_denied() {
        let p = policy("[targets]\nallow = [\"ssh\", \"staging\"]\ndeny = [\"staging\"]\n");
        assert!(p.check_target(Some("ssh"), &[]).is_allow());
        assert_eq!(
            p.check_target(Some("kubectl"), &[]).rule(),
            Some("targets.allow")
        );
        assert_eq!(
            p.check_target(Some("staging"), &[]).rule(),
            Some("targets.deny")
        );
        // Local sessions are the presets' business.
        assert!(p.check_target(None, &[("host", "x")]).is_allow());
    }

    #[test]
    fn values_must_match_the_patterns_that_apply() {
        let p = policy(
            "[targets.parameters]\nhost = '[a-z0-9.-]+\\.example\\.com'\n\"ssh.user\" = 'deploy|app'\n",
        );
        assert!(
            p.check_target(Some("ssh"), &[("host", "db1.example.com"), ("user", "app")])
                .is_allow()
        );
        let v = p.check_target(Some("ssh"), &[("host", "evil.com")]);
        assert_eq!(v.rule(), Some("targets.parameters.host"));
        assert!(v.message().contains("evil.com"), "{}", v.message());
        let v = p.check_target(Some("ssh"), &[("host", "a.example.com.evil.com")]);
        assert!(!v.is_allow());
        assert_eq!(
            p.check_target(Some("ssh"), &[("user", "root")]).rule(),
            Some("targets.parameters.ssh.user")
        );
        // `ssh.user` is about the ssh target only; `host` about every one.
        assert!(
            p.check_target(Some("docker"), &[("user", "root")])
                .is_allow()
        );
        assert!(!p.check_target(None, &[("host", "evil.com")]).is_allow());
    }

    #[test]
    fn a_bad_pattern_names_file_line_and_key() {
        let err = Policy::from_toml_str("[targets.parameters]\nhost = '('\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("p.toml:2:"), "{err}");
        assert!(err.contains("targets.parameters.host"), "{err}");
    }
}
