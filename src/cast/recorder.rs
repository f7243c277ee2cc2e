//! A session tap that writes an asciicast v2 file. The tap methods run on
//! the session's reader and writer threads, so they only stamp the time,
//! copy the bytes and queue them; a thread of the recorder's own turns them
//! into JSON lines and writes them, buffered.
//!
//! A recorder starts before its session has an id (taps are attached
//! before the first byte): until [`CastRecorder::bind`] names the file and
//! the header, events are held in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::format::{CastHeader, EventCode, header_line, write_event};

/// What a secret input (typed with echo off) is recorded as. Its length is
/// not kept either; a final Enter is, so a replay still sees a line sent.
pub const REDACTED: &str = "********";

/// Bytes queued for the writer thread beyond which output is dropped (and
/// a marker says so) rather than letting a slow disk grow the server.
const MAX_QUEUED: usize = 64 << 20;

/// How long output must pause before what is buffered is flushed.
const QUIET_FLUSH: Duration = Duration::from_millis(20);
/// During output, how often the writer takes what has queued.
const BATCH_PAUSE: Duration = Duration::from_millis(5);
/// The longest a steady trickle of output stays unflushed.
const MAX_UNFLUSHED: Duration = Duration::from_millis(250);

enum Msg {
    Event(f64, EventCode, Vec<u8>),
    Bind(Box<(PathBuf, CastHeader)>),
    Close,
}

/// Records one session. Cheap to share; the file is complete once the
/// session closes (or the recorder is dropped).
pub struct CastRecorder {
    tx: Sender<Msg>,
    started: Instant,
    started_unix: u64,
    queued: std::sync::Arc<AtomicUsize>,
    dropped: AtomicUsize,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for CastRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CastRecorder")
            .field("started_unix", &self.started_unix)
            .finish_non_exhaustive()
    }
}

impl CastRecorder {
    /// Starts the writer thread; events are kept until [`bind`](Self::bind).
    pub fn start() -> std::io::Result<CastRecorder> {
        let (tx, rx) = mpsc::channel();
        let queued = std::sync::Arc::new(AtomicUsize::new(0));
        let thread_queued = std::sync::Arc::clone(&queued);
        let thread = std::thread::Builder::new()
            .name("cast-recorder".into())
            .spawn(move || Writer::new(thread_queued).run(&rx))?;
        Ok(CastRecorder {
            tx,
            started: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            queued,
            dropped: AtomicUsize::new(0),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Unix seconds when recording started (the header's `timestamp`).
    pub fn started_unix(&self) -> u64 {
        self.started_unix
    }

    /// Names the file and its header; what was recorded so far is written
    /// first. The header's `timestamp` is set here.
    pub fn bind(&self, path: PathBuf, mut header: CastHeader) {
        header.timestamp = Some(self.started_unix);
        let _ = self.tx.send(Msg::Bind(Box::new((path, header))));
    }

    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn send(&self, code: EventCode, bytes: Vec<u8>) {
        let len = bytes.len();
        if code == EventCode::Output
            && self.queued.load(Ordering::Relaxed).saturating_add(len) > MAX_QUEUED
        {
            self.dropped.fetch_add(len, Ordering::Relaxed);
            return;
        }
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let note =
                format!("repl-mcp: {dropped} bytes of output not recorded (the disk was too slow)");
            let _ = self
                .tx
                .send(Msg::Event(self.now(), EventCode::Marker, note.into_bytes()));
        }
        self.queued.fetch_add(len, Ordering::Relaxed);
        let _ = self.tx.send(Msg::Event(self.now(), code, bytes));
    }

    /// Output as it left the PTY.
    pub fn output(&self, bytes: &[u8]) {
        self.send(EventCode::Output, bytes.to_vec());
    }

    /// Input as written to the PTY; a secret is recorded as [`REDACTED`].
    pub fn input(&self, bytes: &[u8], secret: bool) {
        if secret {
            let mut redacted = REDACTED.as_bytes().to_vec();
            if let Some(&end @ (b'\r' | b'\n')) = bytes.last() {
                redacted.push(end);
            }
            self.send(EventCode::Input, redacted);
        } else {
            self.send(EventCode::Input, bytes.to_vec());
        }
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        self.send(EventCode::Resize, format!("{cols}x{rows}").into_bytes());
    }

    /// The session ended: the file is finished and closed.
    pub fn closed(&self) {
        let _ = self.tx.send(Msg::Close);
    }

    /// Closes and waits up to `timeout` for the file to be complete (tests,
    /// benchmarks). `false` if the writer did not finish in time.
    pub fn finish(&self, timeout: Duration) -> bool {
        self.closed();
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(handle) = handle else { return true };
        let deadline = Instant::now() + timeout;
        while !handle.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        handle.join().is_ok()
    }
}

/// Carries an incomplete UTF-8 sequence from one chunk to the next: the
/// PTY cuts output anywhere, a cast holds text.
#[derive(Default)]
struct Utf8Carry {
    rest: Vec<u8>,
}

impl Utf8Carry {
    /// The text of `bytes` after what the last chunk left; borrowed when
    /// nothing was left and the chunk is whole UTF-8 (nearly always).
    fn decode<'a>(&mut self, bytes: &'a [u8]) -> std::borrow::Cow<'a, str> {
        if self.rest.is_empty()
            && let Ok(text) = std::str::from_utf8(bytes)
        {
            return std::borrow::Cow::Borrowed(text);
        }
        let joined;
        let mut input: &[u8] = if self.rest.is_empty() {
            bytes
        } else {
            let mut v = std::mem::take(&mut self.rest);
            v.extend_from_slice(bytes);
            joined = v;
            &joined
        };
        let mut out = String::with_capacity(input.len());
        loop {
            match std::str::from_utf8(input) {
                Ok(s) => {
                    out.push_str(s);
                    return std::borrow::Cow::Owned(out);
                }
                Err(e) => {
                    let (good, bad) = input.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(good).unwrap_or_default());
                    match e.error_len() {
                        None => {
                            self.rest = bad.to_vec();
                            return std::borrow::Cow::Owned(out);
                        }
                        Some(n) => {
                            out.push('\u{fffd}');
                            input = &bad[n..];
                        }
                    }
                }
            }
        }
    }
}

