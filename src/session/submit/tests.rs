use super::*;

fn config(mode: InputMode) -> InputConfig {
    InputConfig {
        mode,
        ..InputConfig::default()
    }
}

fn canonical(long_lines: LongLines) -> InputConfig {
    InputConfig {
        mode: InputMode::Lines,
        max_line_bytes: Some(4095),
        long_lines,
    }
}

fn steps(text: &str, add_newline: bool, input: &InputConfig, paste_on: bool) -> Vec<Step> {
    plan(&Submission {
        text,
        add_newline,
        input,
        paste_on,
        eof_chunks_allowed: true,
    })
    .expect("planned")
}

/// What is written for each step, with bracketed paste in the given state.
fn written(steps: &[Step], paste_on: bool) -> Vec<Vec<u8>> {
    steps
        .iter()
        .map(|s| s.keys(paste_on).into_owned())
        .collect()
}

#[test]
fn lines_are_typed_one_by_one_with_enter() {
    let s = steps("a\nb", true, &config(InputMode::Lines), false);
    assert_eq!(written(&s, false), [b"a\r".to_vec(), b"b\r".to_vec()]);
    assert!(s.iter().all(|s| s.await_prompt && !s.literal));
    // A `\r\n` is one line break; an explicit trailing newline is a blank line.
    let s = steps("a\r\nb\n", true, &config(InputMode::Lines), false);
    assert_eq!(
        written(&s, false),
        [b"a\r".to_vec(), b"b\r".to_vec(), b"\r".to_vec()]
    );
    // Just Enter.
    assert_eq!(
        written(&steps("", true, &config(InputMode::Lines), false), false),
        [b"\r".to_vec()]
    );
    assert!(steps("", false, &config(InputMode::Lines), false).is_empty());
}

#[test]
fn without_add_newline_the_last_line_is_typed_without_enter() {
    let s = steps("a\nb", false, &config(InputMode::Lines), false);
    assert_eq!(written(&s, false), [b"a\r".to_vec(), b"b".to_vec()]);
    assert!(s[0].await_prompt && !s[1].await_prompt);
    // Keys stay keys: Ctrl-C, an explicit carriage return.
    let s = steps("\x03", false, &config(InputMode::Lines), false);
    assert_eq!(written(&s, false), [b"\x03".to_vec()]);
    let s = steps("y\r", false, &config(InputMode::Lines), false);
    assert_eq!(written(&s, false), [b"y\r".to_vec()]);
}

#[test]
fn lines_with_tabs_are_pasted_when_the_program_takes_pastes() {
    let s = steps(
        "cat <<EOF\n\tindented\nEOF",
        true,
        &config(InputMode::Lines),
        true,
    );
    assert_eq!(
        written(&s, true),
        [
            b"cat <<EOF\r".to_vec(),
            b"\x1b[200~\tindented\x1b[201~\r".to_vec(),
            b"EOF\r".to_vec()
        ]
    );
    // A program without bracketed paste (or a command reading the line
    // itself, paste off at that moment) gets the tab typed.
    assert_eq!(written(&s, false)[1], b"\tindented\r");
    // A tab next to a control key is a key too: typed.
    let s = steps("\t\x1b", false, &config(InputMode::Lines), true);
    assert_eq!(written(&s, true), [b"\t\x1b".to_vec()]);
}

#[test]
fn bracketed_paste_sends_the_block_as_one_paste() {
    let paste = config(InputMode::BracketedPaste);
    let s = steps("f <- function(x) {\n  x * 2\n}", true, &paste, true);
    assert_eq!(
        written(&s, true),
        [b"\x1b[200~f <- function(x) {\r  x * 2\r}\x1b[201~\r".to_vec()]
    );
    assert!(s[0].await_prompt);
    // Without Enter at the end.
    let s = steps("a\nb", false, &paste, true);
    assert_eq!(written(&s, true), [b"\x1b[200~a\rb\x1b[201~".to_vec()]);
    assert!(!s[0].await_prompt);
    // One plain line is simply typed.
    let s = steps("print(1)", true, &paste, true);
    assert_eq!(written(&s, true), [b"print(1)\r".to_vec()]);
}

#[test]
fn bracketed_paste_falls_back_to_lines() {
    let paste = config(InputMode::BracketedPaste);
    // The program has not turned bracketed paste on.
    let s = steps("a\nb", true, &paste, false);
    assert_eq!(written(&s, false), [b"a\r".to_vec(), b"b\r".to_vec()]);
    // Keys in the text: a paste would make them literal, and an end-of-paste
    // sequence in it would end the paste early.
    let s = steps("a\n\x1b[201~rm -rf x\n", true, &paste, true);
    assert_eq!(s.len(), 3);
    assert!(s.iter().all(|s| !s.bytes.starts_with(PASTE_START)));
}

