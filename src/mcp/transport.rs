//! Serving the tools over stdio or streamable HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::ReplServer;

/// Serve one client on stdin/stdout until it closes stdin or `stop` fires.
pub async fn serve_stdio(server: ReplServer, stop: CancellationToken) -> anyhow::Result<()> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .context("MCP initialisation over stdio failed")?;
    let cancel = running.cancellation_token();
    tokio::select! {
        r = running.waiting() => { r.context("MCP stdio service ended with an error")?; }
        _ = stop.cancelled() => cancel.cancel(),
    }
    Ok(())
}

/// Serve streamable HTTP on `addr` at `/mcp`. Off loopback a bearer token
/// is mandatory.
pub async fn serve_http(
    make_server: impl Fn() -> ReplServer + Send + Sync + 'static,
    addr: SocketAddr,
    token: Option<String>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() && token.is_none() {
        bail!(
            "refusing to serve MCP on non-loopback address {addr} without a bearer token: pass --token or set REPL_MCP_TOKEN"
        );
    }
    let mut allowed_hosts = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "MCP over HTTP is reachable from the network; every request needs the bearer token");
        allowed_hosts.push(addr.ip().to_string());
        if addr.ip().is_unspecified() {
            allowed_hosts.clear();
        }
    }
    let mut config = StreamableHttpServerConfig::default()
        .with_cancellation_token(stop.child_token())
        .with_legacy_session_mode(true);
    config = if allowed_hosts.is_empty() {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(allowed_hosts)
    };
    let service = StreamableHttpService::new(
        move || Ok(make_server()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let mut app = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn(reject_malformed));
    if let Some(token) = token {
        let expected = Arc::new(format!("Bearer {token}"));
        app = app.layer(middleware::from_fn(move |req: Request, next: Next| {
            let expected = Arc::clone(&expected);
            async move { require_bearer(req, next, &expected).await }
        }));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(
        "MCP streamable HTTP on http://{}/mcp",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .context("HTTP server failed")
}

/// Largest request body read: a tool call's input is bounded well below it.
const MAX_BODY: usize = 16 << 20;

/// A POST whose body is not JSON, or not a JSON-RPC 2.0 message, gets the
/// JSON-RPC error a client can read (parse error / invalid request) with
/// status 400, rather than the transport's bare-text refusal.
async fn reject_malformed(req: Request, next: Next) -> Response {
    if req.method() != axum::http::Method::POST {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return rpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                -32600,
                format!("request body over {MAX_BODY} bytes"),
            );
        }
    };
    let problem = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Err(e) => Some((-32700, format!("parse error: {e}"))),
        Ok(v) => {
            let one_message = |m: &serde_json::Value| {
                m.get("jsonrpc").and_then(serde_json::Value::as_str) == Some("2.0")
            };
            let ok = match &v {
                serde_json::Value::Array(batch) => {
                    !batch.is_empty() && batch.iter().all(one_message)
                }
                other => one_message(other),
            };
            (!ok).then(|| {
                (
                    -32600,
                    "invalid request: not a JSON-RPC 2.0 message (\"jsonrpc\": \"2.0\")"
                        .to_string(),
                )
            })
        }
    };
    match problem {
        Some((code, message)) => rpc_error(StatusCode::BAD_REQUEST, code, message),
        None => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
    }
}

fn rpc_error(status: StatusCode, code: i64, message: String) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": code, "message": message },
    });
    (status, axum::Json(body)).into_response()
}

async fn require_bearer(req: Request, next: Next, expected: &str) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes())) {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "missing or wrong bearer token\n",
        )
            .into_response()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
