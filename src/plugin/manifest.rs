//! `plugin.toml`: what a plugin is, what it may do, and what it may use.
//!
//! Parsing keeps the spans of the values so that every error, syntactic or
//! semantic, names the file, the line and the key.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::decision::canonical_signal;
use super::error::ManifestError;
use super::limits::{HostLimits, KIB, MIB};
use super::wit::ApiVersion;

/// File name of the manifest inside a plugin folder.
pub const MANIFEST_FILE: &str = "plugin.toml";

/// API versions this host can run.
pub const SUPPORTED_APIS: &[&str] = &[ApiVersion::V0_1.as_str(), ApiVersion::V0_2.as_str()];

/// The hooks a plugin may export; each is listed in `hooks = [...]`.
pub const HOOK_NAMES: &[&str] = &[
    "detect-prompt",
    "on-timeout",
    "on-exit",
    "on-startup-failure",
];

/// A validated `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub id: String,
    pub version: String,
    /// The plugin interface version, e.g. `0.1`.
    pub api: String,
    pub description: String,
    /// The wasm file name, relative to the manifest.
    pub wasm: String,
    /// Lower-case hex sha256 of the wasm file.
    pub sha256: String,
    pub hooks: Hooks,
    pub limits: PluginLimits,
    pub capabilities: Capabilities,
    /// Default settings passed to `init`, overridden by the preset's.
    pub settings: BTreeMap<String, String>,
}

/// Which hooks the host calls; an unlisted hook answers "no opinion" without
/// entering the plugin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hooks {
    pub detect_prompt: bool,
    pub on_timeout: bool,
    pub on_exit: bool,
    pub on_startup_failure: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    pub memory_bytes: u64,
    pub deadline_ms: u64,
    pub stack_bytes: u64,
}

/// What decisions the plugin may return. Anything else is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Canonical signal names (`SIGINT`, …).
    pub signals: Vec<String>,
    /// Inputs allowed verbatim.
    pub inputs: Vec<String>,
    /// Regexes an input must match in full.
    pub input_patterns: Vec<String>,
    pub may_restart: bool,
    pub may_mark_failed: bool,
    pub may_ask_llm: bool,
    pub may_set_ready: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    id: Spanned<String>,
    version: Spanned<String>,
    api: Spanned<String>,
    #[serde(default)]
    description: String,
    wasm: Option<Spanned<String>>,
    sha256: Option<Spanned<String>>,
    hooks: Vec<Spanned<String>>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    capabilities: RawCapabilities,
    #[serde(default)]
    settings: BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    memory_mib: Option<Spanned<u64>>,
    deadline_ms: Option<Spanned<u64>>,
    stack_kib: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCapabilities {
    #[serde(default)]
    signals: Vec<Spanned<String>>,
    #[serde(default)]
    inputs: Vec<Spanned<String>>,
    #[serde(default)]
    input_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    may_restart: bool,
    #[serde(default)]
    may_mark_failed: bool,
    #[serde(default)]
    may_ask_llm: bool,
    #[serde(default)]
    may_set_ready: bool,
}

/// Locates errors in one manifest text.
struct Locator<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn at(
        &self,
        span: Option<Range<usize>>,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> ManifestError {
        let (line, column) = span.map_or((0, 0), |s| line_col(self.text, s.start));
        ManifestError {
            file: self.file.to_path_buf(),
            line,
            column,
            key: key.map(str::to_string),
            message: message.into(),
        }
    }
}

