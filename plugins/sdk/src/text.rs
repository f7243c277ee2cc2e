//! Helpers for reading the screen.

/// The last non-blank line of `screen`.
pub fn last_line(screen: &str) -> &str {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

/// The last `n` lines of `screen` (a trailing newline ignored).
pub fn screen_tail(screen: &str, n: usize) -> &str {
    if n == 0 {
        return "";
    }
    let trimmed = screen.strip_suffix('\n').unwrap_or(screen);
    match trimmed.rmatch_indices('\n').nth(n - 1) {
        Some((i, _)) => &trimmed[i + 1..],
        None => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails() {
        assert_eq!(last_line("a\nb\n\n  \n"), "b");
        assert_eq!(screen_tail("a\nb\nc", 2), "b\nc");
        assert_eq!(screen_tail("a\nb\nc\n", 1), "c");
        assert_eq!(screen_tail("a\nb\nc", 5), "a\nb\nc");
    }
}
