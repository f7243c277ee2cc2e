//! Prompt set-up for shells, so that every prompt reports completion and the
//! exit status through OSC 133 markers (see `markers.rs`).

use std::path::Path;

use crate::preset::{ShellFlavor, ShellIntegration};

const ESC: &str = "\x1b";
const BEL: &str = "\x07";

/// Extra argv and environment that make the shell load our rc file.
pub struct ShellSetup {
    pub extra_args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// Write the rc file for `integration` into `dir` and say how to load it.
pub fn prepare(integration: &ShellIntegration, dir: &Path) -> std::io::Result<ShellSetup> {
    std::fs::create_dir_all(dir)?;
    let osc = |body: &str| format!("{ESC}]133;{body}{BEL}");
    match integration.flavor {
        ShellFlavor::Bash => {
            let user_rc = if integration.source_user_rc {
                "[ -f ~/.bashrc ] && . ~/.bashrc\n"
            } else {
                ""
            };
            let rc = format!(
                "{user_rc}unset PROMPT_COMMAND\n\
                 unset HISTFILE\n\
                 PS0='{c}'\n\
                 PS1='\\[{d}{a}\\]\\$ \\[{b}\\]'\n\
                 PS2='\\[{a2}\\]> \\[{b}\\]'\n",
                c = osc("C"),
                d = osc("D;$?"),
                a = osc("A"),
                a2 = osc("A;k=s"),
                b = osc("B"),
            );
            let path = dir.join("bashrc");
            std::fs::write(&path, rc)?;
            Ok(ShellSetup {
                extra_args: vec!["--rcfile".into(), path.display().to_string(), "-i".into()],
                env: vec![],
            })
        }
        ShellFlavor::Zsh => {
            let user_rc = if integration.source_user_rc {
                "[ -f ~/.zshrc ] && ZDOTDIR=~ . ~/.zshrc\n"
            } else {
                ""
            };
            let rc = format!(
                "{user_rc}unsetopt PROMPT_SP\n\
                 unset HISTFILE\n\
                 PS1=$'%{{{d}{a}%}}%# %{{{b}%}}'\n\
                 PS2=$'%{{{a2}%}}> %{{{b}%}}'\n\
                 RPROMPT=''\n\
                 preexec() {{ printf '%s' $'{c}' }}\n",
                c = osc("C"),
                d = osc("D;%?"),
                a = osc("A"),
                a2 = osc("A;k=s"),
                b = osc("B"),
            );
            std::fs::write(dir.join(".zshrc"), rc)?;
            Ok(ShellSetup {
                extra_args: vec!["-i".into()],
                env: vec![("ZDOTDIR".into(), dir.display().to_string())],
            })
        }
        ShellFlavor::Sh => {
            // POSIX sh expands parameters in PS1 at display time, so `$?` works;
            // there is no pre-command hook, so no `C` marker.
            let rc = format!(
                "PS1='{d}{a}$ {b}'\nPS2='{a2}> {b}'\n",
                d = osc("D;$?"),
                a = osc("A"),
                a2 = osc("A;k=s"),
                b = osc("B"),
            );
            let path = dir.join("shrc");
            std::fs::write(&path, rc)?;
            Ok(ShellSetup {
                extra_args: vec!["-i".into()],
                env: vec![("ENV".into(), path.display().to_string())],
            })
        }
    }
}
