//! The page files, compiled into the binary so the web view works offline.
//!
//! `vendor/` holds xterm.js and its fit addon as published on the npm
//! registry, copied there by `web/copy-vendor.mjs` (run `npm ci && npm run
//! vendor` in `web/` after changing the pinned versions).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:literal) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("assets/", $path)),
        }
    };
}

static ASSETS: &[Asset] = &[
    asset!("session.js", "text/javascript; charset=utf-8"),
    asset!("index.js", "text/javascript; charset=utf-8"),
    asset!("web.css", "text/css; charset=utf-8"),
    asset!("vendor/xterm.mjs", "text/javascript; charset=utf-8"),
    asset!("vendor/addon-fit.mjs", "text/javascript; charset=utf-8"),
    asset!("vendor/xterm.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The session page; `{{TITLE}}` and `{{MODE}}` are filled in per request.
pub const SESSION_HTML: &str = include_str!("assets/session.html");
/// The index page; it fetches the list itself.
pub const INDEX_HTML: &str = include_str!("assets/index.html");

/// Entity tags, computed once, so a reload revalidates instead of refetching.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let mut hasher = DefaultHasher::new();
                a.body.hash(&mut hasher);
                format!("\"{:016x}\"", hasher.finish())
            })
            .collect()
    })
}

/// Serves `/assets/{path}`, or 404.
pub fn serve(path: &str, request_headers: &HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.path == path) else {
        return super::routes::not_found();
    };
    let asset = &ASSETS[index];
    let etag = &etags()[index];
    let fresh = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let etag_value = HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"0\""));
    // Assets carry no secrets; `no-cache` means "revalidate", which keeps a
    // rebuilt binary from being paired with stale scripts.
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if fresh {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), cache],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::ETAG, etag_value),
            cache,
        ],
        asset.body,
    )
        .into_response()
}

/// Escapes text for an HTML text node or a quoted attribute.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn every_asset_is_present() {
        for asset in ASSETS {
            assert!(!asset.body.is_empty(), "{} is empty", asset.path);
        }
        assert!(SESSION_HTML.contains("{{TITLE}}"));
    }
}
