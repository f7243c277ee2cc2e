//! The state machine fed byte strings: no PTY, no threads. What a REPL
//! prints decides the state; the same bytes in any chunking decide the
//! same state, clean output and markers; no bytes make it panic.

use super::*;
use crate::session::detect::test_support::python;
use crate::session::kernel::{Activity, Foreground, KernelFacts};
use proptest::prelude::*;

fn info(marker_mode: bool, prompt_from_kernel: bool) -> SessionInfo {
    SessionInfo {
        id: "test".into(),
        preset: "python".into(),
        display_name: "test".into(),
        kind: "python".into(),
        argv: vec!["python3".into()],
        cwd: "/".into(),
        env: Vec::new(),
        marker_mode,
        timeout_ms: 1000,
        created_at: SystemTime::now(),
        config: serde_json::Value::Null,
        target: None,
        parameters: Vec::new(),
        input: crate::preset::InputConfig::default(),
        prompt_from_kernel,
    }
}

fn machine(matcher: PromptMatcher, marker_mode: bool, from_kernel: bool) -> Inner {
    Inner::new(
        Arc::new(info(marker_mode, from_kernel)),
        InnerParts {
            matcher,
            plugin: None,
            history_bytes: 1 << 20,
            rows: 24,
            cols: 80,
            pid: 100,
        },
    )
}

fn python_machine() -> Inner {
    machine(python(), false, false)
}

/// Feed `chunks` as the reader would when each arrives on its own.
fn feed_all(inner: &mut Inner, chunks: &[&[u8]]) -> Vec<Marker> {
    let mut markers = Vec::new();
    for c in chunks {
        inner.feed(c, false, &mut markers);
    }
    markers
}

const PYTHON_SESSION: &[u8] =
    b"Python 3.11\r\n>>> print(6*7)\r\n42\r\n>>> for i in range(2):\r\n... ";

#[test]
fn a_python_session_goes_ready_then_continuation() {
    let mut m = python_machine();
    assert_eq!(m.state, SessionState::Starting);
    feed_all(&mut m, &[b"Python 3.11\r\n>>> "]);
    assert_eq!(m.state, SessionState::Ready);
    let seq = m.prompt_seq;
    feed_all(&mut m, &[b"print(6*7)\r\n42\r\n>>> "]);
    assert_eq!(m.state, SessionState::Ready);
    assert!(m.prompt_seq > seq, "a new prompt is counted");
    feed_all(&mut m, &[b"for i in range(2):\r\n... "]);
    assert_eq!(m.state, SessionState::Continuation);
}

#[test]
fn output_without_a_prompt_is_busy_and_a_password_prompt_awaits() {
    let mut m = python_machine();
    feed_all(&mut m, &[b">>> "]);
    m.set_state(SessionState::Busy);
    feed_all(&mut m, &[b"working...\r\nstill"]);
    assert_eq!(m.state, SessionState::Busy);
    feed_all(&mut m, &[b"\r\nPassword: "]);
    assert_eq!(m.state, SessionState::AwaitingInput);
    assert_eq!(m.awaiting.as_deref(), Some("password"));
    assert!(m.awaits_secret());
}

#[test]
fn the_echo_of_typed_input_is_no_question_but_the_question_after_it_is() {
    let mut m = python_machine();
    feed_all(&mut m, &[b">>> "]);
    let typed = "import getpass; pw = getpass.getpass('Password: ')";
    m.last_command = Some(CommandRecord {
        input: typed.into(),
        ..Default::default()
    });
    m.set_state(SessionState::Busy);
    // The echo arrives cut right after the colon: not a question.
    feed_all(
        &mut m,
        &[b"import getpass; pw = getpass.getpass('Password: "],
    );
    assert_eq!(m.state, SessionState::Busy, "{:?}", m.awaiting);
    // The rest of the echo, then getpass's own prompt: the question.
    feed_all(&mut m, &[b"')\r\n", b"Password: "]);
    assert_eq!(m.state, SessionState::AwaitingInput);
    assert!(m.awaits_secret());
    assert!(super::ends_in_start_of(">>> abcd", "abcdef"));
    assert!(
        !super::ends_in_start_of(">>> ab", "abcdef"),
        "too little to tell"
    );
    assert!(!super::ends_in_start_of("Password: ", typed));
    assert!(super::ends_in_start_of("y", "y"));
    assert!(!super::ends_in_start_of("", "y"));
}

