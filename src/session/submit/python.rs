//! Blank lines the way python's interactive REPL needs them.
//!
//! Typed into python's basic REPL (and ipython's simple prompt), a blank
//! line ends the compound statement being entered, and nothing but a blank
//! line ends it. Code written for a file has blank lines inside blocks (a
//! class whose methods are separated by them) and none after a block that is
//! followed by more code. So:
//!
//! * a blank line inside an indented block is dropped;
//! * a compound statement at the top level (`def`, `class`, `if`, `for`,
//!   `while`, `with`, `try`, `async …`, `match`, a decorated definition, a
//!   one-line `if x: y`) gets exactly one blank line, just before the next
//!   top-level statement — but not before `else`/`elif`/`except`/`finally`,
//!   which continue it, nor between a decorator and what it decorates;
//! * the last compound statement of the input is closed too, unless its last
//!   line is a header still waiting for a body (`for i in range(3):` alone
//!   leaves the REPL in its continuation prompt, as typed);
//! * lines inside a string, brackets or a backslash continuation are passed
//!   through untouched: the REPL keeps a triple-quoted string's blank lines
//!   (checked on CPython 3.11–3.13), so they survive;
//! * comment lines change nothing (the REPL does not end a block at one);
//! * blank lines between simple statements are dropped; blank lines before
//!   any code are collapsed into one (it may end a block left open by the
//!   previous input).
//!
//! Not handled: an f-string that nests its own quote character across a
//! line break (3.12+), and code whose indentation is itself inconsistent.

/// Keywords that start a compound statement.
const COMPOUND: &[&str] = &["if", "for", "while", "def", "class", "with", "try", "async"];
/// Keywords that continue the compound statement before them.
const CLAUSES: &[&str] = &["else", "elif", "except", "finally"];

/// Where a line leaves python's tokenizer, as far as line structure goes.
#[derive(Debug, Default, Clone, Copy)]
struct Lexer {
    /// Inside a string: its quote character and whether it is triple-quoted.
    string: Option<(u8, bool)>,
    /// Open brackets.
    depth: usize,
    /// The line ended with a backslash continuation.
    backslash: bool,
}

impl Lexer {
    /// The next physical line continues the current logical line.
    fn continues(&self) -> bool {
        self.string.is_some() || self.depth > 0 || self.backslash
    }

    /// Scan one physical line; returns the last significant code character
    /// (outside comments; a closing quote counts).
    fn scan(&mut self, line: &str) -> Option<u8> {
        let b = line.as_bytes();
        let mut last = None;
        let mut i = 0;
        self.backslash = false;
        // Only ASCII bytes matter; UTF-8 continuation bytes never equal them.
        while i < b.len() {
            if let Some((quote, triple)) = self.string {
                match b[i] {
                    b'\\' => {
                        if i + 1 == b.len() && !triple {
                            // An escaped newline: the string goes on.
                            return last;
                        }
                        i += 2;
                        continue;
                    }
                    c if c == quote => {
                        if !triple {
                            self.string = None;
                            last = Some(c);
                            i += 1;
                            continue;
                        }
                        if b[i..].starts_with(&[quote, quote, quote]) {
                            self.string = None;
                            last = Some(c);
                            i += 3;
                            continue;
                        }
                    }
                    _ => {}
                }
                i += 1;
                continue;
            }
            match b[i] {
                b'#' => break,
                q @ (b'\'' | b'"') => {
                    if b[i..].starts_with(&[q, q, q]) {
                        self.string = Some((q, true));
                        i += 3;
                        continue;
                    }
                    self.string = Some((q, false));
                }
                b'(' | b'[' | b'{' => {
                    self.depth += 1;
                    last = Some(b[i]);
                }
                b')' | b']' | b'}' => {
                    self.depth = self.depth.saturating_sub(1);
                    last = Some(b[i]);
                }
                b'\\' if i + 1 == b.len() => self.backslash = true,
                c if !c.is_ascii_whitespace() => last = Some(c),
                _ => {}
            }
            i += 1;
        }
        // A single-quoted string cannot span lines (without an escaped
        // newline, handled above): the code is wrong; let python say so.
        if let Some((_, false)) = self.string {
            self.string = None;
        }
        last
    }
}

/// The identifier a line starts with (`if` in `if(x):`).
fn first_word(code: &str) -> &str {
    let end = code
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(code.len());
    &code[..end]
}

