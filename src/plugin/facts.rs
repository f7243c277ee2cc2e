//! What a plugin is told about its session besides the screen (WIT 0.2's
//! `session-facts`). A plugin-facing copy of the kernel's facts, so the
//! plugin host does not depend on the session layer: the session fills
//! these in; everything defaults to "unknown".

/// The program that owns the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginForeground {
    pub pid: i32,
    pub name: String,
}

/// What the kernel says about the terminal; `None` is "unknown".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginKernelFacts {
    /// The line discipline echoes typed characters (off for a password).
    pub echo: Option<bool>,
    /// Canonical (line-at-a-time) mode.
    pub canonical: Option<bool>,
    pub foreground: Option<PluginForeground>,
    /// The foreground program is blocked reading the terminal.
    pub reading_terminal: Option<bool>,
}

/// Facts about the session a plugin receives with every call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFacts {
    pub kernel: PluginKernelFacts,
    /// Where the session runs (`docker`, `ssh`, …); `None` when local.
    pub target: Option<String>,
    /// The target's parameters, in order.
    pub parameters: Vec<(String, String)>,
    /// Milliseconds since the last input (or since start-up when nothing
    /// was typed yet); `None` when unknown.
    pub since_input_ms: Option<u64>,
}

impl SessionFacts {
    /// Everything unknown: what a caller that knows nothing passes.
    pub const UNKNOWN: SessionFacts = SessionFacts {
        kernel: PluginKernelFacts {
            echo: None,
            canonical: None,
            foreground: None,
            reading_terminal: None,
        },
        target: None,
        parameters: Vec::new(),
        since_input_ms: None,
    };
}
