//! A preset's command wrapped by a target: the target's argv (groups kept
//! or left out, `{@env}` / `{@cwd}` filled) followed by the preset's
//! command as argv elements or as one quoted shell line.

use std::collections::BTreeMap;

use super::shell_line::command_line;
use super::{ArgvItem, CWD_SLOT, ENV_SLOT, RemoteMode, Target};
use crate::preset::params::{fill, placeholders};

/// A shell's prompt set-up, to be created on the other side: files (name,
/// content) in a fresh directory, and the arguments and environment that
/// make the shell load them. [`super::RC_DIR`] stands for that directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteRc {
    pub files: Vec<(String, String)>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// What runs on the other side.
#[derive(Debug, Clone, Copy)]
pub struct Inner<'a> {
    pub argv: &'a [String],
    /// The preset's own environment (not this machine's).
    pub env: &'a [(String, String)],
    /// The preset's directory on the other side.
    pub cwd: Option<&'a str>,
    pub rc: Option<&'a RemoteRc>,
}

/// What to start here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapped {
    pub argv: Vec<String>,
    /// Environment of the local program (the target's `env`).
    pub env: Vec<(String, String)>,
}

impl Target {
    fn has_slot(&self, slot: &str) -> bool {
        self.command
            .iter()
            .any(|item| item.elements().iter().any(|e| e.contains(slot)))
    }

    /// Wrap `inner` with this target, parameters taken from `values`
    /// (already validated).
    pub fn wrap(
        &self,
        values: &BTreeMap<String, String>,
        inner: &Inner<'_>,
    ) -> Result<Wrapped, String> {
        for (k, _) in inner.env {
            if !crate::preset::params::is_name(k) {
                return Err(format!("environment variable name `{k}` cannot travel"));
            }
        }
        let env_by_slot = self.remote == RemoteMode::Argv && self.has_slot(ENV_SLOT);
        let cwd_by_slot = self.remote == RemoteMode::Argv && self.has_slot(CWD_SLOT);
        let needs_shell = self.remote == RemoteMode::Shell
            || inner.rc.is_some()
            || (inner.cwd.is_some() && !cwd_by_slot);

        let mut argv = Vec::new();
        for item in &self.command {
            match item {
                ArgvItem::One(s) => argv.push(fill_missing(s, values)?),
                ArgvItem::Group(group) => {
                    let filled = |extra: Option<(&str, &str)>| fill_group(group, values, extra);
                    if group.iter().any(|e| e.contains(ENV_SLOT)) {
                        if env_by_slot {
                            for (k, v) in inner.env {
                                let pair = format!("{k}={v}");
                                argv.extend(filled(Some((ENV_SLOT, &pair))).unwrap_or_default());
                            }
                        }
                    } else if group.iter().any(|e| e.contains(CWD_SLOT)) {
                        if let Some(dir) = inner.cwd.filter(|_| cwd_by_slot) {
                            argv.extend(filled(Some((CWD_SLOT, dir))).unwrap_or_default());
                        }
                    } else {
                        argv.extend(filled(None).unwrap_or_default());
                    }
                }
            }
        }

        let line_env: &[(String, String)] = if env_by_slot { &[] } else { inner.env };
        let line_cwd = inner.cwd.filter(|_| !cwd_by_slot);
        match (self.remote, needs_shell) {
            (RemoteMode::Shell, _) => {
                argv.push(command_line(inner.argv, line_env, line_cwd, inner.rc));
            }
            (RemoteMode::Argv, true) => {
                argv.push("sh".into());
                argv.push("-c".into());
                argv.push(command_line(inner.argv, line_env, line_cwd, inner.rc));
            }
            (RemoteMode::Argv, false) => {
                if !line_env.is_empty() {
                    argv.push("env".into());
                    argv.extend(line_env.iter().map(|(k, v)| format!("{k}={v}")));
                }
                argv.extend(inner.argv.iter().cloned());
            }
        }

        let mut env = Vec::new();
        for (k, v) in &self.env {
            env.push((k.clone(), fill_missing(v, values)?));
        }
        Ok(Wrapped { argv, env })
    }
}

fn fill_missing(s: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    fill(s, values).map_err(|name| format!("parameter `{name}` has no value"))
}

