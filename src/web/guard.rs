//! Who may talk to the server: Host and Origin checks, and the headers that
//! keep tokens out of caches, referrers and frames.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::config::WebConfig;

/// Allows only the page's own scripts, styles and sockets. xterm.js injects
/// `<style>` elements for its themes and glyph metrics, hence the inline
/// styles; inline scripts stay forbidden.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The hosts and origins this server answers to.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// Lower-case host names (without port) a request may name in `Host`.
    hosts: Vec<String>,
    /// Lower-case exact origins allowed to open sockets.
    origins: Vec<String>,
    /// With a deliberate remote bind, people reach the server under names we
    /// cannot list, so the Host check is off and the page's own origin
    /// (`http://` + its Host) is accepted. Tokens still guard every session.
    remote: bool,
}

impl OriginPolicy {
    pub fn new(config: &WebConfig, port: u16) -> Self {
        let mut hosts: Vec<String> = vec!["127.0.0.1".into(), "localhost".into(), "[::1]".into()];
        if !config.bind.is_unspecified() {
            hosts.push(host_of_ip(config.bind));
        }
        if let Some(public) = &config.public_host {
            hosts.push(public.to_ascii_lowercase());
        }
        hosts.dedup();
        let mut origins: Vec<String> = hosts.iter().map(|h| format!("http://{h}:{port}")).collect();
        origins.extend(config.extra_origins.iter().map(|o| o.to_ascii_lowercase()));
        Self {
            hosts,
            origins,
            remote: config.allow_remote,
        }
    }

    /// DNS rebinding defence: a page on `evil.example` whose name was pointed
    /// at 127.0.0.1 sends `Host: evil.example`, which we do not serve.
    pub fn host_allowed(&self, headers: &HeaderMap) -> bool {
        if self.remote {
            return true;
        }
        match headers.get(header::HOST).map(HeaderValue::to_str) {
            // HTTP/1.0 clients may omit Host; browsers never do.
            None => true,
            Some(Ok(host)) => {
                let name = strip_port(host).to_ascii_lowercase();
                self.hosts.contains(&name)
            }
            Some(Err(_)) => false,
        }
    }

    /// A socket may be opened by our own pages, or by a client that sends no
    /// Origin at all (not a browser, so not a page the user happens to visit).
    pub fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.to_ascii_lowercase();
        if self.origins.contains(&origin) {
            return true;
        }
        if self.remote
            && let Some(Ok(host)) = headers.get(header::HOST).map(HeaderValue::to_str)
        {
            return origin == format!("http://{}", host.to_ascii_lowercase());
        }
        false
    }
}

fn host_of_ip(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `host:port` → `host`, keeping IPv6 brackets (`[::1]:80` → `[::1]`).
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, _port)) => name,
        None => host,
    }
}

/// Applied to every route: refuses foreign Host names and sets the headers.
pub async fn guard(
    State(policy): State<Arc<OriginPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    if !policy.host_allowed(request.headers()) {
        return (StatusCode::MISDIRECTED_REQUEST, "unknown host\n").into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // Pages and API answers carry tokens: keep them out of every cache unless
    // the handler chose otherwise (static assets do).
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                name.clone(),
                HeaderValue::from_str(value).expect("valid header"),
            );
        }
        map
    }

    #[test]
    fn loopback_origins() {
        let policy = OriginPolicy::new(&WebConfig::default(), 8023);
        let ok = |o: &str| policy.origin_allowed(&headers(&[(header::ORIGIN, o)]));
        assert!(ok("http://127.0.0.1:8023"));
        assert!(ok("http://LOCALHOST:8023"));
        assert!(ok("http://[::1]:8023"));
        assert!(!ok("http://127.0.0.1:8024"));
        assert!(!ok("https://127.0.0.1:8023"));
        assert!(!ok("http://evil.example"));
        assert!(!ok("null"));
        assert!(policy.origin_allowed(&HeaderMap::new()));
    }

    #[test]
    fn hosts() {
        let policy = OriginPolicy::new(&WebConfig::default(), 8023);
        let ok = |h: &str| policy.host_allowed(&headers(&[(header::HOST, h)]));
        assert!(ok("127.0.0.1:8023"));
        assert!(ok("localhost:8023"));
        assert!(ok("localhost"));
        assert!(ok("[::1]:8023"));
        assert!(!ok("evil.example:8023"));
        assert!(!ok("127.0.0.1.evil.example"));
    }

    #[test]
    fn remote_accepts_own_host_only() {
        let config = WebConfig {
            bind: "0.0.0.0".parse().expect("ip"),
            allow_remote: true,
            ..WebConfig::default()
        };
        let policy = OriginPolicy::new(&config, 9000);
        let h = headers(&[
            (header::HOST, "box.lan:9000"),
            (header::ORIGIN, "http://box.lan:9000"),
        ]);
        assert!(policy.host_allowed(&h));
        assert!(policy.origin_allowed(&h));
        let h = headers(&[
            (header::HOST, "box.lan:9000"),
            (header::ORIGIN, "http://evil.example"),
        ]);
        assert!(!policy.origin_allowed(&h));
    }
}