/// One-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    // Spans from the parser fall on char boundaries; if not, move back to one
    // rather than slicing mid-character.
    let mut cut = offset;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let before = &text[..cut];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl Manifest {
    /// Parses and validates a manifest text; `file` is only used in errors.
    pub fn parse(text: &str, file: &Path, host: &HostLimits) -> Result<Manifest, ManifestError> {
        Manifest::parse_inner(text, file, host, true)
    }

    /// Checks a plugin crate's source manifest, which has no `sha256` yet
    /// (the build writes it): every other rule holds. The digest of the
    /// result is empty.
    pub fn parse_source(
        text: &str,
        file: &Path,
        host: &HostLimits,
    ) -> Result<Manifest, ManifestError> {
        Manifest::parse_inner(text, file, host, false)
    }

    fn parse_inner(
        text: &str,
        file: &Path,
        host: &HostLimits,
        built: bool,
    ) -> Result<Manifest, ManifestError> {
        let loc = Locator { file, text };
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let key = unknown_key(e.message());
            loc.at(e.span(), key.as_deref(), e.message().trim().to_string())
        })?;

        let id = raw.id.get_ref();
        if !is_valid_id(id) {
            return Err(loc.at(
                Some(raw.id.span()),
                Some("id"),
                "must be 1-64 characters of a-z, 0-9, `-` or `_`, starting with a letter or digit",
            ));
        }
        let version = raw.version.get_ref();
        if version.is_empty() || version.len() > 64 {
            return Err(loc.at(
                Some(raw.version.span()),
                Some("version"),
                "must be 1-64 characters",
            ));
        }
        let api = raw.api.get_ref();
        if ApiVersion::parse(api).is_none() {
            return Err(loc.at(
                Some(raw.api.span()),
                Some("api"),
                format!(
                    "unsupported plugin API `{api}`; this host supports {}",
                    SUPPORTED_APIS.join(", ")
                ),
            ));
        }
        let wasm = match &raw.wasm {
            Some(w) => {
                let name = w.get_ref();
                // The wasm must sit beside the manifest: no paths, so a
                // manifest cannot point the host at arbitrary files.
                if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
                    return Err(loc.at(
                        Some(w.span()),
                        Some("wasm"),
                        "must be a file name beside plugin.toml",
                    ));
                }
                name.clone()
            }
            None => format!("{id}.wasm"),
        };
        let sha = match &raw.sha256 {
            Some(given) => {
                let sha = given.get_ref().to_ascii_lowercase();
                if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(loc.at(
                        Some(given.span()),
                        Some("sha256"),
                        "must be 64 hex digits",
                    ));
                }
                sha
            }
            None if built => {
                return Err(loc.at(
                    None,
                    Some("sha256"),
                    "missing: the digest of the .wasm, written by `repl-mcp plugin build`",
                ));
            }
            None => String::new(),
        };

        let mut hooks = Hooks::default();
        for hook in &raw.hooks {
            let slot = match hook.get_ref().as_str() {
                "detect-prompt" => &mut hooks.detect_prompt,
                "on-timeout" => &mut hooks.on_timeout,
                "on-exit" => &mut hooks.on_exit,
                "on-startup-failure" => &mut hooks.on_startup_failure,
                other => {
                    return Err(loc.at(
                        Some(hook.span()),
                        Some("hooks"),
                        format!(
                            "unknown hook `{other}`; known hooks: {}",
                            HOOK_NAMES.join(", ")
                        ),
                    ));
                }
            };
            *slot = true;
        }

        let limits = parse_limits(&raw.limits, host, &loc)?;
        let capabilities = parse_capabilities(&raw.capabilities, &loc)?;

        let mut settings = BTreeMap::new();
        for (key, value) in &raw.settings {
            let text = setting_text(value.get_ref()).ok_or_else(|| {
                loc.at(
                    Some(value.span()),
                    Some(&format!("settings.{key}")),
                    "must be a string, number, boolean or array of strings",
                )
            })?;
            settings.insert(key.clone(), text);
        }

        Ok(Manifest {
            id: id.clone(),
            version: version.clone(),
            api: api.clone(),
            description: raw.description,
            wasm,
            sha256: sha,
            hooks,
            limits,
            capabilities,
            settings,
        })
    }

    /// Reads `dir/plugin.toml`.
    pub fn read_dir(
        dir: &Path,
        host: &HostLimits,
    ) -> Result<(Manifest, PathBuf), super::PluginError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| super::PluginError::Io {
            path: path.clone(),
            source,
        })?;
        Ok((Manifest::parse(&text, &path, host)?, path))
    }
}

/// Pulls the key out of serde's "unknown field `x`" message.
fn unknown_key(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

/// Settings reach the plugin as strings; arrays become newline-separated
/// lines, which suits lists of regexes.
fn setting_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => {
            let lines: Option<Vec<&str>> = items.iter().map(|v| v.as_str()).collect();
            Some(lines?.join("\n"))
        }
        _ => None,
    }
}

fn parse_limits(
    raw: &RawLimits,
    host: &HostLimits,
    loc: &Locator<'_>,
) -> Result<PluginLimits, ManifestError> {
    let pick = |value: &Option<Spanned<u64>>,
                key: &str,
                unit: u64,
                default: u64,
                max: u64,
                unit_name: &str| {
        let Some(v) = value else { return Ok(default) };
        let bytes = v.get_ref().checked_mul(unit).unwrap_or(u64::MAX);
        if *v.get_ref() == 0 {
            return Err(loc.at(Some(v.span()), Some(key), "must be positive"));
        }
        if bytes > max {
            return Err(loc.at(
                Some(v.span()),
                Some(key),
                format!(
                    "{} exceeds the host maximum of {} {unit_name}",
                    v.get_ref(),
                    max / unit
                ),
            ));
        }
        Ok(bytes)
    };
    Ok(PluginLimits {
        memory_bytes: pick(
            &raw.memory_mib,
            "limits.memory_mib",
            MIB,
            host.default_memory_bytes,
            host.max_memory_bytes,
            "MiB",
        )?,
        deadline_ms: pick(
            &raw.deadline_ms,
            "limits.deadline_ms",
            1,
            host.default_deadline_ms,
            host.max_deadline_ms,
            "ms",
        )?,
        stack_bytes: pick(
            &raw.stack_kib,
            "limits.stack_kib",
            KIB,
            host.default_stack_bytes,
            host.max_stack_bytes,
            "KiB",
        )?,
    })
}

