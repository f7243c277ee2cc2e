//! Bounded summaries of tool arguments for the audit log and approval prompts.

use serde_json::{Map, Value};

/// Default bound on a summary's serialized size, in bytes.
pub const MAX_SUMMARY_BYTES: usize = 1024;

const MAX_ITEMS: usize = 16;
const MAX_DEPTH: usize = 6;
const STRING_LIMITS: [usize; 5] = [256, 96, 32, 12, 4];

/// A copy of `value` whose JSON text is at most `max_bytes` long (for
/// `max_bytes` of at least 64): long strings keep their head and say how long
/// they were, long arrays and objects keep their first items, deep nesting is
/// cut. As a last resort the whole summary becomes one truncated string.
pub fn summarize_arguments(value: &Value, max_bytes: usize) -> Value {
    let max_bytes = max_bytes.max(64);
    let mut last = String::new();
    for limit in STRING_LIMITS {
        let shrunk = shrink(value, limit, 0);
        last = serde_json::to_string(&shrunk).unwrap_or_default();
        if last.len() <= max_bytes {
            return shrunk;
        }
    }
    // Still too big (many keys, long key names): one truncated string.
    let total = last.len();
    let mut keep = max_bytes;
    loop {
        let text = format!(
            "{}…[truncated, {total} bytes]",
            truncate_chars_to_bytes(&last, keep)
        );
        let candidate = Value::String(text);
        let len = serde_json::to_string(&candidate).map_or(usize::MAX, |s| s.len());
        if len <= max_bytes || keep == 0 {
            return candidate;
        }
        keep /= 2;
    }
}

/// `s` cut to at most `limit` characters, with a marker when cut.
pub fn truncate_str(s: &str, limit: usize) -> String {
    match s.char_indices().nth(limit) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}…[truncated, {} bytes]", &s[..cut], s.len()),
    }
}

fn truncate_chars_to_bytes(s: &str, max: usize) -> &str {
    let mut cut = max.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

fn shrink(value: &Value, limit: usize, depth: usize) -> Value {
    match value {
        Value::String(s) => Value::String(truncate_str(s, limit)),
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Value::String(format!("…[array of {}]", items.len()));
            }
            let mut out: Vec<Value> = items
                .iter()
                .take(MAX_ITEMS)
                .map(|v| shrink(v, limit, depth + 1))
                .collect();
            if items.len() > MAX_ITEMS {
                out.push(Value::String(format!(
                    "…[+{} items]",
                    items.len() - MAX_ITEMS
                )));
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            if depth >= MAX_DEPTH {
                return Value::String(format!("…[object of {}]", map.len()));
            }
            let mut out = Map::new();
            for (k, v) in map.iter().take(MAX_ITEMS) {
                out.insert(truncate_str(k, limit.max(32)), shrink(v, limit, depth + 1));
            }
            if map.len() > MAX_ITEMS {
                out.insert(
                    "…".to_string(),
                    Value::String(format!("+{} keys", map.len() - MAX_ITEMS)),
                );
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn small_values_are_unchanged() {
        let v = json!({"sessionId": "abc", "input": "print(1)\n", "n": 3});
        assert_eq!(summarize_arguments(&v, MAX_SUMMARY_BYTES), v);
    }

    #[test]
    fn long_strings_are_truncated_with_a_marker() {
        let v = json!({"input": "x".repeat(100_000)});
        let s = summarize_arguments(&v, MAX_SUMMARY_BYTES);
        let text = serde_json::to_string(&s).unwrap_or_default();
        assert!(text.len() <= MAX_SUMMARY_BYTES, "{}", text.len());
        assert!(text.contains("truncated, 100000 bytes"));
    }

    #[test]
    fn everything_stays_within_bound() {
        let many: Map<String, Value> = (0..500)
            .map(|i| {
                (
                    format!("key-{i}-{}", "k".repeat(50)),
                    json!("\"\"\"\"".repeat(50)),
                )
            })
            .collect();
        let deep = (0..50).fold(json!("leaf"), |acc, _| json!([acc, "\u{1}".repeat(300)]));
        for v in [
            Value::Object(many),
            deep,
            Value::Array(vec![json!("é".repeat(5000)); 100]),
        ] {
            for bound in [64, 200, 1024] {
                let text =
                    serde_json::to_string(&summarize_arguments(&v, bound)).unwrap_or_default();
                assert!(text.len() <= bound, "{} > {bound}", text.len());
            }
        }
    }
}