/// The lines to type (each followed by Enter), from the input's complete
/// lines; `tail` is typed after them without Enter (it takes part in the
/// block structure, so a block it follows is closed first).
pub fn arrange<'a>(lines: &[&'a str], tail: &'a str) -> (Vec<&'a str>, &'a str) {
    let mut b = Blocks {
        out: Vec::with_capacity(lines.len() + 1),
        ..Blocks::default()
    };
    for line in lines {
        b.take(line);
    }
    if !tail.is_empty() {
        b.take(tail);
        // The tail went out last; it is typed without Enter.
        if b.out.last() == Some(&tail) {
            b.out.pop();
        }
        return (b.out, tail);
    }
    if b.open && !b.awaiting_body && !b.lex.continues() {
        b.out.push("");
    }
    (b.out, "")
}

#[derive(Default)]
struct Blocks<'a> {
    out: Vec<&'a str>,
    lex: Lexer,
    /// A compound statement at the top level is being entered.
    open: bool,
    /// The last logical line waits for a body (a header, or a decorator).
    awaiting_body: bool,
    /// The last top-level logical line was a decorator.
    after_decorator: bool,
    /// Code has been seen (blank lines before it are kept, as one).
    seen_code: bool,
    leading_blank: bool,
    /// The logical line being scanned started at the top level…
    logical_top: bool,
    /// …with `@`.
    logical_decorator: bool,
}

impl<'a> Blocks<'a> {
    fn take(&mut self, line: &'a str) {
        if self.lex.continues() {
            self.out.push(line);
            self.scan(line);
            return;
        }
        let code = line.trim_start();
        if code.is_empty() {
            if !self.seen_code && !self.leading_blank {
                self.leading_blank = true;
                self.out.push("");
            }
            return;
        }
        if code.starts_with('#') {
            self.out.push(line);
            return;
        }
        self.seen_code = true;
        let indented = code.len() != line.len();
        if indented {
            // A body line (or the rest of a block left open by an earlier
            // input): blank lines before it were inside the block.
            self.open = true;
        } else {
            let word = first_word(code);
            if self.open && !self.after_decorator && !CLAUSES.contains(&word) {
                if !self.awaiting_body {
                    self.out.push("");
                }
                self.open = false;
            }
            if COMPOUND.contains(&word) || CLAUSES.contains(&word) || code.starts_with('@') {
                self.open = true;
            }
        }
        self.logical_top = !indented;
        self.logical_decorator = !indented && code.starts_with('@');
        self.out.push(line);
        self.scan(line);
    }

