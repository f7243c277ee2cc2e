//! Installing a built plugin folder for the user:
//! `<config>/plugins/<id>/`, replaced in one rename so the server never
//! loads half a plugin.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Copies `from` (a validated plugin folder) to `<config>/plugins/<id>/`.
pub fn install(from: &Path, id: &str) -> Result<PathBuf> {
    let root = crate::paths::config_dir()
        .context("no config directory (set HOME or XDG_CONFIG_HOME)")?
        .join("plugins");
    // The loader reads only folders holding a plugin.toml; `.staging`
    // holds none at its top.
    let staging_root = root.join(".staging");
    std::fs::create_dir_all(&staging_root)
        .with_context(|| format!("creating {}", staging_root.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!("{id}-"))
        .tempdir_in(&staging_root)
        .with_context(|| format!("creating a folder in {}", staging_root.display()))?;
    let fresh = staging.path().join("new");
    std::fs::create_dir(&fresh)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), fresh.join(entry.file_name()))
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    let dest = root.join(id);
    if dest.exists() {
        std::fs::rename(&dest, staging.path().join("old"))
            .with_context(|| format!("moving the old {} aside", dest.display()))?;
    }
    std::fs::rename(&fresh, &dest).with_context(|| format!("installing {}", dest.display()))?;
    // `staging` (with the old version) is removed when dropped.
    Ok(dest)
}
