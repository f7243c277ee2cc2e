//! Wall-clock deadlines for plugin calls.
//!
//! Wasmtime checks the engine's epoch at function entries and loop heads; a
//! store whose deadline (in epochs) has passed traps. One ticker thread per
//! host advances the epoch every [`TICK`], but only while some call is in
//! flight: an idle server does not wake up a thousand times a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wasmtime::Engine;

/// Length of one epoch.
pub const TICK: Duration = Duration::from_millis(1);

/// Epochs to allow for a deadline, rounded up. The first tick may come at
/// any point of the current epoch, so a call gets between `deadline - TICK`
/// and `deadline`: never more than its deadline.
pub fn deadline_ticks(deadline_ms: u64) -> u64 {
    let tick_ms = TICK.as_millis().max(1) as u64;
    deadline_ms.div_ceil(tick_ms).max(1)
}

struct Shared {
    active: AtomicUsize,
    shutdown: AtomicBool,
}

pub struct Ticker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Keeps the ticker running while a call is in flight.
pub struct CallGuard<'a> {
    shared: &'a Shared,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.shared.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Ticker {
    pub fn start(engine: Engine) -> std::io::Result<Ticker> {
        let shared = Arc::new(Shared {
            active: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                // Epochs follow the wall clock, not the number of sleeps:
                // each sleep overshoots a little, and over a 100 ms deadline
                // counting sleeps would add ~10%.
                let mut anchor = Instant::now();
                let mut ticked: u128 = 0;
                while !s.shutdown.load(Ordering::SeqCst) {
                    if s.active.load(Ordering::SeqCst) == 0 {
                        // An unpark that races with this check leaves a token,
                        // so park returns at once and the loop re-checks.
                        thread::park();
                        anchor = Instant::now();
                        ticked = 0;
                    } else {
                        thread::sleep(TICK);
                        let due = anchor.elapsed().as_nanos() / TICK.as_nanos().max(1);
                        while ticked < due {
                            engine.increment_epoch();
                            ticked += 1;
                        }
                    }
                }
            })?;
        Ok(Ticker {
            shared,
            thread: Some(thread),
        })
    }

    /// Marks a call as started; the guard marks it finished.
    pub fn enter(&self) -> CallGuard<'_> {
        if self.shared.active.fetch_add(1, Ordering::SeqCst) == 0
            && let Some(t) = &self.thread
        {
            t.thread().unpark();
        }
        CallGuard {
            shared: &self.shared,
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            // The thread exits within one tick; a panic there is not ours to
            // propagate from a destructor.
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_up() {
        assert_eq!(deadline_ticks(100), 100);
        assert_eq!(deadline_ticks(0), 1);
    }
}
