//! Errors of the policy engine, and how a byte offset in a policy file becomes
//! a line, a column and a dotted key that a person can find.

use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Everything that can go wrong while loading a policy or opening the audit log.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy file exists (or was named explicitly) but cannot be read.
    #[error("cannot read policy file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The policy file is not valid: bad TOML, an unknown key, a wrong value,
    /// an invalid regex, an unknown tool name.
    #[error("{origin}:{line}:{column}: error in `{key}`: {message}")]
    Invalid {
        /// The file (or other origin) the text came from.
        origin: String,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column (in characters) of the offending text.
        column: usize,
        /// Dotted path of the offending key, e.g. `tools.create_session.action`
        /// or `input.deny[2]`; `(top level)` when no key applies.
        key: String,
        /// What is wrong, in words.
        message: String,
    },
    /// The audit log cannot be created or its writer thread cannot start.
    #[error("cannot open audit log {}: {source}", path.display())]
    Audit {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A position in a source text, ready to be put in a [`PolicyError::Invalid`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// Line and column (both 1-based, column counted in characters) of `offset`.
    pub fn of(src: &str, offset: usize) -> Location {
        let mut cut = offset.min(src.len());
        while !src.is_char_boundary(cut) {
            cut -= 1;
        }
        let before = &src[..cut];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location { line, column }
    }
}

/// Build an [`PolicyError::Invalid`] for the text at `span`.
pub(crate) fn invalid_at(
    src: &str,
    origin: &str,
    span: Range<usize>,
    key: impl Into<String>,
    message: impl Into<String>,
) -> PolicyError {
    let loc = Location::of(src, span.start);
    PolicyError::Invalid {
        origin: origin.to_string(),
        line: loc.line,
        column: loc.column,
        key: key.into(),
        message: message.into(),
    }
}

/// Turn a TOML deserialization error into a [`PolicyError::Invalid`] that names
/// the file, the line, the column and the dotted key at the error's span.
pub(crate) fn from_toml_error(src: &str, origin: &str, err: &toml::de::Error) -> PolicyError {
    let span = err.span().unwrap_or(0..0);
    let key = key_path_at(src, span.start).unwrap_or_else(|| "(top level)".to_string());
    invalid_at(src, origin, span, key, err.message().trim().to_string())
}

/// One key of the document: where its name and its value are, and its path.
struct KeySite {
    key: Range<usize>,
    value: Range<usize>,
    path: String,
}

/// The dotted path of the key whose name or value covers `offset` (the
/// innermost one), else of the last key that starts before `offset`.
pub(crate) fn key_path_at(src: &str, offset: usize) -> Option<String> {
    let (doc, _errors) = DeTable::parse_recoverable(src);
    let mut sites = Vec::new();
    collect_table(doc.get_ref(), "", &mut sites);

    let covering = sites
        .iter()
        .filter_map(|s| {
            let hit = |r: &Range<usize>| r.start <= offset && offset < r.end.max(r.start + 1);
            if hit(&s.key) {
                Some((s.key.len(), s))
            } else if hit(&s.value) {
                Some((s.value.len(), s))
            } else {
                None
            }
        })
        .min_by_key(|(len, _)| *len)
        .map(|(_, s)| s.path.clone());
    covering.or_else(|| {
        sites
            .iter()
            .filter(|s| s.key.start <= offset)
            .max_by_key(|s| s.key.start)
            .map(|s| s.path.clone())
    })
}

fn collect_table(table: &DeTable<'_>, prefix: &str, out: &mut Vec<KeySite>) {
    for (k, v) in table.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        out.push(KeySite {
            key: k.span(),
            value: v.span(),
            path: path.clone(),
        });
        collect_value(v, &path, out);
    }
}

fn collect_value(v: &Spanned<DeValue<'_>>, path: &str, out: &mut Vec<KeySite>) {
    match v.get_ref() {
        DeValue::Table(t) => collect_table(t, path, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                out.push(KeySite {
                    key: item.span(),
                    value: item.span(),
                    path: item_path.clone(),
                });
                collect_value(item, &item_path, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let src = "a = 1\nbé = \"x\"\n";
        assert_eq!(Location::of(src, 0), Location { line: 1, column: 1 });
        let off = src
            .find('=')
            .map(|_| src.rfind('=').unwrap_or(0))
            .unwrap_or(0);
        assert_eq!(Location::of(src, off), Location { line: 2, column: 4 });
        assert_eq!(Location::of(src, 10_000).line, 3);
    }

    #[test]
    fn key_path_finds_nested_keys() {
        let src = "[tools.create_session]\naction = \"alow\"\n[input]\ndeny = [\"a\", \"(\"]\n";
        let off = src.find("alow").unwrap_or(0);
        assert_eq!(
            key_path_at(src, off).as_deref(),
            Some("tools.create_session.action")
        );
        let off = src.find("\"(\"").unwrap_or(0);
        assert_eq!(key_path_at(src, off).as_deref(), Some("input.deny[1]"));
    }
}
