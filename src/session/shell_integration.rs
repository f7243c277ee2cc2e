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
    let (files, setup) = render(integration, &dir.display().to_string());
    for (name, content) in files {
        std::fs::write(dir.join(name), content)?;
    }
    Ok(setup)
}

/// The rc files (name, content) for `integration`, to be placed in `dir`,
/// and how to load them. A target creates them on the other side instead.
pub fn render(
    integration: &ShellIntegration,
    dir: &str,
) -> (Vec<(&'static str, String)>, ShellSetup) {
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
                 bind 'set enable-bracketed-paste off' 2>/dev/null\n\
                 PS0='{c}'\n\
                 PS1='\\[{d}{a}\\]\\$ \\[{b}\\]'\n\
                 PS2='\\[{a2}\\]> \\[{b}\\]'\n",
                c = osc("C"),
                d = osc("D;$?"),
                a = osc("A"),
                a2 = osc("A;k=s"),
                b = osc("B"),
            );
            let setup = ShellSetup {
                extra_args: vec!["--rcfile".into(), format!("{dir}/bashrc"), "-i".into()],
                env: vec![],
            };
            (vec![("bashrc", rc)], setup)
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
                 unset zle_bracketed_paste\n\
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
            let setup = ShellSetup {
                extra_args: vec!["-i".into()],
                env: vec![("ZDOTDIR".into(), dir.to_string())],
            };
            (vec![(".zshrc", rc)], setup)
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
            let setup = ShellSetup {
                extra_args: vec!["-i".into()],
                env: vec![("ENV".into(), format!("{dir}/shrc"))],
            };
            (vec![("shrc", rc)], setup)
        }
    }
}

/// The same set-up, created on the other side of a target (ssh, docker…).
pub fn remote(integration: &ShellIntegration) -> crate::preset::RemoteRc {
    let (files, setup) = render(integration, crate::preset::target::RC_DIR);
    crate::preset::RemoteRc {
        files: files.into_iter().map(|(n, c)| (n.to_string(), c)).collect(),
        args: setup.extra_args,
        env: setup.env,
    }
}
