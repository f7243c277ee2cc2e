//! Installing a validated package into the user's presets dir, atomically,
//! and removing one.
//!
//! Layout: `<config_dir>/presets/<package>/preset.toml` (+ `plugins/`).
//! Work in progress lives in `<config_dir>/presets/.staging/`, which the
//! preset loader never reads (it only looks at `*.toml` and `*/preset.toml`),
//! so a crash or Ctrl-C at any point leaves either the old package or the
//! new one in place, never a mix.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::PackageError;
use super::load::{PLUGINS_DIR, PRESET_FILE, Package};

/// Hidden folder of the presets dir where installs are staged.
pub const STAGING_DIR: &str = ".staging";
/// Record of where an installed package came from.
pub const INSTALL_RECORD: &str = ".repl-mcp-install.json";
/// Debug builds only: fail right after staging (used by the atomicity test).
pub const FAIL_AFTER_STAGE_ENV: &str = "REPL_MCP_TEST_FAIL_INSTALL_AFTER_STAGE";

#[derive(Debug, Serialize)]
struct InstallRecord<'a> {
    name: &'a str,
    source: &'a str,
    installed_at_unix: u64,
    presets: Vec<&'a str>,
    plugins: Vec<&'a str>,
}

/// Copy `pkg` into `<presets_dir>/<name>`, replacing an existing install in
/// one atomic step. Returns the installed folder.
pub fn install(
    pkg: &Package,
    name: &str,
    source: &str,
    presets_dir: &Path,
) -> Result<PathBuf, PackageError> {
    super::check_name(name)?;
    let staging_root = presets_dir.join(STAGING_DIR);
    std::fs::create_dir_all(&staging_root).map_err(|e| PackageError::io(&staging_root, e))?;
    clean_stale(&staging_root);
    let staging = tempfile::Builder::new()
        .prefix(&format!("{name}-"))
        .tempdir_in(&staging_root)
        .map_err(|e| PackageError::io(&staging_root, e))?;

    copy_package(pkg, staging.path())?;
    let record = InstallRecord {
        name,
        source,
        installed_at_unix: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        presets: pkg.presets.iter().map(|p| p.name.as_str()).collect(),
        plugins: pkg.plugins.iter().map(|p| p.id()).collect(),
    };
    let record_path = staging.path().join(INSTALL_RECORD);
    let json = serde_json::to_string_pretty(&record)
        .map_err(|e| PackageError::io(&record_path, std::io::Error::other(e)))?;
    std::fs::write(&record_path, json + "\n").map_err(|e| PackageError::io(&record_path, e))?;

    if cfg!(debug_assertions) && std::env::var_os(FAIL_AFTER_STAGE_ENV).is_some() {
        return Err(PackageError::io(
            staging.path(),
            std::io::Error::other(format!(
                "simulated failure after staging ({FAIL_AFTER_STAGE_ENV})"
            )),
        ));
    }

    let dest = presets_dir.join(name);
    if dest.exists() {
        // The old version ends up at the staging path and is deleted with it.
        swap_dirs(staging.path(), &dest, &staging_root)?;
    } else {
        std::fs::rename(staging.path(), &dest).map_err(|e| PackageError::io(&dest, e))?;
    }
    drop(staging);
    Ok(dest)
}

/// Remove an installed package folder: moved out of sight in one rename,
/// then deleted.
pub fn remove_dir(dir: &Path, presets_dir: &Path) -> Result<(), PackageError> {
    let staging_root = presets_dir.join(STAGING_DIR);
    std::fs::create_dir_all(&staging_root).map_err(|e| PackageError::io(&staging_root, e))?;
    let trash = unique_path(&staging_root, "removed");
    std::fs::rename(dir, &trash).map_err(|e| PackageError::io(dir, e))?;
    std::fs::remove_dir_all(&trash).map_err(|e| PackageError::io(&trash, e))
}

/// Put `new` at `dest` and the old `dest` at `new`.
fn swap_dirs(new: &Path, dest: &Path, staging_root: &Path) -> Result<(), PackageError> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if exchange(new, dest).is_ok() {
            return Ok(());
        }
    }
    // Fallback: old away, new in, and old back if that fails.
    let old = unique_path(staging_root, "old");
    std::fs::rename(dest, &old).map_err(|e| PackageError::io(dest, e))?;
    if let Err(e) = std::fs::rename(new, dest) {
        if let Err(back) = std::fs::rename(&old, dest) {
            tracing::error!(error = %back, old = %old.display(), "could not put the previous version back");
        }
        return Err(PackageError::io(dest, e));
    }
    std::fs::remove_dir_all(&old).map_err(|e| PackageError::io(&old, e))
}

/// `renameat2(RENAME_EXCHANGE)`: both paths swap in one atomic step.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let to_c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (ca, cb) = (to_c(a)?, to_c(b)?);
    // SAFETY: both pointers are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn unique_path(dir: &Path, tag: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    dir.join(format!("{tag}-{}-{nanos}", std::process::id()))
}

/// Leftovers of installs that were killed midway (older than an hour).
fn clean_stale(staging_root: &Path) {
    let Ok(entries) = std::fs::read_dir(staging_root) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600));
        if old {
            let path = entry.path();
            if let Err(e) = std::fs::remove_dir_all(&path) {
                tracing::debug!(error = %e, path = %path.display(), "could not clean a stale staging folder");
            }
        }
    }
}

/// What a package consists of: `preset.toml`, `plugins/`, and its README /
/// LICENSE files. Anything else (a `.git` folder, sources) stays behind.
fn copy_package(pkg: &Package, into: &Path) -> Result<(), PackageError> {
    let root = pkg
        .root
        .canonicalize()
        .map_err(|e| PackageError::io(&pkg.root, e))?;
    copy_entry(&root, &root.join(PRESET_FILE), &into.join(PRESET_FILE))?;
    let plugins = root.join(PLUGINS_DIR);
    if plugins.is_dir() {
        copy_entry(&root, &plugins, &into.join(PLUGINS_DIR))?;
    }
    let entries = std::fs::read_dir(&root).map_err(|e| PackageError::io(&root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| PackageError::io(&root, e))?;
        let name = entry.file_name();
        let upper = name.to_string_lossy().to_ascii_uppercase();
        let doc = ["README", "LICENSE", "COPYING", "CHANGELOG"]
            .iter()
            .any(|p| upper.starts_with(p));
        if doc && entry.path().is_file() {
            copy_entry(&root, &entry.path(), &into.join(&name))?;
        }
    }
    Ok(())
}

/// Copy a file or folder, following symlinks only when they stay inside the
/// package root.
fn copy_entry(root: &Path, from: &Path, to: &Path) -> Result<(), PackageError> {
    let real = from.canonicalize().map_err(|e| PackageError::io(from, e))?;
    if !real.starts_with(root) {
        return Err(PackageError::Source(format!(
            "{}: symlink points outside the package (to {})",
            from.display(),
            real.display()
        )));
    }
    let meta = std::fs::metadata(&real).map_err(|e| PackageError::io(&real, e))?;
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| PackageError::io(to, e))?;
        let mut entries: Vec<_> = std::fs::read_dir(&real)
            .map_err(|e| PackageError::io(&real, e))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            copy_entry(root, &entry.path(), &to.join(entry.file_name()))?;
        }
    } else if meta.is_file() {
        std::fs::copy(&real, to).map_err(|e| PackageError::io(to, e))?;
    }
    Ok(())
}
