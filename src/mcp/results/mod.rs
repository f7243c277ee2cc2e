//! Tool results. Field names follow takafu/repl-mcp; ours are additive.
//! Error results use the same shapes with `success: false` and `error`, so
//! that a client validating every result against the tool's output schema
//! (the TypeScript SDK does) accepts refusals too.

mod build;

pub use build::{Failure, failure_for_tool, open_question, outcome_result, recovery_context};

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

/// Set when the policy refused the call: the rule, and when a rate limit
/// allows the next one.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyNote {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<f64>,
}

/// A tool call that may get a stuck session going again.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCall {
    pub tool: String,
    pub arguments: Map<String, Value>,
    pub when: String,
}

/// What an agent needs to answer a recovery question.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryContext {
    pub session_id: String,
    pub state: String,
    pub raw_output: String,
    pub clean_tail: String,
    pub screen: String,
    pub recovery_tools: Vec<RecoveryCall>,
}

/// Fields an agent uses to recover a session that cannot finish by itself.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Recovery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_continue: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<RecoveryContext>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionResult {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Display name of the configuration used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    /// A link that lets a person watch but not type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_url_read_only: Option<String>,
    /// The session's transcript (asciicast v2), when it is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cast_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// What the REPL printed while starting (clean text, bounded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_time_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub recovery: Recovery,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug_logs: Option<Vec<String>>,
    #[serde(flatten)]
    pub policy: PolicyNote,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendInputResult {
    pub success: bool,
    /// Everything the terminal received, escape sequences included (bounded).
    pub raw_output: String,
    /// The command's output as clean text: no echo, no prompt, no escapes (bounded).
    pub output: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Milliseconds from sending to the answer.
    pub execution_time: u64,
    /// starting | ready | busy | continuation | awaiting_input | exited | failed
    pub state: String,
    /// Exit status: of the command for shells, of the REPL when it exited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// What the REPL waits for when state is awaiting_input: password, confirm, pager, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awaiting_input: Option<String>,
    /// The line the program waits at (its prompt text), when the kernel saw it read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awaiting_prompt: Option<String>,
    /// The program that owns the terminal when it is not the REPL itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foreground: Option<ForegroundProgram>,
    /// True when output was cut to fit; page the rest with get_full_output.
    pub truncated: bool,
    /// Length of the whole clean output, in characters.
    pub total_length: usize,
    /// The command is still running (it outlived its timeout): pick up the
    /// rest with wait_for_session or get_full_output.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
    /// The REPL crashed and was restarted by its strategy (restarts so far):
    /// everything defined in it before is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restarted: Option<u32>,
    /// What the session's strategy did on the way (hook: decision).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recovery_steps: Vec<String>,
    /// Position in the session's output after this result: pass it as
    /// `since` to get_full_output to read only what came later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_cursor: Option<u64>,
    #[serde(flatten)]
    pub recovery: Recovery,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(flatten)]
    pub policy: PolicyNote,
}

/// A program by name and pid.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ForegroundProgram {
    pub pid: i32,
    pub name: String,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimpleResult {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub policy: PolicyNote,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    pub id: String,
    pub name: String,
    pub display_name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub preset: String,
    /// takafu-compatible: initializing | ready | executing | error | terminated
    pub status: String,
    pub state: String,
    pub created_at: String,
    pub last_activity: String,
    pub history_count: usize,
    pub pid: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    /// The target it runs through; absent: this machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub parameters: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListSessionsResult {
    pub success: bool,
    pub sessions: Vec<SessionSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub policy: PolicyNote,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDetailsResult {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug_logs: Option<Vec<String>>,
    #[serde(flatten)]
    pub policy: PolicyNote,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationEntry {
    pub name: String,
    pub display_name: String,
    /// builtin | user | project
    pub source: String,
    /// The file it was loaded from.
    pub origin: String,
    /// Sources this definition overrides.
    pub overrides: Vec<String>,
    /// Whether the program it needs is installed here.
    pub available: bool,
    pub config: Map<String, Value>,
    /// What `create_session { parameters }` takes for it.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub parameters: crate::preset::params::Parameters,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListConfigurationsResult {
    pub success: bool,
    pub configurations: Vec<ConfigurationEntry>,
    /// Where a preset can run besides here (`create_session { target }`).
    pub targets: Vec<ConfigurationEntry>,
    /// Preset and target files that could not be loaded, with file, line and key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub policy: PolicyNote,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FullOutputResult {
    pub success: bool,
    /// With `since`: the position after this output, for the next read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    pub output: String,
    pub offset: usize,
    pub limit: usize,
    pub total_length: usize,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub policy: PolicyNote,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CleanTextResult {
    pub success: bool,
    pub text: String,
    pub full_text: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<[u16; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub policy: PolicyNote,
}

/// `reload_presets`: the presets known after re-reading them from disk.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReloadPresetsResult {
    pub success: bool,
    /// Names of every preset now available.
    pub presets: Vec<String>,
    /// Preset files that could not be loaded, with file, line and key.
    pub errors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub policy: PolicyNote,
}
