//! Linux: which process leads the foreground group and whether it is
//! blocked reading our terminal, from `/proc/<pid>/syscall` (the call a
//! blocked thread sits in and its arguments), `/proc/<pid>/fd` (what an fd
//! is), `/proc/<pid>/fdinfo` (what an epoll instance watches) and
//! `/proc/<pid>/mem` (the fd sets of select and poll). Our sessions are our
//! descendants, so these are readable under the usual ptrace rules; when
//! they are not, the answer is "unknown".

use super::{Activity, Foreground};
use libc::c_long;
use std::fs;
use std::io::ErrorKind;
use std::os::fd::RawFd;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt};

/// More fds than this in one select or poll is not an interactive program.
const MAX_FDS: u64 = 4096;
/// Threads looked at in one process (a REPL reads from one of its first).
const MAX_THREADS: usize = 64;

pub fn foreground_activity(master: RawFd, pgrp: i32) -> (Option<Foreground>, Activity) {
    let Some(leader) = group_leader(pgrp) else {
        return (None, Activity::Unknown);
    };
    let (pid, activity) = match Terminal::of_master(master) {
        Some(term) => group_activity(leader, pgrp, &term),
        None => (leader, Activity::Unknown),
    };
    let name = fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default();
    (Some(Foreground { pid, name }), activity)
}

/// The process of the group that does the work and what it does. A leader
/// that waits for a child (`sh -c 'a; b'`, `os.system`) without job control
/// keeps its children in its group: the child is the one reading or
/// sleeping, so follow the wait down (a few levels at most).
fn group_activity(leader: i32, pgrp: i32, term: &Terminal) -> (i32, Activity) {
    let mut pid = leader;
    for _ in 0..8 {
        let (activity, waits) = process_activity(pid, term);
        if !waits {
            return (pid, activity);
        }
        let child = children(pid)
            .into_iter()
            .rev()
            .find(|&c| stat_pgrp(c) == Some(pgrp));
        match child {
            Some(c) => pid = c,
            None => return (pid, activity),
        }
    }
    (pid, Activity::Unknown)
}

/// A process's children, oldest first.
fn children(pid: i32) -> Vec<i32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|s| {
            s.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Bytes typed into the terminal that its program has not read yet (the
/// slave side's input queue), through a short-lived handle on the slave.
pub fn typed_unread(master: RawFd) -> Option<usize> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = slave_path(master)?;
    let slave = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&slave);
    // Settles keystrokes still in flight into the read queue (see
    // `terminal_still`); the answer itself is the count below.
    super::settle_and_peek(fd);
    super::queued(fd)
}

/// Whether a thread of this process is on a CPU (state `R`).
pub fn own_thread_running(tid: i32) -> Option<bool> {
    let stat = fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    let state = stat[stat.rfind(')')? + 1..].split_whitespace().next()?;
    Some(state == "R")
}

