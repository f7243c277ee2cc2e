//! The world a `--persist` test runs in: its own runtime dir and home,
//! fronts as MCP clients, and looks at processes through `/proc`.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Client, bin, call, scratch};
use rmcp::model::{
    ClientCapabilities, ClientConfig as ClientInfo, ElicitRequestParams, ElicitResult,
    ElicitationAction, Implementation, ProtocolVersion,
};
use rmcp::service::RequestContext;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::json;

/// A private world for one test: its own runtime dir (the daemon's socket)
/// and home. Dropping it stops the daemon.
pub struct World {
    pub root: PathBuf,
}

impl World {
    pub fn new(name: &str) -> Self {
        let root = scratch(name);
        std::fs::create_dir_all(root.join("run")).expect("run dir");
        std::fs::create_dir_all(root.join("home")).expect("home dir");
        Self { root }
    }

    pub fn dir(&self) -> PathBuf {
        self.root.join("run/repl-mcp")
    }

    pub fn envs(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("XDG_RUNTIME_DIR", self.root.join("run")),
            ("HOME", self.root.join("home")),
            ("XDG_CONFIG_HOME", self.root.join("home/.config")),
            ("XDG_STATE_HOME", self.root.join("home/.local/state")),
            ("XDG_CACHE_HOME", self.root.join("home/.cache")),
        ]
    }

    /// A `repl-mcp --persist` front's process, for an MCP client.
    pub fn transport(&self, extra: &[&str]) -> TokioChildProcess {
        let envs = self.envs();
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        if !args.iter().any(|a| a.starts_with("--web")) {
            args.push("--no-web-ui".into());
        }
        TokioChildProcess::new(tokio::process::Command::new(bin()).configure(|cmd| {
            cmd.arg("--persist").args(&args);
            cmd.envs(envs.iter().map(|(k, v)| (k, v)));
            cmd.env("REPL_MCP_LOG", "warn");
            cmd.env_remove("REPL_MCP_TEST_VERSION");
        }))
        .expect("spawn front")
    }

    /// A `repl-mcp --persist` front as an MCP client sees it.
    pub async fn front(&self, extra: &[&str]) -> Front {
        let transport = self.transport(extra);
        let pid = transport.id().expect("front pid");
        let info = ClientInfo::new(
            ClientCapabilities::default(),
            Implementation::new("repl-mcp-persist-tests", "0"),
        );
        let client = info.serve(transport).await.expect("MCP initialize");
        Front { client, pid }
    }

    /// `repl-mcp <args>` in this world: (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> (i32, String, String) {
        let out = Command::new(bin())
            .args(args)
            .envs(self.envs())
            .envs(extra_env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run repl-mcp");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn daemon_pid(&self) -> i32 {
        let text = std::fs::read_to_string(self.dir().join("daemon.pid")).expect("daemon.pid");
        text.trim().parse().expect("a pid")
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.run(&["daemon", "stop"], &[]);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub struct Front {
    pub client: Client,
    pub pid: u32,
}

impl Front {
    pub fn kill9(&self) {
        kill9(self.pid as i32);
    }
}

pub fn kill9(pid: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// A live process (not a zombie).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s[s.rfind(')')? + 1..].trim_start().to_string();
            Some(!rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

pub async fn session_sid(c: &Client, id: &str) -> i32 {
    let (d, _) = call(c, "get_session_details", json!({ "sessionId": id })).await;
    d["session"]["pid"].as_i64().expect("pid") as i32
}

pub async fn listed(c: &Client) -> Vec<String> {
    let (r, _) = call(c, "list_repl_sessions", json!({})).await;
    r["sessions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Processes whose parent is `pid`.
pub fn children(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = &s[s.rfind(')')? + 1..];
                    rest.split_whitespace().nth(1)?.parse::<i32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

pub fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// A client whose person answers every elicitation with `answer`.
#[derive(Clone)]
pub struct Approver {
    pub answer: bool,
}

impl ClientHandler for Approver {
    async fn create_elicitation(
        &self,
        _request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, rmcp::ErrorData> {
        Ok(ElicitResult::new(ElicitationAction::Accept)
            .with_content(json!({"approve": self.answer})))
    }

    fn get_info(&self) -> ClientInfo {
        let mut caps = ClientCapabilities::default();
        caps.elicitation = Some(Default::default());
        ClientInfo::new(caps, Implementation::new("approver", "0"))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }
}
