//! `repl-mcp config <client>`: the snippet that adds this server to an MCP
//! client, and `--write` to merge it into the client's config file (keeping
//! every other entry and the key order, with a backup, written atomically).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};

/// Why a config file could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{path}: not strict JSON ({message}). It may contain comments or trailing commas, which \
         repl-mcp will not rewrite (that would lose them). Add the snippet above by hand."
    )]
    NotStrictJson { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Shape { path: PathBuf, message: String },
    #[error("{path}: invalid TOML: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// 1 for usage / content errors, 2 for I/O.
    pub fn exit_code(&self) -> i32 {
        match self {
            ConfigError::Io { .. } => 2,
            _ => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Client {
    ClaudeCode,
    ClaudeDesktop,
    Vscode,
    Cursor,
    Windsurf,
    Zed,
    Codex,
    Generic,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The MCP client to configure.
    #[arg(value_enum)]
    pub client: Client,
    /// Merge the snippet into the client's config file (a backup is written first).
    #[arg(long)]
    pub write: bool,
    /// Config file to write instead of the client's usual one.
    #[arg(long, value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// Server name in the client's config.
    #[arg(long, default_value = "repl-mcp")]
    pub name: String,
    /// Start the server with `--persist`: sessions live in a per-user daemon
    /// and survive client restarts.
    #[arg(long)]
    pub persist: bool,
}

/// The arguments the client passes to the server.
pub fn server_args(persist: bool) -> &'static [&'static str] {
    if persist { &["--persist"] } else { &[] }
}

/// How a client's config file is shaped.
enum Format {
    /// A JSON object; servers live under `key`; `stdio_type` adds `"type": "stdio"`.
    Json { key: &'static str, stdio_type: bool },
    /// Codex: TOML `[mcp_servers.<name>]`.
    CodexToml,
}

impl Client {
    fn format(self) -> Format {
        match self {
            Client::Vscode => Format::Json {
                key: "servers",
                stdio_type: true,
            },
            Client::Zed => Format::Json {
                key: "context_servers",
                stdio_type: false,
            },
            Client::Codex => Format::CodexToml,
            Client::ClaudeCode => Format::Json {
                key: "mcpServers",
                stdio_type: true,
            },
            Client::ClaudeDesktop | Client::Cursor | Client::Windsurf | Client::Generic => {
                Format::Json {
                    key: "mcpServers",
                    stdio_type: false,
                }
            }
        }
    }

    /// The file `--write` updates when no `--path` is given.
    pub fn default_path(self) -> Option<PathBuf> {
        let home = dirs::home_dir();
        let cwd = std::env::current_dir().ok();
        match self {
            // Claude Code's project-scoped config.
            Client::ClaudeCode => cwd.map(|d| d.join(".mcp.json")),
            Client::ClaudeDesktop => {
                if cfg!(target_os = "macos") {
                    home.map(|h| {
                        h.join("Library/Application Support/Claude/claude_desktop_config.json")
                    })
                } else {
                    xdg_config().map(|d| d.join("Claude/claude_desktop_config.json"))
                }
            }
            Client::Vscode => cwd.map(|d| d.join(".vscode/mcp.json")),
            Client::Cursor => home.map(|h| h.join(".cursor/mcp.json")),
            Client::Windsurf => home.map(|h| h.join(".codeium/windsurf/mcp_config.json")),
            Client::Zed => xdg_config().map(|d| d.join("zed/settings.json")),
            Client::Codex => match std::env::var_os("CODEX_HOME") {
                Some(d) if !d.is_empty() => Some(PathBuf::from(d).join("config.toml")),
                _ => home.map(|h| h.join(".codex/config.toml")),
            },
            Client::Generic => None,
        }
    }
}

fn xdg_config() -> Option<PathBuf> {
    match std::env::var_os("XDG_CONFIG_HOME") {
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => dirs::home_dir().map(|h| h.join(".config")),
    }
}

/// The running binary, absolute and with symlinks resolved.
pub fn current_binary() -> Result<PathBuf, ConfigError> {
    let exe = std::env::current_exe().map_err(|e| ConfigError::io(Path::new("current_exe"), e))?;
    exe.canonicalize().map_err(|e| ConfigError::io(&exe, e))
}

/// The server entry for JSON clients.
fn json_entry(client: Client, exe: &Path, args: &[&str]) -> Value {
    let command = exe.display().to_string();
    match client.format() {
        Format::Json {
            stdio_type: true, ..
        } => json!({ "type": "stdio", "command": command, "args": args }),
        _ => json!({ "command": command, "args": args }),
    }
}

/// What `config <client>` prints.
pub fn snippet(client: Client, name: &str, exe: &Path, args: &[&str]) -> String {
    match client.format() {
        _ if client == Client::ClaudeCode => {
            let mut line = format!(
                "claude mcp add {} -- {}",
                shell_quote(name),
                shell_quote(&exe.display().to_string())
            );
            for a in args {
                line.push(' ');
                line.push_str(&shell_quote(a));
            }
            line
        }
        Format::Json { key, .. } => {
            let mut servers = Map::new();
            servers.insert(name.to_string(), json_entry(client, exe, args));
            let mut root = Map::new();
            root.insert(key.to_string(), Value::Object(servers));
            serde_json::to_string_pretty(&Value::Object(root)).unwrap_or_default()
        }
        Format::CodexToml => {
            let mut doc = toml_edit::DocumentMut::new();
            insert_codex(&mut doc, name, exe, args);
            doc.to_string().trim_end().to_string()
        }
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Merge the server entry into JSON text; `None` when it is already there.
pub fn merge_json(
    path: &Path,
    existing: &str,
    key: &str,
    name: &str,
    entry: Value,
) -> Result<Option<String>, ConfigError> {
    let mut root: Value = if existing.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(existing).map_err(|e| ConfigError::NotStrictJson {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?
    };
    let Value::Object(obj) = &mut root else {
        return Err(ConfigError::Shape {
            path: path.to_path_buf(),
            message: "the top level is not a JSON object".into(),
        });
    };
    let servers = obj
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(servers) = servers else {
        return Err(ConfigError::Shape {
            path: path.to_path_buf(),
            message: format!("`{key}` is not a JSON object"),
        });
    };
    if servers.get(name) == Some(&entry) {
        return Ok(None);
    }
    servers.insert(name.to_string(), entry);
    let mut text = serde_json::to_string_pretty(&root).map_err(|e| ConfigError::Shape {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push('\n');
    Ok(Some(text))
}

fn toml_args(args: &[&str]) -> toml_edit::Array {
    args.iter().copied().collect()
}

fn insert_codex(doc: &mut toml_edit::DocumentMut, name: &str, exe: &Path, args: &[&str]) {
    let mut table = toml_edit::Table::new();
    table.insert("command", toml_edit::value(exe.display().to_string()));
    table.insert("args", toml_edit::value(toml_args(args)));
    let servers = doc.entry("mcp_servers").or_insert_with(|| {
        let mut t = toml_edit::Table::new();
        t.set_implicit(true);
        toml_edit::Item::Table(t)
    });
    if let Some(servers) = servers.as_table_like_mut() {
        match servers.get_mut(name).and_then(|i| i.as_table_like_mut()) {
            // Keep the user's other keys (env, timeouts…) of an existing entry.
            Some(existing) => {
                existing.insert("command", toml_edit::value(exe.display().to_string()));
                match existing.get_mut("args").and_then(|a| a.as_array_mut()) {
                    // Keep the user's arguments; add ours that are missing.
                    Some(have) => {
                        for a in args {
                            if !have.iter().any(|v| v.as_str() == Some(a)) {
                                have.push(*a);
                            }
                        }
                    }
                    None => {
                        existing.insert("args", toml_edit::value(toml_args(args)));
                    }
                }
            }
            None => {
                servers.insert(name, toml_edit::Item::Table(table));
            }
        }
    }
}

/// Merge into Codex's TOML, keeping comments and order; `None` when unchanged.
pub fn merge_codex(
    path: &Path,
    existing: &str,
    name: &str,
    exe: &Path,
    args: &[&str],
) -> Result<Option<String>, ConfigError> {
    let mut doc: toml_edit::DocumentMut =
        existing
            .parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::Toml {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
    if doc
        .get("mcp_servers")
        .is_some_and(|i| i.as_table_like().is_none())
    {
        return Err(ConfigError::Shape {
            path: path.to_path_buf(),
            message: "`mcp_servers` is not a table".into(),
        });
    }
    insert_codex(&mut doc, name, exe, args);
    let text = doc.to_string();
    Ok((text != existing).then_some(text))
}

/// Write `text` to `path` atomically (temp file + rename), after copying the
/// old file to a backup. Symlinked config files are written through.
/// Returns the backup path, if one was made.
pub fn write_with_backup(path: &Path, text: &str) -> Result<Option<PathBuf>, ConfigError> {
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            path.canonicalize().map_err(|e| ConfigError::io(path, e))?
        }
        _ => path.to_path_buf(),
    };
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| ConfigError::io(&parent, e))?;
    let mut backup = None;
    let old_perms = match std::fs::metadata(&target) {
        Ok(meta) => {
            let bak = backup_path(&target);
            std::fs::copy(&target, &bak).map_err(|e| ConfigError::io(&bak, e))?;
            backup = Some(bak);
            Some(meta.permissions())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(ConfigError::io(&target, e)),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".repl-mcp-")
        .tempfile_in(&parent)
        .map_err(|e| ConfigError::io(&parent, e))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())
        .map_err(|e| ConfigError::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| ConfigError::io(tmp.path(), e))?;
    if let Some(perms) = old_perms {
        std::fs::set_permissions(tmp.path(), perms).map_err(|e| ConfigError::io(tmp.path(), e))?;
    }
    tmp.persist(&target)
        .map_err(|e| ConfigError::io(&target, e.error))?;
    Ok(backup)
}

/// `<file>.bak`, or `<file>.bak.<unix seconds>` when that exists already.
fn backup_path(path: &Path) -> PathBuf {
    let mut plain = path.as_os_str().to_owned();
    plain.push(".bak");
    let plain = PathBuf::from(plain);
    if !plain.exists() {
        return plain;
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut stamped = plain.into_os_string();
    stamped.push(format!(".{secs}"));
    PathBuf::from(stamped)
}

/// Merge this server into `path` for `client`. Returns what happened.
pub fn write_config(
    client: Client,
    path: &Path,
    name: &str,
    exe: &Path,
    args: &[&str],
) -> Result<WriteOutcome, ConfigError> {
    let existing = match std::fs::read_to_string(path) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(ConfigError::io(path, e)),
    };
    let current = existing.as_deref().unwrap_or("");
    let merged = match client.format() {
        Format::Json { key, .. } => {
            merge_json(path, current, key, name, json_entry(client, exe, args))?
        }
        Format::CodexToml => merge_codex(path, current, name, exe, args)?,
    };
    let Some(text) = merged else {
        return Ok(WriteOutcome::Unchanged);
    };
    let backup = write_with_backup(path, &text)?;
    Ok(if existing.is_some() {
        WriteOutcome::Updated { backup }
    } else {
        WriteOutcome::Created
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Created,
    Updated { backup: Option<PathBuf> },
    Unchanged,
}

/// Run `repl-mcp config`; returns the process exit code.
pub fn run(args: ConfigArgs) -> i32 {
    match run_inner(&args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn run_inner(args: &ConfigArgs) -> Result<(), ConfigError> {
    if args.name.is_empty() || args.name.chars().any(|c| c.is_control()) {
        return Err(ConfigError::Usage("--name must be a non-empty name".into()));
    }
    let exe = current_binary()?;
    let server_args = server_args(args.persist);
    let text = snippet(args.client, &args.name, &exe, server_args);
    let path = args.path.clone().or_else(|| args.client.default_path());
    if !args.write {
        println!("{text}");
        match (&path, args.client) {
            (_, Client::ClaudeCode) => eprintln!(
                "Run the line above, or use --write to add the server to ./.mcp.json (project scope)."
            ),
            (Some(p), _) => eprintln!(
                "Add this to {} (or run again with --write to merge it in, with a backup).",
                p.display()
            ),
            (None, _) => {
                eprintln!("Add this to your client's MCP config (or --write --path FILE).")
            }
        }
        return Ok(());
    }
    let path = path.ok_or_else(|| {
        ConfigError::Usage("this client has no usual config file: pass --path FILE".into())
    })?;
    match write_config(args.client, &path, &args.name, &exe, server_args)? {
        WriteOutcome::Created => println!("Created {} with server `{}`", path.display(), args.name),
        WriteOutcome::Updated { backup } => {
            println!("Updated {} (server `{}`)", path.display(), args.name);
            if let Some(b) = backup {
                println!("Backup: {}", b.display());
            }
        }
        WriteOutcome::Unchanged => {
            println!(
                "{} already has server `{}`; nothing to do",
                path.display(),
                args.name
            )
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_merge_keeps_order_and_entries() {
        let src = r#"{"z": 1, "mcpServers": {"other": {"command": "x"}}, "a": [1, 2]}"#;
        let out = merge_json(
            Path::new("f.json"),
            src,
            "mcpServers",
            "repl-mcp",
            json!({"command": "/bin/r", "args": []}),
        )
        .unwrap()
        .unwrap();
        let z = out.find("\"z\"").unwrap();
        let m = out.find("mcpServers").unwrap();
        let a = out.find("\"a\"").unwrap();
        assert!(z < m && m < a, "{out}");
        assert!(out.find("other").unwrap() < out.find("repl-mcp").unwrap());
    }

    #[test]
    fn json_with_comments_is_refused() {
        let err = merge_json(
            Path::new("s.json"),
            "// hi\n{}",
            "context_servers",
            "r",
            json!({}),
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::NotStrictJson { .. }));
    }

    #[test]
    fn codex_merge_keeps_comments() {
        let src = "# my config\nmodel = \"o3\"\n\n[mcp_servers.other]\ncommand = \"x\"\n";
        let out = merge_codex(
            Path::new("c.toml"),
            src,
            "repl-mcp",
            Path::new("/bin/r"),
            &[],
        )
        .unwrap()
        .unwrap();
        assert!(out.starts_with("# my config\nmodel = \"o3\""), "{out}");
        assert!(
            out.contains("[mcp_servers.repl-mcp]\ncommand = \"/bin/r\"\nargs = []"),
            "{out}"
        );
        assert!(
            merge_codex(
                Path::new("c.toml"),
                &out,
                "repl-mcp",
                Path::new("/bin/r"),
                &[]
            )
            .unwrap()
            .is_none()
        );
    }
}
