//! The answer of the policy engine to one question, and the text the agent
//! reads when the answer is not "allow".

use std::time::Duration;

/// The policy's decision about one call, one session start or one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Refused by a rule.
    Deny {
        /// The rule that refused, as a dotted key of the policy file
        /// (`tools.create_session`, `input.deny[0]`, `sessions.max_concurrent`…).
        rule: String,
        /// Why, in words.
        reason: String,
        /// How a person can allow it (which key to edit in which file).
        fix: String,
    },
    /// Over a rate limit; the same call may succeed after `retry_after`.
    RateLimited {
        /// The rate-limit rule, e.g. `tools.create_session.rate_limit`.
        rule: String,
        /// The limit in words, e.g. "at most 10 calls per 60 s on this connection".
        reason: String,
        /// How long until one more call fits in the window.
        retry_after: Duration,
        /// How a person can raise or remove the limit.
        fix: String,
    },
    /// A person must approve the call first.
    RequireApproval {
        /// The rule that asks for approval, e.g. `tools.create_session`.
        rule: String,
        /// The question to put to the person (through MCP elicitation).
        prompt: String,
        /// How a person can allow the call without being asked.
        fix: String,
    },
}

impl Verdict {
    /// True for [`Verdict::Allow`].
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow)
    }

    /// The rule that decided, if any rule other than "allow" applied.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Verdict::Allow => None,
            Verdict::Deny { rule, .. }
            | Verdict::RateLimited { rule, .. }
            | Verdict::RequireApproval { rule, .. } => Some(rule),
        }
    }

    /// Text for the agent: which rule refused, why, when to retry and how a
    /// person can allow the call. Empty for [`Verdict::Allow`].
    pub fn message(&self) -> String {
        match self {
            Verdict::Allow => String::new(),
            Verdict::Deny { rule, reason, fix } => {
                format!("Refused by policy rule `{rule}`: {reason}. {fix}")
            }
            Verdict::RateLimited {
                rule,
                reason,
                retry_after,
                fix,
            } => format!(
                "Rate limited by policy rule `{rule}` ({reason}). Retry after {}. {fix}",
                format_duration(*retry_after)
            ),
            Verdict::RequireApproval { rule, prompt, fix } => format!(
                "Refused: policy rule `{rule}` requires a person's approval for this call, \
                 and this MCP client cannot ask the user (it does not support elicitation). \
                 The question would have been: {prompt} {fix}"
            ),
        }
    }

    /// Text for the agent when a person was asked and declined (or cancelled).
    /// For other verdicts, the same as [`message`](Self::message).
    pub fn declined_message(&self) -> String {
        match self {
            Verdict::RequireApproval { rule, fix, .. } => format!(
                "Refused: policy rule `{rule}` requires a person's approval for this call, \
                 and the user declined it. Do not retry the same call without asking the user. {fix}"
            ),
            other => other.message(),
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Allow => f.write_str("allowed"),
            other => f.write_str(&other.message()),
        }
    }
}

/// "42 s", "1.5 s", "0.2 s": rounded up to a tenth of a second, so that
/// retrying after the stated time always succeeds.
pub(crate) fn format_duration(d: Duration) -> String {
    let tenths = d.as_millis().div_ceil(100);
    if tenths.is_multiple_of(10) {
        format!("{} s", tenths / 10)
    } else {
        format!("{}.{} s", tenths / 10, tenths % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up() {
        assert_eq!(format_duration(Duration::from_millis(59_999)), "60 s");
        assert_eq!(format_duration(Duration::from_millis(1_401)), "1.5 s");
        assert_eq!(format_duration(Duration::from_millis(1)), "0.1 s");
        assert_eq!(format_duration(Duration::ZERO), "0 s");
    }

    #[test]
    fn messages_name_rule_reason_and_fix() {
        let v = Verdict::RateLimited {
            rule: "tools.x.rate_limit".into(),
            reason: "at most 1 call per 60 s".into(),
            retry_after: Duration::from_secs(3),
            fix: "Raise it.".into(),
        };
        let m = v.message();
        assert!(m.contains("tools.x.rate_limit") && m.contains("3 s") && m.contains("Raise it."));
        assert_eq!(Verdict::Allow.message(), "");
        assert_eq!(v.rule(), Some("tools.x.rate_limit"));
    }
}
