//! Where the server keeps its files, following the XDG base directories.

use std::path::PathBuf;

fn xdg(var: &str, fallback: &[&str]) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => dirs::home_dir().map(|h| fallback.iter().fold(h, |p, c| p.join(c))),
    }
}

/// `$XDG_CONFIG_HOME/repl-mcp`, else `~/.config/repl-mcp`.
pub fn config_dir() -> Option<PathBuf> {
    xdg("XDG_CONFIG_HOME", &[".config"]).map(|d| d.join("repl-mcp"))
}

/// `$XDG_STATE_HOME/repl-mcp`, else `~/.local/state/repl-mcp`.
pub fn state_dir() -> Option<PathBuf> {
    xdg("XDG_STATE_HOME", &[".local", "state"]).map(|d| d.join("repl-mcp"))
}
