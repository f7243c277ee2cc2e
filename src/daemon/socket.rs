//! Where the daemon listens, who may connect, and the one handshake line
//! each side sends before anything else.
//!
//! The socket is `$XDG_RUNTIME_DIR/repl-mcp/daemon.sock` (else under
//! `$XDG_STATE_HOME/repl-mcp` or `~/.local/state/repl-mcp`), 0600 in a
//! directory that is 0700 and owned by the user; the daemon also checks
//! each peer's uid. Beside it: `daemon.lock` (fronts starting a daemon),
//! `daemon.pid` (held locked by the running daemon) and `daemon.log`.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DaemonError;

/// The longest handshake line read (a peer sending more is refused).
pub const MAX_LINE: usize = 4096;

/// The daemon's files.
#[derive(Debug, Clone)]
pub struct Paths {
    pub dir: PathBuf,
}

impl Paths {
    /// The directory from the environment (not created).
    pub fn discover() -> Result<Self, DaemonError> {
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute());
        let dir = match runtime {
            Some(r) => r.join("repl-mcp"),
            None => crate::paths::state_dir().ok_or(DaemonError::NoDir)?,
        };
        Ok(Self { dir })
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("daemon.sock")
    }

    pub fn start_lock(&self) -> PathBuf {
        self.dir.join("daemon.lock")
    }

    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("daemon.pid")
    }

    /// The live sessions' ids, kept by the daemon (see `server`).
    pub fn sessions_file(&self) -> PathBuf {
        self.dir.join("daemon.sessions")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("daemon.log")
    }

    /// Create the directory if needed; it must be ours and is made 0700.
    pub fn ensure_dir(&self) -> Result<(), DaemonError> {
        let io = |e| DaemonError::io(&self.dir, e);
        fs::create_dir_all(&self.dir).map_err(io)?;
        let meta = fs::metadata(&self.dir).map_err(io)?;
        let me = current_uid();
        if meta.uid() != me {
            return Err(DaemonError::NotOurs {
                path: self.dir.clone(),
                owner: meta.uid(),
                me,
            });
        }
        if meta.permissions().mode() & 0o777 != 0o700 {
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        Ok(())
    }
}

pub fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Open (creating, 0600) and lock a file exclusively; the lock lasts as
/// long as the returned file. `wait: false` returns `None` when another
/// process holds it.
pub fn lock_file(path: &Path, wait: bool) -> Result<Option<fs::File>, DaemonError> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| DaemonError::io(path, e))?;
    let op = if wait {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    loop {
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(Some(file));
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if !wait => return Ok(None),
            _ => return Err(DaemonError::io(path, e)),
        }
    }
}

/// What a peer wants from the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Want {
    /// MCP follows on this connection (a front).
    Mcp,
    Status,
    Stop,
}

/// The first line a peer sends.
#[derive(Debug, Serialize, Deserialize)]
pub struct Hello {
    #[serde(rename = "repl-mcp")]
    pub version: String,
    pub want: Want,
}

/// The daemon's answer, one line. After an `ok` answer to [`Want::Mcp`]
/// the connection carries MCP (newline-delimited JSON-RPC).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    pub ok: bool,
    /// The daemon's version.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// `stop`: how many sessions were ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<usize>,
}

/// `daemon status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub pid: u32,
    pub version: String,
    pub uptime_seconds: u64,
    pub sessions: usize,
    pub fronts: usize,
    pub keep_for_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    pub socket: PathBuf,
}

/// One JSON value and a newline.
pub fn line<T: Serialize>(value: &T) -> Vec<u8> {
    let mut v = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    v.push(b'\n');
    v
}

/// Parse a handshake line (without its newline).
pub fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("not a repl-mcp handshake ({e})"))
}
