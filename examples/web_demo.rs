//! A stand-in for the session core, to see and test the web view on its own:
//! one real `bash` in a PTY, fed through vt100 and broadcast to the pages.
//!
//! ```text
//! cargo run --example web_demo -- --name "Bash demo"
//! ```
//!
//! Prints one JSON line with the URLs on stdout (this is not the MCP server,
//! so stdout is free) and runs until stdin closes or it is killed.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use anyhow::{Context, Result};
use bytes::Bytes;
use clap::Parser;
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use repl_mcp::web::{
    Actor, Attachment, WebBackend, WebConfig, WebEvent, WebServer, WebSessionInfo,
};
use tokio::io::AsyncReadExt;
use tokio::sync::broadcast;

#[derive(Debug, Parser)]
struct Args {
    /// Display name of the demo session (the page's title).
    #[arg(long, default_value = "Bash demo")]
    name: String,
    /// First port to try (0: any free port).
    #[arg(long, default_value_t = 8023)]
    port: u16,
    /// Lines the "agent" types, each once the previous one finished
    /// (repeatable).
    #[arg(long = "agent-command", default_value = "echo hello from the agent")]
    agent_commands: Vec<String>,
}

const ID: &str = "demo";
const PROMPT: &str = "demo$ ";

struct Terminal {
    parser: vt100::Parser,
    state: String,
    last_actor: Option<Actor>,
}

struct DemoSession {
    display_name: String,
    created_at: SystemTime,
    term: Mutex<Terminal>,
    /// Bounded: a viewer that falls more than this many chunks behind is
    /// resynced from the screen instead of buffered.
    events: broadcast::Sender<WebEvent>,
    writer: Mutex<Box<dyn Write + Send>>,
    master: Mutex<Box<dyn MasterPty + Send>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DemoSession {
    /// PTY output: into the model and out to viewers under one lock, so an
    /// attach sees either all of a chunk in its snapshot or all of it in its
    /// stream.
    fn on_output(&self, chunk: &[u8]) {
        let mut term = lock(&self.term);
        term.parser.process(chunk);
        let _ = self
            .events
            .send(WebEvent::Output(Bytes::copy_from_slice(chunk)));
        let screen = term.parser.screen();
        let (row, col) = screen.cursor_position();
        let line = screen.contents_between(row, 0, row, col);
        // A toy prompt detector: enough for a shell and a Python REPL.
        let state = if line.ends_with(PROMPT) || line.ends_with(">>> ") {
            "ready"
        } else if line.ends_with("... ") {
            "continuation"
        } else {
            "busy"
        };
        if term.state != state {
            term.state = state.to_owned();
            let _ = self.events.send(WebEvent::State {
                state: state.to_owned(),
                last_actor: term.last_actor,
            });
        }
    }

    fn on_exit(&self) {
        let mut term = lock(&self.term);
        term.state = "exited".to_owned();
        let _ = self.events.send(WebEvent::State {
            state: "exited".to_owned(),
            last_actor: term.last_actor,
        });
    }

    fn type_as(&self, actor: Actor, bytes: &[u8]) -> Result<(), String> {
        lock(&self.writer)
            .write_all(bytes)
            .map_err(|e| format!("cannot write to the shell: {e}"))?;
        let mut term = lock(&self.term);
        if term.last_actor != Some(actor) {
            term.last_actor = Some(actor);
            let _ = self.events.send(WebEvent::State {
                state: term.state.clone(),
                last_actor: Some(actor),
            });
        }
        Ok(())
    }

    /// Polls, which a real session layer must not do; fine for a demo agent.
    async fn wait_until_idle(&self) {
        loop {
            let state = lock(&self.term).state.clone();
            if state == "ready" || state == "continuation" {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    fn info(&self) -> WebSessionInfo {
        let term = lock(&self.term);
        WebSessionInfo {
            id: ID.to_owned(),
            display_name: self.display_name.clone(),
            state: term.state.clone(),
            last_actor: term.last_actor,
            created_at: self.created_at,
        }
    }
}

struct DemoBackend(Arc<DemoSession>);

impl WebBackend for DemoBackend {
    fn list_sessions(&self) -> Vec<WebSessionInfo> {
        vec![self.0.info()]
    }

    fn session_info(&self, id: &str) -> Option<WebSessionInfo> {
        (id == ID).then(|| self.0.info())
    }

    fn attach(&self, id: &str) -> Option<Attachment> {
        if id != ID {
            return None;
        }
        let term = lock(&self.0.term);
        let screen = term.parser.screen();
        let (rows, cols) = screen.size();
        Some(Attachment {
            screen: screen.state_formatted().into_bytes(),
            cols: cols.get(),
            rows: rows.get(),
            events: self.0.events.subscribe(),
        })
    }

    fn write_input(&self, id: &str, bytes: &[u8]) -> Result<(), String> {
        if id != ID {
            return Err("no such session".into());
        }
        self.0.type_as(Actor::Person, bytes)
    }

    fn resize(&self, id: &str, cols: u16, rows: u16) -> Result<(), String> {
        if id != ID {
            return Err("no such session".into());
        }
        let (Some(nz_rows), Some(nz_cols)) = (NonZeroU16::new(rows), NonZeroU16::new(cols)) else {
            return Err("empty size".into());
        };
        lock(&self.0.master)
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| format!("cannot resize the PTY: {e}"))?;
        lock(&self.0.term).parser.set_size(nz_rows, nz_cols);
        let _ = self.0.events.send(WebEvent::Resized { cols, rows });
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();

    let (rows, cols) = (24u16, 80u16);
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .context("opening a PTY")?;
    let mut command = CommandBuilder::new("bash");
    command.args(["--norc", "--noprofile", "-i"]);
    command.env("PS1", PROMPT);
    command.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(command).context("starting bash")?;
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().context("PTY reader")?;
    let writer = pty.master.take_writer().context("PTY writer")?;

    let (events, _) = broadcast::channel(256);
    let session = Arc::new(DemoSession {
        display_name: args.name.clone(),
        created_at: SystemTime::now(),
        term: Mutex::new(Terminal {
            parser: vt100::Parser::new(
                NonZeroU16::new(rows).context("rows")?,
                NonZeroU16::new(cols).context("cols")?,
                0,
            ),
            state: "starting".to_owned(),
            last_actor: None,
        }),
        events,
        writer: Mutex::new(writer),
        master: Mutex::new(pty.master),
    });

    // PTY reads block, so they get a thread of their own.
    let reading = session.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => reading.on_output(&buf[..n]),
            }
        }
        let _ = child.wait();
        reading.on_exit();
    });

    let config = WebConfig {
        port: args.port,
        ..WebConfig::default()
    };
    let web = WebServer::start(config, Arc::new(DemoBackend(session.clone()))).await?;
    let links = web.register_session(ID);
    println!(
        "{}",
        serde_json::json!({
            "index": web.index_url(),
            "interactive": links.interactive_url,
            "readonly": links.readonly_url,
            "base": web.base_url(),
        })
    );

    let agent = session.clone();
    tokio::spawn(async move {
        for line in args.agent_commands {
            agent.wait_until_idle().await;
            if let Err(err) = agent.type_as(Actor::Agent, format!("{line}\r").as_bytes()) {
                tracing::warn!(%err, "the demo agent could not type");
                return;
            }
            // Let the command start before looking for the next prompt.
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        }
    });

    // Run until whoever started us closes our stdin.
    let mut stdin = tokio::io::stdin();
    let mut sink = [0u8; 256];
    while stdin.read(&mut sink).await.unwrap_or(0) > 0 {}
    web.shutdown().await;
    Ok(())
}
