//! The PTY's write side: one thread per session takes writes from a queue,
//! in order, so no async task (a web view's keystroke, an agent's command)
//! ever blocks on a terminal whose program has stopped reading.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use tokio::sync::oneshot;

/// What the writer thread gets: bytes, and whom to tell when they are out.
struct Job {
    bytes: Vec<u8>,
    done: Option<oneshot::Sender<io::Result<()>>>,
}

/// A handle on a session's writer thread. Cheap to clone; the thread ends
/// when the last handle is dropped.
#[derive(Clone)]
pub struct PtyWriter {
    jobs: mpsc::Sender<Job>,
    /// Writes queued and not yet out.
    pending: Arc<AtomicUsize>,
}

impl PtyWriter {
    pub fn start(mut out: Box<dyn Write + Send>, name: &str) -> io::Result<PtyWriter> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let pending = Arc::new(AtomicUsize::new(0));
        let left = Arc::clone(&pending);
        std::thread::Builder::new()
            .name(format!("pty-w-{name}"))
            .stack_size(64 * 1024)
            .spawn(move || {
                for job in queue {
                    let written = out.write_all(&job.bytes).and_then(|()| out.flush());
                    left.fetch_sub(1, Ordering::AcqRel);
                    match job.done {
                        Some(done) => {
                            let _ = done.send(written);
                        }
                        // A key nobody waits for: a gone terminal shows as
                        // the session's exit, which the reader reports.
                        None => {
                            if let Err(e) = written {
                                tracing::debug!("a queued write failed: {e}");
                            }
                        }
                    }
                }
            })?;
        Ok(PtyWriter { jobs, pending })
    }

    /// Queue `bytes` and return at once (they go out in order).
    pub fn push(&self, bytes: Vec<u8>) -> io::Result<()> {
        self.queue(Job { bytes, done: None })
    }

    /// Queue `bytes` and wait until they are written.
    pub async fn write(&self, bytes: Vec<u8>) -> io::Result<()> {
        let (done, written) = oneshot::channel();
        self.queue(Job {
            bytes,
            done: Some(done),
        })?;
        written.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Nothing queued is still on its way to the terminal.
    pub fn idle(&self) -> bool {
        self.pending.load(Ordering::Acquire) == 0
    }

    fn queue(&self, job: Job) -> io::Result<()> {
        self.pending.fetch_add(1, Ordering::AcqRel);
        self.jobs.send(job).map_err(|_| {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            stopped()
        })
    }
}

fn stopped() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the terminal's writer has stopped",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A sink that records what it got, or blocks until released.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn writes_go_out_in_order_and_a_wait_sees_them_out() {
        let sink = Sink::default();
        let w = PtyWriter::start(Box::new(sink.clone()), "t").expect("writer");
        for k in [b"a", b"b", b"c"] {
            w.push(k.to_vec()).expect("queued");
        }
        w.write(b"d".to_vec()).await.expect("written");
        assert_eq!(sink.0.lock().expect("sink").as_slice(), b"abcd");
        assert!(w.idle());
    }

    #[tokio::test]
    async fn a_failing_terminal_is_an_error_not_a_hang() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from_raw_os_error(libc::EIO))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let w = PtyWriter::start(Box::new(Broken), "t").expect("writer");
        assert!(w.write(b"x".to_vec()).await.is_err());
        assert!(w.push(b"y".to_vec()).is_ok());
    }
}
