//! Load-time checks of parameters and their `{NAME}` placeholders in
//! presets and targets. A mistake is reported with the file, the line and
//! the key, like a TOML error, and the file is not loaded.

use std::collections::BTreeSet;

use super::error::{key_at, line_col};
use super::params::{Parameters, is_name, placeholders};
use super::target::{ArgvItem, Target};
use super::{Preset, PresetError};

/// A string that may hold placeholders, and the key it was written under.
struct Template<'a> {
    key: String,
    text: &'a str,
    /// Inside a target's argv group (optional parameters are allowed).
    in_group: bool,
}

/// Where `{name}` was written in `src` (not in prose or a comment), else
/// where `key` was: its table header or the key itself.
fn locate(src: &str, name: Option<&str>, key: &str) -> (usize, usize) {
    let not_prose = |offset: usize| {
        let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line = src[line_start..].trim_start();
        let at = key_at(src, offset).unwrap_or_default();
        !line.starts_with('#')
            && !["description", "display_name", "message"]
                .iter()
                .any(|k| at == *k || at.ends_with(&format!(".{k}")))
    };
    let placeholder = name.map(|n| format!("{{{n}}}"));
    let base = key.split('[').next().unwrap_or(key);
    let at = placeholder
        .and_then(|p| {
            src.match_indices(&p)
                .map(|(i, _)| i)
                .find(|&i| not_prose(i))
        })
        .or_else(|| src.find(&format!("[{key}]")))
        .or_else(|| src.find(&format!("{base} =")))
        .or_else(|| src.find(base))
        .unwrap_or(0);
    line_col(src, at)
}

struct Checker<'a> {
    file: &'a str,
    src: &'a str,
    params: &'a Parameters,
    /// "preset" or "target".
    kind: &'static str,
}

impl Checker<'_> {
    fn error(&self, key: &str, at: (usize, usize), message: String) -> PresetError {
        PresetError::Located {
            file: self.file.to_string(),
            line: at.0,
            column: at.1,
            key: key.to_string(),
            message,
        }
    }

    fn declared(&self) -> String {
        if self.params.is_empty() {
            format!("this {} declares no parameters", self.kind)
        } else {
            let names: Vec<&str> = self.params.keys().map(String::as_str).collect();
            format!("declared: {}", names.join(", "))
        }
    }

    /// Every declaration sound, every placeholder declared, every
    /// declaration used.
    fn check(&self, templates: &[Template<'_>]) -> Result<(), PresetError> {
        for (name, p) in self.params {
            let header = format!("parameters.{name}");
            if !is_name(name) {
                return Err(self.error(
                    &header,
                    locate(self.src, None, &header),
                    "a parameter name is a letter or `_`, then letters, digits and `_`".into(),
                ));
            }
            if let Err((key, message)) = p.validate() {
                return Err(self.error(
                    &format!("{header}.{key}"),
                    locate(self.src, None, &header),
                    message,
                ));
            }
        }
        let mut used = BTreeSet::new();
        for t in templates {
            for name in placeholders(t.text) {
                let at = || locate(self.src, Some(name), &t.key);
                let Some(p) = self.params.get(name) else {
                    return Err(self.error(
                        &t.key,
                        at(),
                        format!(
                            "`{{{name}}}` is not a declared parameter ({}); declare it under [parameters.{name}], or write `{{{{{name}}}` for a literal brace",
                            self.declared()
                        ),
                    ));
                };
                if !t.in_group && !p.required && p.default.is_none() {
                    let fix = if self.kind == "target" {
                        "put it in a group (a list inside `command`), which is left out when the value is missing, or"
                    } else {
                        ""
                    };
                    return Err(self.error(
                        &t.key,
                        at(),
                        format!(
                            "`{{{name}}}` is optional (neither `required` nor a `default`) but used where a value is needed: {fix} give it a `default` or make it `required`"
                        ),
                    ));
                }
                used.insert(name.to_string());
            }
        }
        if let Some(unused) = self.params.keys().find(|n| !used.contains(*n)) {
            let header = format!("parameters.{unused}");
            return Err(self.error(
                &header,
                locate(self.src, None, &header),
                format!("the parameter `{unused}` is declared but `{{{unused}}}` is used nowhere"),
            ));
        }
        Ok(())
    }

    /// Text typed into the program, or the program's own name, must not
    /// hold a placeholder: a value there would become code or choose what runs.
    fn refuse_in(&self, key: &str, text: &str, why: &str) -> Result<(), PresetError> {
        match placeholders(text)
            .into_iter()
            .find(|n| self.params.contains_key(*n))
        {
            Some(name) => Err(self.error(
                key,
                locate(self.src, Some(name), key),
                format!("`{{{name}}}` cannot be used here: {why}"),
            )),
            None => Ok(()),
        }
    }
}

/// Check a preset's parameters and placeholders against its source text.
pub fn check_preset(p: &Preset, file: &str, src: &str) -> Result<(), PresetError> {
    let checker = Checker {
        file,
        src,
        params: &p.parameters,
        kind: "preset",
    };
    let typed = "parameters are not filled into typed text (it would become code)";
    let program = "the program to run cannot come from a parameter";
    if let Some(first) = p.command.first() {
        checker.refuse_in("command[0]", first, program)?;
    }
    if let Some(shell) = &p.shell {
        checker.refuse_in("shell", shell, program)?;
    }
    for (key, list) in [("setup", &p.setup), ("commands", &p.commands)] {
        for (i, line) in list.iter().enumerate() {
            checker.refuse_in(&format!("{key}[{i}]"), line, typed)?;
        }
    }
    let mut templates: Vec<Template<'_>> = p
        .command
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, a)| Template {
            key: format!("command[{i}]"),
            text: a,
            in_group: false,
        })
        .collect();
    templates.extend(p.cwd.iter().map(|c| Template {
        key: "cwd".into(),
        text: c,
        in_group: false,
    }));
    templates.extend(p.env.iter().map(|(k, v)| Template {
        key: format!("env.{k}"),
        text: v,
        in_group: false,
    }));
    checker.check(&templates)
}

