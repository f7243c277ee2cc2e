//! `repl-mcp plugin test DIR --cast FILE [--expect FILE]`: replay a
//! recorded session through a plugin and print what it decides, when.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cast::Cast;
use crate::plugin::replay::{Expectations, ReplayOptions, Step, StepKind, replay};
use crate::plugin::{HostLimits, MANIFEST_FILE, PluginHost, PromptKind, SessionFacts};
use crate::preset::{PresetDirs, PresetRegistry};

#[derive(Debug, Clone, clap::Args)]
pub struct TestArgs {
    /// The plugin: a built folder (plugin.toml + .wasm), a plugin crate
    /// built with `plugin build` (its dist/<id>/ is used), or `builtin:ID`.
    pub plugin: String,
    /// The recorded session (asciicast v2).
    #[arg(long, value_name = "FILE")]
    pub cast: PathBuf,
    /// Expectations (TOML); exit code 1 when one is not met.
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// The preset the session ran (default: the one the cast names): its
    /// prompt regexes, strategy settings and timeout.
    #[arg(long)]
    pub preset: Option<String>,
    /// A setting for the plugin's init, over the manifest's and the preset's.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
    /// The evaluation timeout that triggers on-timeout (default: the preset's).
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<u64>,
    /// The exit status on-exit is told at the end of the cast.
    #[arg(long, allow_negative_numbers = true)]
    pub exit_code: Option<i32>,
    /// Do not call on-exit at the end of the cast.
    #[arg(long)]
    pub no_exit: bool,
    /// Print every detect-prompt answer, not only the changes.
    #[arg(long)]
    pub all: bool,
}

pub fn run(args: &TestArgs) -> i32 {
    match test(args) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    }
}

/// A host holding the plugin to test; returns the id to instantiate.
fn load_plugin(spec: &str) -> Result<(PluginHost, String)> {
    if let Some(id) = spec.strip_prefix("builtin:") {
        let host = PluginHost::with_builtins()?;
        if host.manifest(id).is_none() {
            bail!(
                "no built-in plugin `{id}`; built-in: {}",
                host.ids().join(", ")
            );
        }
        return Ok((host, id.to_string()));
    }
    let dir = Path::new(spec);
    let folder = if dir.join("Cargo.toml").is_file() {
        // A crate: its build output.
        let id = crate::plugin::Manifest::parse_source(
            &std::fs::read_to_string(dir.join(MANIFEST_FILE))
                .with_context(|| format!("cannot read {}", dir.join(MANIFEST_FILE).display()))?,
            &dir.join(MANIFEST_FILE),
            &HostLimits::default(),
        )?
        .id;
        let built = dir.join("dist").join(&id);
        if !built.join(MANIFEST_FILE).is_file() {
            bail!(
                "{} is not built yet: run `repl-mcp plugin build {spec}` first",
                dir.display()
            );
        }
        built
    } else {
        dir.to_path_buf()
    };
    let host = PluginHost::new(HostLimits::default())?;
    let id = host
        .load_dir(&folder)
        .with_context(|| format!("the host refuses {}", folder.display()))?;
    Ok((host, id))
}

fn parse_settings(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .with_context(|| format!("--set {p:?}: expected KEY=VALUE"))
        })
        .collect()
}

