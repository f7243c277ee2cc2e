//! What a `create_session` request resolves to before anything starts:
//! the argv, directory, environment, prompts and start-up steps of a
//! preset or a `customConfig`, and the programs they need.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::SessionError;
use super::manager::MAX_TIMEOUT_MS;
use crate::preset::{
    InputConfig, Preset, PresetRegistry, PromptConfig, Remote, ShellFlavor, ShellIntegration,
};

/// takafu/repl-mcp's `customConfig`. Unknown fields are refused: an agent
/// that guesses `command`/`args` must hear so, not get a bare shell.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomConfig {
    /// Session name (optional; used as display name when none is given).
    #[serde(default)]
    pub name: Option<String>,
    /// REPL type: pry, irb, ipython, node, python or custom. Chooses the prompt patterns.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Shell to start: bash, zsh or sh (or a path to one).
    #[serde(default)]
    pub shell: Option<String>,
    /// Commands typed into the shell in order; the last one starts the REPL.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Directory the shell starts in (must exist).
    #[serde(default)]
    pub starting_directory: Option<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Command timeout in milliseconds.
    #[serde(default)]
    pub timeout: Option<u64>,
}

/// A resolved plan to start a session.
pub(super) struct Plan {
    pub(super) preset_name: String,
    pub(super) display_name: String,
    pub(super) kind: String,
    pub(super) argv: Vec<String>,
    pub(super) env: Vec<(String, String)>,
    pub(super) cwd: PathBuf,
    pub(super) prompt: PromptConfig,
    pub(super) input: InputConfig,
    pub(super) integration: Option<ShellIntegration>,
    pub(super) marker_mode: bool,
    pub(super) startup_commands: Vec<String>,
    pub(super) setup: Vec<String>,
    pub(super) timeout_ms: u64,
    pub(super) startup_timeout_ms: u64,
    pub(super) strategy: Option<crate::preset::StrategyConfig>,
    pub(super) config: serde_json::Value,
    /// The target it runs through, and every parameter's value.
    pub(super) remote: Option<Remote>,
    pub(super) parameters: Vec<(String, String)>,
}

impl Plan {
    /// No prompt patterns of its own (a preset without any, or a
    /// `customConfig` of type `custom`, whose broad patterns are a guess):
    /// the kernel says when the program waits for a line.
    pub(super) fn prompt_from_kernel(&self) -> bool {
        (self.prompt.ready.is_empty() && !self.marker_mode)
            || (self.preset_name == "custom" && self.kind == "custom")
    }
}

pub(super) fn required_programs(plan: &Plan) -> Vec<String> {
    let mut out = vec![plan.argv[0].clone()];
    // The last typed command starts the REPL: check its program too, unless
    // it is a shell builtin or an assignment (or it runs on a target).
    if let Some(last) = plan
        .startup_commands
        .last()
        .filter(|_| plan.remote.is_none())
        && let Some(word) = last.split_whitespace().next()
        && !word.contains('=')
        && !matches!(
            word,
            "cd" | "source" | "." | "export" | "exec" | "eval" | "set" | "alias"
        )
    {
        out.push(word.to_string());
    }
    out
}

pub(super) fn resolve_dir(dir: Option<&str>) -> Result<PathBuf, SessionError> {
    let Some(dir) = dir else {
        return std::env::current_dir().map_err(SessionError::Io);
    };
    let expanded = match dir.strip_prefix("~") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => dirs::home_dir()
            .map(|h| h.join(rest.trim_start_matches('/')))
            .unwrap_or_else(|| PathBuf::from(dir)),
        _ => PathBuf::from(dir),
    };
    if expanded.is_dir() {
        Ok(expanded)
    } else {
        Err(SessionError::MissingDirectory(dir.to_string()))
    }
}

