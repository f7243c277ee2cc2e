//! `repl-mcp bench`: measures the server end to end, the way an agent sees
//! it — a child process spoken to over stdio — next to a raw PTY doing the
//! same work with no server in between.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

mod bulk;
mod kernel;
mod persist;
mod recorded;
mod targets;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Server binary to measure (default: this one).
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// Evaluations for the round-trip median.
    #[arg(long, default_value_t = 200)]
    pub evals: usize,
    /// Bash sessions opened at once.
    #[arg(long, default_value_t = 100)]
    pub sessions: usize,
    /// Print the table as Markdown (for the README).
    #[arg(long)]
    pub markdown: bool,
}

/// A bare-bones MCP client over the server's stdio.
struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    /// Bytes on stdout that were not JSON-RPC (must stay 0).
    stray_bytes: usize,
}

impl Client {
    fn spawn(bin: &PathBuf) -> anyhow::Result<Self> {
        Self::spawn_with(bin, &["--no-web-ui"])
    }

    fn spawn_with(bin: &PathBuf, extra: &[&str]) -> anyhow::Result<Self> {
        Self::spawn_env(bin, extra, &[])
    }

    fn spawn_env(
        bin: &PathBuf,
        extra: &[&str],
        envs: &[(&str, &std::path::Path)],
    ) -> anyhow::Result<Self> {
        let config_home = config_home();
        std::fs::create_dir_all(&config_home)?;
        // The bench opens more sessions, faster, than the default policy
        // allows one connection; say so explicitly.
        let policy = config_home.join("bench-policy.toml");
        std::fs::write(
            &policy,
            "[tools.create_session]\naction = \"allow\"\n[sessions]\nmax_concurrent = 0\n[audit]\nenabled = false\n",
        )?;
        let mut child = Command::new(bin)
            .arg("serve")
            .args(extra)
            .arg("--policy")
            .arg(&policy)
            .env("XDG_CONFIG_HOME", &config_home)
            .env("REPL_MCP_LOG", "warn")
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        Ok(Self {
            child,
            stdin,
            stdout,
            next_id: 1,
            stray_bytes: 0,
        })
    }

    fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        writeln!(self.stdin, "{msg}")?;
        self.stdin.flush()?;
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line)? == 0 {
                bail!("server closed stdout");
            }
            match serde_json::from_str::<Value>(&line) {
                Ok(v) if v["id"] == id => return Ok(v),
                Ok(_) => {}
                Err(_) => self.stray_bytes += line.len(),
            }
        }
    }

    fn notify(&mut self, method: &str) -> anyhow::Result<()> {
        writeln!(
            self.stdin,
            "{}",
            json!({"jsonrpc": "2.0", "method": method})
        )?;
        Ok(self.stdin.flush()?)
    }

    fn tool(&mut self, name: &str, args: Value) -> anyhow::Result<Value> {
        let reply = self.request("tools/call", json!({"name": name, "arguments": args}))?;
        let result = &reply["result"];
        if result["isError"] == true || reply.get("error").is_some() {
            bail!("{name} failed: {reply}");
        }
        Ok(result["structuredContent"].clone())
    }

    fn eval(&mut self, id: &str, input: &str) -> anyhow::Result<Value> {
        self.tool(
            "send_input_to_session",
            json!({"sessionId": id, "input": input, "options": {"wait_for_prompt": true, "timeout": 120000}}),
        )
    }

    fn rss_kb(&self) -> u64 {
        rss_kb(self.child.id())
    }
}

/// The bench server's `XDG_CONFIG_HOME`.
fn config_home() -> PathBuf {
    std::env::temp_dir().join(format!("repl-mcp-bench-{}", std::process::id()))
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// A browser-like watcher of a session page: it opens the page's
/// WebSocket and reads (and drops) everything the server sends.
fn open_viewer(web_url: &str) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let rest = web_url
        .strip_prefix("http://")
        .context("webUrl is not http://")?;
    let (host, path) = rest.split_once('/').context("webUrl has no path")?;
    let (page, query) = path.split_once('?').context("webUrl has no token")?;
    let mut stream = std::net::TcpStream::connect(host)?;
    write!(
        stream,
        "GET /{page}/ws?{query} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: cmVwbC1tY3AtYmVuY2gtMDE=\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    if &head[9..12] != b"101" {
        bail!(
            "web view refused the socket: {}",
            String::from_utf8_lossy(&head)
        );
    }
    Ok(std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
    }))
}

