//! Extracting a command's own output from the bytes it produced: without the
//! echo of what was typed and without the prompt that followed.

use super::clean::render;
use super::detect::PromptMatcher;
use super::markers::{Marker, MarkerKind};

/// `raw` starts at absolute offset `base`; `markers` are those inside it.
pub fn extract_output(
    raw: &[u8],
    base: u64,
    markers: &[&Marker],
    input: &str,
    matcher: &PromptMatcher,
) -> String {
    let to_local = |abs: u64| {
        usize::try_from(abs.saturating_sub(base))
            .unwrap_or(usize::MAX)
            .min(raw.len())
    };
    // Shells with a command-start marker: the output is exactly what lies
    // between each `C` and the `D` that follows it.
    let mut segments = Vec::new();
    let mut open: Option<usize> = None;
    for m in markers {
        match m.kind {
            MarkerKind::CommandStart => open = Some(to_local(m.end)),
            MarkerKind::CommandDone { .. } => {
                if let Some(from) = open.take() {
                    segments.push(render(&raw[from..to_local(m.start).max(from)]));
                }
            }
            _ => {}
        }
    }
    if let Some(from) = open {
        segments.push(render(&raw[from..]));
    }
    if !segments.is_empty() {
        let joined = segments
            .iter()
            .map(|s| s.trim_end_matches('\n'))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        return joined;
    }
    strip_echo_and_prompt(render(raw), input, matcher)
}

/// For REPLs without markers: drop the echoed input lines at the top and
/// the prompt line at the bottom. Works on offsets and cuts the text in
/// place, so a megabyte of output is neither split into lines nor copied.
pub fn strip_echo_and_prompt(mut clean: String, input: &str, matcher: &PromptMatcher) -> String {
    let (start, end) = output_span(&clean, input, matcher);
    clean.truncate(end);
    clean.drain(..start);
    clean
}

/// Where the output lies in `clean`: after the echo, before the prompt
/// and the blank lines above it.
fn output_span(clean: &str, input: &str, matcher: &PromptMatcher) -> (usize, usize) {
    // Skip one echoed line per typed line, while they match. A REPL may
    // print a blank line before its next prompt (ipython does): skipped
    // when the echo goes on after it.
    let mut start = 0;
    let line_at = |from: usize| {
        let end = clean[from..].find('\n').map_or(clean.len(), |i| from + i);
        (clean[from..end].trim_end(), (end + 1).min(clean.len() + 1))
    };
    for typed in input.split('\n') {
        let typed = typed.trim_end_matches('\r').trim_end();
        if start > clean.len() {
            break;
        }
        let (line, next) = line_at(start);
        if echoes(line, typed) {
            start = next;
            continue;
        }
        if line.is_empty() && next <= clean.len() && echoes(line_at(next).0, typed) {
            start = line_at(next).1;
            continue;
        }
        break;
    }
    if start > clean.len() {
        return (0, 0);
    }
    // Drop blank lines and then the final prompt from the bottom.
    let mut end = clean.len();
    while end > start {
        let line_start = clean[start..end]
            .rfind('\n')
            .map_or(start, |i| start + i + 1);
        let line = &clean[line_start..end];
        let is_prompt = matcher.is_prompt(line) || matcher.is_prompt(&format!("{line} "));
        if line.trim().is_empty() || is_prompt {
            end = line_start.saturating_sub(1).max(start);
            if is_prompt && !line.trim().is_empty() {
                break;
            }
        } else {
            break;
        }
    }
    // Blank lines between the output and the prompt are not output.
    (
        start,
        start + clean[start..end].trim_end_matches('\n').len(),
    )
}

/// `line` (clean text) is the echo of `typed`: it ends with it. A tab
/// typed shows as spaces up to the next tab stop, so with tabs the two are
/// compared with each run of blanks as one.
fn echoes(line: &str, typed: &str) -> bool {
    if line.ends_with(typed) {
        return true;
    }
    if !typed.contains('\t') {
        return false;
    }
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    squash(line).ends_with(&squash(typed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::markers::MarkerScanner;

    use crate::session::detect::test_support::python as py;

    #[test]
    fn strips_echo_and_prompt() {
        let raw = b"print(7)\r\n7\r\n>>> ";
        assert_eq!(extract_output(raw, 0, &[], "print(7)", &py()), "7");
    }

    #[test]
    fn strips_multiline_echo() {
        let raw = b"for i in range(2):\r\n...     print(i)\r\n... \r\n0\r\n1\r\n>>> ";
        let out = extract_output(raw, 0, &[], "for i in range(2):\n    print(i)\n", &py());
        assert_eq!(out, "0\n1");
    }

    #[test]
    fn a_blank_line_before_the_next_prompt_is_part_of_the_echo() {
        let ipy = crate::session::detect::PromptMatcher::new(&crate::preset::PromptConfig {
            ready: vec![r"^In \[\d+\]: $".into()],
            continuation: vec![r"^\s*\.\.\.: $".into()],
            ..Default::default()
        })
        .unwrap();
        let raw = b"x = 1\r\n\r\nIn [2]: class A:\r\n   ...:     y = 2\r\n   ...: \r\n\r\nIn [3]: print(A.y)\r\n2\r\n\r\nIn [4]: ";
        let typed = "x = 1\nclass A:\n    y = 2\n\nprint(A.y)";
        assert_eq!(extract_output(raw, 0, &[], typed, &ipy), "2");
        // Output that is a blank line is still output.
        let raw = b"print()\r\n\r\n>>> ";
        assert_eq!(extract_output(raw, 0, &[], "print()", &py()), "");
        let raw = b"print('\\nx')\r\n\r\nx\r\n>>> ";
        assert_eq!(extract_output(raw, 0, &[], "print('\\nx')", &py()), "\nx");
    }

    #[test]
    fn a_typed_tab_echoes_as_spaces() {
        let raw = b"select\tcount(*)\r\n   ...> from t;\r\n2\r\n>>> ";
        assert_eq!(
            extract_output(raw, 0, &[], "select\tcount(*)\nfrom t;", &py()),
            "2"
        );
    }

    #[test]
    fn uses_command_markers_when_present() {
        let raw = b"echo hi\r\n\x1b]133;C\x07hi\r\n\x1b]133;D;0\x07\x1b]133;A\x07$ \x1b]133;B\x07";
        let mut s = MarkerScanner::default();
        let mut m = Vec::new();
        s.scan(raw, 100, &mut m);
        let refs: Vec<&Marker> = m.iter().collect();
        assert_eq!(extract_output(raw, 100, &refs, "echo hi", &py()), "hi");
    }
}
