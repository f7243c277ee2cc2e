//! Connects the web view to the session manager: the manager is the web
//! view's backend, and the web view gives the MCP tools their links.
//! (When the manager publishes lifecycle events — contract D — the web
//! view's register/forget move to them.)

use std::sync::{Arc, Weak};

use crate::cast::Recordings;
use crate::cli::ServeArgs;
use crate::mcp::{WebGate, WebLine, WebLinks, WebUrls};
use crate::session::{Actor, SessionManager};
use crate::web::{
    Attachment, LineOutcome, WebBackend, WebConfig, WebHandle, WebServer, WebSessionInfo,
};

/// The session manager seen from the web view. Holds it weakly: the web
/// view must not keep sessions alive after the server shuts down.
struct ManagerBackend {
    manager: Weak<SessionManager>,
    /// Every line a person ends with Enter meets the policy here.
    gate: WebGate,
}

impl ManagerBackend {
    fn session(&self, id: &str) -> Option<Arc<crate::session::Session>> {
        self.manager.upgrade()?.get(id).ok()
    }
}

fn info(s: &crate::session::Session) -> WebSessionInfo {
    let snap = s.status();
    WebSessionInfo {
        id: s.info.id.clone(),
        display_name: s.info.display_name.clone(),
        state: snap.state.as_str().to_string(),
        last_actor: Some(snap.last_actor),
        created_at: s.info.created_at,
    }
}

impl WebBackend for ManagerBackend {
    fn list_sessions(&self) -> Vec<WebSessionInfo> {
        self.manager
            .upgrade()
            .map(|m| m.list().iter().map(|s| info(s)).collect())
            .unwrap_or_default()
    }

    fn session_info(&self, id: &str) -> Option<WebSessionInfo> {
        self.session(id).map(|s| info(&s))
    }

    fn attach(&self, id: &str) -> Option<Attachment> {
        let (screen, cols, rows, events) = self.session(id)?.attach();
        Some(Attachment {
            screen,
            cols,
            rows,
            events,
        })
    }

    fn write_input(&self, id: &str, bytes: &[u8]) -> Result<(), String> {
        let s = self
            .session(id)
            .ok_or_else(|| format!("session {id} not found"))?;
        s.write_keys(bytes, Actor::Person)
            .map_err(|e| e.to_string())
    }

    fn submit_line(&self, id: &str, line: &str, key: u8) -> Result<LineOutcome, String> {
        let s = self
            .session(id)
            .ok_or_else(|| format!("session {id} not found"))?;
        match self.gate.submit(&s, line, key) {
            WebLine::Sent => Ok(LineOutcome::Sent),
            WebLine::Refused(message) => Ok(LineOutcome::Refused { message }),
            WebLine::Failed(e) => Err(e),
        }
    }

    fn typing_refused(&self) -> Option<String> {
        self.gate.typing_refused()
    }

    fn resize(&self, id: &str, cols: u16, rows: u16) -> Result<(), String> {
        let s = self
            .session(id)
            .ok_or_else(|| format!("session {id} not found"))?;
        s.resize(cols, rows).map_err(|e| e.to_string())
    }
}

/// The running web view, as the MCP tools see it.
struct WebViewLinks {
    handle: WebHandle,
    /// The policy lets nobody type: the agent is handed the read-only link
    /// for both (an interactive page would only watch anyway).
    watch_only: bool,
}

impl WebViewLinks {
    fn urls_of(&self, links: crate::web::SessionLinks) -> WebUrls {
        WebUrls {
            interactive: if self.watch_only {
                links.readonly_url.clone()
            } else {
                links.interactive_url
            },
            read_only: links.readonly_url,
        }
    }
}

impl WebLinks for WebViewLinks {
    fn register(&self, session_id: &str) -> Option<WebUrls> {
        Some(self.urls_of(self.handle.register_session(session_id)))
    }

    fn urls(&self, session_id: &str) -> Option<WebUrls> {
        self.handle
            .session_links(session_id)
            .map(|l| self.urls_of(l))
    }

    fn forget(&self, session_id: &str) {
        self.handle.forget_session(session_id);
    }

    fn index_url(&self) -> Option<String> {
        Some(self.handle.index_url())
    }
}

/// Start the web view. A failure to start it is logged and the server
/// runs without it.
pub async fn start(
    args: &ServeArgs,
    manager: &Arc<SessionManager>,
    recordings: Arc<Recordings>,
    gate: WebGate,
) -> Option<Arc<dyn WebLinks>> {
    let config = WebConfig {
        bind: args.web_host,
        port: args.web_port,
        allow_remote: args.web_allow_remote,
        casts: Some(recordings),
        ..WebConfig::default()
    };
    let watch_only = gate.typing_refused().is_some();
    let backend = Arc::new(ManagerBackend {
        manager: Arc::downgrade(manager),
        gate,
    });
    match WebServer::start(config, backend).await {
        Ok(handle) => {
            tracing::info!("web view: {}", handle.index_url());
            Some(Arc::new(WebViewLinks { handle, watch_only }))
        }
        Err(e) => {
            tracing::warn!("web view not started: {e}");
            None
        }
    }
}
