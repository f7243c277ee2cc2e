//! The probes against real programs on a real PTY (no session around them).

use super::*;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Pty {
    master: OwnedFd,
    child: Child,
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `argv` as the session leader of a fresh PTY, as sessions are.
fn spawn(argv: &[&str]) -> Pty {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two fds; the null pointers ask for defaults.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both fds were just opened and are owned here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..])
        .stdin(io(&slave))
        .stdout(io(&slave))
        .stderr(io(&slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn");
    Pty { master, child }
}

/// Probe until `want` holds (programs take a moment to reach their read).
fn probe_until(pty: &Pty, want: impl Fn(&KernelFacts) -> bool) -> KernelFacts {
    let began = Instant::now();
    loop {
        let facts = probe(pty.master.as_raw_fd());
        if want(&facts) || began.elapsed() > Duration::from_secs(10) {
            return facts;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_shell_reading_a_line_is_seen_reading_in_canonical_mode() {
    let pty = spawn(&["sh", "-c", "read x"]);
    let f = probe_until(&pty, |f| f.reading_terminal() == Some(true));
    assert_eq!(f.activity, Activity::ReadingTerminal, "{f:?}");
    assert_eq!((f.echo, f.canonical), (Some(true), Some(true)));
    assert_eq!(f.foreground.as_ref().map(|p| p.name.as_str()), Some("sh"));
    assert_eq!(f.wants(), Some(Wants::Line));
    assert!(!f.certainly_busy());
}

#[test]
fn a_password_read_with_echo_off_is_a_secret_whatever_its_prompt() {
    let pty = spawn(&[
        "python3",
        "-c",
        "import getpass; getpass.getpass('Geheimnis: ')",
    ]);
    let f = probe_until(&pty, |f| f.wants() == Some(Wants::Secret));
    assert_eq!(f.wants(), Some(Wants::Secret), "{f:?}");
    assert_eq!(f.reading_terminal(), Some(true), "{f:?}");
}

#[test]
fn a_line_editor_in_select_is_reading_a_line() {
    // python's input() under readline: raw mode, echo off, pselect6 on fd 0.
    let pty = spawn(&["python3", "-c", "import readline; input('? ')"]);
    let f = probe_until(&pty, |f| f.reading_terminal() == Some(true));
    assert_eq!(f.activity, Activity::ReadingTerminal, "{f:?}");
    assert_eq!(f.canonical, Some(false));
    assert_eq!(f.wants(), Some(Wants::Line));
}

#[test]
fn single_keys_with_echo_on_are_keys() {
    let pty = spawn(&[
        "sh",
        "-c",
        "stty -icanon min 1; dd bs=1 count=1 2>/dev/null",
    ]);
    let f = probe_until(&pty, |f| {
        f.canonical == Some(false) && f.reading_terminal() == Some(true)
    });
    assert_eq!(f.wants(), Some(Wants::Key), "{f:?}");
}

#[test]
fn a_sleeping_program_is_certainly_busy_and_wants_nothing() {
    let pty = spawn(&["sleep", "30"]);
    let f = probe_until(&pty, |f| f.activity == Activity::Sleeping);
    assert!(f.certainly_busy(), "{f:?}");
    assert_eq!(f.wants(), None);
    assert_eq!(
        f.foreground.as_ref().map(|p| p.pid),
        Some(pty.child.id() as i32)
    );
}

#[test]
fn a_child_in_the_leaders_group_is_the_one_looked_at() {
    // sh -c without job control keeps `sleep` in its own group and waits.
    let pty = spawn(&["sh", "-c", "sleep 30; true"]);
    let f = probe_until(&pty, |f| f.activity == Activity::Sleeping);
    assert_eq!(f.activity, Activity::Sleeping, "{f:?}");
    assert_eq!(f.foreground.map(|p| p.name), Some("sleep".to_string()));
}

#[test]
fn a_bad_or_closed_terminal_is_unknown_not_a_panic() {
    assert_eq!(probe(-1), KernelFacts::default());
    let mut pty = spawn(&["true"]);
    let _ = pty.child.wait();
    let f = probe(pty.master.as_raw_fd());
    assert_eq!(f.reading_terminal(), None, "{f:?}");
    assert_eq!(f.wants(), None);
}
