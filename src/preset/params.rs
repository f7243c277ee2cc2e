//! Parameters: named values that a preset or a target declares and the agent
//! supplies in `create_session`. `{NAME}` inside an argv element, `cwd` or an
//! `env` value becomes the value — always inside that one string, never
//! parsed by a shell.

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Longest value accepted for any parameter.
pub const MAX_VALUE_LEN: usize = 1024;

/// One `[parameters.NAME]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// What the value is, shown in lists and in errors.
    pub description: String,
    /// The agent must give a value.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// The value when the agent gives none. A parameter with neither
    /// `required` nor `default` is optional: it has no value unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// A regex the whole value must match.
    pub pattern: String,
}

/// Declared parameters by name.
pub type Parameters = BTreeMap<String, Parameter>;

/// Why a value is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("it starts with `-`, so a program could read it as an option")]
    OptionLike,
    #[error("it holds a control character (newline, NUL, escape, …)")]
    Control,
    #[error("it is longer than {MAX_VALUE_LEN} bytes")]
    TooLong,
    #[error("it does not match the pattern `{0}` (the whole value must match)")]
    Pattern(String),
}

/// The rules every value obeys whatever its pattern says: a value never
/// starts with `-` (a tool could read it as an option, e.g. a host
/// `-oProxyCommand=…`) and holds no control character (a newline would end
/// a line in a config or a shell; NUL ends a C string).
pub fn check_safe(value: &str) -> Result<(), ValueError> {
    if value.starts_with('-') {
        return Err(ValueError::OptionLike);
    }
    if value.chars().any(char::is_control) {
        return Err(ValueError::Control);
    }
    if value.len() > MAX_VALUE_LEN {
        return Err(ValueError::TooLong);
    }
    Ok(())
}

/// `pattern` anchored so that it must match the whole value.
pub fn full_match(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
}

impl Parameter {
    /// Check one value: the safety rules, then the pattern.
    pub fn check(&self, value: &str) -> Result<(), ValueError> {
        check_safe(value)?;
        match full_match(&self.pattern) {
            Ok(re) if re.is_match(value) => Ok(()),
            _ => Err(ValueError::Pattern(self.pattern.clone())),
        }
    }

    /// Check what serde cannot; the message names the offending key
    /// (relative to `parameters.NAME`).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.description.trim().is_empty() {
            return Err(("description", "say what the value is".into()));
        }
        if let Err(e) = full_match(&self.pattern) {
            return Err(("pattern", format!("invalid regex: {e}")));
        }
        match (&self.default, self.required) {
            (Some(_), true) => Err((
                "required",
                "a parameter with a `default` cannot be `required`".into(),
            )),
            (Some(d), false) => self
                .check(d)
                .map_err(|e| ("default", format!("the default is refused: {e}"))),
            (None, _) => Ok(()),
        }
    }
}

/// A parameter name: a letter or `_`, then letters, digits and `_`.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One piece of a template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    /// `{NAME}`, with the byte offset of its `{`.
    Param(&'a str, usize),
}

/// Split a template into text and `{NAME}` placeholders. `{{` stands for a
/// literal `{`; `${NAME}` is shell syntax and left alone; any other brace is
/// plain text.
pub fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    let bytes = template.as_bytes();
    while i < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'{') {
            // `{{` → `{`: keep the first brace, skip the second.
            out.push(Piece::Text(&template[text_start..=i]));
            i += 2;
            text_start = i;
            continue;
        }
        let after_dollar = i > 0 && bytes[i - 1] == b'$';
        let close = template[i + 1..].find('}').map(|n| i + 1 + n);
        match close {
            Some(end) if !after_dollar && is_name(&template[i + 1..end]) => {
                if text_start < i {
                    out.push(Piece::Text(&template[text_start..i]));
                }
                out.push(Piece::Param(&template[i + 1..end], i));
                i = end + 1;
                text_start = i;
            }
            _ => i += 1,
        }
    }
    if text_start < template.len() {
        out.push(Piece::Text(&template[text_start..]));
    }
    out
}

/// The names of the placeholders in `template`, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    pieces(template)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Param(name, _) => Some(name),
            Piece::Text(_) => None,
        })
        .collect()
}

/// Replace every placeholder by its value. `Err(name)`: a placeholder has
/// no value.
pub fn fill(template: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Param(name, _) => match values.get(name) {
                Some(v) => out.push_str(v),
                None => return Err(name.to_string()),
            },
        }
    }
    Ok(out)
}