/// A group's elements filled in, or `None` when one of its parameters has
/// no value. `slot`: a `{@…}` marker and what it stands for; the marker is
/// replaced after the parameters, so a value can never produce one.
fn fill_group(
    group: &[String],
    values: &BTreeMap<String, String>,
    slot: Option<(&str, &str)>,
) -> Option<Vec<String>> {
    group
        .iter()
        .map(|e| {
            if placeholders(e).iter().any(|p| !values.contains_key(*p)) {
                return None;
            }
            match slot {
                Some((marker, value)) if e.contains(marker) => {
                    let parts: Option<Vec<String>> = e
                        .split(marker)
                        .map(|part| fill(part, values).ok())
                        .collect();
                    Some(parts?.join(value))
                }
                _ => fill(e, values).ok(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::TargetRegistry;
    use super::*;

    fn builtin(name: &str) -> Target {
        TargetRegistry::builtin()
            .get(name)
            .unwrap_or_else(|| panic!("no built-in target {name}"))
            .target
            .clone()
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const PYTHON: &[&str] = &["python3", "-q"];

    fn python_env() -> Vec<(String, String)> {
        vec![("PYTHON_BASIC_REPL".into(), "1".into())]
    }

    /// `argv` with `env` and `cwd`, wrapped by `t` with these values.
    fn wrapped(
        t: &Target,
        given: &[(&str, &str)],
        argv: &[&str],
        env: &[(String, String)],
        cwd: Option<&str>,
    ) -> Vec<String> {
        let argv = strings(argv);
        let inner = Inner {
            argv: &argv,
            env,
            cwd,
            rc: None,
        };
        t.wrap(&values(given), &inner).unwrap().argv
    }

    #[test]
    fn ssh_quotes_the_preset_into_one_remote_line() {
        let given = [("host", "db1.example.com"), ("port", "2222")];
        let w = wrapped(
            &builtin("ssh"),
            &given,
            PYTHON,
            &python_env(),
            Some("~/app"),
        );
        let n = w.len();
        assert_eq!(&w[..2], ["ssh", "-tt"]);
        assert!(w.windows(2).any(|p| p == ["-p", "2222"]));
        // user and identity were not given: their groups are left out.
        assert!(!w.contains(&"-l".to_string()));
        assert!(!w.contains(&"-i".to_string()));
        assert_eq!(&w[n - 3..n - 1], ["--", "db1.example.com"]);
        assert_eq!(
            w[n - 1],
            "cd ~/'app' && exec env 'PYTHON_BASIC_REPL=1' 'python3' '-q'"
        );
    }

    #[test]
    fn docker_passes_env_and_directory_as_options() {
        let given = [("container", "web"), ("user", "app")];
        let w = wrapped(
            &builtin("docker"),
            &given,
            PYTHON,
            &python_env(),
            Some("/srv"),
        );
        let want =
            "docker exec -it --user app --env PYTHON_BASIC_REPL=1 --workdir /srv -- web python3 -q";
        assert_eq!(w.join(" "), want);
    }

    #[test]
    fn kubectl_appends_argv_after_the_double_dash() {
        let t = builtin("kubectl");
        let given = [("pod", "web-0"), ("namespace", "shop")];
        let w = wrapped(&t, &given, PYTHON, &python_env(), None);
        let want = "kubectl --namespace shop exec -it web-0 -- env PYTHON_BASIC_REPL=1 python3 -q";
        assert_eq!(w.join(" "), want);
        // kubectl has no directory option: a directory needs `sh -c`, with
        // the directory quoted inside a fixed script.
        let w = wrapped(&t, &[("pod", "web-0")], PYTHON, &[], Some("/srv/it's"));
        let n = w.len();
        assert_eq!(&w[n - 4..n - 1], ["--", "sh", "-c"]);
        assert_eq!(w[n - 1], "cd -- '/srv/it'\\''s' && exec 'python3' '-q'");
    }

    #[test]
    fn a_value_cannot_forge_a_slot() {
        let t = Target {
            command: vec![
                ArgvItem::One("x".into()),
                ArgvItem::Group(strings(&["--env", "{a}{@env}"])),
            ],
            parameters: [(
                "a".to_string(),
                crate::preset::params::Parameter {
                    description: "a".into(),
                    required: true,
                    default: None,
                    pattern: ".*".into(),
                },
            )]
            .into(),
            ..builtin("docker")
        };
        let env = vec![("K".to_string(), "v".to_string())];
        let w = wrapped(&t, &[("a", "{@env}")], &["p"], &env, None);
        assert_eq!(w, strings(&["x", "--env", "{@env}K=v", "p"]));
    }
}
