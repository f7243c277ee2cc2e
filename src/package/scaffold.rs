//! `preset new <name>`: a starter package that validates and installs as is.

use std::path::{Path, PathBuf};

use super::PackageError;
use super::load::PRESET_FILE;

/// Write `<parent>/<name>/preset.toml` and a README. Refuses to overwrite.
pub fn new_package(parent: &Path, name: &str) -> Result<PathBuf, PackageError> {
    super::check_name(name)?;
    let dir = parent.join(name);
    if dir.exists() {
        return Err(PackageError::Refused(format!(
            "{} already exists; choose another name or remove it",
            dir.display()
        )));
    }
    std::fs::create_dir_all(&dir).map_err(|e| PackageError::io(&dir, e))?;
    let preset = dir.join(PRESET_FILE);
    std::fs::write(&preset, starter_preset(name)).map_err(|e| PackageError::io(&preset, e))?;
    let readme = dir.join("README.md");
    std::fs::write(&readme, starter_readme(name)).map_err(|e| PackageError::io(&readme, e))?;
    Ok(dir)
}

fn starter_preset(name: &str) -> String {
    format!(
        r#"# A repl-mcp preset package. Validate it with
#     repl-mcp preset validate {name}
# and install it with
#     repl-mcp preset install {name}
#
# This file holds one preset at top level. For several, put each under its
# own `[[preset]]` table instead.

# The id agents pass to create_session (letters, digits, `_`, `-`, `.`).
name = "{name}"
display_name = "{name} (Python REPL)"
description = "A starter preset: CPython's interactive interpreter."
type = "python"

# The program to run in the terminal, as an argv list.
command = ["python3", "-q"]
# Or start a shell and type commands into it; the last one starts the REPL:
# shell = "bash"
# commands = ["cd ~/my-app", "bundle exec rails console"]

# Lines typed once the first prompt shows (replayed after a restart).
# setup = ["import os"]

# Extra environment variables, and the starting folder.
env = {{ PYTHONUNBUFFERED = "1", PYTHON_BASIC_REPL = "1" }}
# cwd = "~/my-app"

# Milliseconds one evaluation, and the start-up, may take.
timeout_ms = 30000
startup_timeout_ms = 10000

[prompt]
# Regexes matched against the cursor line.
ready = ['^>>> $']
continuation = ['^\.\.\. $']
# Prompts that want a person's answer (password, [y/N], a pager):
# awaiting_input = ['Password: $']

# What to do when the REPL hangs or dies: a built-in plugin, or the id of a
# plugin shipped in this package under plugins/<id>/ (plugin.toml + .wasm).
[strategy]
plugin = "builtin:default-recovery"
"#
    )
}

fn starter_readme(name: &str) -> String {
    format!(
        "# {name}\n\nA preset package for repl-mcp.\n\n    repl-mcp preset validate .\n    repl-mcp preset install .\n\n\
         Layout:\n\n    preset.toml                 one preset, or several under [[preset]]\n    plugins/<id>/plugin.toml    optional wasm plugins (manifest)\n    plugins/<id>/<id>.wasm      the plugin component\n"
    )
}
