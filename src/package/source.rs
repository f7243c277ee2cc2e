//! Where a package comes from: a folder, a `.tar.gz` of one, or a git URL.
//! Tarballs and clones are unpacked into a temporary folder that lives as
//! long as the [`Fetched`] value.

use std::io::BufReader;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use super::PackageError;
use super::load::PRESET_FILE;

/// Refuse archives that unpack to more than this (a decompression bomb).
const MAX_UNPACKED_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    Dir(PathBuf),
    Tarball(PathBuf),
    Git(String),
}

impl SourceKind {
    /// `*.tar.gz` / `*.tgz` files are tarballs; URLs (`https://`, `ssh://`,
    /// `git://`, `file://`, `git@host:…`) and paths ending in `.git` are git
    /// repositories; anything else is a folder.
    pub fn classify(arg: &str) -> Self {
        let lower = arg.to_ascii_lowercase();
        let is_url = [
            "https://",
            "http://",
            "ssh://",
            "git://",
            "file://",
            "git+ssh://",
        ]
        .iter()
        .any(|p| lower.starts_with(p))
            || lower.starts_with("git@");
        let path = Path::new(arg);
        if (lower.ends_with(".tar.gz") || lower.ends_with(".tgz")) && !is_url {
            SourceKind::Tarball(path.to_path_buf())
        } else if is_url || lower.trim_end_matches('/').ends_with(".git") {
            SourceKind::Git(arg.to_string())
        } else {
            SourceKind::Dir(path.to_path_buf())
        }
    }
}

/// A package ready to be validated and copied.
#[derive(Debug)]
pub struct Fetched {
    /// The folder holding `preset.toml`.
    pub root: PathBuf,
    /// The name it installs under, unless the user gives one.
    pub suggested_name: String,
    /// What the user passed, for the record.
    pub source: String,
    _tmp: Option<tempfile::TempDir>,
}

pub fn fetch(arg: &str) -> Result<Fetched, PackageError> {
    match SourceKind::classify(arg) {
        SourceKind::Dir(dir) => {
            let root = dir.canonicalize().map_err(|e| PackageError::io(&dir, e))?;
            if !root.is_dir() {
                return Err(PackageError::Source(format!(
                    "{}: not a folder, a .tar.gz or a git URL",
                    dir.display()
                )));
            }
            let suggested_name = file_name(&root);
            Ok(Fetched {
                root,
                suggested_name,
                source: arg.to_string(),
                _tmp: None,
            })
        }
        SourceKind::Tarball(file) => {
            let tmp = temp_dir()?;
            extract_tarball(&file, tmp.path())?;
            let (root, inner) = find_root(tmp.path())?;
            let suggested_name = inner.unwrap_or_else(|| {
                let name = file_name(&file);
                name.trim_end_matches(".tar.gz")
                    .trim_end_matches(".tgz")
                    .trim_end_matches(".TAR.GZ")
                    .to_string()
            });
            Ok(Fetched {
                root,
                suggested_name,
                source: std::path::absolute(&file)
                    .unwrap_or(file)
                    .display()
                    .to_string(),
                _tmp: Some(tmp),
            })
        }
        SourceKind::Git(url) => {
            let tmp = temp_dir()?;
            let dest = tmp.path().join("repo");
            git_clone(&url, &dest)?;
            if !dest.join(PRESET_FILE).is_file() {
                return Err(PackageError::Source(format!(
                    "{url}: the repository has no {PRESET_FILE} at its root"
                )));
            }
            Ok(Fetched {
                root: dest,
                suggested_name: repo_name(&url),
                source: url,
                _tmp: Some(tmp),
            })
        }
    }
}

fn temp_dir() -> Result<tempfile::TempDir, PackageError> {
    tempfile::Builder::new()
        .prefix("repl-mcp-package-")
        .tempdir()
        .map_err(|e| PackageError::io(std::env::temp_dir(), e))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `https://host/owner/my-presets.git` → `my-presets`; `git@host:o/r.git` → `r`.
pub fn repo_name(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let last = trimmed
        .rsplit(['/', ':'])
        .next()
        .unwrap_or(trimmed)
        .to_string();
    last.strip_suffix(".git").unwrap_or(&last).to_string()
}

fn git_clone(url: &str, dest: &Path) -> Result<(), PackageError> {
    let output = Command::new("git")
        .args(["clone", "--depth", "1", "--quiet", "--"])
        .arg(url)
        .arg(dest)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                PackageError::Source(
                    "git is not installed (needed to install from a git URL)".into(),
                )
            } else {
                PackageError::io("git", e)
            }
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(PackageError::Source(format!(
            "git clone {url} failed: {}",
            stderr.trim()
        )));
    }
    Ok(())
}

