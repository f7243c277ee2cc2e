//! The HTTP surface: index, session page, socket, assets. Anything a token
//! does not open is a plain 404, the same as a page that never existed, so a
//! probe learns nothing about which sessions exist.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::middleware::from_fn_with_state;
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::assets;
use super::backend::{Actor, WebBackend};
use super::cast_download;
use super::guard::{OriginPolicy, guard};
use super::socket;
use super::tokens::{Access, TokenRegistry};

/// What every handler shares.
pub(crate) struct AppState {
    pub backend: Arc<dyn WebBackend>,
    pub tokens: Arc<TokenRegistry>,
    pub policy: Arc<OriginPolicy>,
    /// Recorded sessions, for their cast downloads.
    pub casts: Option<Arc<crate::cast::Recordings>>,
}

impl AppState {
    /// What a page may do with the access its token grants: where the
    /// backend lets nobody type (the policy denies typing), an interactive
    /// token only watches. The page and its socket both ask here.
    pub(crate) fn access(&self, id: &str, granted: Access) -> Access {
        match (granted, self.backend.typing_refused()) {
            (Access::Interactive, Some(why)) => {
                tracing::debug!(session = %id, "interactive page served read-only: {why}");
                Access::ReadOnly
            }
            (granted, _) => granted,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

/// The token from the query string, if the query parses at all.
pub(crate) fn token_of(query: &Result<Query<TokenQuery>, QueryRejection>) -> Option<&str> {
    query.as_ref().ok().and_then(|q| q.token.as_deref())
}

pub(crate) fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

pub(crate) fn router(app: Arc<AppState>) -> Router {
    let policy = app.policy.clone();
    Router::new()
        .route("/", get(index_page))
        .route("/api/sessions", get(list_sessions))
        .route("/s/{id}", get(session_page))
        .route("/s/{id}/ws", get(session_socket))
        .route("/s/{id}/cast", get(cast_download::download))
        .route("/assets/{*path}", get(asset))
        .fallback(|| async { not_found() })
        .layer(from_fn_with_state(policy, guard))
        .with_state(app)
}

async fn index_page(
    State(app): State<Arc<AppState>>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    match token_of(&query) {
        Some(token) if app.tokens.is_index_token(token) => Html(assets::INDEX_HTML).into_response(),
        _ => not_found(),
    }
}

/// One row of the index.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    id: String,
    display_name: String,
    state: String,
    last_actor: Option<Actor>,
    /// Milliseconds since the Unix epoch.
    created_at: u64,
    /// Relative, so they work under whichever host name the page was opened.
    interactive_url: String,
    read_only_url: String,
}

async fn list_sessions(
    State(app): State<Arc<AppState>>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    if !token_of(&query).is_some_and(|t| app.tokens.is_index_token(t)) {
        return not_found();
    }
    let mut sessions = app.backend.list_sessions();
    sessions.sort_by_key(|s| s.created_at);
    let entries: Vec<IndexEntry> = sessions
        .into_iter()
        .filter_map(|s| {
            // Only sessions the server handed links for: the others have no
            // tokens, so there is nothing to link to.
            let tokens = app.tokens.tokens(&s.id)?;
            Some(IndexEntry {
                interactive_url: session_path(&s.id, &tokens.interactive),
                read_only_url: session_path(&s.id, &tokens.read_only),
                created_at: s
                    .created_at
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                id: s.id,
                display_name: s.display_name,
                state: s.state,
                last_actor: s.last_actor,
            })
        })
        .collect();
    Json(entries).into_response()
}

async fn session_page(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    let Some(access) = token_of(&query).and_then(|t| app.tokens.check(&id, t)) else {
        return not_found();
    };
    let Some(info) = app.backend.session_info(&id) else {
        return not_found();
    };
    let mode = match app.access(&id, access) {
        Access::Interactive => "interactive",
        Access::ReadOnly => "read-only",
    };
    let cast_link = cast_download::link(&app, &id, token_of(&query).unwrap_or_default());
    let page = assets::SESSION_HTML
        .replace("{{TITLE}}", &assets::html_escape(&info.display_name))
        .replace("{{MODE}}", mode)
        .replace("{{CAST}}", &cast_link);
    Html(page).into_response()
}

async fn session_socket(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    // Origin first, before anything depends on the session, so that a
    // refused page cannot tell a live session from a dead one either.
    if !app.policy.origin_allowed(&headers) {
        return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
    }
    let Some(access) = token_of(&query).and_then(|t| app.tokens.check(&id, t)) else {
        return not_found();
    };
    let Ok(upgrade) = upgrade else {
        return (StatusCode::BAD_REQUEST, "expected a WebSocket upgrade\n").into_response();
    };
    upgrade
        .max_message_size(socket::MAX_INCOMING)
        .max_frame_size(socket::MAX_INCOMING)
        .on_upgrade(move |ws| socket::serve(ws, app, id, access))
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    assets::serve(&path, &headers)
}

/// `/s/{id}?token={token}` with the id percent-encoded as a path segment.
pub(crate) fn session_path(id: &str, token: &str) -> String {
    format!("/s/{}?token={token}", encode_segment(id))
}

pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode_ids() {
        assert_eq!(session_path("py-1", "t"), "/s/py-1?token=t");
        assert_eq!(session_path("a b/c", "t"), "/s/a%20b%2Fc?token=t");
    }
}
