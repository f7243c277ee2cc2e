//! Starting and ending sessions, and the presets they start from.

use std::sync::Arc;

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use serde_json::{Map, json};

use super::{fail, ok, ok_or_fail};
use crate::mcp::bound::head_tail;
use crate::mcp::gate::CallGate;
use crate::mcp::params::{CreateSessionParams, DebugParams, SessionIdParams};
use crate::mcp::results::{
    ConfigurationEntry, CreateSessionResult, Failure, ListConfigurationsResult, PolicyNote,
    Recovery, ReloadPresetsResult, SimpleResult, recovery_context,
};
use crate::mcp::schema;
use crate::mcp::server::ReplServer;
use crate::policy::Decision;
use crate::session::CreateRequest;

#[tool_router(router = lifecycle_router, vis = "pub(super)")]
impl ReplServer {
    #[tool(
        description = "Start a REPL or shell on a real terminal from a preset or customConfig; waits for the first prompt. Show the user the webUrl (live view).",
        input_schema = schema::input::<CreateSessionParams>(),
        output_schema = schema::output::<CreateSessionResult>(),
        annotations(title = "Create REPL session", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn create_session(
        &self,
        Parameters(p): Parameters<CreateSessionParams>,
        Extension(gate): Extension<Arc<CallGate>>,
    ) -> Result<CallToolResult, McpError> {
        let verdict = gate.guard().check_create(&p, self.manager.count());
        if !verdict.is_allow() {
            gate.note_refusal(&verdict, Decision::from_verdict(&verdict));
            return fail(&CreateSessionResult {
                preset: p.preset_config,
                policy: PolicyNote {
                    rule: verdict.rule().map(str::to_string),
                    retry_after_seconds: None,
                },
                ..CreateSessionResult::failure(verdict.message())
            });
        }
        let req = CreateRequest {
            preset: p.preset_config.clone(),
            custom: p.custom_config.clone(),
            display_name: p.display_name.clone(),
            target: p.target.clone(),
            parameters: p.parameters.clone().unwrap_or_default(),
            record: p.record.unwrap_or(false),
        };
        let created = match self.manager.create(req).await {
            Ok(c) => c,
            Err(e) => {
                return fail(&CreateSessionResult {
                    preset: p.preset_config,
                    ..CreateSessionResult::failure(e.to_string())
                });
            }
        };
        let session = &created.session;
        if let Some(uses) = &self.uses {
            uses.created(session.id(), p.keep_for);
        }
        let urls = self.web.as_ref().and_then(|w| w.register(session.id()));
        let (startup_output, _) = head_tail(&created.startup.output, 4000, session.id());
        let mut r = CreateSessionResult {
            success: created.ready,
            session_id: Some(session.id().to_string()),
            config: Some(session.info.display_name.clone()),
            web_url: urls.as_ref().map(|u| u.interactive.clone()),
            web_url_read_only: urls.map(|u| u.read_only),
            cast_path: self
                .manager
                .cast_path(session.id())
                .map(|p| p.display().to_string()),
            preset: Some(session.info.preset.clone()),
            state: Some(created.startup.state.as_str().to_string()),
            startup_output: Some(startup_output),
            startup_time_ms: Some(
                u64::try_from(created.startup.elapsed.as_millis()).unwrap_or(u64::MAX),
            ),
            error: created.error.clone(),
            ..Default::default()
        };
        if let Some(n) = created.startup.restarted {
            r.startup_output = Some(format!(
                "{}\n[restarted {n} time(s) during start-up]",
                r.startup_output.clone().unwrap_or_default()
            ));
        }
        if !created.ready {
            let alive = !created.startup.state.is_terminal();
            r.recovery = Recovery {
                question: Some(if alive {
                    "The session started but its prompt was not recognised. Is it ready (give the prompt with set_session_ready), should it wait longer, or has it failed?".into()
                } else {
                    "The REPL ended during start-up. Check the program and its arguments.".into()
                }),
                question_type: Some(
                    if alive {
                        "session_timeout"
                    } else {
                        "startup_failure"
                    }
                    .into(),
                ),
                can_continue: Some(alive),
                context: Some(recovery_context(session, &created.startup)),
            };
            if let Some(q) = &created.startup.question {
                r.recovery.question = Some(q.text.clone());
                r.recovery.question_type = Some(q.kind.clone());
            }
        }
        if p.debug.unwrap_or(false) || !created.ready {
            r.debug_logs = Some(session.log_lines());
        }
        ok_or_fail(&r, !created.ready)
    }

    #[tool(
        description = "End a session and every process it started.",
        input_schema = schema::input::<SessionIdParams>(),
        output_schema = schema::output::<SimpleResult>(),
        annotations(title = "Destroy session", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = false)
    )]
    async fn destroy_repl_session(
        &self,
        Parameters(p): Parameters<SessionIdParams>,
    ) -> Result<CallToolResult, McpError> {
        match self.manager.destroy(&p.session_id).await {
            Ok(()) => {
                if let Some(w) = &self.web {
                    w.forget(&p.session_id);
                }
                ok(&SimpleResult {
                    success: true,
                    message: Some(format!("Session {} destroyed successfully", p.session_id)),
                    ..Default::default()
                })
            }
            Err(e) => fail(&SimpleResult {
                message: Some(format!("Session {} not found", p.session_id)),
                ..SimpleResult::failure(e.to_string())
            }),
        }
    }

    #[tool(
        description = "Presets and targets (where a preset runs): their source, whether installed, parameters.",
        input_schema = schema::input::<DebugParams>(),
        output_schema = schema::output::<ListConfigurationsResult>(),
        annotations(title = "List configurations", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_repl_configurations(
        &self,
        Parameters(_p): Parameters<DebugParams>,
    ) -> Result<CallToolResult, McpError> {
        let presets = self.manager.presets();
        let name_of = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
        let configurations = presets
            .all()
            .map(|l| ConfigurationEntry {
                name: l.preset.name.clone(),
                display_name: l.preset.display_name().to_string(),
                source: name_of(json!(l.source)),
                origin: l.origin.clone(),
                overrides: l.overrides.iter().map(|s| name_of(json!(s))).collect(),
                available: l
                    .preset
                    .required_programs()
                    .iter()
                    .all(|p| crate::session::pty::find_program(p, None).is_some()),
                config: as_object(&l.preset),
                parameters: l.preset.parameters.clone(),
            })
            .collect();
        let targets = self.manager.targets();
        let target_entries = targets
            .all()
            .map(|l| ConfigurationEntry {
                name: l.target.name.clone(),
                display_name: l.target.display_name().to_string(),
                source: name_of(json!(l.source)),
                origin: l.origin.clone(),
                overrides: l.overrides.iter().map(|s| name_of(json!(s))).collect(),
                available: l
                    .target
                    .program()
                    .is_some_and(|p| crate::session::pty::find_program(p, None).is_some()),
                config: as_object(&l.target),
                parameters: l.target.parameters.clone(),
            })
            .collect();
        let errors = presets.errors().iter().chain(targets.errors());
        ok(&ListConfigurationsResult {
            success: true,
            configurations,
            targets: target_entries,
            errors: errors.map(ToString::to_string).collect(),
            ..Default::default()
        })
    }

    #[tool(
        description = "Re-read presets and targets from disk (e.g. after `repl-mcp preset install`); broken files are listed in errors.",
        output_schema = schema::output::<ReloadPresetsResult>(),
        annotations(title = "Reload presets", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn reload_presets(&self) -> Result<CallToolResult, McpError> {
        let manager = Arc::clone(&self.manager);
        let errors = tokio::task::spawn_blocking(move || manager.reload_presets())
            .await
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        ok(&ReloadPresetsResult {
            success: true,
            presets: self.manager.presets().names(),
            errors,
            ..Default::default()
        })
    }
}

/// A definition as the JSON object shown in `config`.
fn as_object<T: serde::Serialize>(value: &T) -> Map<String, serde_json::Value> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => Map::new(),
    }
}
