//! The preset TOML schema.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A preset file holds one preset at top level, or several under `[[preset]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PresetFile {
    Many { preset: Vec<Preset> },
    One(Box<Preset>),
}

impl PresetFile {
    pub fn into_presets(self) -> Vec<Preset> {
        match self {
            PresetFile::Many { preset } => preset,
            PresetFile::One(p) => vec![*p],
        }
    }
}

/// How to start one REPL and recognise its prompts.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// Identifier used in `create_session { presetConfig }`.
    pub name: String,
    /// Human-readable name, shown in lists and as the web page title.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The REPL family (`python`, `node`, `irb`, `shell`, `custom`, …).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// argv of the program to run directly in the PTY.
    #[serde(default)]
    pub command: Vec<String>,
    /// Alternatively: a shell to start, into which `commands` are typed in
    /// order; the last one starts the REPL (takafu-compatible).
    #[serde(default)]
    pub shell: Option<String>,
    #[serde(default)]
    pub commands: Vec<String>,
    /// Lines typed once the REPL shows its first prompt (replayed on restart).
    #[serde(default)]
    pub setup: Vec<String>,
    /// Programs that must be in PATH; defaults to the program being started.
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub cwd: Option<String>,
    /// Default timeout of one evaluation.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// How long the REPL may take to show its first prompt.
    #[serde(default = "default_startup_timeout_ms")]
    pub startup_timeout_ms: u64,
    #[serde(default)]
    pub prompt: PromptConfig,
    /// How typed text is submitted (multi-line blocks, long lines).
    #[serde(default)]
    pub input: super::InputConfig,
    /// Shell integration: the prompt reports completion and exit status
    /// through an invisible OSC 133 marker instead of a regex.
    #[serde(default)]
    pub shell_integration: Option<ShellIntegration>,
    #[serde(default)]
    pub strategy: Option<StrategyConfig>,
    /// Values given in `create_session { parameters }`, used as `{NAME}` in
    /// `command` arguments, `cwd` and `env` values (see `params.rs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: super::params::Parameters,
}

/// Regexes matched against the cursor line (the text of the cursor's row up
/// to the cursor).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptConfig {
    #[serde(default)]
    pub ready: Vec<String>,
    #[serde(default)]
    pub continuation: Vec<String>,
    /// Prompts that want a person's answer (password, `[y/N]`, a pager).
    /// The host adds common ones; these come on top.
    #[serde(default)]
    pub awaiting_input: Vec<String>,
    /// The key that leaves this REPL's pager (used by recovery).
    #[serde(default)]
    pub pager_quit: Option<String>,
    /// The REPL keeps reading its terminal while a command runs (node's
    /// event loop while a promise is awaited): a read then counts as a
    /// question only when prompt text stands on the cursor line.
    #[serde(default)]
    pub reads_while_running: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShellFlavor {
    Bash,
    Zsh,
    Sh,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShellIntegration {
    pub flavor: ShellFlavor,
    /// Source the user's own rc file before installing our prompt.
    #[serde(default)]
    pub source_user_rc: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// Plugin id, e.g. `builtin:default-recovery`.
    pub plugin: String,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

fn default_timeout_ms() -> u64 {
    30_000
}

fn default_startup_timeout_ms() -> u64 {
    15_000
}

impl Preset {
    pub fn display_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }

    /// Programs whose absence makes this preset unusable.
    pub fn required_programs(&self) -> Vec<String> {
        if !self.requires.is_empty() {
            return self.requires.clone();
        }
        let mut out = Vec::new();
        if let Some(program) = self.command.first() {
            out.push(program.clone());
        }
        if let Some(shell) = &self.shell {
            out.push(shell.clone());
        }
        out
    }

    /// Check what serde cannot: the preset must start something, and every
    /// regex must compile. Errors name the key.
    pub fn validate(&self, file: &str) -> Result<(), super::PresetError> {
        let invalid = |key: &str, message: String| super::PresetError::Invalid {
            file: file.to_string(),
            preset: self.name.clone(),
            key: key.to_string(),
            message,
        };
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty".into()));
        }
        if !self
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(invalid(
                "name",
                "use only letters, digits, `_`, `-` and `.`".into(),
            ));
        }
        match (self.command.is_empty(), self.shell.is_some()) {
            (true, false) => {
                return Err(invalid(
                    "command",
                    "set `command` (argv) or `shell` (+ `commands`)".into(),
                ));
            }
            (false, true) => {
                return Err(invalid(
                    "shell",
                    "set either `command` or `shell`, not both".into(),
                ));
            }
            _ => {}
        }
        let max = crate::session::MAX_TIMEOUT_MS;
        if !(1..=max).contains(&self.timeout_ms) {
            return Err(invalid(
                "timeout_ms",
                format!("must be from 1 to {max} (a day)"),
            ));
        }
        for (key, list) in [
            ("prompt.ready", &self.prompt.ready),
            ("prompt.continuation", &self.prompt.continuation),
            ("prompt.awaiting_input", &self.prompt.awaiting_input),
        ] {
            for (i, pattern) in list.iter().enumerate() {
                regex::Regex::new(pattern)
                    .map_err(|e| invalid(&format!("{key}[{i}]"), e.to_string()))?;
            }
        }
        self.input
            .check()
            .map_err(|(key, message)| invalid(key, message))?;
        Ok(())
    }
}
