//! Looking at sessions: lists, details, output pages, the screen.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use serde_json::{Value, json};

use super::{fail, ok};
use crate::mcp::bound::{head_tail, page};
use crate::mcp::params::{CleanTextParams, DebugParams, FullOutputParams, SessionIdParams};
use crate::mcp::results::{
    CleanTextResult, Failure, FullOutputResult, ListSessionsResult, SessionDetailsResult,
    SessionSummary,
};
use crate::mcp::schema;
use crate::mcp::server::ReplServer;
use crate::policy::rfc3339;
use crate::session::Session;

/// Characters of a page when the call does not say.
const DEFAULT_PAGE: usize = 40_000;

impl ReplServer {
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

/// One page of `text` as a result.
fn paged(text: &str, offset: usize, limit: usize, cursor: Option<u64>) -> FullOutputResult {
    let (output, total, has_more) = page(text, offset, limit);
    FullOutputResult {
        success: true,
        cursor,
        output,
        offset,
        limit,
        total_length: total,
        has_more,
        next_offset: has_more.then_some(offset.saturating_add(limit)),
        ..Default::default()
    }
}

#[tool_router(router = inspect_router, vis = "pub(super)")]
impl ReplServer {
    #[tool(
        description = "Live sessions with their state and webUrl.",
        input_schema = schema::input::<DebugParams>(),
        output_schema = schema::output::<ListSessionsResult>(),
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
            ..Default::default()
        })
    }

    #[tool(
        description = "A session's configuration, state, input history, last output and error, learned prompts, events and webUrl.",
        input_schema = schema::input::<SessionIdParams>(),
        output_schema = schema::output::<SessionDetailsResult>(),
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
        let kernel = s.probe_kernel().map(|k| {
            json!({
                "echo": k.echo,
                "canonical": k.canonical,
                "readingTerminal": k.reading_terminal(),
                "foreground": k.foreground,
            })
        });
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
            "terminal": kernel,
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
            "castPath": self.manager.cast_path(s.id()).map(|p| p.display().to_string()),
            "events": snap.log,
        });
        let Value::Object(session) = session else {
            return fail(&SessionDetailsResult::failure(
                "details not an object".into(),
            ));
        };
        ok(&SessionDetailsResult {
            success: true,
            session: Some(session),
            debug_logs: p.debug.unwrap_or(false).then(|| snap.log.clone()),
            ..Default::default()
        })
    }

    #[tool(
        description = "Page through the last command's whole output (clean text, or raw), or with `since` everything after an outputCursor.",
        input_schema = schema::input::<FullOutputParams>(),
        output_schema = schema::output::<FullOutputResult>(),
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
        let offset = p.offset.unwrap_or(0);
        let limit = p.limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 {
            return fail(&FullOutputResult::failure(
                "limit must be at least 1 character".into(),
            ));
        }
        if let Some(since) = p.since {
            let (text, cursor, lost) = s.output_since(since);
            let mut r = paged(&text, offset, limit, Some(cursor));
            r.error = lost
                .then(|| "older output was dropped from the session's history ring".to_string());
            return ok(&r);
        }
        let snap = s.snapshot();
        let text = match (snap.last_command, p.raw.unwrap_or(false)) {
            (Some(c), false) => c.output,
            // Raw: what the terminal received since the last command began
            // (everything, before the first one).
            (last, _) => {
                let (raw, _) = s.raw_since(last.map_or(0, |c| c.start));
                std::sync::Arc::new(crate::session::lossy_utf8(&raw).into_owned())
            }
        };
        ok(&paged(&text, offset, limit, None))
    }

    #[tool(
        description = "The screen as a person sees it, without escape codes: the cursor line, or with fullText the whole screen.",
        input_schema = schema::input::<CleanTextParams>(),
        output_schema = schema::output::<CleanTextResult>(),
        annotations(title = "Get clean text", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn get_clean_text(
        &self,
        Parameters(p): Parameters<CleanTextParams>,
    ) -> Result<CallToolResult, McpError> {
        let s = match self.session_or::<CleanTextResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return *r,
        };
        let full = p.full_text.unwrap_or(false);
        let snap = s.status();
        ok(&CleanTextResult {
            success: true,
            text: s.screen_text(full),
            full_text: full,
            state: Some(snap.state.as_str().to_string()),
            cursor: Some([snap.cursor_row, snap.cursor_col]),
            ..Default::default()
        })
    }
}
