//! The policy engine: which tool calls are allowed, denied, rate-limited or
//! need a person's approval; which sessions may be started; which input is
//! refused; and the audit log of every call.
//!
//! Pure Rust, no MCP types. The MCP layer calls, for every tool call:
//!
//! 1. [`Policy::check_call`] before anything else (tool action + rate limit);
//! 2. in `create_session`, [`Policy::check_create`];
//! 3. in `send_input_to_session` / `execute_in_session`,
//!    [`Policy::check_input`] with the session's [`PendingLine`];
//! 4. after the call, [`AuditLog::record`].
//!
//! The file format and the defaults are described in `docs/policy.md`.

mod audit;
mod config;
mod error;
mod input;
mod paths;
mod rate;
mod rules;
mod summary;
mod targets;
mod time;
mod verdict;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

pub use audit::{AuditConfig, AuditEntry, AuditLog, Decision};
pub use config::{Action, DEFAULT_POLICY_TOML, SamplingMode};
pub use error::PolicyError;
pub use input::{MAX_PENDING_BYTES, PendingLine};
pub use paths::{default_audit_path, default_policy_path};
pub use rate::RateLimit;
pub use summary::{MAX_SUMMARY_BYTES, summarize_arguments};
pub use time::rfc3339;
pub use verdict::Verdict;

use config::RawPolicy;
pub use rules::SamplingPolicy;
use rules::{Pattern, Rules, Sources, ToolRule};

/// Facts about one tool call, for [`Policy::check_call`].
#[derive(Debug, Clone, Copy)]
pub struct CallFacts<'a> {
    /// The MCP connection (client) the call came on; rate limits are per connection.
    pub connection_id: u64,
    /// The tool's name.
    pub tool: &'a str,
    /// The session the call concerns, if any (shown in approval prompts).
    pub session_id: Option<&'a str>,
    /// The call's arguments, if any (a bounded summary goes in approval prompts).
    pub arguments: Option<&'a Value>,
    /// When the call arrived.
    pub now: Instant,
}

impl<'a> CallFacts<'a> {
    /// Facts for a call to `tool` on `connection_id`, arriving now.
    pub fn new(connection_id: u64, tool: &'a str) -> CallFacts<'a> {
        CallFacts {
            connection_id,
            tool,
            session_id: None,
            arguments: None,
            now: Instant::now(),
        }
    }

    /// With the session the call concerns.
    pub fn session(mut self, session_id: &'a str) -> CallFacts<'a> {
        self.session_id = Some(session_id);
        self
    }

    /// With the call's arguments.
    pub fn arguments(mut self, arguments: &'a Value) -> CallFacts<'a> {
        self.arguments = Some(arguments);
        self
    }

    /// With an explicit arrival time (tests, replay).
    pub fn at(mut self, now: Instant) -> CallFacts<'a> {
        self.now = now;
        self
    }
}

/// Where a policy came from: decides what "edit the policy" means in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// No file: the built-in defaults.
    BuiltIn,
    /// A policy file.
    File(PathBuf),
    /// Text from somewhere else, with a name for it.
    Text(String),
}

/// A loaded policy. `Send + Sync`: share it behind an `Arc`; the only mutable
/// state (rate-limit windows) is behind a mutex held for microseconds.
#[derive(Debug)]
pub struct Policy {
    source: PolicySource,
    rules: Rules,
    targets: targets::TargetRules,
    limiter: rate::RateLimiter,
}

impl Policy {
    /// Load the policy file at `path` (over the built-in defaults).
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let src = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::build(
            &src,
            &path.display().to_string(),
            Some(path),
            PolicySource::File(path.to_path_buf()),
        )
    }

    /// Load [`default_policy_path`] if that file exists, else the built-in
    /// defaults. A file that exists but is invalid or unreadable is an error.
    pub fn load_default() -> Result<Policy, PolicyError> {
        let Some(path) = default_policy_path() else {
            return Ok(Policy::builtin());
        };
        match std::fs::read_to_string(&path) {
            Ok(src) => Policy::build(
                &src,
                &path.display().to_string(),
                Some(&path),
                PolicySource::File(path.clone()),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Policy::builtin()),
            Err(source) => Err(PolicyError::Read { path, source }),
        }
    }

    /// Parse policy text (over the built-in defaults); `origin` names it in errors.
    /// Relative paths in it are relative to the current directory.
    pub fn from_toml_str(src: &str, origin: &str) -> Result<Policy, PolicyError> {
        Policy::build(src, origin, None, PolicySource::Text(origin.to_string()))
    }

