//! An in-memory session layer for the web server's tests, and small HTTP and
//! WebSocket clients.

use std::collections::HashMap;
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use repl_mcp::web::{
    Actor, Attachment, LineOutcome, WebBackend, WebConfig, WebEvent, WebHandle, WebServer,
    WebSessionInfo,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, broadcast};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const TIMEOUT: Duration = Duration::from_secs(20);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Term {
    parser: vt100::Parser,
    state: String,
    last_actor: Option<Actor>,
}

pub struct TestSession {
    display_name: String,
    term: Mutex<Term>,
    events: broadcast::Sender<WebEvent>,
    pub inputs: Mutex<Vec<u8>>,
    pub sizes: Mutex<Vec<(u16, u16)>>,
    pub changed: Notify,
}

/// Sessions whose "PTY output" is whatever the test feeds.
pub struct TestBackend {
    sessions: Mutex<HashMap<String, Arc<TestSession>>>,
    capacity: usize,
    /// Lines containing this are refused at their Enter (a stand-in for
    /// the policy's input rules).
    refuse: Mutex<Option<String>>,
    /// Every line submitted with its Enter, refused or not.
    pub lines: Mutex<Vec<String>>,
}

impl TestBackend {
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            sessions: Mutex::new(HashMap::new()),
            capacity,
            refuse: Mutex::new(None),
            lines: Mutex::new(Vec::new()),
        })
    }

    /// Refuse every line that contains `word`.
    pub fn refuse_lines_with(&self, word: &str) {
        *lock(&self.refuse) = Some(word.to_owned());
    }

    pub fn lines(&self) -> Vec<String> {
        lock(&self.lines).clone()
    }

    pub fn add(&self, id: &str, display_name: &str) -> Arc<TestSession> {
        let (events, _) = broadcast::channel(self.capacity);
        let rows = NonZeroU16::new(24).expect("non-zero");
        let cols = NonZeroU16::new(80).expect("non-zero");
        let session = Arc::new(TestSession {
            display_name: display_name.to_owned(),
            term: Mutex::new(Term {
                parser: vt100::Parser::new(rows, cols, 0),
                state: "ready".to_owned(),
                last_actor: None,
            }),
            events,
            inputs: Mutex::new(Vec::new()),
            sizes: Mutex::new(Vec::new()),
            changed: Notify::new(),
        });
        lock(&self.sessions).insert(id.to_owned(), session.clone());
        session
    }

    pub fn session(&self, id: &str) -> Option<Arc<TestSession>> {
        lock(&self.sessions).get(id).cloned()
    }
}

impl TestSession {
    /// Output "from the PTY": model and broadcast under one lock, as the real
    /// session layer must do.
    pub fn feed(&self, bytes: &[u8]) {
        let mut term = lock(&self.term);
        term.parser.process(bytes);
        let _ = self
            .events
            .send(WebEvent::Output(Bytes::copy_from_slice(bytes)));
    }

    pub fn set_state(&self, state: &str, actor: Option<Actor>) {
        let mut term = lock(&self.term);
        term.state = state.to_owned();
        term.last_actor = actor;
        let _ = self.events.send(WebEvent::State {
            state: state.to_owned(),
            last_actor: actor,
        });
    }

    pub fn inputs(&self) -> Vec<u8> {
        lock(&self.inputs).clone()
    }

    pub fn sizes(&self) -> Vec<(u16, u16)> {
        lock(&self.sizes).clone()
    }

    /// Waits until `check` holds, woken on every input or resize.
    pub async fn wait_for(&self, check: impl Fn(&Self) -> bool) {
        tokio::time::timeout(TIMEOUT, async {
            loop {
                let woken = self.changed.notified();
                if check(self) {
                    return;
                }
                woken.await;
            }
        })
        .await
        .expect("backend condition within the timeout");
    }

    fn info(&self, id: &str) -> WebSessionInfo {
        let term = lock(&self.term);
        WebSessionInfo {
            id: id.to_owned(),
            display_name: self.display_name.clone(),
            state: term.state.clone(),
            last_actor: term.last_actor,
            created_at: SystemTime::now(),
        }
    }
}

impl WebBackend for TestBackend {
    fn list_sessions(&self) -> Vec<WebSessionInfo> {
        lock(&self.sessions)
            .iter()
            .map(|(id, s)| s.info(id))
            .collect()
    }

    fn session_info(&self, id: &str) -> Option<WebSessionInfo> {
        self.session(id).map(|s| s.info(id))
    }

    fn attach(&self, id: &str) -> Option<Attachment> {
        let session = self.session(id)?;
        let term = lock(&session.term);
        let screen = term.parser.screen();
        let (rows, cols) = screen.size();
        Some(Attachment {
            screen: screen.state_formatted().into_bytes(),
            cols: cols.get(),
            rows: rows.get(),
            events: session.events.subscribe(),
        })
    }

    fn write_input(&self, id: &str, bytes: &[u8]) -> Result<(), String> {
        let session = self.session(id).ok_or("no such session")?;
        lock(&session.inputs).extend_from_slice(bytes);
        session.changed.notify_waiters();
        Ok(())
    }

    fn submit_line(&self, id: &str, line: &str, key: u8) -> Result<LineOutcome, String> {
        lock(&self.lines).push(line.to_owned());
        let refused = lock(&self.refuse)
            .as_deref()
            .is_some_and(|word| line.contains(word));
        if refused {
            return Ok(LineOutcome::Refused {
                message: format!("refused: {line}"),
            });
        }
        self.write_input(id, &[key]).map(|()| LineOutcome::Sent)
    }

