//! Sessions that outlive the client (DESIGN decision 14): `--persist` makes
//! the stdio process a thin *front* that splices bytes to a per-user
//! *daemon* owning every session. The daemon serves a whole MCP server per
//! front on a private Unix socket, all sharing one session manager, so
//! elicitation, sampling and progress reach the front that made the call.
//!
//! - [`socket`]: where the socket lives, its modes, the handshake line.
//! - [`front`]: connect (starting the daemon if none runs) and splice.
//! - [`server`]: the daemon's accept loop and its connections.
//! - [`lifetimes`]: which front uses which session; `--keep-for`; idle exit.
//! - [`control`]: `repl-mcp daemon status` and `daemon stop`.

mod control;
mod front;
mod lifetimes;
mod server;
mod socket;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::cli::ServeArgs;

pub use front::run_front;

/// What can go wrong between a front (or `daemon status`/`stop`) and the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("no directory for the daemon's socket: set XDG_RUNTIME_DIR, XDG_STATE_HOME or HOME")]
    NoDir,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} belongs to uid {owner}, not to this user (uid {me}); refusing to use it")]
    NotOurs { path: PathBuf, owner: u32, me: u32 },
    #[error(
        "the running repl-mcp daemon is version {daemon}, this binary is version {ours}; they \
         do not speak to each other. `repl-mcp daemon stop` ends the old daemon and its \
         sessions; the next client start then starts version {ours}"
    )]
    VersionMismatch { daemon: String, ours: String },
    #[error("the daemon refused: {0}")]
    Refused(String),
    #[error("the daemon's socket {path} did not answer the handshake: {reason}")]
    Handshake { path: PathBuf, reason: String },
    #[error("no repl-mcp daemon is running (socket {0})")]
    NotRunning(PathBuf),
    #[error("the daemon did not start within {seconds} s: {detail} (log: {log})")]
    StartFailed {
        seconds: u64,
        detail: String,
        log: PathBuf,
    },
}

impl DaemonError {
    fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        DaemonError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DaemonArgs {
    #[command(subcommand)]
    pub action: Option<DaemonAction>,
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Exit after this long with no sessions and no fronts.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub idle_exit: Duration,
}

#[derive(Debug, Subcommand)]
pub enum DaemonAction {
    /// Show the running daemon: sessions, fronts, uptime, version.
    Status,
    /// End every session and the daemon.
    Stop,
}

/// `repl-mcp daemon [status|stop]`; the exit code.
pub fn run(args: DaemonArgs) -> i32 {
    match args.action {
        Some(DaemonAction::Status) => control::status(),
        Some(DaemonAction::Stop) => control::stop(),
        None => match server::run(args.serve, args.idle_exit) {
            Ok(()) => 0,
            Err(e) => {
                tracing::error!("daemon: {e:#}");
                eprintln!("repl-mcp daemon: {e:#}");
                1
            }
        },
    }
}

/// The version spoken in the handshake. `REPL_MCP_TEST_VERSION` overrides
/// it, so tests can play a front or daemon of another version.
pub fn version() -> String {
    match std::env::var("REPL_MCP_TEST_VERSION") {
        Ok(v) if !v.is_empty() => v,
        _ => env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// `REPL_MCP_PERSIST` set to 1, true, yes or on.
pub fn persist_from_env() -> bool {
    std::env::var("REPL_MCP_PERSIST").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// `90`, `90s`, `30m`, `2h`, `1d`, `500ms`, `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 90s, 30m, 2h, 0)"))?;
    let secs = |k: u64| {
        n.checked_mul(k)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{text:?} is too long"))
    };
    match unit.trim() {
        "" | "s" => secs(1),
        "ms" => Ok(Duration::from_millis(n)),
        "m" | "min" => secs(60),
        "h" => secs(3600),
        "d" => secs(86_400),
        other => Err(format!(
            "{text:?}: unknown unit {other:?} (use ms, s, m, h or d)"
        )),
    }
}

/// `keepFor` in `create_session`: a duration text or a number of seconds.
pub fn deserialize_keep_for<'de, D>(d: D) -> Result<Option<Duration>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    use serde::de::Error;
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e12)
            .map(|s| Some(Duration::from_secs_f64(s)))
            .ok_or_else(|| D::Error::custom("keepFor: a number of seconds, 0 or more")),
        Some(serde_json::Value::String(s)) => parse_duration(&s)
            .map(Some)
            .map_err(|e| D::Error::custom(format!("keepFor: {e}"))),
        Some(_) => Err(D::Error::custom(
            "keepFor: a duration such as \"2h\" or a number of seconds",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }
}