    /// The built-in defaults alone.
    pub fn builtin() -> Policy {
        match Policy::build("", "built-in defaults", None, PolicySource::BuiltIn) {
            Ok(policy) => policy,
            // The built-in text is tested to be valid; never reached.
            Err(e) => unreachable!("built-in policy is invalid: {e}"),
        }
    }

    fn build(
        src: &str,
        origin: &str,
        file: Option<&Path>,
        source: PolicySource,
    ) -> Result<Policy, PolicyError> {
        let builtin: RawPolicy = toml::from_str(DEFAULT_POLICY_TOML)
            .map_err(|e| error::from_toml_error(DEFAULT_POLICY_TOML, "built-in defaults", &e))?;
        let user: RawPolicy =
            toml::from_str(src).map_err(|e| error::from_toml_error(src, origin, &e))?;
        let targets = targets::compile(&user.targets, &builtin.targets, src, origin)?;
        let merged = config::merge(user, builtin);
        let rules = rules::compile(
            merged,
            &Sources {
                user_src: src,
                user_origin: origin,
                builtin_src: DEFAULT_POLICY_TOML,
                policy_file: file,
            },
        )?;
        Ok(Policy {
            source,
            rules,
            targets,
            limiter: rate::RateLimiter::default(),
        })
    }

    /// Where this policy came from.
    pub fn source(&self) -> &PolicySource {
        &self.source
    }

    /// The `[audit]` settings, for [`AuditLog::open`].
    pub fn audit_config(&self) -> &AuditConfig {
        &self.rules.audit
    }

    /// The `[sampling]` table: may strategy questions go to the client's model?
    pub fn sampling(&self) -> SamplingPolicy {
        self.rules.sampling
    }

    /// `[sessions] max_concurrent` (0 = no limit).
    pub fn max_concurrent_sessions(&self) -> usize {
        self.rules.max_concurrent
    }

    /// The action that applies to `tool` (its own table, else `[default]`).
    pub fn action_for(&self, tool: &str) -> Action {
        self.rule_for(tool).action
    }

