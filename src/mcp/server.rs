//! The MCP tools. Each one is a thin translation between MCP and the
//! session layer.

use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::{InputResponses, RequestState, ToolCallContext};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde::Serialize;
use serde_json::json;

use super::ask::{Progress, apply_answer, elicit_answer, input_required, retried_answer};
use super::bound::{head_tail, page};
use super::guard::{Admission, Guard, approval_answer};
use super::params::*;
use super::results::*;
use crate::policy::rfc3339;
use crate::session::{
    Actor, CreateRequest, DEFAULT_SETTLE, Outcome, SendOptions, Session, SessionManager,
    SessionState,
};

/// Links to a session's page in the web view.
#[derive(Debug, Clone)]
pub struct WebUrls {
    pub interactive: String,
    pub read_only: String,
}

/// What the MCP layer needs from the web view (none when it is off).
pub trait WebLinks: Send + Sync {
    fn register(&self, session_id: &str) -> Option<WebUrls>;
    fn urls(&self, session_id: &str) -> Option<WebUrls>;
    fn forget(&self, session_id: &str);
}

#[derive(Debug, Clone)]
pub struct OutputLimits {
    /// Budget, in characters, for `output` and for `rawOutput` of one result.
    pub max_chars: usize,
}

impl Default for OutputLimits {
    fn default() -> Self {
        Self { max_chars: 20_000 }
    }
}

/// Every MCP connection (a stdio client, an HTTP session) gets its own id:
/// rate limits and the audit log are per connection.
static NEXT_CONNECTION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Clone)]
pub struct ReplServer {
    manager: Arc<SessionManager>,
    web: Option<Arc<dyn WebLinks>>,
    limits: OutputLimits,
    guard: Arc<Guard>,
    connection: u64,
    /// Shared by the clones of this connection's server; dropped with the last.
    _end: Arc<ConnectionEnd>,
    tool_router: ToolRouter<Self>,
}

/// When the last clone of a connection's server goes, its rate-limit state goes too.
struct ConnectionEnd {
    guard: Arc<Guard>,
    connection: u64,
}

impl Drop for ConnectionEnd {
    fn drop(&mut self) {
        self.guard.forget_connection(self.connection);
    }
}

/// `builtin`, `user` or `project`.
fn source_name(source: crate::preset::PresetSource) -> String {
    json!(source).as_str().unwrap_or_default().to_string()
}

fn ok<T: Serialize>(value: &T) -> Result<CallToolResult, McpError> {
    let v =
        serde_json::to_value(value).map_err(|e| McpError::internal_error(e.to_string(), None))?;
    Ok(CallToolResult::structured(v))
}

fn fail<T: Serialize>(value: &T) -> Result<CallToolResult, McpError> {
    let v =
        serde_json::to_value(value).map_err(|e| McpError::internal_error(e.to_string(), None))?;
    Ok(CallToolResult::structured_error(v))
}

/// The question an outcome leaves open: the strategy's, or the generic one
/// of a command that outlived its timeout.
fn open_question(outcome: &Outcome) -> Option<String> {
    match &outcome.question {
        Some(q) => Some(q.text.clone()),
        None if outcome.timed_out() && outcome.state == SessionState::Busy => Some(
            "The command did not finish in time. Wait longer, interrupt it, or name the prompt to expect?".to_string(),
        ),
        None => None,
    }
}

/// A result shape that can carry "this call failed: <why>".
trait Failure: Serialize {
    fn failure(error: String) -> Self;
}

impl Failure for SendInputResult {
    fn failure(error: String) -> Self {
        SendInputResult {
            success: false,
            error: Some(error),
            state: "unknown".into(),
            ..Default::default()
        }
    }
}

macro_rules! failure_with_error_field {
    ($($t:ty),*) => {$(
        impl Failure for $t {
            fn failure(error: String) -> Self {
                Self { success: false, error: Some(error), ..Default::default() }
            }
        }
    )*};
}
failure_with_error_field!(
    SessionDetailsResult,
    FullOutputResult,
    CleanTextResult,
    SimpleResult
);

