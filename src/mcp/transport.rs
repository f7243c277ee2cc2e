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
    let mut app = axum::Router::new().nest_service("/mcp", service);
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