    /// Fail if the user's file has a `[tools.NAME]` table for a tool the
    /// server does not have (a typo would otherwise silently not apply).
    /// Call once at start-up with the server's tool names.
    pub fn check_tool_names(&self, known: &[&str]) -> Result<(), PolicyError> {
        for (name, loc) in &self.rules.user_tool_sites {
            if !known.contains(&name.as_str()) {
                let origin = match &self.source {
                    PolicySource::File(p) => p.display().to_string(),
                    PolicySource::Text(o) => o.clone(),
                    PolicySource::BuiltIn => "built-in defaults".to_string(),
                };
                return Err(PolicyError::Invalid {
                    origin,
                    line: loc.line,
                    column: loc.column,
                    key: format!("tools.{name}"),
                    message: format!(
                        "there is no tool named `{name}`; the tools are: {}",
                        known.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// Drop the rate-limit state of a connection (call when it closes).
    pub fn forget_connection(&self, connection_id: u64) {
        self.limiter.forget_connection(connection_id);
    }

    /// Connections that currently hold rate-limit state (diagnostics, tests).
    pub fn tracked_connections(&self) -> usize {
        self.limiter.tracked_connections()
    }

    fn rule_for(&self, tool: &str) -> &ToolRule {
        self.rules
            .tools
            .get(tool)
            .unwrap_or(&self.rules.default_rule)
    }

    /// The tool's denial, if the policy denies it: what `check_call` says
    /// first, and all that applies to a person typing in the web view (a
    /// person at the keyboard is the approval, and their keys do not spend
    /// the agent's rate limit).
    pub fn denial(&self, tool: &str) -> Option<Verdict> {
        let rule = self.rule_for(tool);
        if rule.action != Action::Deny {
            return None;
        }
        let table = format!("[tools.{tool}]");
        let reason = rule
            .reason
            .clone()
            .unwrap_or_else(|| format!("the policy denies the tool `{tool}`"));
        let fix = if rule.key != "default" {
            format!(
                "To allow it, set `action = \"allow\"` in the `{table}` table of {}.",
                self.where_to_edit()
            )
        } else {
            format!(
                "To allow it, add a `{table}` table with `action = \"allow\"` to {} \
                 (`[default]` applies to every tool without a table of its own).",
                self.where_to_edit()
            )
        };
        Some(Verdict::Deny {
            rule: rule.key.clone(),
            reason,
            fix,
        })
    }

    /// Tool-level check: the tool's action, then its rate limit (a call over
    /// the limit is not counted), then approval. Call before every tool call.
    pub fn check_call(&self, call: &CallFacts<'_>) -> Verdict {
        if let Some(denied) = self.denial(call.tool) {
            return denied;
        }
        let rule = self.rule_for(call.tool);
        let named = rule.key != "default";
        let table = format!("[tools.{}]", call.tool);
        if let Some(limit) = rule.rate
            && let Err(retry_after) =
                self.limiter
                    .try_acquire(call.connection_id, call.tool, limit, call.now)
        {
            let fix = if named {
                format!(
                    "To raise the limit (or remove it: no `rate_limit` key, no limit), \
                     change `rate_limit` in the `{table}` table of {}.",
                    self.where_to_edit()
                )
            } else {
                format!(
                    "To raise the limit, add a `{table}` table with a larger `rate_limit` \
                         (or none) to {}.",
                    self.where_to_edit()
                )
            };
            return Verdict::RateLimited {
                rule: format!("{}.rate_limit", rule.key),
                reason: format!(
                    "at most {} call{} to `{}` per {} s on this connection",
                    limit.max,
                    if limit.max == 1 { "" } else { "s" },
                    call.tool,
                    limit.window.as_secs()
                ),
                retry_after,
                fix,
            };
        }
        if rule.action == Action::RequireApproval {
            let mut prompt = format!("Allow the AI agent to call the tool `{}`", call.tool);
            if let Some(session) = call.session_id {
                prompt.push_str(&format!(
                    " on session `{}`",
                    summary::truncate_str(session, 80)
                ));
            }
            if let Some(args) = call.arguments {
                let summary = summarize_arguments(args, 600);
                prompt.push_str(&format!(" with arguments {summary}"));
            }
            prompt.push('?');
            if let Some(reason) = &rule.reason {
                prompt.push_str(&format!(" ({reason})"));
            }
            let fix = format!(
                "To allow it without asking, set `action = \"allow\"` in the `{table}` table of {}.",
                self.where_to_edit()
            );
            return Verdict::RequireApproval {
                rule: rule.key.clone(),
                prompt,
                fix,
            };
        }
        Verdict::Allow
    }

    /// Check starting a session: the preset (if any), every `customConfig`
    /// command and shell (if any; commands are also checked against the input
    /// deny patterns, since they are typed into the program), and the number
    /// of sessions already live.
    pub fn check_create(
        &self,
        preset: Option<&str>,
        custom_commands: &[String],
        shell: Option<&str>,
        live_sessions: usize,
    ) -> Verdict {
        let r = &self.rules;
        if let Some(name) = preset {
            if r.presets_deny.iter().any(|p| p == name || p == "*") {
                return Verdict::Deny {
                    rule: "presets.deny".into(),
                    reason: format!("the preset `{name}` may not be started"),
                    fix: format!(
                        "To allow it, remove \"{name}\" from `deny` in the `[presets]` table of {}.",
                        self.where_to_edit()
                    ),
                };
            }
            if !r.presets_allow.iter().any(|p| p == name || p == "*") {
                return Verdict::Deny {
                    rule: "presets.allow".into(),
                    reason: format!(
                        "the preset `{name}` is not in the list of presets that may be started ({})",
                        r.presets_allow.join(", ")
                    ),
                    fix: format!(
                        "To allow it, add \"{name}\" to `allow` in the `[presets]` table of {}.",
                        self.where_to_edit()
                    ),
                };
            }
        }
        let shell_item = shell.map(|s| ("shell", s));
        let items = custom_commands
            .iter()
            .map(|c| ("command", c.as_str()))
            .chain(shell_item);
        for (what, text) in items {
            if let Some(p) = r.custom_deny.iter().find(|p| p.regex.is_match(text)) {
                return Verdict::Deny {
                    rule: p.key.clone(),
                    reason: format!(
                        "the custom {what} `{}` matches the deny pattern `{}`",
                        summary::truncate_str(text, 120),
                        p.source
                    ),
                    fix: format!(
                        "To allow it, remove or narrow `{}` in the `[custom_commands]` table of {}.",
                        p.key,
                        self.where_to_edit()
                    ),
                };
            }
            if let Some(allow) = &r.custom_allow
                && !allow.iter().any(|p| p.regex.is_match(text))
            {
                return Verdict::Deny {
                    rule: "custom_commands.allow".into(),
                    reason: format!(
                        "the custom {what} `{}` matches none of the allowed patterns \
                             (each must match the whole text)",
                        summary::truncate_str(text, 120)
                    ),
                    fix: format!(
                        "To allow it, add a pattern matching it to `allow` in the \
                             `[custom_commands]` table of {}.",
                        self.where_to_edit()
                    ),
                };
            }
        }
        for command in custom_commands {
            if let Some(verdict) = self.match_input(&[command.as_str()], "custom command", None) {
                return verdict;
            }
        }
        if r.max_concurrent > 0 && live_sessions >= r.max_concurrent {
            return Verdict::Deny {
                rule: "sessions.max_concurrent".into(),
                reason: format!(
                    "{live_sessions} sessions are live and the policy allows at most {} at once",
                    r.max_concurrent
                ),
                fix: format!(
                    "Destroy a session that is no longer needed (destroy_session), or raise \
                     `max_concurrent` (0 = no limit) in the `[sessions]` table of {}.",
                    self.where_to_edit()
                ),
            };
        }
        Verdict::Allow
    }

    /// Check input about to be typed into a session. `pending_line` is the
    /// session's text typed since the last newline ([`PendingLine::as_str`]):
    /// the deny patterns are matched against the input itself, and against
    /// every line that the pending text plus this input make once the usual
    /// line-editing keys (backspace, ^U, ^W, ^A, arrows…) are applied.
    pub fn check_input(&self, pending_line: &str, input: &str) -> Verdict {
        if self.rules.input_deny.is_empty() {
            return Verdict::Allow;
        }
        let alone = candidate_lines(input);
        let alone_refs: Vec<&str> = alone.iter().map(String::as_str).collect();
        if let Some(v) = self.match_input(&alone_refs, "input", None) {
            return v;
        }
        if pending_line.is_empty() {
            return Verdict::Allow;
        }
        let lines = candidate_lines(&format!("{pending_line}{input}"));
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.match_input(&refs, "input", Some(pending_line))
            .unwrap_or(Verdict::Allow)
    }

    fn match_input(&self, lines: &[&str], what: &str, pending: Option<&str>) -> Option<Verdict> {
        let (pattern, found): (&Pattern, &str) = self.rules.input_deny.iter().find_map(|p| {
            lines
                .iter()
                .find_map(|line| p.regex.find(line).map(|m| (p, m.as_str())))
        })?;
        let mut reason = format!(
            "the {what} matches the deny pattern `{}` (matched `{}`)",
            summary::truncate_str(&pattern.source, 120),
            summary::truncate_str(found.trim(), 80)
        );
        if let Some(pending) = pending {
            reason.push_str(&format!(
                " once joined with the text already typed on this line (`{}`); \
                 send Ctrl-U (\\u0015) or Ctrl-C to clear that line first if it is unintended",
                summary::truncate_str(pending, 80)
            ));
        }
        if let Some(extra) = &self.rules.input_reason {
            reason.push_str(&format!(" — {extra}"));
        }
        Some(Verdict::Deny {
            rule: pattern.key.clone(),
            reason,
            fix: format!(
                "If this is intended, a person can remove or narrow `{}` in the `[input]` table of {}.",
                pattern.key,
                self.where_to_edit()
            ),
        })
    }

    /// "the policy file /x/policy.toml", or where to create one.
    fn where_to_edit(&self) -> String {
        match &self.source {
            PolicySource::File(p) => format!("the policy file {}", p.display()),
            PolicySource::Text(origin) => format!("the policy ({origin})"),
            PolicySource::BuiltIn => {
                let path = default_policy_path().map_or_else(
                    || "~/.config/repl-mcp/policy.toml".to_string(),
                    |p| p.display().to_string(),
                );
                format!(
                    "a policy file at {path}, which does not exist yet: the built-in defaults \
                     apply (--policy PATH names another file)"
                )
            }
        }
    }
}

/// The lines to match input deny patterns against: the raw lines, the lines
/// after line editing, and both again with backslash continuations joined.
fn candidate_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.split(['\n', '\r']).map(str::to_string).collect();
    lines.extend(input::edited_lines(text));
    if let Some(joined) = input::join_continuations(text) {
        lines.extend(joined.split(['\n', '\r']).map(str::to_string));
        lines.extend(input::edited_lines(&joined));
    }
    lines
}

#[cfg(test)]
mod tests;
