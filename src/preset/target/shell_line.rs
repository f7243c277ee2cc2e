//! One POSIX shell command line from argv, environment, directory and a
//! shell's prompt set-up. ssh joins its remote arguments into one string
//! that the remote login shell parses, so every element is quoted here and
//! the only unquoted text is fixed code of ours.

use super::wrap::RemoteRc;

/// Stands for the directory the other side creates for a shell's prompt
/// set-up (bash's rc file, zsh's `ZDOTDIR`). It holds NUL bytes, which no
/// parameter value or environment value can hold, so it cannot be forged.
pub const RC_DIR: &str = "\u{0}repl-mcp-rc-dir\u{0}";

/// The variable the set-up's first line reads to delete its own directory.
const RC_DIR_VAR: &str = "REPL_MCP_RC_DIR";

/// Quote `s` as one word for a POSIX shell: inside single quotes nothing is
/// special, and a single quote itself is written `'\''`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// One word, where [`RC_DIR`] becomes `"$d"` (the directory made by the
/// set-up) and everything else is quoted.
fn word(s: &str) -> String {
    if !s.contains(RC_DIR) {
        return quote(s);
    }
    s.split(RC_DIR)
        .enumerate()
        .flat_map(|(i, part)| {
            let dir = (i > 0).then(|| "\"$d\"".to_string());
            let text = (!part.is_empty()).then(|| quote(part));
            dir.into_iter().chain(text)
        })
        .collect()
}

/// `cd` into `dir` on the other side: `~` and `~/…` are the remote home.
fn change_dir(dir: &str) -> String {
    match dir.strip_prefix('~') {
        Some("") => "cd ~".to_string(),
        Some(rest) if rest.starts_with('/') => format!("cd ~/{}", word(&rest[1..])),
        _ => format!("cd -- {}", word(dir)),
    }
}

/// `[set-up &&] [cd DIR &&] exec [env NAME=value…] argv…`, for `sh -c` or a
/// remote login shell. Values are only ever inside quotes.
pub fn command_line(
    argv: &[String],
    env: &[(String, String)],
    cwd: Option<&str>,
    rc: Option<&RemoteRc>,
) -> String {
    let mut steps = Vec::new();
    let mut env: Vec<(String, String)> = env.to_vec();
    if let Some(rc) = rc {
        steps.push("d=$(mktemp -d \"${TMPDIR:-/tmp}/repl-mcp.XXXXXX\")".to_string());
        for (name, content) in &rc.files {
            // The set-up deletes its own directory as soon as the shell has
            // opened it, so nothing is left behind on the other side.
            let content = format!("rm -rf -- \"${RC_DIR_VAR}\"; unset {RC_DIR_VAR}\n{content}");
            steps.push(format!(
                "printf '%s' {} >\"$d\"/{}",
                quote(&content),
                quote(name)
            ));
        }
        env.push((RC_DIR_VAR.to_string(), RC_DIR.to_string()));
        env.extend(rc.env.iter().cloned());
    }
    if let Some(dir) = cwd {
        steps.push(change_dir(dir));
    }
    let mut exec = String::from("exec");
    if !env.is_empty() {
        exec.push_str(" env");
        for (k, v) in &env {
            exec.push(' ');
            exec.push_str(&word(&format!("{k}={v}")));
        }
    }
    let args = argv
        .iter()
        .chain(rc.map(|r| r.args.as_slice()).unwrap_or_default());
    for a in args {
        exec.push(' ');
        exec.push_str(&word(a));
    }
    steps.push(exec);
    steps.join(" && ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const NASTY: &[&str] = &[
        "plain",
        "two words",
        "it's",
        "'",
        "''",
        "\\",
        "\\'",
        "$(touch /tmp/repl-mcp-pwned)",
        "`touch /tmp/repl-mcp-pwned`",
        "$HOME ${HOME} $1 $@ $$",
        "; touch /tmp/repl-mcp-pwned #",
        "a && b || c | d & e > f < g",
        "* ? [a-z] ~ ~/x",
        "\"double\" 'single'",
        "ünïcödé ✓ 日本",
        "",
        "!event !!",
    ];

    /// What `sh -c LINE` passes to `printf '%s\0'` as its arguments.
    fn run_argv(line: &str) -> Vec<String> {
        let out = Command::new("sh").arg("-c").arg(line).output().unwrap();
        assert!(out.status.success(), "{line}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut v: Vec<String> = text.split('\0').map(str::to_string).collect();
        v.pop();
        v
    }

    #[test]
    fn every_element_arrives_intact_and_nothing_runs() {
        let mut argv = vec!["printf".to_string(), "%s\\0".to_string()];
        argv.extend(NASTY.iter().map(|s| s.to_string()));
        let line = command_line(&argv, &[], None, None);
        assert_eq!(run_argv(&line), NASTY);
        assert!(!std::path::Path::new("/tmp/repl-mcp-pwned").exists());
    }

    #[test]
    fn env_and_cwd_travel_quoted() {
        let argv: Vec<String> = ["sh", "-c", "printf '%s\\0' \"$PWD\" \"$X\""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let env = vec![("X".to_string(), "$(id) 'q' ünï".to_string())];
        let dir = std::env::temp_dir().join("repl mcp 'dir' $(id)");
        std::fs::create_dir_all(&dir).unwrap();
        let line = command_line(&argv, &env, dir.to_str(), None);
        assert_eq!(
            run_argv(&line),
            vec![dir.display().to_string(), "$(id) 'q' ünï".to_string()]
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn home_relative_directories_expand_remotely() {
        assert_eq!(change_dir("~"), "cd ~");
        assert_eq!(change_dir("~/src/a b"), "cd ~/'src/a b'");
        assert_eq!(change_dir("/srv/x"), "cd -- '/srv/x'");
        assert_eq!(change_dir("~root"), "cd -- '~root'");
    }

    #[test]
    fn the_setup_directory_is_made_used_and_removed() {
        let rc = RemoteRc {
            files: vec![("rc".into(), "X=from-rc; printf '%s\\0' \"$X\"".into())],
            args: vec![format!("{RC_DIR}/rc")],
            env: vec![],
        };
        // `sh FILE` runs the set-up file like a shell reading its rc file.
        let argv = vec!["sh".to_string()];
        let line = command_line(&argv, &[], None, Some(&rc));
        assert!(line.contains("\"$d\"'/rc'"), "{line}");
        let tmp = std::env::temp_dir().join(format!("repl-mcp-rc-test-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(&line)
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "from-rc\0");
        assert!(!line.contains('\0'));
        // The set-up directory deleted itself.
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
        std::fs::remove_dir_all(&tmp).ok();
    }

    #[test]
    fn rc_dir_placeholder_only_becomes_the_variable() {
        assert_eq!(word(RC_DIR), "\"$d\"");
        assert_eq!(word(&format!("ZDOTDIR={RC_DIR}")), "'ZDOTDIR='\"$d\"");
        assert_eq!(word(&format!("{RC_DIR}/x y")), "\"$d\"'/x y'");
    }
}
