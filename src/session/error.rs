use super::SessionState;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session `{0}` not found (list_repl_sessions shows the live ones)")]
    UnknownSession(String),
    #[error("unknown preset `{name}`; known presets: {known}")]
    UnknownPreset { name: String, known: String },
    #[error("program `{program}` not found in PATH (needed by {what}); install it or fix PATH")]
    ProgramMissing { program: String, what: String },
    #[error("starting directory `{0}` does not exist or is not a directory")]
    MissingDirectory(String),
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("session `{id}` is {state}{reason}; it accepts no more input (create a new session)", state = state.as_str(), reason = reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    NotRunning {
        id: String,
        state: SessionState,
        reason: Option<String>,
    },
    #[error("unknown signal `{0}`; use SIGINT, SIGTSTP, SIGQUIT, SIGTERM, SIGHUP or SIGKILL")]
    UnknownSignal(String),
    #[error("pseudo-terminal error: {0}")]
    Pty(String),
    #[error(transparent)]
    Input(#[from] super::submit::SubmitError),
    #[error("I/O error talking to the session: {0}")]
    Io(#[from] std::io::Error),
}