#[test]
fn the_alternate_screen_is_a_pager() {
    let mut m = python_machine();
    feed_all(&mut m, &[b">>> help(len)\r\n", b"\x1b[?1049hHelp on len"]);
    assert_eq!(m.state, SessionState::AwaitingInput);
    assert_eq!(m.awaiting.as_deref(), Some("pager"));
}

#[test]
fn shell_markers_decide_and_carry_the_exit_status() {
    let mut m = machine(python(), true, false);
    feed_all(&mut m, &[b"\x1b]133;A\x07$ \x1b]133;B\x07"]);
    assert_eq!(m.state, SessionState::Ready);
    feed_all(&mut m, &[b"false\r\n\x1b]133;C\x07"]);
    assert_eq!(m.state, SessionState::Busy);
    feed_all(&mut m, &[b"\x1b]133;D;1\x07\x1b]133;A\x07$ \x1b]133;B\x07"]);
    assert_eq!(m.state, SessionState::Ready);
    assert_eq!(m.last_status, Some(1));
}

fn facts(echo: bool, canonical: bool, activity: Activity, pid: i32) -> KernelFacts {
    KernelFacts {
        echo: Some(echo),
        canonical: Some(canonical),
        foreground: Some(Foreground {
            pid,
            name: "prog".into(),
        }),
        activity,
    }
}

#[test]
fn the_kernel_turns_a_silent_read_into_a_secret_and_a_read_into_a_line() {
    let mut m = python_machine();
    feed_all(&mut m, &[b">>> "]);
    m.set_state(SessionState::Busy);
    feed_all(&mut m, &[b"x = input()\r\nGeheimnis: "]);
    assert!(m.apply_kernel(&facts(false, true, Activity::ReadingTerminal, 100)));
    assert_eq!(m.awaiting.as_deref(), Some("password"));
    assert_eq!(m.awaiting_prompt().as_deref(), Some("Geheimnis: "));

    m.set_state(SessionState::Busy);
    feed_all(&mut m, &[b"\r\nName? "]);
    assert!(m.apply_kernel(&facts(true, true, Activity::ReadingTerminal, 100)));
    assert_eq!(m.awaiting.as_deref(), Some("line"));

    m.set_state(SessionState::Busy);
    feed_all(&mut m, &[b"\r\n[y/N] "]);
    m.set_state(SessionState::Busy);
    assert!(m.apply_kernel(&facts(true, false, Activity::ReadingTerminal, 100)));
    assert_eq!(m.awaiting.as_deref(), Some("key"));
}

#[test]
fn a_pager_reading_is_a_pager_before_its_screen_shows() {
    let mut m = python_machine();
    feed_all(&mut m, &[b">>> "]);
    m.set_state(SessionState::Busy);
    feed_all(&mut m, &[b"help(len)\r\n"]);
    let mut less = facts(false, false, Activity::ReadingTerminal, 200);
    if let Some(f) = less.foreground.as_mut() {
        f.name = "less".into();
    }
    assert!(m.apply_kernel(&less));
    assert_eq!(m.awaiting.as_deref(), Some("pager"));
}

#[test]
fn the_kernel_leaves_known_prompts_sleepers_and_event_loops_alone() {
    let mut m = python_machine();
    feed_all(&mut m, &[b">>> "]);
    m.set_state(SessionState::Busy);
    // A known prompt on screen: the regexes' call, not the kernel's.
    assert!(!m.apply_kernel(&facts(true, true, Activity::ReadingTerminal, 100)));
    assert_eq!(m.state, SessionState::Busy);
    feed_all(&mut m, &[b"x\r\n"]);
    // Sleeping or computing: nothing to report.
    assert!(!m.apply_kernel(&facts(true, true, Activity::Sleeping, 100)));
    assert!(!m.apply_kernel(&facts(true, true, Activity::Running, 100)));
    // Unknown facts change nothing.
    assert!(!m.apply_kernel(&KernelFacts::default()));
    assert_eq!(m.state, SessionState::Busy);
}