/// The slave side's path (`/dev/pts/N`).
fn slave_path(master: RawFd) -> Option<String> {
    let mut buf = [0 as libc::c_char; 128];
    // SAFETY: ptsname_r writes a NUL-terminated path into `buf`, at most
    // its length, or fails; it does not keep the pointer.
    let rc = unsafe { libc::ptsname_r(master, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: on success the buffer holds a NUL-terminated string.
    let path = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    path.to_str().ok().map(str::to_string)
}

/// The devices that are "our terminal" for the foreground program: the
/// PTY's slave, and `/dev/tty` (which is its controlling terminal, since
/// the program is in the group that owns ours).
struct Terminal {
    slave: u64,
    controlling: u64,
}

impl Terminal {
    fn of_master(master: RawFd) -> Option<Terminal> {
        let slave = fs::metadata(slave_path(master)?).ok()?.rdev();
        Some(Terminal {
            slave,
            controlling: libc::makedev(5, 0),
        })
    }

    fn is(&self, rdev: u64) -> bool {
        rdev == self.slave || rdev == self.controlling
    }

    /// Whether `fd` of `pid` is this terminal; `None` when it cannot be seen.
    fn is_fd(&self, pid: i32, tid: i32, fd: u64) -> Option<bool> {
        match fs::metadata(format!("/proc/{pid}/task/{tid}/fd/{fd}")) {
            Ok(m) => Some(m.file_type().is_char_device() && self.is(m.rdev())),
            Err(e) if e.kind() == ErrorKind::NotFound => Some(false),
            Err(_) => None,
        }
    }
}

/// The group's leader (its pid is the group id), or any member when the
/// leader is gone.
fn group_leader(pgrp: i32) -> Option<i32> {
    if stat_pgrp(pgrp) == Some(pgrp) {
        return Some(pgrp);
    }
    fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .find(|&pid| stat_pgrp(pid) == Some(pgrp))
}

/// The process group of `pid`, from `/proc/<pid>/stat`.
fn stat_pgrp(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name is in parentheses and may hold anything: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// What `pid` does: reading the terminal if any of its threads is blocked
/// reading it, else what its main thread does; and whether the main thread
/// waits for a child.
fn process_activity(pid: i32, term: &Terminal) -> (Activity, bool) {
    let (main, waits) = thread_activity(pid, pid, term);
    let reads = |a: Activity| matches!(a, Activity::ReadingTerminal | Activity::WatchingTerminal);
    if reads(main) {
        return (main, false);
    }
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return (main, waits);
    };
    let others = tasks
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&tid| tid != pid)
        .take(MAX_THREADS);
    let mut threaded = false;
    for tid in others {
        threaded = true;
        let (activity, _) = thread_activity(pid, tid, term);
        if reads(activity) {
            return (activity, false);
        }
    }
    // A sleeping main thread proves nothing when another thread may be the
    // reader in a way we do not recognise (a VM's I/O thread).
    match main {
        Activity::Sleeping if threaded => (Activity::Elsewhere, waits),
        _ => (main, waits),
    }
}

/// The call a thread is blocked in, from `/proc/<pid>/task/<tid>/syscall`:
/// `running`, or the call's number and six arguments in hex. Also says
/// whether the thread waits for a child.
fn thread_activity(pid: i32, tid: i32, term: &Terminal) -> (Activity, bool) {
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")) else {
        return (Activity::Unknown, false);
    };
    let mut fields = text.split_whitespace();
    let first = fields.next().unwrap_or_default();
    if first == "running" {
        return (Activity::Running, false);
    }
    let Ok(nr) = first.parse::<c_long>() else {
        return (Activity::Unknown, false);
    };
    let args: Vec<u64> = fields
        .take(6)
        .filter_map(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
        .collect();
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    let reads = |found: Option<bool>| match found {
        Some(true) => Activity::ReadingTerminal,
        Some(false) => Activity::Elsewhere,
        None => Activity::Unknown,
    };
    let activity = match call_kind(nr) {
        Call::Read => reads(term.is_fd(pid, tid, arg(0))),
        Call::Select => reads(select_reads(pid, tid, arg(0), arg(1), term)),
        Call::Poll => reads(poll_reads(pid, tid, arg(0), arg(1), term)),
        Call::Epoll => match epoll_reads(pid, arg(0), term) {
            Some(true) => Activity::WatchingTerminal,
            found => reads(found),
        },
        Call::Sleep => Activity::Sleeping,
        Call::Wait => return (Activity::Elsewhere, true),
        Call::Other => Activity::Elsewhere,
    };
    (activity, false)
}

enum Call {
    Read,
    Select,
    Poll,
    Epoll,
    Sleep,
    Wait,
    Other,
}

fn call_kind(nr: c_long) -> Call {
    #[cfg(target_arch = "x86_64")]
    {
        if nr == libc::SYS_select {
            return Call::Select;
        }
        if nr == libc::SYS_poll {
            return Call::Poll;
        }
        if nr == libc::SYS_epoll_wait {
            return Call::Epoll;
        }
    }
    match nr {
        n if n == libc::SYS_read || n == libc::SYS_readv || n == libc::SYS_pread64 => Call::Read,
        n if n == libc::SYS_pselect6 => Call::Select,
        n if n == libc::SYS_ppoll => Call::Poll,
        n if n == libc::SYS_epoll_pwait || n == libc::SYS_epoll_pwait2 => Call::Epoll,
        n if n == libc::SYS_nanosleep || n == libc::SYS_clock_nanosleep => Call::Sleep,
        n if n == libc::SYS_wait4 || n == libc::SYS_waitid => Call::Wait,
        _ => Call::Other,
    }
}

/// Read `len` bytes at `addr` of the process's memory.
fn read_memory(pid: i32, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mem = fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut buf = vec![0u8; len];
    mem.read_exact_at(&mut buf, addr).ok()?;
    Some(buf)
}

/// Whether a select's read set includes the terminal. When the set cannot
/// be read, the fds below `nfds` that are the terminal stand in for it.
fn select_reads(pid: i32, tid: i32, nfds: u64, readfds: u64, term: &Terminal) -> Option<bool> {
    if readfds == 0 {
        return Some(false);
    }
    let nfds = nfds.min(MAX_FDS);
    const WORD: usize = std::mem::size_of::<libc::c_ulong>();
    let words = usize::try_from(nfds).ok()?.div_ceil(WORD * 8);
    let Some(bytes) = read_memory(pid, readfds, words * WORD) else {
        return any_fd_below(pid, tid, nfds.min(64), term);
    };
    let set: Vec<u64> = bytes
        .chunks_exact(WORD)
        .map(|w| {
            let mut b = [0u8; 8];
            b[..WORD].copy_from_slice(w);
            // A word of the set in the machine's order (c_ulong may be 4 bytes).
            if cfg!(target_endian = "little") {
                u64::from_le_bytes(b)
            } else {
                u64::from_be_bytes(b) >> (64 - WORD * 8)
            }
        })
        .collect();
    let bits = (WORD * 8) as u64;
    let mut unknown = false;
    for fd in 0..nfds {
        let word = set
            .get(usize::try_from(fd / bits).ok()?)
            .copied()
            .unwrap_or(0);
        if word & (1 << (fd % bits)) != 0 {
            match term.is_fd(pid, tid, fd) {
                Some(true) => return Some(true),
                Some(false) => {}
                None => unknown = true,
            }
        }
    }
    if unknown { None } else { Some(false) }
}

/// Whether a poll's fds include the terminal, watched for input.
fn poll_reads(pid: i32, tid: i32, fds: u64, nfds: u64, term: &Terminal) -> Option<bool> {
    let nfds = nfds.min(MAX_FDS);
    let len = usize::try_from(nfds).ok()? * std::mem::size_of::<libc::pollfd>();
    let Some(bytes) = read_memory(pid, fds, len) else {
        return any_fd_below(pid, tid, 1, term);
    };
    let mut unknown = false;
    for entry in bytes.chunks_exact(std::mem::size_of::<libc::pollfd>()) {
        let fd = i32::from_ne_bytes([entry[0], entry[1], entry[2], entry[3]]);
        let events = i16::from_ne_bytes([entry[4], entry[5]]);
        let Ok(fd) = u64::try_from(fd) else { continue };
        if events & libc::POLLIN == 0 {
            continue;
        }
        match term.is_fd(pid, tid, fd) {
            Some(true) => return Some(true),
            Some(false) => {}
            None => unknown = true,
        }
    }
    if unknown { None } else { Some(false) }
}

/// Whether an epoll instance watches the terminal for input: its fdinfo
/// lists each watched fd as `tfd: <fd> events: <hex mask> …`.
fn epoll_reads(pid: i32, epfd: u64, term: &Terminal) -> Option<bool> {
    let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{epfd}")).ok()?;
    let mut unknown = false;
    for line in info.lines().filter(|l| l.starts_with("tfd:")) {
        let mut words = line.split_whitespace();
        let fd = words.nth(1).and_then(|f| f.parse::<u64>().ok());
        let events = words
            .nth(1)
            .and_then(|e| u32::from_str_radix(e, 16).ok())
            .unwrap_or(0);
        let Some(fd) = fd else { continue };
        if events & (libc::EPOLLIN as u32) == 0 {
            continue;
        }
        match term.is_fd(pid, pid, fd) {
            Some(true) => return Some(true),
            Some(false) => {}
            None => unknown = true,
        }
    }
    if unknown { None } else { Some(false) }
}

/// The fallback when a process's memory cannot be read: the terminal among
/// the fds below `limit` says "reading" (an interactive program that waits
/// on several fds almost always includes it); its absence proves nothing.
fn any_fd_below(pid: i32, tid: i32, limit: u64, term: &Terminal) -> Option<bool> {
    (0..limit)
        .any(|fd| term.is_fd(pid, tid, fd) == Some(true))
        .then_some(true)
}
