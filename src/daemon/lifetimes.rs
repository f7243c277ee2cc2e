//! Who holds which session, and when a session or the daemon ends.
//!
//! A front attaches to the sessions it creates or names in a call. A
//! session no front is attached to lives for its keep-for (the daemon's
//! `--keep-for`, or `keepFor` given to `create_session`), then ends. The
//! daemon ends after `--idle-exit` with no sessions and no fronts. No I/O
//! and no clock here: [`Lifetimes::sweep`] is told the time.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::mcp::SessionUse;

#[derive(Default)]
struct Inner {
    next_front: u64,
    /// Open fronts and the sessions each is attached to.
    fronts: HashMap<u64, HashSet<String>>,
    /// Per-session keep-for given at creation.
    keep_for: HashMap<String, Duration>,
    /// Since when each unattached session has had no front.
    detached_since: HashMap<String, Instant>,
    /// Since when the daemon has had no session and no front.
    idle_since: Option<Instant>,
}

pub struct Lifetimes {
    inner: Mutex<Inner>,
    default_keep: Duration,
    /// Said when a front names a session this daemon does not have.
    lost_note: Option<String>,
}

/// What one sweep decided.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Sessions whose keep-for ran out: end them.
    pub expired: Vec<String>,
    /// The daemon has been idle for its idle-exit: end it.
    pub idle: bool,
}

impl Lifetimes {
    #[cfg(test)]
    pub fn new(default_keep: Duration) -> Arc<Self> {
        Self::with_lost_note(default_keep, None)
    }

    /// `lost_note`: what to tell a front naming an unknown session (an
    /// earlier daemon died with its sessions).
    pub fn with_lost_note(default_keep: Duration, lost_note: Option<String>) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            default_keep,
            lost_note,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn default_keep(&self) -> Duration {
        self.default_keep
    }

    /// A front connected; its id.
    pub fn open_front(&self) -> u64 {
        let mut inner = self.lock();
        inner.next_front += 1;
        let id = inner.next_front;
        inner.fronts.insert(id, HashSet::new());
        id
    }

    /// The front went (closed, killed): its sessions start their keep-for.
    pub fn close_front(&self, front: u64) {
        self.lock().fronts.remove(&front);
    }

    pub fn fronts(&self) -> usize {
        self.lock().fronts.len()
    }

    fn attach(&self, front: u64, session: &str) {
        let mut inner = self.lock();
        if let Some(set) = inner.fronts.get_mut(&front) {
            set.insert(session.to_string());
            inner.detached_since.remove(session);
        }
    }

    /// `live`: the sessions that exist now.
    pub fn sweep(&self, live: &[String], now: Instant, idle_exit: Duration) -> Sweep {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let live_set: HashSet<&str> = live.iter().map(String::as_str).collect();
        for set in inner.fronts.values_mut() {
            set.retain(|s| live_set.contains(s.as_str()));
        }
        inner.keep_for.retain(|s, _| live_set.contains(s.as_str()));
        inner
            .detached_since
            .retain(|s, _| live_set.contains(s.as_str()));
        let mut sweep = Sweep::default();
        for id in live {
            if inner.fronts.values().any(|set| set.contains(id)) {
                inner.detached_since.remove(id);
                continue;
            }
            let since = *inner.detached_since.entry(id.clone()).or_insert(now);
            let keep = inner.keep_for.get(id).copied().unwrap_or(self.default_keep);
            if now.saturating_duration_since(since) >= keep {
                sweep.expired.push(id.clone());
            }
        }
        if live.is_empty() && inner.fronts.is_empty() {
            let since = *inner.idle_since.get_or_insert(now);
            sweep.idle = now.saturating_duration_since(since) >= idle_exit;
        } else {
            inner.idle_since = None;
        }
        sweep
    }
}

/// One front's view, handed to its MCP server.
pub struct FrontUse {
    pub front: u64,
    pub lifetimes: Arc<Lifetimes>,
}

impl SessionUse for FrontUse {
    fn used(&self, session_id: &str) {
        self.lifetimes.attach(self.front, session_id);
    }

    fn created(&self, session_id: &str, keep_for: Option<Duration>) {
        if let Some(keep) = keep_for {
            self.lifetimes
                .lock()
                .keep_for
                .insert(session_id.to_string(), keep);
        }
        self.lifetimes.attach(self.front, session_id);
    }

    fn unknown_session_note(&self) -> Option<String> {
        self.lifetimes.lost_note.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(60);

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_session_outlives_its_front_for_keep_for() {
        let l = Lifetimes::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let f = l.open_front();
        let u = FrontUse {
            front: f,
            lifetimes: Arc::clone(&l),
        };
        u.created("a", None);
        assert_eq!(l.sweep(&ids(&["a"]), t0, IDLE), Sweep::default());
        l.close_front(f);
        let live = ids(&["a"]);
        assert!(l.sweep(&live, t0, IDLE).expired.is_empty());
        assert!(
            l.sweep(&live, t0 + Duration::from_secs(9), IDLE)
                .expired
                .is_empty()
        );
        assert_eq!(
            l.sweep(&live, t0 + Duration::from_secs(10), IDLE).expired,
            live
        );
    }

    #[test]
    fn a_new_front_that_uses_it_resets_the_clock() {
        let l = Lifetimes::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let live = ids(&["a"]);
        assert!(l.sweep(&live, t0, IDLE).expired.is_empty());
        let f = l.open_front();
        FrontUse {
            front: f,
            lifetimes: Arc::clone(&l),
        }
        .used("a");
        assert!(
            l.sweep(&live, t0 + Duration::from_secs(30), IDLE)
                .expired
                .is_empty()
        );
        l.close_front(f);
        let t1 = t0 + Duration::from_secs(31);
        assert!(l.sweep(&live, t1, IDLE).expired.is_empty());
        assert_eq!(
            l.sweep(&live, t1 + Duration::from_secs(10), IDLE).expired,
            live
        );
    }

    #[test]
    fn keep_for_per_session_and_zero() {
        let l = Lifetimes::new(Duration::from_secs(1000));
        let t0 = Instant::now();
        let f = l.open_front();
        let u = FrontUse {
            front: f,
            lifetimes: Arc::clone(&l),
        };
        u.created("short", Some(Duration::ZERO));
        u.created("long", None);
        l.close_front(f);
        assert_eq!(
            l.sweep(&ids(&["long", "short"]), t0, IDLE).expired,
            ids(&["short"])
        );
    }

    #[test]
    fn idle_exit_needs_no_sessions_and_no_fronts() {
        let l = Lifetimes::new(Duration::from_secs(1));
        let t0 = Instant::now();
        let f = l.open_front();
        assert!(!l.sweep(&[], t0 + IDLE * 2, IDLE).idle);
        l.close_front(f);
        assert!(!l.sweep(&[], t0, IDLE).idle);
        assert!(!l.sweep(&ids(&["a"]), t0 + IDLE, IDLE).idle);
        let t1 = t0 + IDLE * 2;
        assert!(!l.sweep(&[], t1, IDLE).idle);
        assert!(l.sweep(&[], t1 + IDLE, IDLE).idle);
    }
}