#[test]
fn a_repl_that_reads_while_running_asks_only_with_prompt_text() {
    let mut node = python();
    node.reads_while_running = true;
    let mut m = machine(node, false, false);
    feed_all(&mut m, &[b">>> "]);
    m.set_state(SessionState::Busy);
    feed_all(&mut m, &[b"await sleep(1)\r\n"]);
    let watching = facts(true, true, Activity::WatchingTerminal, 100);
    assert!(
        !m.apply_kernel(&watching),
        "its own event loop, nothing asked"
    );
    feed_all(&mut m, &[b"Farbe? "]);
    assert!(m.apply_kernel(&watching));
    assert_eq!(m.awaiting.as_deref(), Some("line"));
    // Any other REPL reading with nothing on the line asks for one (ghci's getLine).
    let mut m = python_machine();
    feed_all(&mut m, &[b">>> "]);
    m.set_state(SessionState::Busy);
    feed_all(&mut m, &[b"x = input()\r\n"]);
    assert!(m.apply_kernel(&facts(true, true, Activity::WatchingTerminal, 100)));
}

#[test]
fn a_program_with_no_prompt_is_ready_when_it_reads_and_its_prompt_is_learned() {
    let none = PromptMatcher::new(&crate::preset::PromptConfig::default()).expect("matcher");
    let mut m = machine(none, false, true);
    assert!(m.apply_kernel(&facts(true, true, Activity::ReadingTerminal, 100)));
    assert_eq!(m.state, SessionState::Ready);
    for _ in 0..2 {
        m.set_state(SessionState::Busy);
        feed_all(&mut m, &[b"42\r\ncalc: "]);
        assert!(m.apply_kernel(&facts(true, true, Activity::ReadingTerminal, 100)));
        assert_eq!(m.state, SessionState::Ready);
    }
    assert_eq!(m.matcher.learned(), vec![regex::escape("calc: ")]);
    // Learned: the next prompt is the regexes' at once.
    m.set_state(SessionState::Busy);
    feed_all(&mut m, &[b"7\r\ncalc: "]);
    assert_eq!(m.state, SessionState::Ready);
}

/// Everything the state machine ends with that chunking must not change.
fn outcome(inner: &Inner) -> (SessionState, Option<String>, String, Vec<(u64, u64)>) {
    let end = inner.ring.end();
    let (_, clean, _) = inner.command_output(0, end, "");
    let markers = inner.markers.iter().map(|m| (m.start, m.end)).collect();
    (inner.state, inner.awaiting.clone(), clean, markers)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_chunking_gives_the_same_state_output_and_markers(
        cuts in proptest::collection::vec(0usize..PYTHON_SESSION.len(), 0..12),
        marker_mode in any::<bool>(),
    ) {
        let bytes: Vec<u8> = if marker_mode {
            b"\x1b]133;A\x07$ \x1b]133;B\x07echo h\xc3\xa9\r\n\x1b]133;C\x07h\xc3\xa9\r\n\x1b]133;D;3\x07\x1b]133;A\x07$ \x1b]133;B\x07".to_vec()
        } else {
            PYTHON_SESSION.to_vec()
        };
        let mut whole = machine(python(), marker_mode, false);
        feed_all(&mut whole, &[&bytes]);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % bytes.len()).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut pieces = Vec::new();
        let mut from = 0;
        for c in cuts.into_iter().chain([bytes.len()]) {
            pieces.push(&bytes[from..c]);
            from = c;
        }
        let mut split = machine(python(), marker_mode, false);
        feed_all(&mut split, &pieces);
        prop_assert_eq!(outcome(&whole), outcome(&split));
        prop_assert_eq!(whole.last_status, split.last_status);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20),
        marker_mode in any::<bool>(),
        from_kernel in any::<bool>(),
    ) {
        let mut m = machine(python(), marker_mode, from_kernel);
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        feed_all(&mut m, &refs);
        m.apply_kernel(&facts(true, true, Activity::ReadingTerminal, 100));
        let end = m.ring.end();
        let _ = m.command_output(0, end, "x");
    }
}