/// The same work on a raw PTY: start python, send a command, read until the
/// prompt that follows its output. What a server cannot beat.
struct RawPty {
    writer: Box<dyn Write + Send>,
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    _child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl RawPty {
    fn python() -> anyhow::Result<(Self, Duration)> {
        Self::spawn(vec!["python3".into(), "-q".into()])
    }

    /// `argv` on a PTY, read up to its first `>>> ` prompt.
    fn spawn(argv: Vec<String>) -> anyhow::Result<(Self, Duration)> {
        let started = Instant::now();
        let spec = crate::session::pty::SpawnSpec {
            argv,
            env: vec![
                ("PYTHON_BASIC_REPL".into(), "1".into()),
                ("TERM".into(), "xterm-256color".into()),
            ],
            cwd: std::env::current_dir()?,
            rows: 43,
            cols: 132,
        };
        let spawned = crate::session::pty::spawn(&spec)?;
        let (tx, rx) = std::sync::mpsc::channel();
        let mut reader = spawned.reader;
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut pty = Self {
            writer: spawned.writer,
            rx,
            _child: spawned.child,
            _master: spawned.master,
        };
        pty.read_to_prompt()?;
        Ok((pty, started.elapsed()))
    }

    fn read_to_prompt(&mut self) -> anyhow::Result<()> {
        let mut tail = Vec::new();
        loop {
            let chunk = self.rx.recv_timeout(Duration::from_secs(120))?;
            tail.extend_from_slice(&chunk);
            if tail.ends_with(b">>> ") {
                return Ok(());
            }
            let keep = tail.len().saturating_sub(8);
            tail.drain(..keep);
        }
    }

    fn run(&mut self, input: &str) -> anyhow::Result<Duration> {
        let started = Instant::now();
        self.writer.write_all(format!("{input}\r").as_bytes())?;
        self.writer.flush()?;
        self.read_to_prompt()?;
        Ok(started.elapsed())
    }
}

/// Median times of `evals` checked `print(i*7)` round trips through the
/// server and on the raw PTY.
fn round_trips(
    c: &mut Client,
    raw: &mut RawPty,
    id: &str,
    evals: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let mut server_times = Vec::new();
    let mut raw_times = Vec::new();
    for i in 0..evals {
        let t = Instant::now();
        let r = c.eval(id, &format!("print({i}*7)"))?;
        server_times.push(t.elapsed());
        if r["output"].as_str().and_then(|s| s.parse::<usize>().ok()) != Some(i * 7) {
            bail!("wrong answer for print({i}*7): {r}");
        }
        raw_times.push(raw.run(&format!("print({i}*7)"))?);
    }
    Ok((median(server_times), median(raw_times)))
}

struct Row {
    what: String,
    server: String,
    raw: String,
    note: String,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let bin = match &args.server {
        Some(p) => p.clone(),
        None => std::env::current_exe()?,
    };
    let mut rows = Vec::new();
    let mut row = |what: &str, server: String, raw: String, note: String| {
        eprintln!("{what}: {server} (raw PTY: {raw}) {note}");
        rows.push(Row {
            what: what.into(),
            server,
            raw,
            note,
        });
    };