/// `create_session`'s `parameters` object: strings, and for convenience
/// numbers and booleans written as JSON literals (`"port": 2222`).
pub fn deserialize_values<'de, D>(d: D) -> Result<Option<BTreeMap<String, String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    let Some(raw) = raw else { return Ok(None) };
    raw.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            serde_json::Value::Number(n) => Ok((k, n.to_string())),
            serde_json::Value::Bool(b) => Ok((k, b.to_string())),
            other => Err(D::Error::custom(format!(
                "parameter `{k}` must be a string, not {other}"
            ))),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// The declared parameters as a list for an error message:
/// "  host (required): Host to connect to".
pub fn describe(params: &Parameters) -> String {
    params
        .iter()
        .map(|(name, p)| {
            let how = match (&p.default, p.required) {
                (_, true) => "required".to_string(),
                (Some(d), false) => format!("default {d:?}"),
                (None, false) => "optional".to_string(),
            };
            format!(
                "  {name} ({how}; pattern `{}`): {}",
                p.pattern, p.description
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn placeholders_are_names_in_braces_only() {
        assert_eq!(placeholders("{user}@{host}"), vec!["user", "host"]);
        assert_eq!(placeholders("--port={port}"), vec!["port"]);
        assert!(placeholders("${HOME}/x {} { a } {1x} {{host}").is_empty());
        assert!(placeholders(r#"{"a": {"b": 1}}"#).is_empty());
    }

    #[test]
    fn fill_substitutes_and_unescapes() {
        let v = values(&[("host", "db1"), ("user", "me")]);
        assert_eq!(fill("{user}@{host}", &v).unwrap(), "me@db1");
        assert_eq!(fill("{{host} ${host}", &v).unwrap(), "{host} ${host}");
        assert_eq!(fill("x{nope}", &v).unwrap_err(), "nope");
        // A value is never scanned again.
        let v = values(&[("a", "{b}"), ("b", "no")]);
        assert_eq!(fill("{a}", &v).unwrap(), "{b}");
    }

    #[test]
    fn unsafe_values_are_refused_whatever_the_pattern() {
        let p = Parameter {
            description: "anything".into(),
            required: true,
            default: None,
            pattern: "(?s).*".into(),
        };
        assert_eq!(p.check("-oProxyCommand=x"), Err(ValueError::OptionLike));
        assert_eq!(p.check("a\nb"), Err(ValueError::Control));
        assert_eq!(p.check("a\0b"), Err(ValueError::Control));
        assert_eq!(p.check("a\rb"), Err(ValueError::Control));
        assert_eq!(p.check("\x1b[2J"), Err(ValueError::Control));
        assert_eq!(p.check(&"x".repeat(2000)), Err(ValueError::TooLong));
        assert!(p.check("$(touch /tmp/x); `id` | a & b > c").is_ok());
        assert!(p.check("naïve ünïcödé").is_ok());
    }

    #[test]
    fn the_pattern_must_match_the_whole_value() {
        let p = Parameter {
            description: "a port".into(),
            required: false,
            default: Some("22".into()),
            pattern: "[0-9]+".into(),
        };
        assert!(p.check("2222").is_ok());
        assert!(matches!(p.check("22; id"), Err(ValueError::Pattern(_))));
        assert!(matches!(p.check("x22"), Err(ValueError::Pattern(_))));
        // Alternation cannot escape the anchors.
        let p = Parameter {
            pattern: "a|b".into(),
            ..p
        };
        assert!(matches!(p.check("ab"), Err(ValueError::Pattern(_))));
    }

    #[test]
    fn declarations_are_checked() {
        let ok = Parameter {
            description: "d".into(),
            required: false,
            default: Some("x".into()),
            pattern: "[a-z]".into(),
        };
        assert!(ok.validate().is_ok());
        let both = Parameter {
            required: true,
            ..ok.clone()
        };
        assert_eq!(both.validate().unwrap_err().0, "required");
        let bad_default = Parameter {
            default: Some("-x".into()),
            pattern: ".*".into(),
            ..ok.clone()
        };
        assert_eq!(bad_default.validate().unwrap_err().0, "default");
        let bad_re = Parameter {
            pattern: "(".into(),
            ..ok
        };
        assert_eq!(bad_re.validate().unwrap_err().0, "pattern");
    }
}