/// The recorder's thread.
struct Writer {
    queued: std::sync::Arc<AtomicUsize>,
    /// Events before `bind`, as lines.
    pending: Vec<u8>,
    file: Option<(PathBuf, BufWriter<File>)>,
    closing: bool,
    /// The time of the last event written: events stamped on different
    /// threads may queue out of order, and a cast's times never go back.
    last_time: f64,
    output: Utf8Carry,
    input: Utf8Carry,
}

impl Writer {
    fn new(queued: std::sync::Arc<AtomicUsize>) -> Writer {
        Writer {
            queued,
            pending: Vec::new(),
            file: None,
            closing: false,
            last_time: 0.0,
            output: Utf8Carry::default(),
            input: Utf8Carry::default(),
        }
    }

    fn run(mut self, rx: &Receiver<Msg>) {
        while let Ok(msg) = rx.recv() {
            self.handle(msg);
            // Then take what queues every BATCH_PAUSE (the session's threads
            // need not wake this one for each chunk of a burst), until output
            // pauses for QUIET_FLUSH (or for MAX_UNFLUSHED at most), and
            // flush: a download shows everything up to then, and a burst is
            // written in whole buffers.
            let since = Instant::now();
            let mut last = since;
            loop {
                loop {
                    match rx.try_recv() {
                        Ok(msg) => {
                            self.handle(msg);
                            last = Instant::now();
                        }
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            self.flush();
                            return;
                        }
                    }
                }
                if self.closing || last.elapsed() >= QUIET_FLUSH || since.elapsed() >= MAX_UNFLUSHED
                {
                    break;
                }
                std::thread::sleep(BATCH_PAUSE);
            }
            self.flush();
            if self.closing && self.file.is_some() {
                break;
            }
        }
        self.flush();
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Event(time, code, bytes) => {
                let time = time.max(self.last_time);
                self.last_time = time;
                self.queued.fetch_sub(bytes.len(), Ordering::Relaxed);
                let text = match code {
                    EventCode::Output => self.output.decode(&bytes),
                    EventCode::Input => self.input.decode(&bytes),
                    _ => String::from_utf8_lossy(&bytes),
                };
                if text.is_empty() {
                    return;
                }
                // Straight into the file's buffer: a burst's megabytes are
                // escaped once and copied no more.
                match &mut self.file {
                    Some((path, f)) => {
                        if let Err(e) = write_event(f, time, code, &text) {
                            tracing::warn!(path = %path.display(), "cast not written: {e}");
                            self.file = None;
                        }
                    }
                    None => {
                        let _ = write_event(&mut self.pending, time, code, &text);
                    }
                }
            }
            Msg::Bind(bound) => {
                let (path, header) = *bound;
                match self.open(&path, &header) {
                    Ok(f) => self.file = Some((path, f)),
                    Err(e) => {
                        tracing::warn!(path = %path.display(), "cannot record the session: {e}")
                    }
                }
                self.pending = Vec::new();
            }
            Msg::Close => self.closing = true,
        }
    }

    fn open(&mut self, path: &PathBuf, header: &CastHeader) -> std::io::Result<BufWriter<File>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = BufWriter::with_capacity(64 * 1024, File::create(path)?);
        f.write_all(header_line(header).as_bytes())?;
        f.write_all(&self.pending)?;
        Ok(f)
    }

    fn flush(&mut self) {
        if let Some((path, f)) = &mut self.file
            && let Err(e) = f.flush()
        {
            tracing::warn!(path = %path.display(), "cast not written: {e}");
            self.file = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cast::{Cast, EventCode};

    fn header() -> CastHeader {
        CastHeader {
            version: 2,
            width: 80,
            height: 24,
            timestamp: None,
            command: Some("python3 -q".into()),
            title: None,
            env: [("TERM".to_string(), "xterm-256color".to_string())].into(),
            repl_mcp: None,
        }
    }

    #[test]
    fn records_before_and_after_bind_with_secrets_hidden() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.cast");
        let r = CastRecorder::start().expect("thread");
        r.output(b">>> ");
        // A UTF-8 character cut in two by the PTY.
        r.output(&"é".as_bytes()[..1]);
        r.bind(path.clone(), header());
        r.output(&"é".as_bytes()[1..]);
        r.input(b"hunter2\r", true);
        r.input(b"1+1\r", false);
        r.resize(100, 30);
        assert!(r.finish(Duration::from_secs(10)));
        let text = std::fs::read_to_string(&path).expect("cast");
        assert!(!text.contains("hunter2"), "{text}");
        let cast = Cast::parse(&text, &path).expect("valid cast");
        assert!(cast.header.timestamp.is_some());
        let data: Vec<(EventCode, &str)> = cast
            .events
            .iter()
            .map(|e| (e.code, e.data.as_str()))
            .collect();
        assert_eq!(
            data,
            vec![
                (EventCode::Output, ">>> "),
                (EventCode::Output, "é"),
                (EventCode::Input, "********\r"),
                (EventCode::Input, "1+1\r"),
                (EventCode::Resize, "100x30"),
            ]
        );
    }

    #[test]
    fn times_never_go_back_when_events_queue_out_of_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.cast");
        let queued = std::sync::Arc::new(AtomicUsize::new(8));
        let mut w = Writer::new(queued);
        w.handle(Msg::Bind(Box::new((path.clone(), header()))));
        // Stamped by the writer thread first, queued second.
        w.handle(Msg::Event(2.5, EventCode::Input, b"1\r".to_vec()));
        w.handle(Msg::Event(2.0, EventCode::Output, b"1\r\n".to_vec()));
        w.flush();
        let text = std::fs::read_to_string(&path).expect("cast");
        let cast = Cast::parse(&text, &path).expect("times in order");
        let times: Vec<f64> = cast.events.iter().map(|e| e.time).collect();
        assert_eq!(times, [2.5, 2.5]);
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut c = Utf8Carry::default();
        assert_eq!(c.decode(b"a\xffb\xe2\x82"), "a\u{fffd}b");
        assert_eq!(c.decode(b"\xac!"), "€!");
    }
}
