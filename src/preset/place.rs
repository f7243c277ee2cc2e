//! Where and how one session runs: a preset, maybe a target, and the
//! parameter values the agent gave — checked before anything starts, then
//! filled into the preset's argv, directory and environment.

use std::collections::BTreeMap;

use super::Preset;
use super::params::{Parameters, describe, fill};
use super::target::{Inner, RemoteRc, Target, Wrapped, failure};

/// A preset ready to plan, and the target it runs through.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The preset with every placeholder filled. With a target, its `cwd`
    /// is taken out: that directory is on the other side.
    pub preset: Preset,
    pub remote: Option<Remote>,
    /// Every parameter's value (given or default), by name.
    pub values: BTreeMap<String, String>,
}

/// A target with its parameter values.
#[derive(Debug, Clone)]
pub struct Remote {
    pub target: Target,
    /// The preset's directory, on the other side.
    pub cwd: Option<String>,
    values: BTreeMap<String, String>,
}

impl Remote {
    /// Wrap the planned command (argv, the preset's environment, a shell's
    /// prompt set-up) so that it runs through the target.
    pub fn wrap(
        &self,
        argv: &[String],
        env: &[(String, String)],
        rc: Option<&RemoteRc>,
    ) -> Result<Wrapped, String> {
        self.target.wrap(
            &self.values,
            &Inner {
                argv,
                env,
                cwd: self.cwd.as_deref(),
                rc,
            },
        )
    }

    /// Where the session runs, for titles and lists: `ssh host=db1 user=me`.
    pub fn label(&self) -> String {
        self.target.label(&self.values)
    }

    /// A start-up `error` explained by the target's `[[failure]]` rules
    /// (host key mismatch, authentication refused…) when one matches the
    /// program's output.
    pub fn explain(&self, error: String, output: &str) -> String {
        match failure::explain(&self.target.failures, output, &self.values) {
            Some(why) => format!("{why} ({error})"),
            None => error,
        }
    }
}

/// Check `given` against the parameters of `preset` and `target` and fill
/// them in. Every problem is reported at once, with the parameters'
/// descriptions; nothing has started yet.
pub fn place(
    preset: &Preset,
    target: Option<&Target>,
    given: &BTreeMap<String, String>,
) -> Result<Placement, String> {
    let owners: Vec<(String, &Parameters)> =
        std::iter::once((format!("the preset `{}`", preset.name), &preset.parameters))
            .chain(target.map(|t| (format!("the target `{}`", t.name), &t.parameters)))
            .collect();
    let mut problems = Vec::new();
    for name in given.keys() {
        if !owners.iter().any(|(_, params)| params.contains_key(name)) {
            problems.push(format!("`{name}` is not a parameter of {}", who(&owners)));
        }
    }
    let mut values = BTreeMap::new();
    for (owner, params) in &owners {
        for (name, p) in params.iter() {
            let value = given.get(name).or(p.default.as_ref());
            match value {
                Some(v) => match p.check(v) {
                    Ok(()) => {
                        values.insert(name.clone(), v.clone());
                    }
                    Err(e) => {
                        problems.push(format!("the value of `{name}` ({owner}) is refused: {e}"))
                    }
                },
                None if p.required => {
                    problems.push(format!("`{name}` ({owner}) is required"));
                }
                None => {}
            }
        }
    }
    if !problems.is_empty() {
        return Err(report(&problems, &owners));
    }

    let mut filled = preset.clone();
    let fill_all = |s: &str| fill(s, &values).map_err(|n| format!("parameter `{n}` has no value"));
    for arg in filled.command.iter_mut().skip(1) {
        *arg = fill_all(arg)?;
    }
    for v in filled.env.values_mut() {
        *v = fill_all(v)?;
    }
    if let Some(cwd) = &filled.cwd {
        filled.cwd = Some(fill_all(cwd)?);
    }
    let remote = target.map(|t| Remote {
        target: t.clone(),
        cwd: filled.cwd.take(),
        values: t
            .parameters
            .keys()
            .filter_map(|k| Some((k.clone(), values.get(k)?.clone())))
            .collect(),
    });
    Ok(Placement {
        preset: filled,
        remote,
        values,
    })
}

