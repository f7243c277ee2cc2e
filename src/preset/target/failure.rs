//! Saying why a connection failed. The wrapping program (ssh, kubectl…)
//! prints its reason and exits; a target's `[[failure]]` rules turn that
//! into an error that names the cause and the fix.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::preset::params::fill;

/// One `[[failure]]` rule of a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureRule {
    /// A regex searched in the program's output when it ends during start-up.
    pub output: String,
    /// What it means and what to do; `{NAME}` is a parameter's value.
    pub message: String,
}

impl FailureRule {
    pub fn validate(&self) -> Result<(), String> {
        regex::Regex::new(&self.output)
            .map(|_| ())
            .map_err(|e| format!("invalid regex: {e}"))
    }
}

/// The message of the first rule whose regex occurs in `output`.
pub fn explain(
    rules: &[FailureRule],
    output: &str,
    values: &BTreeMap<String, String>,
) -> Option<String> {
    rules.iter().find_map(|rule| {
        let re = regex::Regex::new(&rule.output).ok()?;
        re.is_match(output)
            .then(|| fill(&rule.message, values).unwrap_or_else(|_| rule.message.clone()))
    })
}

/// The last non-empty line of a program's output, trimmed and bounded.
pub fn last_words(output: &str) -> Option<String> {
    let line = output
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())?;
    Some(line.chars().take(300).collect())
}

/// Appended to the exit message of a session that ran through `target`: its
/// program's last words are usually the reason (`Connection to db1 closed
/// by remote host.`), and whatever ran remotely is gone with it.
pub fn ended_through(target: &str, output_tail: &str) -> String {
    match last_words(output_tail) {
        Some(words) => format!(" (through target `{target}`, whose last output was: {words})"),
        None => format!(" (through target `{target}`)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_rule_wins_and_names_values() {
        let rules = vec![
            FailureRule {
                output: "IDENTIFICATION HAS CHANGED".into(),
                message: "the host key of {host} changed".into(),
            },
            FailureRule {
                output: "Host key verification failed".into(),
                message: "the host key of {host} is unknown".into(),
            },
        ];
        let values = BTreeMap::from([("host".to_string(), "db1".to_string())]);
        assert_eq!(
            explain(&rules, "x\nHost key verification failed.\n", &values).as_deref(),
            Some("the host key of db1 is unknown")
        );
        assert_eq!(
            explain(
                &rules,
                "@@@ REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.",
                &values
            )
            .as_deref(),
            Some("the host key of db1 changed")
        );
        assert_eq!(explain(&rules, "all fine", &values), None);
    }

    #[test]
    fn ended_through_quotes_the_last_line() {
        assert_eq!(
            ended_through(
                "ssh",
                ">>> \r\nConnection to h closed by remote host.\r\n\n"
            ),
            " (through target `ssh`, whose last output was: Connection to h closed by remote host.)"
        );
        assert_eq!(ended_through("ssh", " \n"), " (through target `ssh`)");
    }
}