/// The recovery tools an agent can use on a stuck session.
fn recovery_context(session: &Session, outcome: &Outcome) -> serde_json::Value {
    let id = session.id();
    json!({
        "sessionId": id,
        "state": outcome.state.as_str(),
        "rawOutput": String::from_utf8_lossy(&session.raw_tail(2000)),
        "cleanTail": session.recent_output(4000),
        "screen": session.screen_text(false),
        "recoveryTools": [
            {"tool": "wait_for_session", "arguments": {"sessionId": id, "seconds": 10}, "when": "the command is slow but progressing"},
            {"tool": "send_signal_to_session", "arguments": {"sessionId": id, "signal": "SIGINT"}, "when": "the command hangs; interrupt it"},
            {"tool": "set_session_ready", "arguments": {"sessionId": id, "pattern": "<the prompt you see>"}, "when": "the REPL is at a prompt the server does not recognise"},
            {"tool": "mark_session_failed", "arguments": {"sessionId": id, "reason": "<why>"}, "when": "the session cannot be saved"},
        ],
    })
}

impl ReplServer {
    pub fn new(
        manager: Arc<SessionManager>,
        web: Option<Arc<dyn WebLinks>>,
        limits: OutputLimits,
        guard: Arc<Guard>,
    ) -> Self {
        let connection = NEXT_CONNECTION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self {
            manager,
            web,
            limits,
            _end: Arc::new(ConnectionEnd {
                guard: Arc::clone(&guard),
                connection,
            }),
            guard,
            connection,
            tool_router: Self::tool_router(),
        }
    }

    /// Names of every tool (the policy file may only name these).
    pub fn tool_names() -> Vec<String> {
        Self::tool_router()
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }

    /// The session, or the tool's error result (of shape `R`) naming why not.
    fn session_or<R: Failure>(
        &self,
        id: &str,
    ) -> Result<Arc<Session>, Box<Result<CallToolResult, McpError>>> {
        self.manager
            .get(id)
            .map_err(|e| Box::new(fail(&R::failure(e.to_string()))))
    }

    fn web_url(&self, id: &str) -> Option<String> {
        self.web.as_ref()?.urls(id).map(|u| u.interactive)
    }

