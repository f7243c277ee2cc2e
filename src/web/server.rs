//! Starting and stopping the web server, and the handle the rest of the
//! program uses to hand out links.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::backend::WebBackend;
use super::config::WebConfig;
use super::error::WebError;
use super::guard::OriginPolicy;
use super::routes::{AppState, router, session_path};
use super::tokens::{Access, TokenRegistry};

/// How long [`WebHandle::shutdown`] waits for open pages to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The two links of a session, absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLinks {
    /// Watch and type.
    pub interactive_url: String,
    /// Watch only.
    pub readonly_url: String,
}

/// Namespace for [`WebServer::start`].
#[derive(Debug)]
pub struct WebServer;

/// A running web server. Cheap to clone; the server stops when the last
/// clone is dropped or [`WebHandle::shutdown`] is called.
#[derive(Debug, Clone)]
pub struct WebHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    addr: SocketAddr,
    base_url: String,
    tokens: Arc<TokenRegistry>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

impl WebServer {
    /// Binds (loopback unless `allow_remote`), starts serving on the current
    /// tokio runtime, and logs the index URL.
    pub async fn start(
        config: WebConfig,
        backend: Arc<dyn WebBackend>,
    ) -> Result<WebHandle, WebError> {
        if !config.bind.is_loopback() {
            if !config.allow_remote {
                return Err(WebError::RemoteNotAllowed(config.bind));
            }
            warn!(
                bind = %config.bind,
                "the web view listens beyond loopback: anyone who can reach it and holds a \
                 link can watch (and with an interactive link, type into) the sessions"
            );
        }
        let listener = bind(&config).await?;
        let addr = listener.local_addr().map_err(|source| WebError::Bind {
            addr: SocketAddr::new(config.bind, config.port),
            source,
        })?;
        let tokens = Arc::new(TokenRegistry::new());
        let policy = Arc::new(OriginPolicy::new(&config, addr.port()));
        let app = Arc::new(AppState {
            backend,
            tokens: tokens.clone(),
            policy,
            casts: config.casts.clone(),
        });
        let (stop, mut stopped) = watch::channel(false);
        let serve_tokens = tokens.clone();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                // Err: every handle is gone, which also means stop.
                let _ = stopped.wait_for(|stop| *stop).await;
                // Open sockets would keep graceful shutdown waiting forever;
                // revoking every session makes them say goodbye and close.
                serve_tokens.forget_all();
            };
            if let Err(err) = axum::serve(listener, router(app))
                .with_graceful_shutdown(shutdown)
                .await
            {
                warn!(%err, "web view stopped");
            }
        });
        let base_url = format!("http://{}:{}", url_host(&config), addr.port());
        let handle = WebHandle {
            inner: Arc::new(Inner {
                addr,
                base_url,
                tokens,
                stop,
                task: Mutex::new(Some(task)),
            }),
        };
        info!(url = %handle.index_url(), "web view listening; open this URL to see every session");
        Ok(handle)
    }
}

/// The first free port from `config.port`, trying `port_attempts` ports.
async fn bind(config: &WebConfig) -> Result<TcpListener, WebError> {
    let attempts = if config.port == 0 {
        1
    } else {
        config.port_attempts.max(1)
    };
    let first = config.port;
    let last = first.saturating_add(attempts - 1);
    for port in first..=last {
        let addr = SocketAddr::new(config.bind, port);
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(source) => return Err(WebError::Bind { addr, source }),
        }
    }
    Err(WebError::NoFreePort {
        bind: config.bind,
        first,
        last,
    })
}

/// The host name put in the links we hand out.
fn url_host(config: &WebConfig) -> String {
    if let Some(host) = &config.public_host {
        return host.clone();
    }
    match config.bind {
        // An unspecified bind answers on loopback too, which is the one
        // address we know reaches it.
        ip if ip.is_unspecified() || ip.is_loopback() => match ip {
            IpAddr::V4(_) => "127.0.0.1".to_owned(),
            IpAddr::V6(_) => "[::1]".to_owned(),
        },
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

impl WebHandle {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// `http://127.0.0.1:8023`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The index page, which lists every registered session with its links.
    pub fn index_url(&self) -> String {
        format!(
            "{}/?token={}",
            self.inner.base_url,
            self.inner.tokens.index_token()
        )
    }

    /// Gives a session its tokens and returns its links. Calling it again for
    /// the same id returns the same links.
    pub fn register_session(&self, id: &str) -> SessionLinks {
        let pair = self.inner.tokens.register(id);
        SessionLinks {
            interactive_url: self.absolute(id, &pair.interactive),
            readonly_url: self.absolute(id, &pair.read_only),
        }
    }

    /// Invalidates the session's links (they answer 404 from now on) and
    /// closes the pages that have it open.
    pub fn forget_session(&self, id: &str) {
        self.inner.tokens.forget(id);
    }

    /// The links of a registered session.
    pub fn session_links(&self, id: &str) -> Option<SessionLinks> {
        let pair = self.inner.tokens.tokens(id)?;
        Some(SessionLinks {
            interactive_url: self.absolute(id, &pair.interactive),
            readonly_url: self.absolute(id, &pair.read_only),
        })
    }

    /// One link of a registered session.
    pub fn session_url(&self, id: &str, access: Access) -> Option<String> {
        let links = self.session_links(id)?;
        Some(match access {
            Access::Interactive => links.interactive_url,
            Access::ReadOnly => links.readonly_url,
        })
    }

    /// Stops accepting connections, closes open pages and waits (a few
    /// seconds at most) for the server task to end.
    pub async fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(mut task) = task {
            // A page whose socket stopped reading can hold graceful shutdown
            // in a send forever; do not let it hold the process too.
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                warn!("web view did not stop in time; abandoning open connections");
                task.abort();
            }
        }
    }

    fn absolute(&self, id: &str, token: &str) -> String {
        format!("{}{}", self.inner.base_url, session_path(id, token))
    }
}