/// Check a target's parameters and placeholders against its source text.
pub fn check_target(t: &Target, file: &str, src: &str) -> Result<(), PresetError> {
    let checker = Checker {
        file,
        src,
        params: &t.parameters,
        kind: "target",
    };
    let mut templates = Vec::new();
    for (i, item) in t.command.iter().enumerate().skip(1) {
        match item {
            ArgvItem::One(a) => templates.push(Template {
                key: format!("command[{i}]"),
                text: a,
                in_group: false,
            }),
            ArgvItem::Group(g) => templates.extend(g.iter().enumerate().map(|(j, a)| Template {
                key: format!("command[{i}][{j}]"),
                text: a,
                in_group: true,
            })),
        }
    }
    templates.extend(t.env.iter().map(|(k, v)| Template {
        key: format!("env.{k}"),
        text: v,
        in_group: false,
    }));
    // Messages name values when they have one; an optional parameter
    // without a value stays as written.
    templates.extend(t.failures.iter().enumerate().map(|(i, f)| Template {
        key: format!("failure[{i}].message"),
        text: &f.message,
        in_group: true,
    }));
    checker.check(&templates)
}

#[cfg(test)]
mod tests {
    use crate::preset::{PresetRegistry, TargetRegistry};

    fn preset_err(src: &str) -> String {
        PresetRegistry::parse("p.toml", src)
            .unwrap_err()
            .to_string()
    }

    const HEAD: &str = "name = \"x\"\n[prompt]\nready = ['> $']\n";

    #[test]
    fn an_undeclared_placeholder_names_file_line_and_key() {
        let src = format!(
            "command = [\"psql\",\n  \"--host={{hots}}\"]\n{HEAD}\
             [parameters.host]\ndescription = \"h\"\nrequired = true\npattern = '[a-z]+'\n"
        );
        let err = preset_err(&src);
        assert!(err.starts_with("p.toml:2:11: key `command[1]`"), "{err}");
        assert!(
            err.contains("`{hots}` is not a declared parameter (declared: host)"),
            "{err}"
        );
    }

    #[test]
    fn placeholders_need_a_declaration_even_without_parameters() {
        let err = preset_err(&format!(
            "command = [\"x\"]\ncwd = \"/srv/{{app}}\"\n{HEAD}"
        ));
        assert!(err.starts_with("p.toml:2:"), "{err}");
        assert!(err.contains("key `cwd`"), "{err}");
        assert!(err.contains("declares no parameters"), "{err}");
    }

    #[test]
    fn parameters_stay_out_of_typed_text_and_program_names() {
        let decl = "[parameters.db]\ndescription = \"d\"\nrequired = true\npattern = '[a-z]+'\n";
        let err = preset_err(&format!(
            "command = [\"psql\", \"{{db}}\"]\nsetup = [\"\\\\c {{db}}\"]\n{HEAD}{decl}"
        ));
        assert!(
            err.contains("key `setup[0]`") && err.contains("typed text"),
            "{err}"
        );
        let err = preset_err(&format!("command = [\"{{db}}\"]\n{HEAD}{decl}"));
        assert!(err.contains("key `command[0]`"), "{err}");
    }

    #[test]
    fn unused_and_unsound_declarations_are_refused() {
        let err = preset_err(&format!(
            "command = [\"x\"]\n{HEAD}[parameters.db]\ndescription = \"d\"\nrequired = true\npattern = '.+'\n"
        ));
        assert!(err.contains("declared but `{db}` is used nowhere"), "{err}");
        assert!(err.starts_with("p.toml:5:1:"), "{err}");
        let err = preset_err(&format!(
            "command = [\"x\", \"{{db}}\"]\n{HEAD}[parameters.db]\ndescription = \"d\"\ndefault = \"-x\"\npattern = '.+'\n"
        ));
        assert!(err.contains("parameters.db.default"), "{err}");
        let err = preset_err(&format!(
            "command = [\"x\", \"{{db}}\"]\n{HEAD}[parameters.db]\ndescription = \"d\"\npattern = '.+'\n"
        ));
        assert!(err.contains("is optional"), "{err}");
    }

    #[test]
    fn targets_allow_optional_parameters_in_groups_only() {
        let decl = "[parameters.port]\ndescription = \"p\"\npattern = '[0-9]+'\n";
        let ok = format!("name = \"t\"\ncommand = [\"ssh\", [\"-p\", \"{{port}}\"]]\n{decl}");
        assert!(TargetRegistry::parse("t.toml", &ok).is_ok());
        let bad = format!("name = \"t\"\ncommand = [\"ssh\", \"-p\", \"{{port}}\"]\n{decl}");
        let err = TargetRegistry::parse("t.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.toml:2:") && err.contains("command[2]"),
            "{err}"
        );
        assert!(err.contains("put it in a group"), "{err}");
        let typo = format!("name = \"t\"\ncommand = [\"ssh\", [\"-p\", \"{{prot}}\"]]\n{decl}");
        let err = TargetRegistry::parse("t.toml", &typo)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("command[1][1]") && err.contains("{prot}"),
            "{err}"
        );
    }
}
