//! The set of live sessions, and how a preset or a custom configuration
//! becomes one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime};

use super::detect::PromptMatcher;
use super::plan::{CustomConfig, Plan, plan_from_custom, plan_from_preset, required_programs};
use super::pty::{SpawnSpec, find_program};
use super::reaper::Reaper;
use super::session::{Outcome, Respawn, Session, SessionParts};
use super::shell_integration;
use super::{SessionError, SessionInfo, SessionState};
use crate::preset::PresetDirs;
use crate::preset::{PresetRegistry, TargetRegistry};

#[derive(Debug, Clone)]
pub struct ManagerConfig {
    pub rows: u16,
    pub cols: u16,
    /// Output kept per session (a ring; older bytes are dropped).
    pub history_bytes: usize,
    pub preset_dirs: PresetDirs,
    /// Where user and project targets live (`targets/` beside `presets/`).
    pub target_dirs: PresetDirs,
    /// Start the `__reaper` watchdog (off in unit tests of the library).
    pub use_reaper: bool,
    /// Runs presets' strategy plugins; without it presets' regexes decide.
    pub plugins: Option<crate::plugin::PluginHost>,
    /// Which sessions are recorded, and where (`--record-dir`, `record`).
    pub recordings: Option<Arc<crate::cast::Recordings>>,
    /// Admits and records what sessions do on their own (a plugin's
    /// decisions); the server injects its policy here.
    pub gate: Arc<dyn super::gate::ActionGate>,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            rows: 43,
            cols: 132,
            history_bytes: 4 << 20,
            preset_dirs: PresetDirs::standard(),
            target_dirs: PresetDirs::standard_for("targets"),
            use_reaper: true,
            plugins: None,
            recordings: None,
            gate: Arc::new(super::gate::OpenGate),
        }
    }
}

/// Longest command timeout anywhere (a tool's `options.timeout`, a
/// `customConfig.timeout`): a day.
pub const MAX_TIMEOUT_MS: u64 = 24 * 3_600_000;

#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub preset: Option<String>,
    pub custom: Option<CustomConfig>,
    pub display_name: Option<String>,
    /// Run the preset through this target (ssh, docker, kubectl…).
    pub target: Option<String>,
    /// Values of the preset's and the target's parameters.
    pub parameters: BTreeMap<String, String>,
    /// Record this session even without `--record-dir`.
    pub record: bool,
}

pub struct CreateOutcome {
    pub session: Arc<Session>,
    /// The REPL reached its prompt and every setup step worked.
    pub ready: bool,
    pub error: Option<String>,
    pub startup: Outcome,
}

pub struct SessionManager {
    sessions: RwLock<BTreeMap<String, Arc<Session>>>,
    presets: RwLock<Arc<PresetRegistry>>,
    targets: RwLock<Arc<TargetRegistry>>,
    config: ManagerConfig,
    reaper: Option<Arc<Reaper>>,
    runtime_dir: PathBuf,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

impl SessionManager {
    /// Must be called inside a Tokio runtime (it watches SIGCHLD).
    pub fn new(config: ManagerConfig) -> Arc<Self> {
        let reaper = if config.use_reaper {
            Reaper::spawn()
                .map_err(|e| tracing::warn!(error = %e, "could not start the orphan reaper"))
                .ok()
                .map(Arc::new)
        } else {
            None
        };
        let presets = PresetRegistry::load(&config.preset_dirs);
        for e in presets.errors() {
            tracing::warn!("preset not loaded: {e}");
        }
        let targets = TargetRegistry::load(&config.target_dirs);
        for e in targets.errors() {
            tracing::warn!("target not loaded: {e}");
        }
        let runtime_dir = std::env::temp_dir().join(format!("repl-mcp-{}", std::process::id()));
        let manager = Arc::new(Self {
            sessions: RwLock::new(BTreeMap::new()),
            presets: RwLock::new(Arc::new(presets)),
            targets: RwLock::new(Arc::new(targets)),
            config,
            reaper,
            runtime_dir,
        });
        spawn_exit_watcher(Arc::downgrade(&manager));
        manager
    }

    pub fn presets(&self) -> Arc<PresetRegistry> {
        Arc::clone(&read(&self.presets))
    }

    pub fn targets(&self) -> Arc<TargetRegistry> {
        Arc::clone(&read(&self.targets))
    }

    /// Re-read presets and targets from disk; returns the errors of broken ones.
    pub fn reload_presets(&self) -> Vec<String> {
        let reg = PresetRegistry::load(&self.config.preset_dirs);
        let targets = TargetRegistry::load(&self.config.target_dirs);
        let errors = reg.errors().iter().chain(targets.errors());
        let errors = errors.map(ToString::to_string).collect();
        *write(&self.presets) = Arc::new(reg);
        *write(&self.targets) = Arc::new(targets);
        errors
    }

    pub fn get(&self, id: &str) -> Result<Arc<Session>, SessionError> {
        read(&self.sessions)
            .get(id)
            .cloned()
            .ok_or_else(|| SessionError::UnknownSession(id.to_string()))
    }

