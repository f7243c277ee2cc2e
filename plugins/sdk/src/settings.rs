//! The settings a plugin receives in `init`.

/// Key/value settings: the manifest's `[settings]` overridden by the
/// preset's. Arrays in TOML arrive as newline-separated lines.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pairs: Vec<(String, String)>,
}

impl Settings {
    pub fn new(pairs: Vec<(String, String)>) -> Settings {
        Settings { pairs }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        // The last one wins, should the host ever pass a key twice.
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The non-empty lines of `key` (a TOML array, or a string with `\n`).
    pub fn lines(&self, key: &str) -> Vec<&str> {
        self.get(key)
            .map(|v| v.lines().filter(|l| !l.is_empty()).collect())
            .unwrap_or_default()
    }

    /// `key` parsed as `T`, or `default` when unset; an unparsable value is
    /// an error naming the key, which `init` can return as is.
    pub fn parse_or<T: core::str::FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| format!("setting `{key}`: cannot parse {v:?}")),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