fn who(owners: &[(String, &Parameters)]) -> String {
    owners
        .iter()
        .map(|(o, _)| o.clone())
        .collect::<Vec<_>>()
        .join(" or ")
}

fn report(problems: &[String], owners: &[(String, &Parameters)]) -> String {
    let mut out = format!("parameters not accepted: {}.", problems.join("; "));
    for (owner, params) in owners {
        if params.is_empty() {
            out.push_str(&format!("\n{} takes no parameters.", capitalize(owner)));
        } else {
            out.push_str(&format!("\nParameters of {owner}:\n{}", describe(params)));
        }
    }
    out
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset::{PresetRegistry, TargetRegistry};

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn python() -> Preset {
        PresetRegistry::builtin()
            .get("python")
            .unwrap()
            .preset
            .clone()
    }

    fn ssh() -> Target {
        TargetRegistry::builtin().get("ssh").unwrap().target.clone()
    }

    const DB: &str = r#"name = "db"
command = ["psql", "--dbname={database}"]
cwd = "/srv/{database}"
[prompt]
ready = ['=> $']
[parameters.database]
description = "Database to open"
default = "app"
pattern = '[a-z_]+'
"#;

    #[test]
    fn values_fill_argv_and_directory() {
        let preset = PresetRegistry::parse("db.toml", DB).unwrap().remove(0);
        let p = place(&preset, None, &given(&[("database", "shop")])).unwrap();
        assert_eq!(p.preset.command, ["psql", "--dbname=shop"]);
        assert_eq!(p.preset.cwd.as_deref(), Some("/srv/shop"));
        let p = place(&preset, None, &given(&[])).unwrap();
        assert_eq!(p.preset.command[1], "--dbname=app");
    }

    #[test]
    fn a_target_takes_the_directory_to_the_other_side() {
        let preset = PresetRegistry::parse("db.toml", DB).unwrap().remove(0);
        let p = place(&preset, Some(&ssh()), &given(&[("host", "db1")])).unwrap();
        assert_eq!(p.preset.cwd, None);
        let remote = p.remote.unwrap();
        assert_eq!(remote.cwd.as_deref(), Some("/srv/app"));
        assert_eq!(remote.label(), "ssh host=db1");
        assert_eq!(p.values.len(), 2);
    }

    #[test]
    fn every_problem_is_listed_with_the_descriptions() {
        let err = place(
            &python(),
            Some(&ssh()),
            &given(&[("hots", "x"), ("port", "22; id")]),
        )
        .unwrap_err();
        assert!(
            err.contains("`hots` is not a parameter of the preset `python` or the target `ssh`"),
            "{err}"
        );
        assert!(
            err.contains("`host` (the target `ssh`) is required"),
            "{err}"
        );
        assert!(err.contains("the value of `port`"), "{err}");
        assert!(
            err.contains("The preset `python` takes no parameters."),
            "{err}"
        );
        assert!(err.contains("host (required; pattern"), "{err}");
        assert!(err.contains("Host name, address"), "{err}");
    }

    #[test]
    fn a_preset_without_parameters_refuses_them() {
        let err = place(&python(), None, &given(&[("host", "x")])).unwrap_err();
        assert!(
            err.contains("`host` is not a parameter of the preset `python`"),
            "{err}"
        );
        assert!(err.contains("takes no parameters"), "{err}");
    }

    #[test]
    fn injection_attempts_are_refused_in_every_parameter() {
        let attempts = [
            "-oProxyCommand=touch /tmp/pwned",
            "a;touch /tmp/pwned",
            "$(touch /tmp/pwned)",
            "`touch /tmp/pwned`",
            "a\ntouch /tmp/pwned",
            "a\0b",
            "a b",
            "a|b",
            "a&b",
            "a>b",
        ];
        let t = ssh();
        for name in ["host", "user", "port", "identity"] {
            for bad in attempts {
                let mut g = given(&[("host", "ok")]);
                g.insert(name.to_string(), bad.to_string());
                assert!(
                    place(&python(), Some(&t), &g).is_err(),
                    "{name}={bad:?} accepted"
                );
            }
        }
    }
}