fn parse_capabilities(
    raw: &RawCapabilities,
    loc: &Locator<'_>,
) -> Result<Capabilities, ManifestError> {
    let mut signals = Vec::new();
    for s in &raw.signals {
        let canon = canonical_signal(s.get_ref()).ok_or_else(|| {
            loc.at(
                Some(s.span()),
                Some("capabilities.signals"),
                format!("unknown signal `{}`", s.get_ref()),
            )
        })?;
        signals.push(canon.to_string());
    }
    let mut input_patterns = Vec::new();
    for p in &raw.input_patterns {
        if let Err(e) = super::decision::compile_full_match(p.get_ref()) {
            return Err(loc.at(
                Some(p.span()),
                Some("capabilities.input_patterns"),
                format!("invalid regex: {e}"),
            ));
        }
        input_patterns.push(p.get_ref().clone());
    }
    Ok(Capabilities {
        signals,
        inputs: raw.inputs.iter().map(|s| s.get_ref().clone()).collect(),
        input_patterns,
        may_restart: raw.may_restart,
        may_mark_failed: raw.may_mark_failed,
        may_ask_llm: raw.may_ask_llm,
        may_set_ready: raw.may_set_ready,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "demo"
version = "1.0.0"
api = "0.1"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
hooks = ["detect-prompt", "on-timeout"]

[limits]
memory_mib = 8
deadline_ms = 50

[capabilities]
signals = ["INT"]
inputs = ["q", "\u0003"]
input_patterns = ['[yn]']
may_restart = true

[settings]
ready = ['^>>> $', '^In \[\d+\]: $']
max = 3
"#;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, Path::new("x/plugin.toml"), &HostLimits::default())
    }

    #[test]
    fn parses_a_full_manifest() {
        let m = parse(GOOD).expect("valid");
        assert_eq!(m.wasm, "demo.wasm");
        assert!(m.hooks.detect_prompt && m.hooks.on_timeout && !m.hooks.on_exit);
        assert_eq!(m.limits.memory_bytes, 8 * MIB);
        assert_eq!(
            m.limits.stack_bytes,
            HostLimits::default().default_stack_bytes
        );
        assert_eq!(m.capabilities.signals, vec!["SIGINT"]);
        assert_eq!(m.settings["ready"], "^>>> $\n^In \\[\\d+\\]: $");
        assert_eq!(m.settings["max"], "3");
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let text = GOOD.replace("may_restart = true", "may_restart = true\nmay_fly = true");
        let e = parse(&text).expect_err("unknown key");
        assert_eq!(e.key.as_deref(), Some("may_fly"));
        assert_eq!(e.line, 17);
        assert!(
            e.to_string().starts_with("x/plugin.toml:17:1: `may_fly`"),
            "{e}"
        );
    }

    #[test]
    fn limit_above_host_maximum_is_refused_with_its_line() {
        let e = parse(&GOOD.replace("memory_mib = 8", "memory_mib = 4096")).expect_err("too big");
        assert_eq!(e.key.as_deref(), Some("limits.memory_mib"));
        assert_eq!(e.line, 9);
        assert!(e.message.contains("host maximum of 64 MiB"), "{e}");
    }

    #[test]
    fn bad_values_are_refused() {
        for (from, to, key) in [
            ("\"INT\"", "\"SIGFOO\"", "capabilities.signals"),
            ("'[yn]'", "'[yn'", "capabilities.input_patterns"),
            ("\"on-timeout\"", "\"on-lunch\"", "hooks"),
            ("api = \"0.1\"", "api = \"9.9\"", "api"),
            ("id = \"demo\"", "id = \"Demo!\"", "id"),
        ] {
            let e = parse(&GOOD.replace(from, to)).expect_err(to);
            assert_eq!(e.key.as_deref(), Some(key), "{e}");
            assert!(e.line > 0, "{e}");
        }
    }

    #[test]
    fn syntax_error_has_a_place() {
        let e = parse("id = \"a\"\nversion = ").expect_err("syntax");
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn a_source_manifest_needs_no_digest_but_a_built_one_does() {
        let source: String = GOOD
            .lines()
            .filter(|l| !l.starts_with("sha256"))
            .map(|l| format!("{l}\n"))
            .collect();
        let m = Manifest::parse_source(&source, Path::new("s"), &HostLimits::default())
            .expect("a source manifest");
        assert!(m.sha256.is_empty());
        let e = parse(&source).expect_err("no digest");
        assert_eq!(e.key.as_deref(), Some("sha256"), "{e}");
        let e = Manifest::parse_source(
            &source.replace("memory_mib = 8", "memory_mib = 999"),
            Path::new("s"),
            &HostLimits::default(),
        )
        .expect_err("still checked");
        assert_eq!(e.key.as_deref(), Some("limits.memory_mib"));
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("", 5), (1, 1));
    }
}
