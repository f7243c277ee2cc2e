use std::path::PathBuf;

/// Why a preset file could not be used. Every variant names the file, and
/// where the TOML parser can tell, the line, column and key.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: preset `{preset}`: key `{key}`: {message}")]
    Invalid {
        file: String,
        preset: String,
        key: String,
        message: String,
    },
    /// A mistake found after parsing, located in the source text.
    #[error("{file}:{line}:{column}: key `{key}`: {message}")]
    Located {
        file: String,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },
    #[error("{file}: target `{target}`: key `{key}`: {message}")]
    InvalidTarget {
        file: String,
        target: String,
        key: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PresetError {
    /// Build a parse error from `toml`'s error, turning its byte span into a
    /// 1-based line and column so the user can jump straight to it.
    pub fn from_toml(file: &str, src: &str, err: &toml::de::Error) -> Self {
        let offset = err.span().map_or(0, |span| span.start);
        let (line, column) = line_col(src, offset);
        let message = err.message().trim().to_string();
        let message = match key_at(src, offset) {
            Some(key) if !message.contains(&format!("`{key}`")) => {
                format!("key `{key}`: {message}")
            }
            _ => message,
        };
        PresetError::Parse {
            file: file.to_string(),
            line,
            column,
            message,
        }
    }
}

/// The dotted key written on the line holding `offset` (with its table
/// header, e.g. `prompt.ready`), so an error can name it.
pub fn key_at(src: &str, offset: usize) -> Option<String> {
    let offset = offset.min(src.len());
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = src[line_start..].lines().next().unwrap_or("");
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let table = src[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|h| h.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_string(),
    })
}

/// 1-based line and column of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_at_names_table_and_key() {
        let src = "name = 1\n[prompt]\nready = 5\n";
        assert_eq!(key_at(src, 2).as_deref(), Some("name"));
        assert_eq!(
            key_at(src, src.find("5").unwrap()).as_deref(),
            Some("prompt.ready")
        );
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("abc", 0), (1, 1));
        assert_eq!(line_col("abc\nde", 5), (2, 2));
        assert_eq!(line_col("x", 99), (1, 2));
    }
}
