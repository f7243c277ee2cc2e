//! The `repl-mcp preset …` subcommands. Exit codes: 0 ok, 1 validation or
//! usage error, 2 I/O error.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::{PackageError, install, load, manage, scaffold, source};
use crate::preset::{Preset, PresetDirs, PresetRegistry};

#[derive(Debug, Args)]
pub struct PresetArgs {
    #[command(subcommand)]
    pub command: PresetCommand,
}

#[derive(Debug, Subcommand)]
pub enum PresetCommand {
    /// Install a preset package from a folder, a .tar.gz or a git URL.
    Install {
        /// A package folder, a `.tar.gz` of one, or a git URL.
        source: String,
        /// Do not ask for confirmation (for scripts).
        #[arg(long, short)]
        yes: bool,
        /// Install under this package name instead of the one derived from the source.
        #[arg(long)]
        name: Option<String>,
    },
    /// List every preset, where it comes from, and which definition wins.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove an installed package, or the package that holds a preset.
    Remove {
        /// A package name or a preset name.
        name: String,
    },
    /// Check a package folder, a folder of loose *.toml presets, or one file.
    Validate {
        /// Package folder, presets folder, or preset file.
        path: PathBuf,
    },
    /// Write a starter package in ./<name> that validates and installs as is.
    New {
        /// Package (and preset) name.
        name: String,
    },
}

/// Run a `preset` subcommand; returns the process exit code.
pub fn run(args: PresetArgs) -> i32 {
    let result = match args.command {
        PresetCommand::Install { source, yes, name } => cmd_install(&source, yes, name.as_deref()),
        PresetCommand::List { json } => cmd_list(json),
        PresetCommand::Remove { name } => cmd_remove(&name),
        PresetCommand::Validate { path } => cmd_validate(&path),
        PresetCommand::New { name } => cmd_new(&name),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit_code(&e)
        }
    }
}

/// 1 for validation / usage errors, 2 for I/O.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if let Some(p) = cause.downcast_ref::<PackageError>() {
            return p.exit_code();
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return 2;
        }
    }
    1
}

fn presets_dir() -> anyhow::Result<PathBuf> {
    crate::paths::config_dir()
        .map(|d| d.join("presets"))
        .ok_or_else(|| {
            PackageError::NotFound("cannot find the config dir: set XDG_CONFIG_HOME or HOME".into())
                .into()
        })
}

/// Several validation errors as one, each on its own line.
fn errors_to_anyhow(errors: Vec<PackageError>) -> anyhow::Error {
    let code_io = errors.iter().all(|e| e.exit_code() == 2);
    let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    let summary = format!("{} problem(s) found:\n{}", errors.len(), lines.join("\n"));
    if code_io {
        PackageError::io(PathBuf::from("package"), std::io::Error::other(summary)).into()
    } else {
        PackageError::Refused(summary).into()
    }
}

fn cmd_install(src: &str, yes: bool, name: Option<&str>) -> anyhow::Result<()> {
    let fetched = source::fetch(src)?;
    let name = name.map_or_else(|| fetched.suggested_name.clone(), str::to_string);
    super::check_name(&name).map_err(|e| {
        anyhow::Error::from(e).context("cannot derive a package name from the source; pass --name")
    })?;
    let pkg = load::validate_package(&fetched.root).map_err(errors_to_anyhow)?;
    let presets_dir = presets_dir()?;
    let dest = presets_dir.join(&name);

    let mut out = std::io::stdout().lock();
    write_summary(&mut out, &pkg, &name, &fetched.source, &dest)?;
    out.flush()?;
    drop(out);

    if !yes {
        confirm(&format!(
            "Install package `{name}` into {}?",
            dest.display()
        ))?;
    }
    let installed = install::install(&pkg, &name, &fetched.source, &presets_dir)?;
    println!(
        "Installed package `{name}` ({} preset(s): {}) into {}",
        pkg.presets.len(),
        pkg.presets
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        installed.display()
    );
    println!("A running server picks it up with the `reload_presets` tool.");
    Ok(())
}

/// Ask on the terminal; refuse without one.
fn confirm(question: &str) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(PackageError::Refused(
            "not installing: standard input is not a terminal, so nobody can confirm. \
             Review the summary above and re-run with --yes to install anyway."
                .into(),
        )
        .into());
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(PackageError::Refused("not installed (not confirmed)".into()).into())
    }
}