    fn outcome_result(&self, session: &Session, outcome: Outcome) -> (SendInputResult, bool) {
        let id = session.id();
        let total_length = outcome.output.chars().count();
        let (output, cut_a) = head_tail(&outcome.output, self.limits.max_chars, id);
        let raw = String::from_utf8_lossy(&outcome.raw);
        let (raw_output, cut_b) = head_tail(&raw, self.limits.max_chars, id);
        let mut r = SendInputResult {
            success: true,
            raw_output,
            output,
            execution_time: u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX),
            state: outcome.state.as_str().to_string(),
            exit_code: outcome.exit_code,
            awaiting_input: outcome.awaiting.clone(),
            truncated: cut_a || cut_b || outcome.truncated_start,
            total_length,
            restarted: outcome.restarted,
            recovery_steps: outcome.recovery.clone(),
            output_cursor: Some(session.status().output_bytes),
            ..Default::default()
        };
        match outcome.state {
            SessionState::Exited | SessionState::Failed => {
                r.success = false;
                r.error = Some(match outcome.state {
                    SessionState::Exited => format!(
                        "the REPL exited{}{}",
                        outcome
                            .exit_code
                            .map(|c| format!(" with code {c}"))
                            .unwrap_or_default(),
                        // Through a target, the wrapper's last words say why.
                        session
                            .info
                            .target
                            .as_deref()
                            .map(|t| crate::preset::target::ended_through(
                                t,
                                &session.recent_output(1024)
                            ))
                            .unwrap_or_default()
                    ),
                    _ => format!(
                        "the session failed: {}",
                        outcome.failure.as_deref().unwrap_or("unknown reason")
                    ),
                });
                r.recovery.can_continue = Some(false);
            }
            SessionState::Continuation => {
                r.hint = Some(
                    "The REPL waits for more lines of a block: send the rest (an empty line ends a Python block), or SIGINT to abandon it."
                        .into(),
                );
            }
            SessionState::AwaitingInput => {
                let what = outcome.awaiting.as_deref().unwrap_or("input");
                r.hint = Some(format!(
                    "The program waits for {what}: answer with send_input_to_session (for a pager, input \"q\" with add_newline false), or send SIGINT."
                ));
                r.recovery = Recovery {
                    question: Some(format!(
                        "The session is waiting for {what}. What should be sent?"
                    )),
                    question_type: Some("awaiting_input".into()),
                    can_continue: Some(true),
                    context: Some(recovery_context(session, &outcome)),
                };
            }
            _ if outcome.timed_out() => {
                r.success = false;
                r.pending = outcome.state == SessionState::Busy;
                r.error = Some(format!(
                    "no prompt after {} ms; the command is still running (state: {}): wait_for_session picks up the rest",
                    outcome.elapsed.as_millis(),
                    outcome.state.as_str()
                ));
                r.recovery = Recovery {
                    question: Some(
                        "The command did not finish in time. Wait longer, interrupt it, or tell me which prompt to expect?"
                            .into(),
                    ),
                    question_type: Some("timeout_analysis".into()),
                    can_continue: Some(true),
                    context: Some(recovery_context(session, &outcome)),
                };
            }
            _ => {}
        }
        if let Some(q) = &outcome.question {
            r.recovery.question = Some(q.text.clone());
            r.recovery.question_type = Some(q.kind.clone());
            r.recovery.can_continue = Some(!outcome.state.is_terminal());
            if r.recovery.context.is_none() {
                r.recovery.context = Some(recovery_context(session, &outcome));
            }
        }
        if let Some(n) = outcome.restarted {
            r.success = false;
            r.error = Some(format!(
                "the REPL exited and was restarted by its strategy (restart {n}); everything defined in it before is lost{}",
                outcome
                    .failure
                    .as_deref()
                    .map(|f| format!(" ({f})"))
                    .unwrap_or_default()
            ));
            r.recovery.can_continue = Some(!outcome.state.is_terminal());
        }
        let is_error = !r.success;
        (r, is_error)
    }

    /// Where the client can answer questions itself (elicitation), let it:
    /// its answer is carried out and the call goes on, a few rounds at most.
    async fn resolve_with_client(
        &self,
        session: &Session,
        mut outcome: Outcome,
        timeout: Duration,
        context: &RequestContext<RoleServer>,
    ) -> Outcome {
        for _ in 0..3 {
            let Some(question) = open_question(&outcome) else {
                break;
            };
            let Some(answer) = elicit_answer(context, &question).await else {
                break;
            };
            session.note(format!("recovery: the client answered {answer:?}"));
            match apply_answer(session, &answer, timeout).await {
                Ok(mut next) => {
                    let mut steps = std::mem::take(&mut outcome.recovery);
                    steps.push(format!("client answered: {answer}"));
                    steps.append(&mut next.recovery);
                    next.recovery = steps;
                    next.restarted = next.restarted.or(outcome.restarted);
                    outcome = next;
                }
                Err(e) => {
                    session.note(format!("recovery: answer not usable: {e}"));
                    break;
                }
            }
        }
        outcome
    }

    fn summary(&self, s: &Session) -> SessionSummary {
        let snap = s.status();
        SessionSummary {
            id: s.info.id.clone(),
            name: s.info.display_name.clone(),
            display_name: s.info.display_name.clone(),
            kind: s.info.kind.clone(),
            preset: s.info.preset.clone(),
            status: snap.state.legacy_status().to_string(),
            state: snap.state.as_str().to_string(),
            created_at: rfc3339(s.info.created_at),
            last_activity: rfc3339(snap.last_activity),
            history_count: snap.history_len,
            pid: s.pid(),
            web_url: self.web_url(s.id()),
            target: s.info.target.clone(),
            parameters: s.info.parameters.iter().cloned().collect(),
        }
    }
}