    fn resize(&self, id: &str, cols: u16, rows: u16) -> Result<(), String> {
        let session = self.session(id).ok_or("no such session")?;
        lock(&session.sizes).push((cols, rows));
        let _ = session.events.send(WebEvent::Resized { cols, rows });
        session.changed.notify_waiters();
        Ok(())
    }
}

pub async fn start(backend: Arc<TestBackend>) -> WebHandle {
    let config = WebConfig {
        port: 0,
        ..WebConfig::default()
    };
    WebServer::start(config, backend)
        .await
        .expect("web server starts")
}

/// The path and query of an absolute URL handed out by the server.
pub fn path_of(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http URL");
    let slash = rest.find('/').expect("URL has a path");
    rest[slash..].to_owned()
}

pub struct HttpResponse {
    pub status: u16,
    /// Lower-cased header lines.
    pub headers: String,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.headers
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::trim))
    }
}

/// A bare HTTP/1.1 GET, so a test can send any Host header it likes.
pub async fn get(web: &WebHandle, path: &str, host: Option<&str>) -> HttpResponse {
    let addr = web.local_addr();
    let host = host.map_or_else(|| addr.to_string(), str::to_owned);
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers = head
        .lines()
        .skip(1)
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap_or((l, ""));
            format!("{}:{}", name.to_ascii_lowercase(), value)
        })
        .collect::<Vec<_>>()
        .join("\n");
    HttpResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the socket of a session page (`page_path` is `/s/{id}?token=…`).
pub async fn connect(
    web: &WebHandle,
    page_path: &str,
    origin: Option<&str>,
) -> Result<Ws, tungstenite::Error> {
    let (path, query) = page_path.split_once('?').unwrap_or((page_path, ""));
    let url = format!("ws://{}{path}/ws?{query}", web.local_addr());
    let mut request = url.into_client_request()?;
    if let Some(origin) = origin {
        request.headers_mut().insert(
            "Origin",
            HeaderValue::from_str(origin).expect("valid origin"),
        );
    }
    let (ws, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(ws)
}

/// The HTTP status a refused handshake got.
pub fn refused_status(result: Result<Ws, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected the handshake to be refused"),
    }
}

#[derive(Debug)]
pub enum Frame {
    Json(Value),
    Bytes(Vec<u8>),
    Closed,
}

pub async fn next_frame(ws: &mut Ws) -> Frame {
    loop {
        let message = tokio::time::timeout(TIMEOUT, ws.next())
            .await
            .expect("a frame in time");
        match message {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Frame::Closed,
            Some(Ok(Message::Text(text))) => {
                return Frame::Json(serde_json::from_str(&text).expect("JSON text frame"));
            }
            Some(Ok(Message::Binary(bytes))) => return Frame::Bytes(bytes.to_vec()),
            Some(Ok(_)) => {}
        }
    }
}

pub async fn next_json(ws: &mut Ws) -> Value {
    match next_frame(ws).await {
        Frame::Json(value) => value,
        other => panic!("expected a JSON frame, got {other:?}"),
    }
}

/// Reads hello, screen and the snapshot; returns (hello, snapshot text).
pub async fn handshake(ws: &mut Ws) -> (Value, String) {
    let hello = next_json(ws).await;
    assert_eq!(hello["type"], "hello");
    let screen = next_json(ws).await;
    assert_eq!(screen["type"], "screen");
    assert_eq!(screen["resync"], false);
    let Frame::Bytes(snapshot) = next_frame(ws).await else {
        panic!("expected the screen snapshot");
    };
    (hello, String::from_utf8_lossy(&snapshot).into_owned())
}

/// Reads until a binary frame contains `needle`; returns the bytes seen.
pub async fn read_until_output(ws: &mut Ws, needle: &str) -> String {
    let mut seen = String::new();
    loop {
        match next_frame(ws).await {
            Frame::Bytes(b) => {
                seen.push_str(&String::from_utf8_lossy(&b));
                if seen.contains(needle) {
                    return seen;
                }
            }
            Frame::Json(_) => {}
            Frame::Closed => panic!("socket closed before {needle:?} arrived; saw {seen:?}"),
        }
    }
}

pub async fn send_bytes(ws: &mut Ws, bytes: &[u8]) {
    ws.send(Message::Binary(Bytes::copy_from_slice(bytes)))
        .await
        .expect("send");
}

pub async fn send_json(ws: &mut Ws, value: Value) {
    ws.send(Message::Text(value.to_string().into()))
        .await
        .expect("send");
}

/// Sends a ping and waits for its pong: everything sent before it has been
/// read (and so handled) by the server.
pub async fn round_trip(ws: &mut Ws) {
    ws.send(Message::Ping(Bytes::from_static(b"sync")))
        .await
        .expect("send ping");
    loop {
        let message = tokio::time::timeout(TIMEOUT, ws.next())
            .await
            .expect("a pong in time");
        match message {
            Some(Ok(Message::Pong(payload))) if &payload[..] == b"sync" => return,
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => panic!("closed before the pong"),
            Some(Ok(_)) => {}
        }
    }
}

/// Resident memory of this process, in bytes (Linux).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
