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
        let (line, column) = err
            .span()
            .map(|span| line_col(src, span.start))
            .unwrap_or((1, 1));
        PresetError::Parse {
            file: file.to_string(),
            line,
            column,
            message: err.message().trim().to_string(),
        }
    }
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
    fn line_col_counts_from_one() {
        assert_eq!(line_col("abc", 0), (1, 1));
        assert_eq!(line_col("abc\nde", 5), (2, 2));
        assert_eq!(line_col("x", 99), (1, 2));
    }
}