pub(super) fn plan_from_preset(p: &Preset) -> Result<Plan, SessionError> {
    let (argv, integration, startup_commands) = match &p.shell {
        Some(shell) => (
            vec![shell.clone()],
            Some(integration_for(shell)?),
            p.commands.clone(),
        ),
        None => (p.command.clone(), p.shell_integration.clone(), Vec::new()),
    };
    if argv.is_empty() {
        return Err(SessionError::InvalidConfig(format!(
            "preset `{}` has no command",
            p.name
        )));
    }
    let marker_mode = integration.is_some() && startup_commands.is_empty();
    Ok(Plan {
        preset_name: p.name.clone(),
        display_name: p.display_name().to_string(),
        kind: p.kind.clone().unwrap_or_else(|| p.name.clone()),
        argv,
        env: p.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        cwd: resolve_dir(p.cwd.as_deref())?,
        prompt: p.prompt.clone(),
        input: p.input,
        integration,
        marker_mode,
        startup_commands,
        setup: p.setup.clone(),
        timeout_ms: p.timeout_ms,
        startup_timeout_ms: p.startup_timeout_ms,
        strategy: p.strategy.clone(),
        config: serde_json::to_value(p).unwrap_or_default(),
        remote: None,
        parameters: Vec::new(),
    })
}

pub(super) fn integration_for(shell: &str) -> Result<ShellIntegration, SessionError> {
    let base = Path::new(shell)
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or(shell);
    let flavor = match base {
        "bash" => ShellFlavor::Bash,
        "zsh" => ShellFlavor::Zsh,
        "sh" | "dash" | "ash" | "ksh" | "mksh" => ShellFlavor::Sh,
        "cmd" | "cmd.exe" | "powershell" | "pwsh" => {
            return Err(SessionError::InvalidConfig(format!(
                "shell `{shell}` is Windows-only; use bash, zsh or sh"
            )));
        }
        other => {
            return Err(SessionError::InvalidConfig(format!(
                "unsupported shell `{other}`; use bash, zsh or sh"
            )));
        }
    };
    Ok(ShellIntegration {
        flavor,
        source_user_rc: false,
    })
}

pub(super) fn plan_from_custom(
    c: &CustomConfig,
    presets: &PresetRegistry,
) -> Result<Plan, SessionError> {
    // An odd timeout is an error, never a clamp: a 0 would time out every
    // command, a huge one would only fail later, in a call that never named it.
    let timeout = c.timeout.unwrap_or(30_000);
    if !(1..=MAX_TIMEOUT_MS).contains(&timeout) {
        return Err(SessionError::InvalidConfig(format!(
            "customConfig.timeout is {timeout} ms; it must be from 1 to {MAX_TIMEOUT_MS} ms"
        )));
    }
    let shell = c.shell.clone().unwrap_or_else(|| "bash".to_string());
    let integration = integration_for(&shell)?;
    let kind = c.kind.clone().unwrap_or_else(|| "custom".to_string());
    // The prompts of the REPL the last command starts come from the preset
    // of that type; `custom` gets a broad set of common prompt endings.
    let prompt = match presets.get(&kind) {
        Some(p) if kind != "custom" => p.preset.prompt.clone(),
        _ => PromptConfig {
            ready: vec![r"[>$#%❯»] $".into(), r"^In \[\d+\]: $".into()],
            continuation: vec![r"^\.\.\. $".into(), r"^\s*\.\.\.: $".into()],
            ..Default::default()
        },
    };
    // So does the way input is submitted to it.
    let input = presets
        .get(&kind)
        .filter(|_| kind != "custom")
        .map(|p| p.preset.input)
        .unwrap_or_default();
    let marker_mode = c.commands.is_empty();
    Ok(Plan {
        preset_name: "custom".into(),
        display_name: c
            .name
            .clone()
            .unwrap_or_else(|| format!("{kind} ({shell})")),
        kind,
        argv: vec![shell],
        env: c
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        cwd: resolve_dir(c.starting_directory.as_deref())?,
        prompt,
        input,
        integration: Some(integration),
        marker_mode,
        startup_commands: c.commands.clone(),
        setup: Vec::new(),
        timeout_ms: timeout,
        startup_timeout_ms: timeout.max(1000),
        strategy: None,
        config: serde_json::to_value(c).unwrap_or_default(),
        remote: None,
        parameters: Vec::new(),
    })
}
