//! Tool parameters: the names and shapes of takafu/repl-mcp, plus additive
//! extras. The doc comments are the text a model reads on every turn: keep
//! them short, and put defaults in the schema rather than in words.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::session::CustomConfig;

/// Unknown fields are refused by name: `environment` next to a preset was
/// silently dropped, and the session started without it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSessionParams {
    /// Preset name, e.g. python, bash, node (list_repl_configurations).
    #[serde(default, alias = "configName")]
    pub preset_config: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// A shell plus commands typed into it, for REPLs without a preset.
    #[serde(default)]
    #[schemars(with = "Option<CustomConfigSchema>")]
    pub custom_config: Option<CustomConfig>,
    /// Include the debug log.
    #[serde(default)]
    pub debug: Option<bool>,
    /// Run the preset elsewhere: ssh, docker, podman, kubectl or a user's target.
    #[serde(default)]
    pub target: Option<String>,
    /// The preset's and target's parameters, e.g. {"host": "db1"}.
    #[serde(
        default,
        deserialize_with = "crate::preset::params::deserialize_values"
    )]
    #[schemars(with = "Option<std::collections::BTreeMap<String, String>>")]
    pub parameters: Option<std::collections::BTreeMap<String, String>>,
    // Record an asciicast transcript (README, Transcripts). No doc comment:
    // the name says it, and the tools' text has a budget.
    #[serde(default)]
    pub record: Option<bool>,
    // With --persist: how long the session outlives its last client ("2h",
    // "30m", seconds). No doc comment: the tools' text has a budget.
    #[serde(default, deserialize_with = "crate::daemon::deserialize_keep_for")]
    #[schemars(with = "Option<String>")]
    pub keep_for: Option<std::time::Duration>,
}

/// What a client sees of [`CustomConfig`] (deserialised by the session layer).
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct CustomConfigSchema {
    name: Option<String>,
    /// pry, irb, ipython, node, python or custom: the prompt patterns.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// bash, zsh, sh or a path.
    shell: Option<String>,
    /// Typed in order; the last starts the REPL.
    commands: Option<Vec<String>>,
    starting_directory: Option<String>,
    environment: Option<BTreeMap<String, String>>,
    /// Per-command timeout, ms.
    timeout: Option<u64>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct SendInputOptions {
    /// Return when the prompt is back (false: also when output pauses settle_ms).
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub wait_for_prompt: Option<bool>,
    /// Milliseconds (default: the preset's).
    #[serde(default)]
    pub timeout: Option<u64>,
    #[serde(default)]
    #[schemars(extend("default" = true))]
    pub add_newline: Option<bool>,
    #[serde(default)]
    #[schemars(extend("default" = 300))]
    pub settle_ms: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendInputParams {
    pub session_id: String,
    /// Several lines are typed one at a time, each after the next prompt.
    pub input: String,
    #[serde(default)]
    pub options: Option<SendInputOptions>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignalParams {
    pub session_id: String,
    /// SIGINT, SIGTSTP, SIGQUIT, SIGTERM, SIGHUP or SIGKILL.
    pub signal: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionIdParams {
    pub session_id: String,
    #[serde(default)]
    pub debug: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DebugParams {
    #[serde(default)]
    #[allow(dead_code)]
    pub debug: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetReadyParams {
    pub session_id: String,
    /// Regex or literal, e.g. "❯ ".
    pub pattern: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitParams {
    pub session_id: String,
    #[schemars(range(min = 0, max = 86400))]
    pub seconds: f64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkFailedParams {
    pub session_id: String,
    pub reason: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FullOutputParams {
    pub session_id: String,
    /// In characters.
    #[serde(default)]
    #[schemars(extend("default" = 0))]
    pub offset: Option<usize>,
    #[serde(default)]
    #[schemars(extend("default" = 40000))]
    pub limit: Option<usize>,
    /// With escape sequences.
    #[serde(default)]
    pub raw: Option<bool>,
    /// Instead: clean text after this outputCursor/cursor.
    #[serde(default)]
    pub since: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CleanTextParams {
    pub session_id: String,
    /// Whole screen, not just the cursor line.
    #[serde(default)]
    pub full_text: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnswerParams {
    pub session_id: String,
    /// READY:<prompt>, SEND:<text> (\n Enter, \x03 Ctrl-C), WAIT:<seconds> or FAILED:<reason>.
    pub answer: String,
    #[serde(default)]
    #[allow(dead_code)]
    pub debug: Option<bool>,
}
