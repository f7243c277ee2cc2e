//! A throwaway OpenSSH server on 127.0.0.1 for the tests and the benchmark
//! of the `ssh` target: its own host key, user key, `authorized_keys`,
//! `known_hosts`, client config and port, all in a temporary directory.
//! Nothing machine-global is read or written, except the privilege
//! separation directory that sshd insists on when it runs as root.
#![doc(hidden)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{ArgvItem, TargetRegistry};

/// Where Debian's openssh-server puts the daemon.
const SSHD: &str = "/usr/sbin/sshd";

pub struct LoopbackSshd {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
    pub user: String,
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn keygen(path: &Path) -> Result<(), String> {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "repl-mcp-test", "-f"])
        .arg(path))
}

/// The name of the user running this process.
fn current_user() -> Result<String, String> {
    // SAFETY: getpwuid returns a pointer into static storage (or null);
    // we copy the name out before any other call could overwrite it.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if pw.is_null() {
            return Err("no passwd entry for the current user".into());
        }
        let name = std::ffi::CStr::from_ptr((*pw).pw_name);
        Ok(name.to_string_lossy().into_owned())
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

impl LoopbackSshd {
    /// Whether this machine can run one (sshd, ssh and ssh-keygen installed).
    pub fn available() -> bool {
        Path::new(SSHD).is_file()
            && crate::session::pty::find_program("ssh", None).is_some()
            && crate::session::pty::find_program("ssh-keygen", None).is_some()
    }

    /// Start a server and wait until it accepts connections.
    pub fn start() -> Result<Self, String> {
        if !Self::available() {
            return Err(format!(
                "{SSHD}, ssh or ssh-keygen is missing (apt-get install openssh-server openssh-client)"
            ));
        }
        let user = current_user()?;
        // SAFETY: getuid has no preconditions.
        if unsafe { libc::getuid() } == 0 {
            // sshd refuses to start as root without it; systemd would make it.
            std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
        }
        let dir = tempfile::Builder::new()
            .prefix("repl-mcp-sshd-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let d = dir.path();
        keygen(&d.join("host_key"))?;
        keygen(&d.join("id_ed25519"))?;
        std::fs::copy(d.join("id_ed25519.pub"), d.join("authorized_keys"))
            .map_err(|e| e.to_string())?;
        let host_pub =
            std::fs::read_to_string(d.join("host_key.pub")).map_err(|e| e.to_string())?;
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            std::fs::write(
                d.join("known_hosts"),
                format!("[127.0.0.1]:{port} {host_pub}"),
            )
            .map_err(|e| e.to_string())?;
            write_configs(d, port, &user)?;
            match spawn_and_wait(d, port) {
                Ok(child) => {
                    return Ok(Self {
                        dir,
                        child,
                        port,
                        user,
                    });
                }
                Err(e) => last_error = e,
            }
        }
        Err(format!("sshd did not start: {last_error}"))
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The client config that trusts this server's host key and offers the
    /// user key (`ssh -F`): nothing from `/etc/ssh` or `~/.ssh` is read.
    pub fn client_config(&self) -> PathBuf {
        self.dir().join("ssh_config")
    }

    pub fn identity(&self) -> PathBuf {
        self.dir().join("id_ed25519")
    }

    /// The built-in `ssh` target under another name, with `-F` pointing at
    /// [`Self::client_config`]: the same argv, parameters and failure rules.
    pub fn target_toml(&self, name: &str) -> Result<String, String> {
        self.target_toml_with(name, &self.client_config())
    }

    /// Write another client config: `known_hosts` to trust, and the key to
    /// offer (none: only what the target's `identity` parameter names).
    pub fn write_client_config(
        &self,
        path: &Path,
        known_hosts: &Path,
        identity: Option<&Path>,
    ) -> Result<(), String> {
        std::fs::write(path, client_config(known_hosts, identity)).map_err(|e| e.to_string())
    }

    /// [`Self::target_toml`] with another client config.
    pub fn target_toml_with(&self, name: &str, config: &Path) -> Result<String, String> {
        let mut t = TargetRegistry::builtin()
            .get("ssh")
            .ok_or("no built-in ssh target")?
            .target
            .clone();
        t.name = name.to_string();
        t.display_name = Some(format!("ssh to the test server ({name})"));
        let config = config.display().to_string();
        t.command
            .splice(2..2, [ArgvItem::One("-F".into()), ArgvItem::One(config)]);
        toml::to_string(&t).map_err(|e| e.to_string())
    }

    /// The per-connection sshd processes (and their children): killing
    /// them drops every connection while the server keeps listening.
    pub fn connection_pids(&self) -> Vec<i32> {
        let listener = i32::try_from(self.child.id()).unwrap_or(0);
        descendants(listener)
    }

    /// sshd's log (`-E`), for failing tests.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("sshd.log")).unwrap_or_default()
    }
}

fn write_configs(d: &Path, port: u16, user: &str) -> Result<(), String> {
    let p = |name: &str| d.join(name).display().to_string();
    let sshd_config = format!(
        "ListenAddress 127.0.0.1\nPort {port}\nHostKey {host}\nPidFile {pid}\n\
         AuthorizedKeysFile {auth}\nStrictModes no\nUsePAM no\n\
         PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
         PermitRootLogin prohibit-password\nAllowUsers {user}\n\
         PrintMotd no\nPrintLastLog no\nX11Forwarding no\n\
         MaxStartups 100\nMaxSessions 100\nLogLevel VERBOSE\n",
        host = p("host_key"),
        pid = p("sshd.pid"),
        auth = p("authorized_keys"),
    );
    let ssh_config = client_config(&d.join("known_hosts"), Some(&d.join("id_ed25519")));
    let write = |name: &str, text: &str| -> Result<(), String> {
        let mut f = std::fs::File::create(d.join(name)).map_err(|e| e.to_string())?;
        f.write_all(text.as_bytes()).map_err(|e| e.to_string())
    };
    write("sshd_config", &sshd_config)?;
    write("ssh_config", &ssh_config)
}

fn client_config(known_hosts: &Path, identity: Option<&Path>) -> String {
    let mut text = format!(
        "Host *\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  \
         StrictHostKeyChecking yes\n  IdentitiesOnly yes\n  BatchMode yes\n",
        known_hosts.display()
    );
    if let Some(id) = identity {
        text.push_str(&format!("  IdentityFile {}\n", id.display()));
    }
    text
}

fn spawn_and_wait(d: &Path, port: u16) -> Result<Child, String> {
    let mut child = Command::new(SSHD)
        .arg("-D")
        .arg("-f")
        .arg(d.join("sshd_config"))
        .arg("-E")
        .arg(d.join("sshd.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {SSHD}: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default();
            return Err(format!("sshd exited ({status}): {}", log.trim()));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(child);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err("sshd did not listen within 20 s".into())
}

/// Every process below `pid` (children, grandchildren…), from /proc.
fn descendants(pid: i32) -> Vec<i32> {
    let parents: Vec<(i32, i32)> = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter_map(|p| {
                    let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
                    let rest = &stat[stat.rfind(')')? + 1..];
                    let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
                    Some((p, ppid))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &parents {
            if pp == parent && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out
}

impl Drop for LoopbackSshd {
    fn drop(&mut self) {
        let listener = i32::try_from(self.child.id()).unwrap_or(0);
        let below = descendants(listener);
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in below {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}
