//! A recorded session's transcript (asciicast v2), downloaded from its page
//! with the page's own token, read-only or interactive alike: whoever may
//! watch the session may take its recording. Without a valid token, or for
//! a session that is not recorded, the answer is the same plain 404 as for
//! anything else.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::assets::html_escape;
use super::routes::{AppState, TokenQuery, encode_segment, not_found, token_of};

/// The cast file of session `id`, if it is recorded.
fn cast_path(app: &AppState, id: &str) -> Option<std::path::PathBuf> {
    app.casts.as_ref()?.path(id).filter(|p| p.is_file())
}

/// The page's download link, or nothing when the session is not recorded.
pub(crate) fn link(app: &AppState, id: &str, token: &str) -> String {
    if cast_path(app, id).is_none() {
        return String::new();
    }
    let href = format!("/s/{}/cast?token={token}", encode_segment(id));
    format!(
        r#"<a class="cast" id="cast" href="{}" download="{}.cast">transcript (.cast)</a>"#,
        html_escape(&href),
        html_escape(id)
    )
}

pub(crate) async fn download(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    if token_of(&query)
        .and_then(|t| app.tokens.check(&id, t))
        .is_none()
    {
        return not_found();
    }
    let Some(path) = cast_path(&app, &id) else {
        return not_found();
    };
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(path = %path.display(), "cast not served: {e}");
            return not_found();
        }
    };
    // What is written now: a live session's cast keeps growing, and the
    // recorder writes whole lines, so this is a complete cast so far.
    let len = match file.metadata().await {
        Ok(m) => m.len(),
        Err(e) => {
            tracing::warn!(path = %path.display(), "cast not served: {e}");
            return not_found();
        }
    };
    // Streamed: a long session's cast need not fit in memory.
    let reader = tokio::io::AsyncReadExt::take(file, len);
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(reader));
    let name: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/x-asciicast".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.cast\""),
            ),
        ],
        body,
    )
        .into_response()
}