#[tool_router]
impl ReplServer {
    #[tool(
        description = "Start a REPL or shell on a real pseudo-terminal, from a preset (presetConfig, see list_repl_configurations) or a customConfig (a shell plus commands typed into it). With `target` (e.g. ssh, docker, kubectl) and its `parameters` the preset runs on another machine, container or pod. Waits for the first prompt. Returns sessionId and a webUrl: show the webUrl to the user so they can watch (and type in) the session in their browser.",
        output_schema = schema_for_output::<CreateSessionResult>(),
        annotations(title = "Create REPL session", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn create_session(
        &self,
        Parameters(p): Parameters<CreateSessionParams>,
    ) -> Result<CallToolResult, McpError> {
        let req = CreateRequest {
            preset: p.preset_config.clone(),
            custom: p.custom_config.clone(),
            display_name: p.display_name.clone(),
            target: p.target.clone(),
            parameters: p.parameters.clone().unwrap_or_default(),
        };
        let created = match self.manager.create(req).await {
            Ok(c) => c,
            Err(e) => {
                return fail(&CreateSessionResult {
                    success: false,
                    preset: p.preset_config,
                    error: Some(e.to_string()),
                    ..Default::default()
                });
            }
        };
        let session = &created.session;
        let urls = self.web.as_ref().and_then(|w| w.register(session.id()));
        let (startup_output, _) = head_tail(&created.startup.output, 4000, session.id());
        let mut r = CreateSessionResult {
            success: created.ready,
            session_id: Some(session.id().to_string()),
            config: Some(session.info.display_name.clone()),
            web_url: urls.as_ref().map(|u| u.interactive.clone()),
            web_url_read_only: urls.map(|u| u.read_only),
            preset: Some(session.info.preset.clone()),
            state: Some(created.startup.state.as_str().to_string()),
            startup_output: Some(startup_output),
            startup_time_ms: Some(
                u64::try_from(created.startup.elapsed.as_millis()).unwrap_or(u64::MAX),
            ),
            error: created.error.clone(),
            ..Default::default()
        };
        if let Some(n) = created.startup.restarted {
            r.startup_output = Some(format!(
                "{}\n[restarted {n} time(s) during start-up]",
                r.startup_output.clone().unwrap_or_default()
            ));
        }
        if !created.ready {
            let alive = !created.startup.state.is_terminal();
            r.recovery = Recovery {
                question: Some(if alive {
                    "The session started but its prompt was not recognised. Is it ready (give the prompt with set_session_ready), should it wait longer, or has it failed?".into()
                } else {
                    "The REPL ended during start-up. Check the program and its arguments.".into()
                }),
                question_type: Some(
                    if alive {
                        "session_timeout"
                    } else {
                        "startup_failure"
                    }
                    .into(),
                ),
                can_continue: Some(alive),
                context: Some(recovery_context(session, &created.startup)),
            };
            if let Some(q) = &created.startup.question {
                r.recovery.question = Some(q.text.clone());
                r.recovery.question_type = Some(q.kind.clone());
            }
        }
        if p.debug.unwrap_or(false) || !created.ready {
            r.debug_logs = Some(session.log_lines());
        }
        if created.ready { ok(&r) } else { fail(&r) }
    }

    #[tool(
        description = "Send input to a session (several lines are typed one at a time, each after the REPL's next prompt). With options.wait_for_prompt=true it returns when the REPL shows its prompt again; it also returns at once on a continuation prompt (open block), a password/confirmation prompt or a pager (see `state`). `output` is the clean result (no echo, no prompt, no ANSI); `rawOutput` is what the terminal received. For shells, `exitCode` is the command's exit status.",
        output_schema = schema_for_output::<SendInputResult>(),
        annotations(title = "Send input", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn send_input_to_session(
        &self,
        Parameters(p): Parameters<SendInputParams>,
        context: RequestContext<RoleServer>,
        RequestState(state): RequestState,
        InputResponses(responses): InputResponses,
    ) -> Result<CallToolResponse, McpError> {
        let session = match self.session_or::<SendInputResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return (*r).map(Into::into),
        };
        let o = p.options.unwrap_or_default();
        let opts = SendOptions {
            wait_for_prompt: o.wait_for_prompt.unwrap_or(false),
            timeout: Duration::from_millis(
                o.timeout
                    .unwrap_or(session.info.timeout_ms)
                    .clamp(1, 24 * 3_600_000),
            ),
            add_newline: o.add_newline.unwrap_or(true),
            settle: o
                .settle_ms
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_SETTLE),
            actor: Actor::Agent,
        };
        let progress = Progress::start(&context, "waiting for the prompt".into());
        // A retried call (2026-07-28) carries the answer to our question: the
        // input was typed in the first round, so only the answer is applied.
        let retried = retried_answer(state.as_deref(), responses.as_ref(), &p.session_id);
        let sent = match retried {
            Some(answer) => {
                session.note(format!("recovery: the client answered {answer:?}"));
                apply_answer(&session, &answer, opts.timeout)
                    .await
                    .map_err(|e| e.to_string())
            }
            None => match session.send_input(&p.input, &opts).await {
                Ok(o) => Ok(self
                    .resolve_with_client(&session, o, opts.timeout, &context)
                    .await),
                Err(e) => Err(e.to_string()),
            },
        };
        drop(progress);
        match sent {
            Ok(outcome) => {
                if let Some(question) = open_question(&outcome)
                    && let Some(ask) = input_required(&context, &p.session_id, &question)
                {
                    return Ok(ask.into());
                }
                let (r, is_error) = self.outcome_result(&session, outcome);
                if is_error { fail(&r) } else { ok(&r) }.map(Into::into)
            }
            Err(e) => fail(&SendInputResult {
                success: false,
                error: Some(e),
                state: session.state().as_str().to_string(),
                recovery: Recovery {
                    can_continue: Some(false),
                    ..Default::default()
                },
                ..Default::default()
            })
            .map(Into::into),
        }
    }