    pub fn list(&self) -> Vec<Arc<Session>> {
        read(&self.sessions).values().cloned().collect()
    }

    pub fn count(&self) -> usize {
        read(&self.sessions).len()
    }

    /// The transcript of session `id`, if it is recorded.
    pub fn cast_path(&self, id: &str) -> Option<PathBuf> {
        self.config.recordings.as_ref()?.path(id)
    }

    /// Start a session and wait for its first prompt (and its setup steps).
    pub async fn create(&self, req: CreateRequest) -> Result<CreateOutcome, SessionError> {
        let id = self.new_id();
        let plan = self.plan(&id, &req)?;
        let matcher = PromptMatcher::new(&plan.prompt)
            .map_err(|e| SessionError::InvalidConfig(format!("prompt regex: {e}")))?;
        let mut argv = plan.argv.clone();
        let mut env = plan.env.clone();
        if let Some(integration) = &plan.integration {
            let setup = shell_integration::prepare(integration, &self.runtime_dir.join(&id))?;
            argv.extend(setup.extra_args);
            env.extend(setup.env);
        }
        let spec = SpawnSpec {
            argv: argv.clone(),
            env,
            cwd: plan.cwd.clone(),
            rows: self.config.rows,
            cols: self.config.cols,
        };
        let respawn = Respawn {
            spec: spec.clone(),
            startup_commands: plan.startup_commands.clone(),
            setup: plan.setup.clone(),
            startup_timeout: Duration::from_millis(plan.startup_timeout_ms),
        };
        let pty = tokio::task::spawn_blocking(move || super::pty::spawn(&spec))
            .await
            .map_err(|e| SessionError::Pty(e.to_string()))??;
        let info = SessionInfo {
            id: id.clone(),
            preset: plan.preset_name.clone(),
            display_name: plan.display_name.clone(),
            kind: plan.kind.clone(),
            argv,
            cwd: plan.cwd.display().to_string(),
            env: plan.env.clone(),
            marker_mode: plan.marker_mode,
            timeout_ms: plan.timeout_ms,
            created_at: SystemTime::now(),
            config: plan.config.clone(),
            target: plan.remote.as_ref().map(|r| r.target.name.clone()),
            parameters: plan.parameters.clone(),
            input: plan.input,
            prompt_from_kernel: plan.prompt_from_kernel(),
        };
        let plugin = self.instantiate_strategy(&plan);
        let size = (self.config.cols, self.config.rows);
        let recordings = self.config.recordings.as_deref();
        let tap = super::tap::Tap::for_session(recordings, req.record, &info, size);
        let session = Session::start(SessionParts {
            info,
            plugin,
            respawn: Some(respawn.clone()),
            reaper: self.reaper.clone(),
            matcher,
            history_bytes: self.config.history_bytes,
            rows: self.config.rows,
            cols: self.config.cols,
            pty,
            tap,
            gate: Arc::clone(&self.config.gate),
        })?;
        write(&self.sessions).insert(id.clone(), Arc::clone(&session));
        tracing::info!(session = %id, preset = %plan.preset_name, pid = session.pid(), "session started");

        let (mut startup, mut error) = session
            .run_startup(
                0,
                &respawn.startup_commands,
                &respawn.setup,
                respawn.startup_timeout,
            )
            .await?;
        if error.is_some() && session.has_plugin() {
            // The strategy may restart the REPL or give up; whatever it
            // cannot settle becomes a question for the agent.
            startup = session
                .recover(startup, respawn.startup_timeout, true)
                .await;
            let settled =
                startup.state.is_prompt() && startup.question.is_none() && !startup.timed_out();
            if settled {
                error = None;
            } else if let Some(reason) = startup
                .failure
                .clone()
                .filter(|_| startup.state == SessionState::Failed)
            {
                error = Some(reason);
            }
        }
        if let Some(remote) = &plan.remote {
            // Say why the connection failed (host key, authentication…).
            error = error.map(|e| remote.explain(e, &startup.output));
        }
        Ok(CreateOutcome {
            ready: error.is_none(),
            error,
            startup,
            session,
        })
    }

    /// End a session and everything it started.
    pub async fn destroy(&self, id: &str) -> Result<(), SessionError> {
        let session = write(&self.sessions)
            .remove(id)
            .ok_or_else(|| SessionError::UnknownSession(id.to_string()))?;
        let dir = self.runtime_dir.join(id);
        let s = Arc::clone(&session);
        tokio::task::spawn_blocking(move || {
            s.terminate();
            let _ = std::fs::remove_dir_all(dir);
        })
        .await
        .map_err(|e| SessionError::Pty(e.to_string()))?;
        tracing::info!(session = %id, "session destroyed");
        Ok(())
    }

    /// End every session (server shutdown).
    pub fn shutdown(&self) {
        let sessions: Vec<_> = std::mem::take(&mut *write(&self.sessions))
            .into_values()
            .collect();
        let handles: Vec<_> = sessions
            .into_iter()
            .map(|s| std::thread::spawn(move || s.terminate()))
            .collect();
        for h in handles {
            let _ = h.join();
        }
        let _ = std::fs::remove_dir_all(&self.runtime_dir);
    }

