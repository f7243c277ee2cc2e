//! Unguessable per-session tokens, and who may do what with them.
//!
//! A token is the only credential: whoever holds a session's interactive URL
//! can type into it, the read-only URL can only watch, and the index token
//! lists every registered session with both links.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;
use uuid::Uuid;

/// What a session token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Watch and type; the page also resizes the PTY.
    Interactive,
    /// Watch only.
    ReadOnly,
}

/// 122 random bits from the OS generator (uuid v4), as 32 hex digits.
fn new_token() -> String {
    Uuid::new_v4().simple().to_string()
}

/// Compares in time independent of where the strings differ, so that a
/// token cannot be guessed byte by byte from response times.
fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug)]
struct SessionTokens {
    interactive: String,
    read_only: String,
    /// Flipped to `true` when the session is forgotten, so open sockets close
    /// even if the backend never sends `Closed`.
    revoked: watch::Sender<bool>,
}

/// The tokens of one server: the index token and one pair per session.
#[derive(Debug)]
pub struct TokenRegistry {
    index: String,
    sessions: Mutex<HashMap<String, SessionTokens>>,
}

/// The two tokens of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTokenPair {
    pub interactive: String,
    pub read_only: String,
}

impl Default for TokenRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenRegistry {
    pub fn new() -> Self {
        Self {
            index: new_token(),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, SessionTokens>> {
        // The map holds plain data that is consistent after every statement,
        // so a panic elsewhere while holding the lock leaves nothing broken.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn index_token(&self) -> &str {
        &self.index
    }

    pub fn is_index_token(&self, token: &str) -> bool {
        same_token(&self.index, token)
    }

    /// Gives a session its tokens; registering twice keeps the first pair so
    /// that links already handed out stay valid.
    pub fn register(&self, id: &str) -> SessionTokenPair {
        let mut sessions = self.lock();
        let entry = sessions
            .entry(id.to_owned())
            .or_insert_with(|| SessionTokens {
                interactive: new_token(),
                read_only: new_token(),
                revoked: watch::Sender::new(false),
            });
        SessionTokenPair {
            interactive: entry.interactive.clone(),
            read_only: entry.read_only.clone(),
        }
    }

    /// Invalidates a session's tokens and tells its open sockets to close.
    pub fn forget(&self, id: &str) {
        if let Some(tokens) = self.lock().remove(id) {
            tokens.revoked.send_replace(true);
        }
    }

    /// Forgets every session (the server is stopping).
    pub fn forget_all(&self) {
        for (_, tokens) in self.lock().drain() {
            tokens.revoked.send_replace(true);
        }
    }

    pub fn tokens(&self, id: &str) -> Option<SessionTokenPair> {
        self.lock().get(id).map(|t| SessionTokenPair {
            interactive: t.interactive.clone(),
            read_only: t.read_only.clone(),
        })
    }

    /// What `token` allows on session `id`, or `None` (wrong token, unknown
    /// session: the caller answers 404 either way).
    pub fn check(&self, id: &str, token: &str) -> Option<Access> {
        let sessions = self.lock();
        let tokens = sessions.get(id)?;
        if same_token(&tokens.interactive, token) {
            Some(Access::Interactive)
        } else if same_token(&tokens.read_only, token) {
            Some(Access::ReadOnly)
        } else {
            None
        }
    }

    /// A receiver that turns `true` when the session is forgotten.
    pub fn revoked(&self, id: &str) -> Option<watch::Receiver<bool>> {
        self.lock().get(id).map(|t| t.revoked.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_checked() {
        let reg = TokenRegistry::new();
        let a = reg.register("a");
        let b = reg.register("b");
        assert_ne!(a.interactive, a.read_only);
        assert_ne!(a.interactive, b.interactive);
        assert_eq!(a.interactive.len(), 32);
        assert_eq!(reg.check("a", &a.interactive), Some(Access::Interactive));
        assert_eq!(reg.check("a", &a.read_only), Some(Access::ReadOnly));
        assert_eq!(reg.check("a", &b.interactive), None);
        assert_eq!(reg.check("a", ""), None);
        assert_eq!(reg.check("zzz", &a.interactive), None);
        assert!(!reg.is_index_token(&a.interactive));
        assert!(reg.is_index_token(reg.index_token()));
    }

    #[test]
    fn register_is_idempotent_and_forget_revokes() {
        let reg = TokenRegistry::new();
        let first = reg.register("a");
        assert_eq!(reg.register("a"), first);
        let revoked = reg.revoked("a").expect("registered");
        assert!(!*revoked.borrow());
        reg.forget("a");
        assert!(*revoked.borrow());
        assert_eq!(reg.check("a", &first.interactive), None);
        let second = reg.register("a");
        assert_ne!(second.interactive, first.interactive);
    }
}