    #[tool(
        description = "Send a signal to the session's foreground process group, like the keyboard would: SIGINT (Ctrl-C) to interrupt, SIGTSTP (Ctrl-Z), SIGQUIT (Ctrl-\\). SIGTERM, SIGHUP and SIGKILL are also accepted.",
        output_schema = schema_for_output::<SimpleResult>(),
        annotations(title = "Send signal", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = false)
    )]
    async fn send_signal_to_session(
        &self,
        Parameters(p): Parameters<SignalParams>,
    ) -> Result<CallToolResult, McpError> {
        let result = match self.manager.get(&p.session_id) {
            Ok(s) => s.signal_and_settle(&p.signal, Duration::from_secs(1)).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(state) => ok(&SimpleResult {
                success: true,
                message: Some(format!("{} sent to session {}", p.signal, p.session_id)),
                state: Some(state.as_str().to_string()),
                error: None,
            }),
            Err(e) => fail(&SimpleResult::failure(e.to_string())),
        }
    }

    #[tool(
        description = "List the live REPL sessions, each with its state and webUrl (show the webUrls to the user).",
        output_schema = schema_for_output::<ListSessionsResult>(),
        annotations(title = "List sessions", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_repl_sessions(
        &self,
        Parameters(_p): Parameters<DebugParams>,
    ) -> Result<CallToolResult, McpError> {
        let sessions = self
            .manager
            .list()
            .iter()
            .map(|s| self.summary(s))
            .collect();
        ok(&ListSessionsResult {
            success: true,
            sessions,
        })
    }

    #[tool(
        description = "Details of one session: configuration, state, history of inputs, last output and error, learned prompt patterns, webUrl.",
        output_schema = schema_for_output::<SessionDetailsResult>(),
        annotations(title = "Session details", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn get_session_details(
        &self,
        Parameters(p): Parameters<SessionIdParams>,
    ) -> Result<CallToolResult, McpError> {
        let s = match self.session_or::<SessionDetailsResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return *r,
        };
        let snap = s.snapshot();
        let urls = self.web.as_ref().and_then(|w| w.urls(s.id()));
        let last = snap.last_command.as_ref();
        let session = json!({
            "id": s.info.id,
            "displayName": s.info.display_name,
            "preset": s.info.preset,
            "type": s.info.kind,
            "config": s.info.config,
            "argv": s.info.argv,
            "status": snap.state.legacy_status(),
            "state": snap.state.as_str(),
            "awaitingInput": snap.awaiting,
            "currentDirectory": s.info.cwd,
            "target": s.info.target,
            "parameters": s.info.parameters.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            "pid": s.pid(),
            "history": snap.history,
            "lastOutput": last.map(|c| head_tail(&c.output, 4000, s.id()).0),
            "lastExitCode": last.and_then(|c| c.exit_code),
            "lastError": snap.failure,
            "exitCode": snap.exit_code,
            "learnedPromptPatterns": snap.learned_patterns,
            "strategyPlugin": snap.plugin,
            "lastActor": snap.last_actor,
            "outputBytes": snap.output_bytes,
            "createdAt": rfc3339(s.info.created_at),
            "lastActivity": rfc3339(snap.last_activity),
            "webUrl": urls.as_ref().map(|u| u.interactive.clone()),
            "webUrlReadOnly": urls.map(|u| u.read_only),
            "events": snap.log,
        });
        ok(&SessionDetailsResult {
            success: true,
            session: Some(session),
            error: None,
            debug_logs: p.debug.unwrap_or(false).then(|| snap.log.clone()),
        })
    }

    #[tool(
        description = "End a session and every process it started.",
        output_schema = schema_for_output::<SimpleResult>(),
        annotations(title = "Destroy session", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = false)
    )]
    async fn destroy_repl_session(
        &self,
        Parameters(p): Parameters<SessionIdParams>,
    ) -> Result<CallToolResult, McpError> {
        match self.manager.destroy(&p.session_id).await {
            Ok(()) => {
                if let Some(w) = &self.web {
                    w.forget(&p.session_id);
                }
                ok(&SimpleResult {
                    success: true,
                    message: Some(format!("Session {} destroyed successfully", p.session_id)),
                    ..Default::default()
                })
            }
            Err(e) => fail(&SimpleResult {
                success: false,
                message: Some(format!("Session {} not found", p.session_id)),
                error: Some(e.to_string()),
                ..Default::default()
            }),
        }
    }

    #[tool(
        description = "List the presets (REPL configurations) this server can start and the targets they can run through (ssh, docker, podman, kubectl, the user's own), where each comes from (builtin, user, project), whether its program is installed, and the parameters each takes.",
        output_schema = schema_for_output::<ListConfigurationsResult>(),
        annotations(title = "List configurations", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_repl_configurations(
        &self,
        Parameters(_p): Parameters<DebugParams>,
    ) -> Result<CallToolResult, McpError> {
        let presets = self.manager.presets();
        let configurations = presets
            .all()
            .map(|l| ConfigurationEntry {
                name: l.preset.name.clone(),
                display_name: l.preset.display_name().to_string(),
                source: source_name(l.source),
                origin: l.origin.clone(),
                overrides: l.overrides.iter().map(|s| source_name(*s)).collect(),
                available: l
                    .preset
                    .required_programs()
                    .iter()
                    .all(|p| crate::session::pty::find_program(p, None).is_some()),
                config: serde_json::to_value(&l.preset).unwrap_or_default(),
                parameters: l.preset.parameters.clone(),
            })
            .collect();
        let targets = self.manager.targets();
        let target_entries = targets
            .all()
            .map(|l| ConfigurationEntry {
                name: l.target.name.clone(),
                display_name: l.target.display_name().to_string(),
                source: source_name(l.source),
                origin: l.origin.clone(),
                overrides: l.overrides.iter().map(|s| source_name(*s)).collect(),
                available: l
                    .target
                    .program()
                    .is_some_and(|p| crate::session::pty::find_program(p, None).is_some()),
                config: serde_json::to_value(&l.target).unwrap_or_default(),
                parameters: l.target.parameters.clone(),
            })
            .collect();
        let errors = presets.errors().iter().chain(targets.errors());
        ok(&ListConfigurationsResult {
            success: true,
            configurations,
            targets: target_entries,
            errors: errors.map(ToString::to_string).collect(),
        })
    }

    #[tool(
        description = "Re-read presets and targets from disk (built-in, the user's config dir, the project dir) without restarting the server, e.g. after `repl-mcp preset install`. Broken files are reported in `errors` and skipped; running sessions are not affected.",
        output_schema = schema_for_output::<ReloadPresetsResult>(),
        annotations(title = "Reload presets", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn reload_presets(&self) -> Result<CallToolResult, McpError> {
        let manager = Arc::clone(&self.manager);
        let errors = tokio::task::spawn_blocking(move || manager.reload_presets())
            .await
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        ok(&ReloadPresetsResult {
            success: true,
            presets: self.manager.presets().names(),
            errors,
        })
    }

    #[tool(
        description = "Tell the server the session is at a prompt it did not recognise, e.g. a custom shell prompt. `pattern` is a regex or a literal; it is remembered for the session, so later commands finish when it appears.",
        output_schema = schema_for_output::<SimpleResult>(),
        annotations(title = "Set session ready", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn set_session_ready(
        &self,
        Parameters(p): Parameters<SetReadyParams>,
    ) -> Result<CallToolResult, McpError> {
        match self.manager.get(&p.session_id) {
            Ok(s) => {
                let matches = s.set_ready_pattern(&p.pattern);
                ok(&SimpleResult {
                    success: true,
                    message: Some(if matches {
                        format!("Session is ready; prompt pattern {:?} learned", p.pattern)
                    } else {
                        format!(
                            "Pattern {:?} learned, but the cursor line {:?} does not match it yet",
                            p.pattern,
                            s.screen_text(false)
                        )
                    }),
                    state: Some(s.state().as_str().to_string()),
                    error: None,
                })
            }
            Err(e) => fail(&SimpleResult::failure(e.to_string())),
        }
    }

    #[tool(
        description = "Wait up to `seconds` for a busy session to reach a prompt (or need input, or exit), then return the output of the running command so far. Returns at once if the session is already settled.",
        output_schema = schema_for_output::<SendInputResult>(),
        annotations(title = "Wait for session", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn wait_for_session(
        &self,
        Parameters(p): Parameters<WaitParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let session = match self.session_or::<SendInputResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return *r,
        };
        if !p.seconds.is_finite() || p.seconds < 0.0 {
            return fail(&SendInputResult {
                success: false,
                error: Some("seconds must be a non-negative number".into()),
                state: session.state().as_str().to_string(),
                ..Default::default()
            });
        }
        let wait = Duration::from_secs_f64(p.seconds.min(86_400.0));
        let progress = Progress::start(&context, "waiting for the session".into());
        let outcome = session.wait_settled(wait).await;
        let outcome = if outcome.state == SessionState::Exited {
            session.recover(outcome, wait, false).await
        } else {
            outcome
        };
        drop(progress);
        let (r, is_error) = self.outcome_result(&session, outcome);
        if is_error { fail(&r) } else { ok(&r) }
    }

    #[tool(
        description = "Give up on a session: its processes are ended, its transcript stays readable (get_full_output, get_session_details), and further input is refused.",
        output_schema = schema_for_output::<SimpleResult>(),
        annotations(title = "Mark session failed", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn mark_session_failed(
        &self,
        Parameters(p): Parameters<MarkFailedParams>,
    ) -> Result<CallToolResult, McpError> {
        match self.manager.get(&p.session_id) {
            Ok(s) => {
                s.mark_failed(&p.reason);
                ok(&SimpleResult {
                    success: true,
                    message: Some(format!(
                        "Session {} marked as failed: {}",
                        p.session_id, p.reason
                    )),
                    state: Some(s.state().as_str().to_string()),
                    error: None,
                })
            }
            Err(e) => fail(&SimpleResult::failure(e.to_string())),
        }
    }

    #[tool(
        description = "Answer a recovery question (takafu/repl-mcp compatible): READY:<prompt> says the session is at that prompt (remembered), SEND:<text> types text (\\n is Enter, \\x03 is Ctrl-C) and waits for the prompt, WAIT:<seconds> waits longer, FAILED:<reason> gives the session up.",
        output_schema = schema_for_output::<SendInputResult>(),
        annotations(title = "Answer session question", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn answer_session_question(
        &self,
        Parameters(p): Parameters<AnswerParams>,
    ) -> Result<CallToolResult, McpError> {
        let session = match self.session_or::<SendInputResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return *r,
        };
        let timeout = Duration::from_millis(session.info.timeout_ms);
        match apply_answer(&session, &p.answer, timeout).await {
            Ok(outcome) => {
                let (r, is_error) = self.outcome_result(&session, outcome);
                if is_error { fail(&r) } else { ok(&r) }
            }
            Err(e) => fail(&SendInputResult {
                success: false,
                error: Some(e),
                state: session.state().as_str().to_string(),
                ..Default::default()
            }),
        }
    }

    #[tool(
        description = "Page through the whole output of the session's last command (clean text by default, raw with raw=true), e.g. when send_input_to_session truncated it.",
        output_schema = schema_for_output::<FullOutputResult>(),
        annotations(title = "Get full output", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn get_full_output(
        &self,
        Parameters(p): Parameters<FullOutputParams>,
    ) -> Result<CallToolResult, McpError> {
        let s = match self.session_or::<FullOutputResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return *r,
        };
        if let Some(since) = p.since {
            let (text, cursor, lost) = s.output_since(since);
            let offset = p.offset.unwrap_or(0);
            let limit = p.limit.unwrap_or(40_000).max(1);
            let (output, total, has_more) = page(&text, offset, limit);
            return ok(&FullOutputResult {
                success: true,
                cursor: Some(cursor),
                output,
                offset,
                limit,
                total_length: total,
                has_more,
                next_offset: has_more.then_some(offset + limit),
                error: lost.then(|| {
                    "older output was dropped from the session's history ring".to_string()
                }),
            });
        }
        let snap = s.snapshot();
        let text = match (snap.last_command, p.raw.unwrap_or(false)) {
            (Some(c), false) => c.output,
            // Raw: what the terminal received since the last command began
            // (everything, before the first one).
            (last, _) => {
                let (raw, _) = s.raw_since(last.map_or(0, |c| c.start));
                String::from_utf8_lossy(&raw).into_owned()
            }
        };
        let offset = p.offset.unwrap_or(0);
        let limit = p.limit.unwrap_or(40_000).max(1);
        let (output, total, has_more) = page(&text, offset, limit);
        ok(&FullOutputResult {
            cursor: None,
            success: true,
            output,
            offset,
            limit,
            total_length: total,
            has_more,
            next_offset: has_more.then_some(offset + limit),
            error: None,
        })
    }

    #[tool(
        description = "The terminal as a person sees it, without escape codes: the cursor line, or the whole screen with fullText=true.",
        output_schema = schema_for_output::<CleanTextResult>(),
        annotations(title = "Get clean text", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn get_clean_text(
        &self,
        Parameters(p): Parameters<CleanTextParams>,
    ) -> Result<CallToolResult, McpError> {
        match self.manager.get(&p.session_id) {
            Ok(s) => {
                let full = p.full_text.unwrap_or(false);
                let snap = s.status();
                ok(&CleanTextResult {
                    success: true,
                    text: s.screen_text(full),
                    full_text: full,
                    state: Some(snap.state.as_str().to_string()),
                    cursor: Some([snap.cursor_row, snap.cursor_col]),
                    error: None,
                })
            }
            Err(e) => fail(&CleanTextResult {
                success: false,
                error: Some(e.to_string()),
                ..Default::default()
            }),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for ReplServer {
    /// Every call passes the policy first and leaves an audit line after.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let started = std::time::Instant::now();
        let tool = request.name.to_string();
        if !self.tool_router.has_route(&tool) {
            let tcc = ToolCallContext::new(self, request, context);
            return self.tool_router.call(tcc).await;
        }
        let args = serde_json::Value::Object(request.arguments.clone().unwrap_or_default());
        let answered = approval_answer(
            &tool,
            request.request_state.as_deref(),
            request.input_responses.as_ref(),
        );
        let admission = self
            .guard
            .admit(
                self.connection,
                &tool,
                &args,
                self.manager.count(),
                &context,
                answered,
            )
            .await;
        match admission {
            Admission::Ask(ask) => Ok((*ask).into()),
            Admission::Refused {
                result,
                decision,
                verdict,
            } => {
                self.guard.finish(
                    self.connection,
                    &tool,
                    &args,
                    &verdict,
                    decision,
                    started,
                    Some(&result),
                );
                Ok((*result).into())
            }
            Admission::Go { decision } => {
                let tcc = ToolCallContext::new(self, request, context);
                let out = self.tool_router.call(tcc).await;
                let result = match &out {
                    Ok(CallToolResponse::Complete(r)) => Some(r),
                    _ => None,
                };
                let verdict = crate::policy::Verdict::Allow;
                self.guard.finish(
                    self.connection,
                    &tool,
                    &args,
                    &verdict,
                    decision,
                    started,
                    result,
                );
                out
            }
        }
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("repl-mcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Real interactive REPLs and shells on pseudo-terminals. create_session starts one \
                 (list_repl_configurations shows the presets); send_input_to_session with \
                 options.wait_for_prompt=true runs code and returns its clean output the moment the \
                 prompt is back. Show the user the webUrl so they can watch. If a call reports \
                 state continuation, awaiting_input or a timeout, follow its hint or question.",
            )
    }
}
