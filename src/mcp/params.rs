//! Tool parameters: the names and shapes of takafu/repl-mcp, plus additive
//! extras.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::session::CustomConfig;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionParams {
    /// Name of a preset (see list_repl_configurations), e.g. "python", "bash", "node".
    #[serde(default, alias = "configName")]
    pub preset_config: Option<String>,
    /// Name shown for the session (web page title, lists).
    #[serde(default)]
    pub display_name: Option<String>,
    /// A shell plus commands typed into it, for REPLs without a preset.
    #[serde(default)]
    pub custom_config: Option<CustomConfig>,
    /// Include the session's debug log in the response.
    #[serde(default)]
    pub debug: Option<bool>,
    /// Run the preset elsewhere: a target from list_repl_configurations (ssh, docker, podman, kubectl, or the user's own, e.g. "staging").
    #[serde(default)]
    pub target: Option<String>,
    /// Values of the preset's and the target's parameters, e.g. {"host": "db1.example.com", "user": "deploy"}.
    #[serde(
        default,
        deserialize_with = "crate::preset::params::deserialize_values"
    )]
    #[schemars(with = "Option<std::collections::BTreeMap<String, String>>")]
    pub parameters: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct SendInputOptions {
    /// Wait until the REPL shows its prompt again (default false: return as
    /// soon as the prompt is back or output pauses for `settle_ms`).
    #[serde(default)]
    pub wait_for_prompt: Option<bool>,
    /// Timeout in milliseconds (default 30000).
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Append a newline (Enter) to the input (default true).
    #[serde(default)]
    pub add_newline: Option<bool>,
    /// With wait_for_prompt=false: return after output pauses this long (default 300 ms).
    #[serde(default)]
    pub settle_ms: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendInputParams {
    pub session_id: String,
    /// Text to type. Several lines are sent one at a time, each after the REPL's next prompt.
    pub input: String,
    #[serde(default)]
    pub options: Option<SendInputOptions>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignalParams {
    pub session_id: String,
    /// SIGINT (Ctrl-C), SIGTSTP (Ctrl-Z), SIGQUIT (Ctrl-\), also SIGTERM, SIGHUP, SIGKILL.
    pub signal: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionIdParams {
    pub session_id: String,
    /// Include the session's debug log.
    #[serde(default)]
    pub debug: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DebugParams {
    /// Include debug information (accepted for compatibility; lists carry no debug log).
    #[serde(default)]
    #[allow(dead_code)]
    pub debug: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetReadyParams {
    pub session_id: String,
    /// The prompt, as a regex or a literal string (e.g. "❯ "); remembered for the session.
    pub pattern: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitParams {
    pub session_id: String,
    /// How long to wait at most, in seconds.
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
    /// Start position in characters (default 0).
    #[serde(default)]
    pub offset: Option<usize>,
    /// Characters to return (default 40000).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Page through the raw output (with escape sequences) instead of the clean text.
    #[serde(default)]
    pub raw: Option<bool>,
    /// Instead of the last command's output: the clean text of everything the
    /// session printed after this position (an `outputCursor` or `cursor`
    /// from an earlier result), e.g. to follow a long command step by step.
    #[serde(default)]
    pub since: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CleanTextParams {
    pub session_id: String,
    /// The whole screen instead of the cursor line (default false).
    #[serde(default)]
    pub full_text: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnswerParams {
    pub session_id: String,
    /// READY:<prompt pattern> (the session is at that prompt), SEND:<text> (type it; \n is Enter,
    /// \x03 is Ctrl-C), WAIT:<seconds> (wait longer) or FAILED:<reason> (give up on the session).
    pub answer: String,
    #[serde(default)]
    #[allow(dead_code)]
    pub debug: Option<bool>,
}