fn test(args: &TestArgs) -> Result<bool> {
    let cast = Cast::read(&args.cast)?;
    let expectations = args.expect.as_deref().map(Expectations::read).transpose()?;
    let (host, id) = load_plugin(&args.plugin)?;
    let meta = cast.header.repl_mcp.clone().unwrap_or_default();
    let preset_name = args
        .preset
        .clone()
        .or_else(|| Some(meta.preset.clone()).filter(|p| !p.is_empty()));
    let registry = PresetRegistry::load(&PresetDirs::standard());
    let preset = match &preset_name {
        Some(name) => match registry.get(name) {
            Some(p) => Some(p.preset.clone()),
            None if args.preset.is_some() => {
                bail!("no preset `{name}`; known: {}", registry.names().join(", "))
            }
            None => None,
        },
        None => None,
    };
    let mut settings = BTreeMap::new();
    if let Some(p) = &preset {
        // Strategy settings belong to the preset's own plugin.
        let strategy = p
            .strategy
            .as_ref()
            .filter(|s| s.plugin.strip_prefix("builtin:").unwrap_or(&s.plugin) == id)
            .map(|s| s.settings.clone())
            .unwrap_or_default();
        settings = crate::plugin::settings_for(&p.prompt, &strategy);
    }
    settings.extend(parse_settings(&args.settings)?);
    let mut plugin = host
        .instantiate(&id, &settings)
        .with_context(|| format!("plugin `{id}` does not start"))?;
    let manifest = host.manifest(&id).context("plugin vanished")?;
    let opts = ReplayOptions {
        preset: preset_name.clone().unwrap_or_default(),
        timeout_ms: args
            .timeout_ms
            .or(meta.timeout_ms)
            .or(preset.as_ref().map(|p| p.timeout_ms))
            .unwrap_or(ReplayOptions::default().timeout_ms),
        startup_timeout_ms: preset
            .as_ref()
            .map_or(ReplayOptions::default().startup_timeout_ms, |p| {
                p.startup_timeout_ms
            }),
        exit_at_end: !args.no_exit,
        exit_code: args.exit_code,
        session: SessionFacts {
            target: meta.target.clone(),
            ..SessionFacts::default()
        },
        prompts: match &preset {
            Some(p) => Some(
                crate::session::PromptMatcher::new(&p.prompt)
                    .context("the preset's prompt regexes")?,
            ),
            None => None,
        },
    };
    println!(
        "replaying {} ({}x{}, {} events, {:.3} s, preset {}) through `{id}` (API {}), timeout {} ms",
        args.cast.display(),
        cast.header.width,
        cast.header.height,
        cast.events.len(),
        cast.duration(),
        preset_name.as_deref().unwrap_or("none"),
        manifest.api,
        opts.timeout_ms
    );
    let started = Instant::now();
    let result = replay(&cast, &mut plugin, &opts);
    let took = started.elapsed();
    let mut last_detection = None;
    for step in &result.steps {
        if let StepKind::Detect { detection, .. } = &step.kind {
            let now = detection.as_ref().map(|d| (d.kind, d.prompt.clone()));
            if !args.all && now == last_detection {
                continue;
            }
            last_detection = now;
        }
        println!("{}", describe(step));
    }
    println!(
        "{} output chunks, {} inputs replayed in {:.1} ms",
        result.outputs,
        result.inputs,
        took.as_secs_f64() * 1000.0
    );
    let Some(expectations) = expectations else {
        return Ok(true);
    };
    let mismatches = expectations.check(&result);
    for m in &mismatches {
        println!("MISMATCH {m}");
    }
    println!(
        "{} of {} expectations met",
        expectations.items.len() - mismatches.len(),
        expectations.items.len()
    );
    Ok(mismatches.is_empty())
}

fn kind_name(kind: PromptKind) -> &'static str {
    match kind {
        PromptKind::Ready => "ready",
        PromptKind::Continuation => "continuation",
        PromptKind::Busy => "busy",
        PromptKind::AwaitingInput => "awaiting-input",
    }
}

/// One line: time, what, the answer, the state after it.
fn describe(step: &Step) -> String {
    let (what, answer) = match &step.kind {
        StepKind::Detect { chunk, detection } => (
            format!("output #{chunk}"),
            match detection {
                Some(d) => format!("detect-prompt → {} {:?}", kind_name(d.kind), d.prompt),
                None => "detect-prompt → no opinion".to_string(),
            },
        ),
        StepKind::Input { index, text } => (format!("input {index}"), format!("{text:?}")),
        StepKind::Resize { cols, rows } => ("resize".to_string(), format!("{cols}x{rows}")),
        StepKind::Hook { hook, decision } => (
            (*hook).to_string(),
            match decision {
                Some(d) => format!("→ {}", d.label()),
                None => "→ no opinion".to_string(),
            },
        ),
        StepKind::Disabled { error } => ("plugin disabled".to_string(), error.clone()),
    };
    format!(
        "{:>10.3}s  {what:<18} {answer}   [{}]",
        step.time, step.state
    )
}
