//! Keeping results within a budget: head and tail, with a marker that says
//! how to page the rest through `get_full_output`.

/// Cut `text` to at most about `budget` characters. Returns the text and
/// whether anything was cut.
pub fn head_tail(text: &str, budget: usize, session_id: &str) -> (String, bool) {
    // Fewer bytes than the budget: fewer characters too, no count needed.
    if text.len() <= budget {
        return (text.to_string(), false);
    }
    head_tail_counted(text, text.chars().count(), budget, session_id)
}

/// `head_tail` of a text whose length in characters (`total`) the caller
/// already knows.
pub fn head_tail_counted(
    text: &str,
    total: usize,
    budget: usize,
    session_id: &str,
) -> (String, bool) {
    if total <= budget {
        return (text.to_string(), false);
    }
    let head_len = budget * 2 / 5;
    let tail_len = budget - head_len;
    // Walk only the ends: megabytes of output lie between them.
    let head_end = text
        .char_indices()
        .nth(head_len)
        .map_or(text.len(), |(i, _)| i);
    let tail_start = match tail_len {
        0 => text.len(),
        n => text.char_indices().rev().nth(n - 1).map_or(0, |(i, _)| i),
    };
    let omitted = total - head_len - tail_len;
    let marker = format!(
        "\n[… {omitted} characters omitted (of {total}); call get_full_output with sessionId \"{session_id}\", offset {head_len} and limit {omitted} to read them …]\n"
    );
    (
        format!("{}{marker}{}", &text[..head_end], &text[tail_start..]),
        true,
    )
}

/// One page of `text` in characters: (page, total, has_more).
pub fn page(text: &str, offset: usize, limit: usize) -> (String, usize, bool) {
    let total = text.chars().count();
    let page: String = text.chars().skip(offset).take(limit).collect();
    (page, total, offset.saturating_add(limit) < total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched() {
        assert_eq!(head_tail("abc", 10, "s"), ("abc".into(), false));
    }

    #[test]
    fn long_text_keeps_head_and_tail() {
        let text: String = (0..1000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let (cut, truncated) = head_tail(&text, 100, "s1");
        assert!(truncated);
        assert!(cut.starts_with(&text[..40]));
        assert!(cut.ends_with(&text[940..]));
        assert!(cut.contains("offset 40 and limit 900"));
    }

    #[test]
    fn cuts_fall_between_characters_of_any_width() {
        let text: String = "é✓𝄞a".repeat(300);
        let (cut, truncated) = head_tail(&text, 100, "s");
        assert!(truncated);
        let chars: Vec<char> = text.chars().collect();
        let head: String = chars[..40].iter().collect();
        let tail: String = chars[chars.len() - 60..].iter().collect();
        assert!(cut.starts_with(&head) && cut.ends_with(&tail), "{cut}");
        assert!(cut.contains("offset 40 and limit 1100 "));
    }

    #[test]
    fn pages_cover_everything() {
        let (p, total, more) = page("hello world", 6, 3);
        assert_eq!((p.as_str(), total, more), ("wor", 11, true));
        let (p, _, more) = page("hello world", 9, 3);
        assert_eq!((p.as_str(), more), ("ld", false));
    }
}