/// What the package will run, for the user to read before confirming.
pub fn write_summary(
    out: &mut impl Write,
    pkg: &load::Package,
    name: &str,
    source: &str,
    dest: &Path,
) -> std::io::Result<()> {
    let builtin = PresetRegistry::builtin();
    let installed = PresetRegistry::load(&PresetDirs::standard());
    writeln!(out, "Package `{name}` from {source}")?;
    let replacing = if dest.exists() {
        " (replacing the installed version)"
    } else {
        ""
    };
    writeln!(out, "installs into {}{replacing}", dest.display())?;
    writeln!(out)?;
    for p in &pkg.presets {
        write_preset(out, p)?;
        if builtin.get(&p.name).is_some() {
            writeln!(
                out,
                "  note:      overrides the built-in preset `{}`",
                p.name
            )?;
        } else if let Some(other) = installed.get(&p.name)
            && !other.origin.starts_with(&dest.display().to_string())
        {
            writeln!(out, "  note:      also defined in {}", other.origin)?;
        }
        writeln!(out)?;
    }
    for plugin in &pkg.plugins {
        let m = &plugin.manifest;
        let hooks: Vec<&str> = [
            (m.hooks.detect_prompt, "detect-prompt"),
            (m.hooks.on_timeout, "on-timeout"),
            (m.hooks.on_exit, "on-exit"),
            (m.hooks.on_startup_failure, "on-startup-failure"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        writeln!(
            out,
            "Plugin `{}` {} (plugin API {}), hooks: {}",
            m.id,
            m.version,
            m.api,
            hooks.join(", ")
        )?;
        if !m.description.is_empty() {
            writeln!(out, "  {}", m.description)?;
        }
        writeln!(out, "  may:")?;
        for line in plugin.describe_capabilities() {
            writeln!(out, "    - {line}")?;
        }
        let l = &m.limits;
        let limits = [
            format!("memory {} MiB", l.memory_bytes >> 20),
            format!("{} ms a call", l.deadline_ms),
            format!("stack {} KiB", l.stack_bytes >> 10),
        ];
        if !limits.is_empty() {
            writeln!(out, "  limits:   {}", limits.join(", "))?;
        }
        writeln!(out, "  sha256:   {}", plugin_check_hash(plugin))?;
        writeln!(out)?;
    }
    Ok(())
}

fn plugin_check_hash(p: &super::PluginSummary) -> String {
    p.manifest
        .sha256
        .trim()
        .trim_start_matches("sha256:")
        .to_ascii_lowercase()
}

fn write_preset(out: &mut impl Write, p: &Preset) -> std::io::Result<()> {
    writeln!(out, "Preset `{}` ({})", p.name, p.display_name())?;
    if !p.command.is_empty() {
        writeln!(out, "  runs:      {}", shell_words(&p.command))?;
    }
    if let Some(shell) = &p.shell {
        writeln!(out, "  runs:      {shell}, then types:")?;
        for (i, c) in p.commands.iter().enumerate() {
            writeln!(out, "    {}. {c}", i + 1)?;
        }
    }
    if !p.setup.is_empty() {
        writeln!(out, "  then types at the first prompt:")?;
        for line in &p.setup {
            writeln!(out, "    {line}")?;
        }
    }
    if !p.env.is_empty() {
        let env: Vec<String> = p.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(out, "  env:       {}", env.join(" "))?;
    }
    if let Some(cwd) = &p.cwd {
        writeln!(out, "  in:        {cwd}")?;
    }
    if let Some(s) = &p.strategy {
        writeln!(out, "  strategy:  {}", s.plugin)?;
    }
    Ok(())
}

/// argv as a person would type it.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn cmd_list(json: bool) -> anyhow::Result<()> {
    let listing = manage::list(&PresetDirs::standard());
    if json {
        println!("{}", serde_json::to_string_pretty(&listing)?);
        return Ok(());
    }
    let width = listing
        .presets
        .iter()
        .map(|d| d.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!("{:width$}  {:8}  {:6}  FILE", "NAME", "SOURCE", "STATUS");
    for d in &listing.presets {
        let source = serde_json::to_value(d.source)?
            .as_str()
            .unwrap_or_default()
            .to_string();
        let status = if d.active { "active" } else { "shadowed" };
        let mut line = format!("{:width$}  {source:8}  {status:6}  {}", d.name, d.origin);
        if let Some(pkg) = &d.package {
            line.push_str(&format!("  [package {pkg}]"));
        }
        if let Some(by) = &d.shadowed_by {
            line.push_str(&format!("  (overridden by {by})"));
        }
        println!("{line}");
    }
    if !listing.errors.is_empty() {
        println!();
        println!("Not loaded:");
        for e in &listing.errors {
            println!("  {e}");
        }
    }
    Ok(())
}

fn cmd_remove(name: &str) -> anyhow::Result<()> {
    let dirs = PresetDirs::standard();
    let presets_dir = presets_dir()?;
    match manage::plan_remove(name, &dirs)? {
        manage::Removal::Package { name, dir, presets } => {
            install::remove_dir(&dir, &presets_dir)?;
            println!(
                "Removed package `{name}` ({}) from {}",
                presets.join(", "),
                dir.display()
            );
        }
        manage::Removal::File { path, presets } => {
            std::fs::remove_file(&path).map_err(|e| PackageError::io(&path, e))?;
            println!("Removed {} ({})", path.display(), presets.join(", "));
        }
    }
    let after = PresetRegistry::load(&dirs);
    if let Some(p) = after.get(name) {
        println!("`{name}` now comes from {}", p.origin);
    }
    Ok(())
}

fn cmd_validate(path: &Path) -> anyhow::Result<()> {
    let report = load::validate_path(path);
    for (file, names) in &report.ok {
        println!("ok  {file}: {}", names.join(", "));
    }
    for plugin in &report.plugins {
        println!("ok  plugin {plugin}");
    }
    if report.errors.is_empty() {
        let count: usize = report.ok.iter().map(|(_, n)| n.len()).sum();
        println!(
            "{count} preset(s) and {} plugin(s) valid",
            report.plugins.len()
        );
        Ok(())
    } else {
        Err(errors_to_anyhow(report.errors))
    }
}

fn cmd_new(name: &str) -> anyhow::Result<()> {
    let cwd = std::env::current_dir()?;
    let dir = scaffold::new_package(&cwd, name)?;
    println!("Created {}", dir.display());
    println!("Edit {}/preset.toml, then:", dir.display());
    println!("  repl-mcp preset validate {name}");
    println!("  repl-mcp preset install {name}");
    Ok(())
}
