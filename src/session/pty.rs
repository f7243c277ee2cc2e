//! Starting a program on a pseudo-terminal, and ending it with everything it
//! started.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::SessionError;

#[derive(Debug, Clone)]
pub struct SpawnSpec {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub rows: u16,
    pub cols: u16,
}

pub struct SpawnedPty {
    pub master: Box<dyn MasterPty + Send>,
    pub child: Box<dyn Child + Send + Sync>,
    pub reader: Box<dyn Read + Send>,
    /// The master side's fd, to ask how many bytes are waiting (FIONREAD).
    pub master_fd: Option<i32>,
    pub writer: Box<dyn Write + Send>,
    /// The child is a session leader (portable-pty calls `setsid`), so its
    /// pid is also its session id and process group id.
    pub pid: i32,
}

pub fn spawn(spec: &SpawnSpec) -> Result<SpawnedPty, SessionError> {
    let pty_err = |e: anyhow::Error| SessionError::Pty(format!("{e:#}"));
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: spec.rows,
            cols: spec.cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .map_err(pty_err)?;
    let mut cmd = CommandBuilder::new(&spec.argv[0]);
    cmd.args(&spec.argv[1..]);
    cmd.cwd(&spec.cwd);
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    let child = pair.slave.spawn_command(cmd).map_err(pty_err)?;
    // Drop our copy of the slave so that EOF arrives once the REPL is gone.
    drop(pair.slave);
    let pid = child
        .process_id()
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| SessionError::Pty("spawned process has no pid".into()))?;
    let reader = pair.master.try_clone_reader().map_err(pty_err)?;
    let writer = pair.master.take_writer().map_err(pty_err)?;
    let master_fd = pair.master.as_raw_fd();
    Ok(SpawnedPty {
        master_fd,
        master: pair.master,
        child,
        reader,
        writer,
        pid,
    })
}

/// Resolve a program like the shell would: a path with a slash is taken as
/// is, anything else is looked up in `path_var`.
pub fn find_program(program: &str, path_var: Option<&str>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_exec = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_exec(&p).then_some(p);
    }
    let path_var = path_var
        .map(str::to_string)
        .or_else(|| std::env::var("PATH").ok())?;
    std::env::split_paths(&path_var)
        .map(|dir| dir.join(program))
        .find(|p| is_exec(p))
}

/// Send `signal` to the foreground process group of the terminal (what
/// Ctrl-C would hit), falling back to the REPL's own group.
pub fn signal_foreground(master: &dyn MasterPty, pid: i32, signal: i32) -> std::io::Result<()> {
    let pgrp = master
        .process_group_leader()
        .filter(|&p| p > 0)
        .unwrap_or(pid);
    // SAFETY: kill(2) with a negative pid signals a process group; it has no
    // memory-safety preconditions.
    let rc = unsafe { libc::kill(-pgrp, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Every process whose session id is `sid` (the REPL and all it started,
/// whatever process group job control put them in).
pub fn session_members(sid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| proc_session(pid) == Some(sid))
        .collect()
}

fn proc_session(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields resume
    // after the last `)`. Then: state ppid pgrp session.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(3)?.parse().ok()
}

fn kill_all(pids: &[i32], signal: i32) {
    for &pid in pids {
        // SAFETY: see `signal_foreground`.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// End a whole terminal session: SIGHUP (what closing a terminal sends),
/// then SIGKILL for whatever is still there shortly after.
pub fn kill_session_tree(sid: i32) {
    if sid <= 1 {
        return;
    }
    let members = session_members(sid);
    kill_all(&members, libc::SIGHUP);
    kill_all(&members, libc::SIGCONT);
    let deadline = Instant::now() + Duration::from_millis(300);
    loop {
        let left = session_members(sid);
        if left.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            kill_all(&left, libc::SIGKILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every signal a session can be sent, by canonical name: the one table
/// (the agent's tool, plugins' capabilities and decisions all use it).
const SIGNALS: &[(&str, i32)] = &[
    ("SIGINT", libc::SIGINT),
    ("SIGTERM", libc::SIGTERM),
    ("SIGKILL", libc::SIGKILL),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGHUP", libc::SIGHUP),
    ("SIGTSTP", libc::SIGTSTP),
    ("SIGCONT", libc::SIGCONT),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGWINCH", libc::SIGWINCH),
];

/// `int`, `INT`, `SigInt` and `SIGINT` all mean `SIGINT`.
pub fn canonical_signal(name: &str) -> Option<&'static str> {
    if name.len() > 16 {
        return None;
    }
    let upper = name.to_ascii_uppercase();
    let full = upper.strip_prefix("SIG").unwrap_or(&upper);
    SIGNALS
        .iter()
        .map(|(n, _)| *n)
        .find(|n| n.strip_prefix("SIG") == Some(full))
}

pub fn signal_number(name: &str) -> Option<i32> {
    let canon = canonical_signal(name.trim())?;
    SIGNALS.iter().find(|(n, _)| *n == canon).map(|(_, n)| *n)
}

/// Wait up to `timeout` for `fd` to become readable.
pub fn readable_within(fd: i32, timeout: std::time::Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: libc::c_long::try_from(timeout.as_nanos().min(999_999_999)).unwrap_or(0),
    };
    // SAFETY: one valid pollfd and a valid timespec, both live locals.
    let rc = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
    rc > 0 && pfd.revents & libc::POLLIN != 0
}

/// Bytes already waiting to be read on `fd` (0 if unknown).
pub fn bytes_waiting(fd: i32) -> usize {
    queued(fd).unwrap_or(0)
}

/// Bytes waiting to be read on `fd`; `None` when it cannot be asked.
pub fn queued(fd: i32) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer we pass, which
    // points at a live local.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    (rc == 0).then(|| usize::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_in_path_only_if_executable() {
        assert!(find_program("sh", None).is_some());
        assert!(find_program("definitely-not-a-program-xyz", None).is_none());
        assert!(find_program("/etc/passwd", None).is_none());
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_number("SIGINT"), Some(libc::SIGINT));
        assert_eq!(signal_number("tstp"), Some(libc::SIGTSTP));
        assert_eq!(signal_number("SIGNOPE"), None);
    }
}
