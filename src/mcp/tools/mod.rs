//! The tools, in four groups — each an rmcp router, combined by the server:
//! starting and ending sessions, typing into them, looking at them, and
//! getting them unstuck. Each tool is a thin translation between MCP and the
//! session layer.

mod inspect;
mod io;
mod lifecycle;
mod recovery;

use std::sync::Arc;

use rmcp::ErrorData as McpError;
use rmcp::model::CallToolResult;
use serde::Serialize;

use super::results::Failure;
use super::server::ReplServer;
use crate::session::Session;

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

fn ok_or_fail<T: Serialize>(value: &T, is_error: bool) -> Result<CallToolResult, McpError> {
    if is_error { fail(value) } else { ok(value) }
}

impl ReplServer {
    /// Every tool of every group.
    pub(super) fn all_tools() -> rmcp::handler::server::router::tool::ToolRouter<Self> {
        Self::lifecycle_router()
            + Self::io_router()
            + Self::inspect_router()
            + Self::recovery_router()
    }

    /// The session, or the tool's error result (of shape `R`) naming why not.
    fn session_or<R: Failure>(
        &self,
        id: &str,
    ) -> Result<Arc<Session>, Box<Result<CallToolResult, McpError>>> {
        self.manager.get(id).map_err(|e| {
            let mut message = e.to_string();
            if let Some(note) = self.uses.as_ref().and_then(|u| u.unknown_session_note()) {
                message = format!("{message}. {note}");
            }
            Box::new(fail(&R::failure(message)))
        })
    }

    fn web_url(&self, id: &str) -> Option<String> {
        self.web.as_ref()?.urls(id).map(|u| u.interactive)
    }
}