#[test]
fn python_blocks_are_arranged() {
    let py = config(InputMode::PythonBlocks);
    let src = "class A:\n    def f(self):\n        return 1\n\n    def g(self):\n        return 2\n\nprint(A().g())";
    let s = steps(src, true, &py, false);
    let typed: Vec<&[u8]> = s.iter().map(|s| s.bytes.as_slice()).collect();
    assert_eq!(
        typed,
        [
            &b"class A:\r"[..],
            b"    def f(self):\r",
            b"        return 1\r",
            b"    def g(self):\r",
            b"        return 2\r",
            b"\r",
            b"print(A().g())\r",
        ]
    );
}

#[test]
fn a_line_over_the_limit_is_refused_and_names_it() {
    let long = "x".repeat(5000);
    let text = format!("a = 1\n{long}\n");
    let err = plan(&Submission {
        text: &text,
        add_newline: true,
        input: &canonical(LongLines::Refuse),
        paste_on: false,
        eof_chunks_allowed: true,
    })
    .unwrap_err();
    assert_eq!(
        err,
        SubmitError::LineTooLong {
            line: 2,
            bytes: 5000,
            limit: 4095
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("4095") && msg.contains("nothing was typed"),
        "{msg}"
    );
    // Exactly at the limit is fine.
    let at = "y".repeat(4095);
    assert_eq!(
        steps(&at, true, &canonical(LongLines::Refuse), false).len(),
        1
    );
    // Line numbers count the input's own lines, blank ones included.
    let text = format!("if x:\n\n    {long}");
    let py = InputConfig {
        mode: InputMode::PythonBlocks,
        max_line_bytes: Some(4095),
        long_lines: LongLines::Refuse,
    };
    let err = plan(&Submission {
        text: &text,
        add_newline: true,
        input: &py,
        paste_on: false,
        eof_chunks_allowed: true,
    })
    .unwrap_err();
    assert!(matches!(err, SubmitError::LineTooLong { line: 3, .. }));
}

#[test]
fn long_lines_go_in_pieces_ended_by_the_eof_key() {
    // Multi-byte characters: pieces are cut between characters.
    let long: String = "é✓".repeat(2000);
    let text = format!("x = '{long}'");
    let s = steps(&text, true, &canonical(LongLines::EofChunks), false);
    assert_eq!(s.len(), 1);
    let bytes = &s[0].bytes;
    assert_eq!(bytes.last(), Some(&b'\r'));
    let pieces: Vec<&[u8]> = bytes[..bytes.len() - 1].split(|&b| b == EOF_KEY).collect();
    assert!(pieces.len() >= 3, "{} pieces", pieces.len());
    for p in &pieces {
        assert!(!p.is_empty() && p.len() <= 4095);
        assert!(std::str::from_utf8(p).is_ok(), "cut inside a character");
    }
    assert_eq!(pieces.concat(), text.as_bytes());
    // Short lines are untouched.
    let s = steps("a\nb", true, &canonical(LongLines::EofChunks), false);
    assert_eq!(written(&s, false), [b"a\r".to_vec(), b"b\r".to_vec()]);
}

#[test]
fn eof_pieces_only_where_the_caller_allows_them() {
    let long = "z".repeat(4096);
    let r = plan(&Submission {
        text: &long,
        add_newline: true,
        input: &canonical(LongLines::EofChunks),
        paste_on: false,
        eof_chunks_allowed: false,
    });
    assert!(matches!(
        r,
        Err(SubmitError::LineTooLong { bytes: 4096, .. })
    ));
}

#[test]
fn no_limit_means_no_check() {
    let long = "q".repeat(100_000);
    let s = steps(&long, true, &config(InputMode::Lines), false);
    assert_eq!(s[0].bytes.len(), 100_001);
}

#[test]
fn the_echo_is_the_text_as_typed() {
    let py = config(InputMode::PythonBlocks);
    let s = steps("if x:\n    a\n\n    b\nc", true, &py, false);
    assert_eq!(echoed(&s), "if x:\n    a\n    b\n\nc");
    let s = steps("print(7)", true, &config(InputMode::Lines), false);
    assert_eq!(echoed(&s), "print(7)");
    let s = steps("a\nb", false, &config(InputMode::BracketedPaste), true);
    assert_eq!(echoed(&s), "a\nb");
    let long = "é".repeat(3000);
    let s = steps(&long, true, &canonical(LongLines::EofChunks), false);
    assert_eq!(echoed(&s), long);
}
