//! What the kernel knows about a session's terminal: whether it echoes
//! (off while a secret is read), whether it is in canonical (line) mode,
//! which process group owns it and whether that program is blocked reading
//! it. The state machine asks once when output pauses instead of guessing
//! from the screen alone.
//!
//! The portable part (termios, `tcgetpgrp`) lives here; the per-process
//! part needs the OS (`/proc` on Linux). Another OS adds one file beside
//! `linux.rs`. Every probe that cannot read something says "unknown", and
//! the caller falls back to markers and regexes.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;

#[cfg(not(target_os = "linux"))]
mod other;
#[cfg(not(target_os = "linux"))]
use other as os;

use std::os::fd::RawFd;

use crate::session::pty::queued;

/// The program that owns the terminal (its foreground process group).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Foreground {
    pub pid: i32,
    pub name: String,
}

/// What the foreground program is doing, as far as the kernel says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activity {
    /// Could not tell (no `/proc`, another user's process, an unknown call).
    #[default]
    Unknown,
    /// Blocked in a read, select or poll that includes this terminal.
    ReadingTerminal,
    /// Blocked in an event loop (epoll) that watches this terminal among
    /// other things: node keeps watching it while a command awaits.
    WatchingTerminal,
    /// On a CPU, in no call: computing, or between its prompt and its read.
    Running,
    /// Sleeping on a timer (`sleep`, `time.sleep`): certainly not reading.
    Sleeping,
    /// Blocked in something else (waiting for a child, a lock, the network),
    /// or running.
    Elsewhere,
}

/// One probe's answer. `None` fields are "unknown".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelFacts {
    /// The line discipline echoes what is typed (off while a secret is read).
    pub echo: Option<bool>,
    /// Canonical (line-at-a-time) mode; off for line editors, pagers, keys.
    pub canonical: Option<bool>,
    pub foreground: Option<Foreground>,
    pub activity: Activity,
}

/// What kind of answer the facts say the program waits for, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wants {
    /// A line typed with echo off: a password, whatever the prompt says.
    Secret,
    /// A line, edited by the kernel (canonical) or by the program's own
    /// line editor (readline, node, reline: canonical and echo both off).
    Line,
    /// Single keys: canonical mode off while the kernel still echoes
    /// (`read -n1`, a raw `[y/N]`).
    Key,
}

impl KernelFacts {
    /// Whether the foreground program is blocked reading the terminal.
    pub fn reading_terminal(&self) -> Option<bool> {
        match self.activity {
            Activity::Unknown => None,
            Activity::ReadingTerminal | Activity::WatchingTerminal => Some(true),
            Activity::Running | Activity::Sleeping | Activity::Elsewhere => Some(false),
        }
    }

    /// What the program waits for. A secret needs only the terminal modes
    /// (a program may read its password through `/dev/tty` in a way we do
    /// not see) unless the program is known to be doing something else.
    pub fn wants(&self) -> Option<Wants> {
        let reading = self.reading_terminal();
        if self.echo == Some(false) && self.canonical == Some(true) && reading != Some(false) {
            return Some(Wants::Secret);
        }
        if reading != Some(true) {
            return None;
        }
        Some(match (self.canonical, self.echo) {
            (Some(false), Some(true)) => Wants::Key,
            _ => Wants::Line,
        })
    }

    /// The program certainly is not at a prompt: it sleeps on a timer.
    /// (Running or other calls are not proof: a REPL that just printed its
    /// prompt may not have reached its read yet.)
    pub fn certainly_busy(&self) -> bool {
        self.activity == Activity::Sleeping
    }
}

/// Ask the kernel about the terminal whose master side is `master`. Never
/// fails: what cannot be read is unknown.
pub fn probe(master: RawFd) -> KernelFacts {
    let (echo, canonical) = match termios(master) {
        Some(t) => (
            Some(t.c_lflag & libc::ECHO != 0),
            Some(t.c_lflag & libc::ICANON != 0),
        ),
        None => (None, None),
    };
    let Some(pgrp) = foreground_group(master) else {
        return KernelFacts {
            echo,
            canonical,
            ..KernelFacts::default()
        };
    };
    let (foreground, activity) = os::foreground_activity(master, pgrp);
    KernelFacts {
        echo,
        canonical,
        foreground,
        activity,
    }
}

/// Whether the terminal is still: everything typed into it has been read
/// by the program, and everything the program wrote has been taken from
/// the master side. Only then does "the program reads" describe the screen
/// we hold (else the program may be reading our own keystrokes, or have
/// printed its prompt a moment ago). `false` when unsure.
pub fn terminal_still(master: RawFd) -> bool {
    // Bytes cross a PTY through the kernel's flip buffers, moved by a
    // worker a moment later (longer on a loaded machine): a zero-timeout
    // poll makes the line discipline finish that move first, so the counts
    // below are exact.
    !settle_and_peek(master) && queued(master) == Some(0) && os::typed_unread(master) == Some(0)
}

/// Whether `fd` has input, once the kernel has moved what is in flight.
fn settle_and_peek(fd: RawFd) -> bool {
    crate::session::pty::readable_within(fd, std::time::Duration::ZERO)
}

/// Whether one of our own threads is on a CPU (`None`: cannot tell).
pub fn own_thread_running(tid: i32) -> Option<bool> {
    os::own_thread_running(tid)
}

/// The calling thread's id, for [`own_thread_running`].
pub fn current_thread_id() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

/// The terminal's modes, read through the master side (same termios).
fn termios(fd: RawFd) -> Option<libc::termios> {
    // SAFETY: termios is plain data; tcgetattr fills it or fails, and a bad
    // or closed fd is reported as an error, not undefined behaviour.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::tcgetattr(fd, &mut t) };
    (rc == 0).then_some(t)
}

/// The terminal's foreground process group.
fn foreground_group(fd: RawFd) -> Option<i32> {
    // SAFETY: tcgetpgrp only reads the terminal's state.
    let pgrp = unsafe { libc::tcgetpgrp(fd) };
    (pgrp > 0).then_some(pgrp)
}

#[cfg(test)]
mod tests;