    // Start-up and initialize.
    let t = Instant::now();
    let mut c = Client::spawn(&bin)?;
    c.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}),
    )?;
    c.notify("notifications/initialized")?;
    row(
        "initialize (spawn + handshake)",
        ms(t.elapsed()),
        "–".into(),
        String::new(),
    );
    let idle_rss = c.rss_kb();

    // Session start against python's own start-up.
    let (mut raw, raw_start) = RawPty::python()?;
    let t = Instant::now();
    let created = c.tool("create_session", json!({"presetConfig": "python"}))?;
    let create_time = t.elapsed();
    let id = created["sessionId"]
        .as_str()
        .context("no sessionId")?
        .to_string();
    row(
        "create_session(python)",
        ms(create_time),
        ms(raw_start),
        "raw = python3 to its first prompt".into(),
    );

    // Eval round trip.
    let (server_median, raw_median) = round_trips(&mut c, &mut raw, &id, args.evals)?;
    row(
        &format!("eval round trip, median of {}", args.evals),
        ms(server_median),
        ms(raw_median),
        "`print(i*7)`, result checked".into(),
    );
    persist::through_front(&bin, &mut c, &id, args.evals, &mut row)?;
    targets::ssh_round_trip(&mut c, args.evals, &mut row)?;
    kernel::kernel_rows(&mut c, &mut row)?;

    bulk::bulk_rows(&mut c, &mut raw, &id, &mut row)?;
    recorded::bulk_recorded(&bin, &mut c, &id, 200_000, &mut row)?;

    // Continuation prompt.
    let t = Instant::now();
    let r = c.eval(&id, "for i in range(3):")?;
    let cont = t.elapsed();
    if r["state"] != "continuation" {
        bail!("expected a continuation state: {r}");
    }
    c.eval(&id, "    pass\n")?;
    row(
        "continuation prompt reported",
        ms(cont),
        "–".into(),
        "state = continuation".into(),
    );

    // Watchers: the same round trip with 20 web pages open on the session.
    {
        let mut w = Client::spawn_with(&bin, &["--web-port", "0"])?;
        w.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}),
        )?;
        w.notify("notifications/initialized")?;
        let created = w.tool("create_session", json!({"presetConfig": "python"}))?;
        let wid = created["sessionId"]
            .as_str()
            .context("no sessionId")?
            .to_string();
        let url = created["webUrl"].as_str().context("no webUrl")?.to_string();
        let rtt = |c: &mut Client| -> anyhow::Result<Duration> {
            let mut times = Vec::new();
            for i in 0..args.evals {
                let t = Instant::now();
                c.eval(&wid, &format!("print({i}*7)"))?;
                times.push(t.elapsed());
            }
            Ok(median(times))
        };
        let alone = rtt(&mut w)?;
        let viewers = (0..20)
            .map(|_| open_viewer(&url))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let watched = rtt(&mut w)?;
        row(
            "eval round trip, 20 web pages watching",
            ms(watched),
            "–".into(),
            format!(
                "{} unwatched: {:+.0}%",
                ms(alone),
                (watched.as_secs_f64() / alone.as_secs_f64() - 1.0) * 100.0
            ),
        );
        drop(w.stdin);
        let _ = w.child.wait();
        drop(viewers);
    }

    // Transcripts (issue 14): replaying a cast through a plugin.
    let (took, note) = crate::cast::bench::replay_10k()?;
    row(
        "plugin test: replay of a 10,000-chunk cast",
        ms(took),
        "–".into(),
        note,
    );

    // Many sessions.
    let before = c.rss_kb();
    let t = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..args.sessions {
        let r = c.tool("create_session", json!({"presetConfig": "bash"}))?;
        ids.push(r["sessionId"].as_str().context("no sessionId")?.to_string());
    }
    let open_time = t.elapsed();
    for id in &ids {
        c.eval(id, "true")?;
    }
    let after = c.rss_kb();
    let per_session = after.saturating_sub(before) as f64 / args.sessions as f64;
    row(
        &format!("{} bash sessions opened", args.sessions),
        ms(open_time),
        "–".into(),
        format!(
            "{:.1} ms each",
            open_time.as_secs_f64() * 1000.0 / args.sessions as f64
        ),
    );
    row(
        "server RSS per idle session",
        format!("{per_session:.0} KB"),
        "–".into(),
        format!(
            "server RSS {idle_rss} KB idle → {after} KB with {} sessions",
            args.sessions + 1
        ),
    );
    for id in &ids {
        c.tool("destroy_repl_session", json!({"sessionId": id}))?;
    }
    row(
        "non-protocol bytes on stdout",
        c.stray_bytes.to_string(),
        "–".into(),
        String::new(),
    );
    drop(c.stdin);
    let _ = c.child.wait();

    if args.markdown {
        println!("| measurement | repl-mcp | raw PTY | note |\n|---|---|---|---|");
        for r in rows {
            println!("| {} | {} | {} | {} |", r.what, r.server, r.raw, r.note);
        }
    } else {
        for r in rows {
            println!("{:<38} {:>14} {:>14}  {}", r.what, r.server, r.raw, r.note);
        }
    }
    Ok(())
}
