//! Exact sliding-window rate limiting per (MCP connection, tool).
//!
//! Each key keeps the instants of the calls it let through during the last
//! window, at most `max` of them, so memory is bounded by the number of live
//! connections × tools × `max`; a connection's state is dropped by
//! [`RateLimiter::forget_connection`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A limit of `max` calls in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Calls allowed within one window (at least 1).
    pub max: u32,
    /// The window's length (at least one second).
    pub window: Duration,
}

type ToolWindows = HashMap<String, VecDeque<Instant>>;

#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    connections: Mutex<HashMap<u64, ToolWindows>>,
}

impl RateLimiter {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, ToolWindows>> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (every update is a single push or pop), so a poisoned lock is usable.
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Count one call at `now` if it fits; otherwise say how long until it would.
    pub fn try_acquire(
        &self,
        connection: u64,
        tool: &str,
        limit: RateLimit,
        now: Instant,
    ) -> Result<(), Duration> {
        let mut connections = self.lock();
        let tools = connections.entry(connection).or_default();
        let calls = match tools.get_mut(tool) {
            Some(calls) => calls,
            None => tools.entry(tool.to_string()).or_default(),
        };
        while let Some(&oldest) = calls.front() {
            if now.saturating_duration_since(oldest) >= limit.window {
                calls.pop_front();
            } else {
                break;
            }
        }
        let max = usize::try_from(limit.max).unwrap_or(usize::MAX).max(1);
        while calls.len() > max {
            // The limit was lowered by a reload: keep only the newest calls.
            calls.pop_front();
        }
        if calls.len() < max {
            calls.push_back(now);
            Ok(())
        } else {
            let oldest = calls.front().copied().unwrap_or(now);
            let waited = now.saturating_duration_since(oldest);
            Err(limit.window.saturating_sub(waited))
        }
    }

    /// Drop everything kept for a connection (call it when the connection closes).
    pub fn forget_connection(&self, connection: u64) {
        self.lock().remove(&connection);
    }

    /// Number of connections with state (for tests and diagnostics).
    pub fn tracked_connections(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_PER_MINUTE: RateLimit = RateLimit {
        max: 10,
        window: Duration::from_secs(60),
    };

    #[test]
    fn burst_lets_exactly_max_through_and_window_slides() {
        let rl = RateLimiter::default();
        let t0 = Instant::now();
        let passed = (0..1000)
            .filter(|i| {
                rl.try_acquire(1, "t", TEN_PER_MINUTE, t0 + Duration::from_millis(*i))
                    .is_ok()
            })
            .count();
        assert_eq!(passed, 10);
        // The first call was at t0: one slot frees at t0 + 60 s.
        let wait = rl
            .try_acquire(1, "t", TEN_PER_MINUTE, t0 + Duration::from_secs(30))
            .err();
        assert_eq!(wait, Some(Duration::from_secs(30)));
        assert!(
            rl.try_acquire(1, "t", TEN_PER_MINUTE, t0 + Duration::from_secs(60))
                .is_ok()
        );
        assert!(
            rl.try_acquire(1, "t", TEN_PER_MINUTE, t0 + Duration::from_secs(60))
                .is_err()
        );
    }

    #[test]
    fn forget_connection_drops_state() {
        let rl = RateLimiter::default();
        let now = Instant::now();
        assert!(rl.try_acquire(7, "t", TEN_PER_MINUTE, now).is_ok());
        assert_eq!(rl.tracked_connections(), 1);
        rl.forget_connection(7);
        assert_eq!(rl.tracked_connections(), 0);
    }
}
