//! The answer grammar of recovery questions, parsed once for every source
//! (answer_session_question, elicitation, input-required retries, sampling):
//! `READY:<prompt>`, `SEND:<text>`, `WAIT:<seconds>`, `FAILED:<reason>`.

use std::time::Duration;

use super::gate::Action;

/// Longest WAIT an answer may ask for.
pub const MAX_WAIT_SECS: f64 = 3600.0;
/// Longest answer accepted (a model's reply included).
pub const MAX_ANSWER_CHARS: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error(
        "the answer is empty: give READY:<prompt>, SEND:<text>, WAIT:<seconds> or FAILED:<reason>"
    )]
    Empty,
    #[error("the answer is {0} characters long; at most {MAX_ANSWER_CHARS} are accepted")]
    TooLong(usize),
    #[error("answer {0:?} is in no known form: start it with READY:, SEND:, WAIT: or FAILED:")]
    Unknown(String),
    #[error("WAIT needs a number of seconds from 0 to 3600, not {0:?}")]
    BadWait(String),
    #[error("READY needs the prompt to expect, e.g. READY:>>> ")]
    EmptyPrompt,
}

/// Parse one answer. Leading blank lines and spaces before the verb are
/// ignored (a model's reply often has them); the verb is case-insensitive.
pub fn parse_answer(answer: &str) -> Result<Action, AnswerError> {
    let len = answer.chars().count();
    if len > MAX_ANSWER_CHARS {
        return Err(AnswerError::TooLong(len));
    }
    let trimmed = answer.trim_start();
    if trimmed.trim().is_empty() {
        return Err(AnswerError::Empty);
    }
    let Some((verb, rest)) = trimmed.split_once(':') else {
        return Err(AnswerError::Unknown(shorten(trimmed)));
    };
    match verb.trim().to_ascii_uppercase().as_str() {
        "READY" if rest.is_empty() => Err(AnswerError::EmptyPrompt),
        "READY" => Ok(Action::SetReady {
            pattern: rest.to_string(),
        }),
        "SEND" => Ok(Action::Send {
            text: unescape(rest),
        }),
        "WAIT" => parse_seconds(rest.trim(), MAX_WAIT_SECS)
            .map(|duration| Action::Wait { duration })
            .map_err(|_| AnswerError::BadWait(shorten(rest.trim()))),
        "FAILED" => Ok(Action::MarkFailed {
            reason: rest.trim().to_string(),
        }),
        _ => Err(AnswerError::Unknown(shorten(trimmed))),
    }
}

/// Seconds as a finite number in `0..=max`; anything else (`nan`, `inf`,
/// `-5`, `1e400`, words) is refused.
pub fn parse_seconds(text: &str, max: f64) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    seconds(secs, max)
}

/// A number of seconds checked for range: finite and in `0..=max`.
pub fn seconds(secs: f64, max: f64) -> Result<Duration, String> {
    if !secs.is_finite() {
        return Err(format!("{secs} is not a finite number of seconds"));
    }
    if !(0.0..=max).contains(&secs) {
        let shown = if secs.abs() < 1e9 {
            secs.to_string()
        } else {
            format!("{secs:e}")
        };
        return Err(format!("{shown} is outside 0..={max} seconds"));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// Turn `\n`, `\r`, `\t`, `\xNN` and `\\` in an answer into the characters
/// (`\n` is Enter, which a terminal sends as CR).
pub fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                match u8::from_str_radix(&hex, 16) {
                    Ok(b) => out.push(char::from(b)),
                    Err(_) => {
                        out.push_str("\\x");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_unescape_keys() {
        assert_eq!(unescape("q"), "q");
        assert_eq!(unescape("ls\\n"), "ls\r");
        assert_eq!(unescape("\\x03"), "\u{3}");
        assert_eq!(unescape("a\\\\b"), "a\\b");
    }

    #[test]
    fn the_four_forms_parse() {
        assert_eq!(
            parse_answer("READY:>>> "),
            Ok(Action::SetReady {
                pattern: ">>> ".into()
            })
        );
        assert_eq!(
            parse_answer("\n send:ls\\n"),
            Ok(Action::Send {
                text: "ls\r".into()
            })
        );
        assert_eq!(
            parse_answer("WAIT: 2.5"),
            Ok(Action::Wait {
                duration: Duration::from_millis(2500)
            })
        );
        assert_eq!(
            parse_answer("FAILED: gone"),
            Ok(Action::MarkFailed {
                reason: "gone".into()
            })
        );
    }

    #[test]
    fn odd_numbers_and_odd_answers_are_errors() {
        for bad in [
            "WAIT:nan",
            "WAIT:NaN",
            "WAIT:inf",
            "WAIT:-inf",
            "WAIT:-5",
            "WAIT:1e400",
            "WAIT:3601",
            "WAIT:",
            "WAIT:soon",
            "WAIT:-0.0001",
        ] {
            assert!(
                matches!(parse_answer(bad), Err(AnswerError::BadWait(_))),
                "{bad}: {:?}",
                parse_answer(bad)
            );
        }
        assert_eq!(parse_answer(""), Err(AnswerError::Empty));
        assert_eq!(parse_answer("  \n "), Err(AnswerError::Empty));
        assert!(matches!(parse_answer("yes"), Err(AnswerError::Unknown(_))));
        assert!(matches!(
            parse_answer("GO:now"),
            Err(AnswerError::Unknown(_))
        ));
        assert_eq!(parse_answer("READY:"), Err(AnswerError::EmptyPrompt));
        let huge = format!("SEND:{}", "x".repeat(MAX_ANSWER_CHARS));
        assert!(matches!(parse_answer(&huge), Err(AnswerError::TooLong(_))));
    }

    #[test]
    fn seconds_are_finite_and_in_range() {
        assert_eq!(seconds(0.0, 10.0), Ok(Duration::ZERO));
        assert_eq!(seconds(10.0, 10.0), Ok(Duration::from_secs(10)));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 10.5] {
            assert!(seconds(bad, 10.0).is_err(), "{bad}");
        }
        assert_eq!(
            seconds(1e308, 10.0),
            Err("1e308 is outside 0..=10 seconds".into())
        );
    }

    proptest::proptest! {
        /// Any text: an action or an error, never a panic; a WAIT is
        /// always finite and in range.
        #[test]
        fn any_answer_parses_or_is_refused(text in "\\PC{0,80}", secs in proptest::num::f64::ANY) {
            for answer in [text.clone(), format!("WAIT:{text}"), format!("WAIT:{secs}"), format!("SEND:{text}")] {
                if let Ok(Action::Wait { duration }) = parse_answer(&answer) {
                    proptest::prop_assert!(duration.as_secs_f64() <= MAX_WAIT_SECS);
                }
            }
        }
    }
}