    /// The preset's strategy plugin for one new session. The preset's
    /// prompt lists are passed as settings (a plugin such as `prompt-regex`
    /// reads them), under whatever the preset sets explicitly.
    fn instantiate_strategy(&self, plan: &Plan) -> Option<crate::plugin::PluginSession> {
        let strategy = plan.strategy.as_ref()?;
        let host = self.config.plugins.as_ref()?;
        let mut settings = std::collections::BTreeMap::new();
        for (key, list) in [
            ("ready", &plan.prompt.ready),
            ("continuation", &plan.prompt.continuation),
            ("awaiting_input", &plan.prompt.awaiting_input),
        ] {
            if !list.is_empty() {
                settings.insert(key.to_string(), list.join("\n"));
            }
        }
        if let Some(q) = &plan.prompt.pager_quit {
            settings.insert("quit_key".to_string(), q.clone());
        }
        settings.extend(strategy.settings.clone());
        match host.instantiate(&strategy.plugin, &settings) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(plugin = %strategy.plugin, "strategy plugin not used: {e}; the preset's regexes decide");
                None
            }
        }
    }

    fn new_id(&self) -> String {
        loop {
            let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
            if !read(&self.sessions).contains_key(&id) {
                return id;
            }
        }
    }

    fn plan(&self, id: &str, req: &CreateRequest) -> Result<Plan, SessionError> {
        let presets = self.presets();
        let mut plan = match (&req.preset, &req.custom) {
            (Some(name), None) => {
                let loaded = presets
                    .get(name)
                    .ok_or_else(|| SessionError::UnknownPreset {
                        name: name.clone(),
                        known: presets.names().join(", "),
                    })?;
                let targets = self.targets();
                let target = match &req.target {
                    Some(t) => Some(targets.find(t).map_err(SessionError::InvalidConfig)?),
                    None => None,
                };
                let placed = crate::preset::place(&loaded.preset, target, &req.parameters)
                    .map_err(SessionError::InvalidConfig)?;
                let mut plan = plan_from_preset(&placed.preset)?;
                plan.parameters = placed.values.into_iter().collect();
                plan.remote = placed.remote;
                plan
            }
            (None, Some(_)) if req.target.is_some() || !req.parameters.is_empty() => {
                return Err(SessionError::InvalidConfig(
                    "target and parameters work with presetConfig, not customConfig: write a preset for that REPL".into(),
                ));
            }
            (None, Some(custom)) => plan_from_custom(custom, &presets)?,
            (Some(_), Some(_)) => {
                return Err(SessionError::InvalidConfig(
                    "give either presetConfig or customConfig, not both".into(),
                ));
            }
            (None, None) => {
                return Err(SessionError::InvalidConfig(format!(
                    "give presetConfig (one of: {}) or customConfig",
                    presets.names().join(", ")
                )));
            }
        };
        if let Some(remote) = &plan.remote {
            let rc = plan
                .integration
                .take()
                .map(|i| shell_integration::remote(&i));
            let wrapped = remote
                .wrap(&plan.argv, &plan.env, rc.as_ref())
                .map_err(SessionError::InvalidConfig)?;
            plan.argv = wrapped.argv;
            plan.env = wrapped.env;
            plan.startup_timeout_ms += remote.target.startup_timeout_ms;
            plan.display_name = format!("{} · {}", plan.display_name, remote.label());
        }
        if let Some(name) = &req.display_name {
            plan.display_name = name.clone();
        }
        let path_var = plan
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str());
        for program in required_programs(&plan) {
            if find_program(&program, path_var).is_none() {
                return Err(SessionError::ProgramMissing {
                    program,
                    what: match &plan.remote {
                        Some(r) => format!("target `{}`, checked here", r.target.name),
                        None => format!("preset `{}`", plan.preset_name),
                    },
                });
            }
        }
        let mut env = vec![
            ("TERM".to_string(), "xterm-256color".to_string()),
            ("REPL_MCP".to_string(), "1".to_string()),
            ("REPL_MCP_SESSION".to_string(), id.to_string()),
        ];
        env.extend(super::locale::utf8_fallback(&plan.env, |k| {
            std::env::var(k).ok()
        }));
        env.append(&mut plan.env);
        plan.env = env;
        Ok(plan)
    }
}

/// Reap children as soon as they exit: SIGCHLD wakes this task, which asks
/// every live session whether its REPL is gone.
fn spawn_exit_watcher(manager: Weak<SessionManager>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut sigchld) = signal(SignalKind::child()) else {
        tracing::warn!("cannot watch SIGCHLD; exits are noticed when the PTY closes");
        return;
    };
    tokio::spawn(async move {
        while sigchld.recv().await.is_some() {
            let Some(m) = manager.upgrade() else { return };
            for s in m.list() {
                if !s.state().is_terminal() {
                    s.check_exit();
                }
            }
        }
    });
}
