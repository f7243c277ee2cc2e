//! Where the policy file and the audit log live by default.

use std::path::{Path, PathBuf};

/// `$XDG_CONFIG_HOME/repl-mcp/policy.toml`, else `~/.config/repl-mcp/policy.toml`.
pub fn default_policy_path() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("repl-mcp").join("policy.toml"))
}

/// `$XDG_STATE_HOME/repl-mcp/audit.jsonl`, else `~/.local/state/repl-mcp/audit.jsonl`.
pub fn default_audit_path() -> Option<PathBuf> {
    xdg_dir("XDG_STATE_HOME", ".local/state").map(|d| d.join("repl-mcp").join("audit.jsonl"))
}

/// The XDG base directory named by `var` when it is set to an absolute path
/// (the spec says relative values are to be ignored), else `~/<fallback>`.
fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => Some(dir),
        _ => dirs::home_dir().map(|home| home.join(fallback)),
    }
}

/// A path written in a policy file: `~/…` is under the home directory, a
/// relative path is relative to the policy file's directory.
pub(crate) fn resolve_config_path(raw: &str, policy_file: Option<&Path>) -> PathBuf {
    if raw == "~"
        && let Some(home) = dirs::home_dir()
    {
        return home;
    }
    if let Some(rest) = raw.strip_prefix("~/")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    let path = PathBuf::from(raw);
    match policy_file.and_then(Path::parent) {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_follow_the_policy_file() {
        let p = resolve_config_path("audit.jsonl", Some(Path::new("/etc/x/policy.toml")));
        assert_eq!(p, PathBuf::from("/etc/x/audit.jsonl"));
        let p = resolve_config_path("/var/log/a.jsonl", Some(Path::new("/etc/x/policy.toml")));
        assert_eq!(p, PathBuf::from("/var/log/a.jsonl"));
        if let Some(home) = dirs::home_dir() {
            assert_eq!(resolve_config_path("~/a", None), home.join("a"));
        }
    }

    #[test]
    fn default_paths_end_in_repl_mcp() {
        if let Some(p) = default_policy_path() {
            assert!(p.ends_with("repl-mcp/policy.toml"));
        }
        if let Some(p) = default_audit_path() {
            assert!(p.ends_with("repl-mcp/audit.jsonl"));
        }
    }
}
