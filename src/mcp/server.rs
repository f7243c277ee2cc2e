//! The MCP handler: the tool groups (see `tools/`) behind the policy. Every
//! call passes the tool-level rules first, runs with a gate of its own (the
//! rules on what it does), and leaves one audit line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, tool_handler};
use serde::Deserialize;
use serde_json::Value;

use super::gate::{CallGate, awaits_secret, secret_of, shown_answer};
use super::guard::{Admission, CallRecord, Guard, approval_answer};
use super::results::failure_for_tool;
use crate::policy::{CallFacts, Verdict};
use crate::session::SessionManager;

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
    /// The web view's index page (`daemon status` shows it).
    fn index_url(&self) -> Option<String> {
        None
    }
}

/// What the daemon learns of one connection's sessions: its front attaches
/// to the sessions it creates or names in a call.
pub trait SessionUse: Send + Sync {
    /// A call named this session.
    fn used(&self, session_id: &str);
    /// This connection created the session; `keep_for` is its own lifetime
    /// once no front is attached (`None`: the daemon's default).
    fn created(&self, session_id: &str, keep_for: Option<std::time::Duration>);
    /// Added to "session not found": e.g. that an earlier daemon died and
    /// its sessions with it.
    fn unknown_session_note(&self) -> Option<String> {
        None
    }
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
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

#[derive(Clone)]
pub struct ReplServer {
    pub(super) manager: Arc<SessionManager>,
    pub(super) web: Option<Arc<dyn WebLinks>>,
    pub(super) limits: OutputLimits,
    /// Set when a daemon serves this connection for a front.
    pub(super) uses: Option<Arc<dyn SessionUse>>,
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

/// The session a call names, read from its arguments.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionRef {
    #[serde(default)]
    session_id: Option<String>,
}

impl ReplServer {
    pub fn new(
        manager: Arc<SessionManager>,
        web: Option<Arc<dyn WebLinks>>,
        limits: OutputLimits,
        guard: Arc<Guard>,
    ) -> Self {
        let connection = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
        Self {
            manager,
            web,
            limits,
            uses: None,
            _end: Arc::new(ConnectionEnd {
                guard: Arc::clone(&guard),
                connection,
            }),
            guard,
            connection,
            tool_router: Self::all_tools(),
        }
    }

    /// Report this connection's use of sessions to `uses` (the daemon).
    pub fn with_session_use(mut self, uses: Arc<dyn SessionUse>) -> Self {
        self.uses = Some(uses);
        self
    }

    /// Every tool, as `tools/list` shows it.
    pub fn tools() -> Vec<Tool> {
        Self::all_tools().list_all()
    }

    /// Names of every tool (the policy file may only name these).
    pub fn tool_names() -> Vec<String> {
        Self::tools()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }

    /// The arguments as the audit log and approval prompts may show them:
    /// text typed while the session waits for a secret is not shown.
    fn shown_arguments(&self, tool: &str, session_id: Option<&str>, mut args: Value) -> Value {
        let field = match tool {
            "send_input_to_session" => "input",
            "answer_session_question" => "answer",
            _ => return args,
        };
        let secret = session_id
            .and_then(|id| self.manager.get(id).ok())
            .is_some_and(|s| awaits_secret(&s));
        if secret && let Some(Value::String(text)) = args.get_mut(field) {
            *text = if field == "answer" {
                shown_answer(text, true)
            } else {
                secret_of(text)
            };
        }
        args
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for ReplServer {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let started = Instant::now();
        let tool = request.name.to_string();
        if !self.tool_router.has_route(&tool) {
            let tcc = ToolCallContext::new(self, request, context);
            return self.tool_router.call(tcc).await;
        }
        let raw = Value::Object(request.arguments.clone().unwrap_or_default());
        let target: SessionRef = serde_json::from_value(raw.clone()).unwrap_or_default();
        let session_id = target.session_id.as_deref();
        if let (Some(uses), Some(id)) = (&self.uses, session_id) {
            uses.used(id);
        }
        let args = self.shown_arguments(&tool, session_id, raw);
        let answered = approval_answer(
            &tool,
            request.request_state.as_deref(),
            request.input_responses.as_ref(),
        );
        let mut facts = CallFacts::new(self.connection, &tool).arguments(&args);
        if let Some(id) = session_id {
            facts = facts.session(id);
        }
        let finish = |verdict: &Verdict, decision, result: Option<&CallToolResult>| {
            self.guard.finish(CallRecord {
                connection: self.connection,
                tool: &tool,
                session_id,
                arguments: args.clone(),
                verdict,
                decision,
                started,
                result,
            });
        };
        match self.guard.admit_call(facts, &context, answered).await {
            Admission::Ask(ask) => Ok((*ask).into()),
            Admission::Refused {
                verdict,
                decision,
                message,
            } => {
                let body = failure_for_tool(&tool, message, Some(&verdict));
                let result = CallToolResult::structured_error(body);
                finish(&verdict, decision, Some(&result));
                Ok(result.into())
            }
            Admission::Go { decision } => {
                let gate = Arc::new(CallGate::new(
                    Arc::clone(&self.guard),
                    self.connection,
                    &tool,
                    context.clone(),
                ));
                context.extensions.insert(Arc::clone(&gate));
                let tcc = ToolCallContext::new(self, request, context);
                let out = self.tool_router.call(tcc).await;
                let result = match &out {
                    Ok(CallToolResponse::Complete(r)) => Some(r),
                    _ => None,
                };
                let (verdict, decision) = gate.take_refusal().unwrap_or((Verdict::Allow, decision));
                finish(&verdict, decision, result);
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