/// The package root in an unpacked archive: the top level when it has a
/// `preset.toml`, else its only folder. Returns that folder's name too.
fn find_root(top: &Path) -> Result<(PathBuf, Option<String>), PackageError> {
    if top.join(PRESET_FILE).is_file() {
        return Ok((top.to_path_buf(), None));
    }
    let subdirs = super::load::sorted_subdirs(top)?;
    if let [only] = subdirs.as_slice()
        && only.join(PRESET_FILE).is_file()
    {
        return Ok((only.clone(), Some(file_name(only))));
    }
    Err(PackageError::Source(format!(
        "the archive has no {PRESET_FILE} at its top level or in its only folder"
    )))
}

/// Unpack a `.tar.gz`, refusing absolute paths, `..`, links that leave the
/// archive, hard links, devices, and archives larger than 256 MiB unpacked.
pub fn extract_tarball(file: &Path, into: &Path) -> Result<(), PackageError> {
    let f = std::fs::File::open(file).map_err(|e| PackageError::io(file, e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(f)));
    archive.set_preserve_permissions(false);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(false);
    let bad = |entry: &Path, why: &str| {
        PackageError::Source(format!(
            "{}: refusing entry `{}`: {why}",
            file.display(),
            entry.display()
        ))
    };
    let mut total = 0u64;
    let entries = archive.entries().map_err(|e| PackageError::io(file, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| PackageError::io(file, e))?;
        let path = entry
            .path()
            .map_err(|e| PackageError::io(file, e))?
            .into_owned();
        if !is_safe_relative(&path) {
            return Err(bad(&path, "absolute or `..` path"));
        }
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory => {}
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(|e| PackageError::io(file, e))?
                    .ok_or_else(|| bad(&path, "symlink without a target"))?
                    .into_owned();
                if !link_stays_inside(&path, &target) {
                    return Err(bad(
                        &path,
                        &format!(
                            "symlink to `{}` points outside the package",
                            target.display()
                        ),
                    ));
                }
            }
            other => return Err(bad(&path, &format!("unsupported entry type {other:?}"))),
        }
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED_BYTES {
            return Err(bad(&path, "the archive unpacks to more than 256 MiB"));
        }
        let unpacked = entry
            .unpack_in(into)
            .map_err(|e| PackageError::io(into.join(&path), e))?;
        if !unpacked {
            return Err(bad(&path, "path escapes the archive"));
        }
    }
    Ok(())
}

/// Relative, and no `..`, root or prefix components.
fn is_safe_relative(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Whether a symlink at `link` (relative to the archive root) pointing to
/// `target` resolves, lexically, to a place inside the archive.
pub fn link_stays_inside(link: &Path, target: &Path) -> bool {
    let mut stack: Vec<&std::ffi::OsStr> = Vec::new();
    if let Some(parent) = link.parent() {
        for c in parent.components() {
            match c {
                Component::Normal(n) => stack.push(n),
                Component::CurDir => {}
                _ => return false,
            }
        }
    }
    for c in target.components() {
        match c {
            Component::Normal(n) => stack.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if stack.pop().is_none() {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_sources() {
        assert_eq!(
            SourceKind::classify("pkg.tar.gz"),
            SourceKind::Tarball("pkg.tar.gz".into())
        );
        assert!(matches!(
            SourceKind::classify("https://example.org/x"),
            SourceKind::Git(_)
        ));
        assert!(matches!(
            SourceKind::classify("git@host:o/r.git"),
            SourceKind::Git(_)
        ));
        assert!(matches!(
            SourceKind::classify("/tmp/repo.git"),
            SourceKind::Git(_)
        ));
        assert!(matches!(
            SourceKind::classify("file:///tmp/repo"),
            SourceKind::Git(_)
        ));
        assert!(matches!(
            SourceKind::classify("./my-pkg"),
            SourceKind::Dir(_)
        ));
    }

    #[test]
    fn repo_names() {
        assert_eq!(repo_name("https://h/o/my-presets.git"), "my-presets");
        assert_eq!(repo_name("git@h:o/r.git"), "r");
        assert_eq!(repo_name("file:///tmp/x/pkg/"), "pkg");
    }

    #[test]
    fn safe_paths() {
        assert!(is_safe_relative(Path::new("pkg/preset.toml")));
        assert!(is_safe_relative(Path::new("./preset.toml")));
        assert!(!is_safe_relative(Path::new("../preset.toml")));
        assert!(!is_safe_relative(Path::new("a/../../b")));
        assert!(!is_safe_relative(Path::new("/etc/passwd")));
    }

    #[test]
    fn links() {
        assert!(link_stays_inside(Path::new("a/b"), Path::new("../c")));
        assert!(!link_stays_inside(Path::new("a/b"), Path::new("../../c")));
        assert!(!link_stays_inside(Path::new("a"), Path::new("/etc/passwd")));
        assert!(link_stays_inside(Path::new("a"), Path::new("./b/c")));
    }
}