    /// Scan a line; when its logical line ends, note whether that waits
    /// for a body and whether it opened a compound statement (`match x:`
    /// and any other header line).
    fn scan(&mut self, line: &str) {
        let last = self.lex.scan(line);
        if self.lex.continues() {
            return;
        }
        let header = last == Some(b':');
        self.awaiting_body = header || self.logical_decorator;
        if self.logical_top {
            self.after_decorator = self.logical_decorator;
            self.open |= header;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::arrange;

    /// Lines typed (with Enter) for `src` sent with Enter at the end.
    fn typed(src: &str) -> Vec<&str> {
        let lines: Vec<&str> = src.split('\n').collect();
        arrange(&lines, "").0
    }

    #[test]
    fn a_class_with_blank_lines_between_methods_then_code() {
        let src = "class A:\n    def f(self):\n        return 1\n\n    def g(self):\n\n        return 2\n\n\nprint(A().g())";
        assert_eq!(
            typed(src),
            [
                "class A:",
                "    def f(self):",
                "        return 1",
                "    def g(self):",
                "        return 2",
                "",
                "print(A().g())",
            ]
        );
    }

    #[test]
    fn the_last_block_is_closed_once() {
        assert_eq!(
            typed("for i in range(2):\n    print(i)"),
            ["for i in range(2):", "    print(i)", ""]
        );
        assert_eq!(
            typed("for i in range(2):\n    print(i)\n\n\n"),
            ["for i in range(2):", "    print(i)", ""]
        );
        // A one-line compound statement needs its blank line too.
        assert_eq!(
            typed("if 1: print(1)\nx = 2"),
            ["if 1: print(1)", "", "x = 2"]
        );
    }

    #[test]
    fn simple_statements_get_no_blank_lines() {
        assert_eq!(typed("x = 1\n\ny = 2\n"), ["x = 1", "y = 2"]);
        assert_eq!(typed("print(1)"), ["print(1)"]);
    }

    #[test]
    fn a_header_alone_stays_open() {
        assert_eq!(typed("for i in range(3):"), ["for i in range(3):"]);
        assert_eq!(typed("for i in range(3):\n\n"), ["for i in range(3):"]);
        assert_eq!(
            typed("def f():\n    if x:"),
            ["def f():", "    if x:"],
            "a nested header waits for its body"
        );
    }

    #[test]
    fn clauses_continue_their_statement() {
        let src = "if x:\n    a = 1\n\nelif y:\n    a = 2\nelse:\n\n    a = 3\nprint(a)";
        assert_eq!(
            typed(src),
            [
                "if x:",
                "    a = 1",
                "elif y:",
                "    a = 2",
                "else:",
                "    a = 3",
                "",
                "print(a)"
            ]
        );
        let src = "try:\n    f()\nexcept E:\n    pass\nfinally:\n    g()\nh()";
        assert_eq!(
            typed(src),
            [
                "try:",
                "    f()",
                "except E:",
                "    pass",
                "finally:",
                "    g()",
                "",
                "h()"
            ]
        );
        // `else_value` is no clause.
        assert_eq!(
            typed("if x:\n    a\nelse_value = 1"),
            ["if x:", "    a", "", "else_value = 1"]
        );
    }

    #[test]
    fn decorators_stay_with_their_definition() {
        let src = "@dec\n\n@other(1)\ndef f():\n    return 1\n\nf()";
        assert_eq!(
            typed(src),
            ["@dec", "@other(1)", "def f():", "    return 1", "", "f()"]
        );
        assert_eq!(typed("@dec"), ["@dec"], "a decorator alone waits");
    }

    #[test]
    fn strings_and_brackets_keep_their_blank_lines() {
        let src = "def f():\n    \"\"\"Doc.\n\n    More.\n    \"\"\"\n\n    return 5\nprint(f())";
        assert_eq!(
            typed(src),
            [
                "def f():",
                "    \"\"\"Doc.",
                "",
                "    More.",
                "    \"\"\"",
                "    return 5",
                "",
                "print(f())"
            ]
        );
        let src = "s = '''a\n\nb'''\nprint(s)";
        assert_eq!(typed(src), ["s = '''a", "", "b'''", "print(s)"]);
        let src = "x = [\n    1,\n\n    2,\n]\nprint(x)";
        assert_eq!(
            typed(src),
            ["x = [", "    1,", "", "    2,", "]", "print(x)"]
        );
        // A quote inside the other kind of string opens nothing.
        assert_eq!(typed("s = \"it's\"\n\nt = 1"), ["s = \"it's\"", "t = 1"]);
        // Nor does a quote in a comment.
        assert_eq!(typed("x = 1  # it's\n\ny = 2"), ["x = 1  # it's", "y = 2"]);
    }

    #[test]
    fn backslash_continuations_and_multi_line_headers() {
        let src = "if a and \\\n   b:\n    pass\nz = 1";
        assert_eq!(
            typed(src),
            ["if a and \\", "   b:", "    pass", "", "z = 1"]
        );
        let src = "def f(a,\n      b):\n    return a\n\nf(1, 2)";
        assert_eq!(
            typed(src),
            ["def f(a,", "      b):", "    return a", "", "f(1, 2)"]
        );
        // `match` is a soft keyword: a header only when the line ends in `:`.
        let src = "match = 3\nmatch x:\n    case 1:\n        pass\n\n    case _:\n        pass\nprint(match)";
        assert_eq!(
            typed(src),
            [
                "match = 3",
                "match x:",
                "    case 1:",
                "        pass",
                "    case _:",
                "        pass",
                "",
                "print(match)"
            ]
        );
    }

    #[test]
    fn comments_and_nested_blocks() {
        let src = "# setup\nclass A:\n    class B:\n\n        x = 1\n\n    # a comment\n\n    y = 2\n# done\nprint(A.B.x)";
        assert_eq!(
            typed(src),
            [
                "# setup",
                "class A:",
                "    class B:",
                "        x = 1",
                "    # a comment",
                "    y = 2",
                "# done",
                "",
                "print(A.B.x)"
            ]
        );
    }

    #[test]
    fn input_continuing_an_earlier_block() {
        // The previous input was `for i in range(3):`.
        assert_eq!(typed("    print(i)\n"), ["    print(i)", ""]);
        assert_eq!(typed("\nprint(1)"), ["", "print(1)"]);
        assert_eq!(typed("\n\n"), [""]);
        assert_eq!(typed("else:\n    pass"), ["else:", "    pass", ""]);
    }

    #[test]
    fn a_tail_without_enter_closes_the_block_before_it() {
        let lines = ["def f():", "    return 1", ""];
        let (out, tail) = arrange(&lines, "f(");
        assert_eq!((out, tail), (vec!["def f():", "    return 1", ""], "f("));
        let (out, tail) = arrange(&["def f():"], "    return 1");
        assert_eq!((out, tail), (vec!["def f():"], "    return 1"));
    }

    #[test]
    fn tabs_indent_too() {
        assert_eq!(
            typed("if x:\n\ta\n\n\tb\nc"),
            ["if x:", "\ta", "\tb", "", "c"]
        );
    }
}
