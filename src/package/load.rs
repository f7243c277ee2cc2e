//! Reading and validating a preset package on disk.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::PackageError;
use super::plugin_check::{PluginSummary, validate_plugin_dir};
use crate::preset::{Preset, PresetRegistry, preset_files};

/// The file every package has at its root.
pub const PRESET_FILE: &str = "preset.toml";
/// The folder of a package's plugins, one subfolder per plugin id.
pub const PLUGINS_DIR: &str = "plugins";

/// A package that passed validation.
#[derive(Debug, Clone)]
pub struct Package {
    pub root: PathBuf,
    pub preset_file: PathBuf,
    pub presets: Vec<Preset>,
    pub plugins: Vec<PluginSummary>,
}

/// Validate a package folder: every preset (schema, regexes, with
/// file:line:column and key), every plugin, and that each preset's strategy
/// plugin is a built-in one or one of the package's. Returns every error
/// found, not just the first.
pub fn validate_package(root: &Path) -> Result<Package, Vec<PackageError>> {
    let preset_file = root.join(PRESET_FILE);
    if !preset_file.is_file() {
        return Err(vec![PackageError::NotAPackage(root.to_path_buf())]);
    }
    let mut errors = Vec::new();
    let origin = preset_file.display().to_string();
    let presets = match std::fs::read_to_string(&preset_file) {
        Ok(src) => match PresetRegistry::parse(&origin, &src) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e.into());
                Vec::new()
            }
        },
        Err(e) => {
            errors.push(PackageError::io(&preset_file, e));
            Vec::new()
        }
    };
    let mut seen = BTreeSet::new();
    for p in &presets {
        if !seen.insert(p.name.as_str()) {
            errors.push(PackageError::DuplicatePreset {
                file: origin.clone(),
                preset: p.name.clone(),
            });
        }
    }

    let mut plugins = Vec::new();
    let mut plugin_ids = BTreeSet::new();
    let plugins_dir = root.join(PLUGINS_DIR);
    if plugins_dir.is_dir() {
        match sorted_subdirs(&plugins_dir) {
            Ok(dirs) => {
                for dir in dirs {
                    if let Some(name) = dir.file_name().and_then(|n| n.to_str()) {
                        plugin_ids.insert(name.to_string());
                    }
                    match validate_plugin_dir(&dir) {
                        Ok(summary) => plugins.push(summary),
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }

    for p in &presets {
        if let Some(strategy) = &p.strategy
            && !strategy.plugin.starts_with("builtin:")
            && !plugin_ids.contains(&strategy.plugin)
        {
            errors.push(PackageError::UnknownPlugin {
                file: origin.clone(),
                preset: p.name.clone(),
                plugin: strategy.plugin.clone(),
            });
        }
    }

    if errors.is_empty() {
        Ok(Package {
            root: root.to_path_buf(),
            preset_file,
            presets,
            plugins,
        })
    } else {
        Err(errors)
    }
}

/// What `preset validate` found.
#[derive(Debug, Default)]
pub struct ValidationReport {
    /// (file, preset names) of every file that passed.
    pub ok: Vec<(String, Vec<String>)>,
    pub plugins: Vec<String>,
    pub errors: Vec<PackageError>,
}

/// Validate a package folder, a folder of loose `*.toml` presets (like the
/// repo's `presets/`, or the user's presets dir with installed packages), or
/// a single preset file.
pub fn validate_path(path: &Path) -> ValidationReport {
    let mut report = ValidationReport::default();
    if path.is_file() {
        check_loose_file(path, &mut report);
        return report;
    }
    if !path.is_dir() {
        report.errors.push(PackageError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ));
        return report;
    }
    if path.join(PRESET_FILE).is_file() {
        check_package(path, &mut report);
        return report;
    }
    let files = preset_files(path);
    if files.is_empty() {
        report
            .errors
            .push(PackageError::NotAPackage(path.to_path_buf()));
    }
    for file in files {
        if file.file_name().is_some_and(|n| n == PRESET_FILE)
            && let Some(pkg) = file.parent()
            && pkg != path
        {
            check_package(pkg, &mut report);
        } else {
            check_loose_file(&file, &mut report);
        }
    }
    report
}

fn check_package(root: &Path, report: &mut ValidationReport) {
    match validate_package(root) {
        Ok(pkg) => {
            report.ok.push((
                pkg.preset_file.display().to_string(),
                pkg.presets.iter().map(|p| p.name.clone()).collect(),
            ));
            report
                .plugins
                .extend(pkg.plugins.iter().map(|p| p.dir.display().to_string()));
        }
        Err(errors) => report.errors.extend(errors),
    }
}

fn check_loose_file(file: &Path, report: &mut ValidationReport) {
    let origin = file.display().to_string();
    match std::fs::read_to_string(file) {
        Ok(src) => match PresetRegistry::parse(&origin, &src) {
            Ok(presets) => report
                .ok
                .push((origin, presets.into_iter().map(|p| p.name).collect())),
            Err(e) => report.errors.push(e.into()),
        },
        Err(e) => report.errors.push(PackageError::io(file, e)),
    }
}

/// Subfolders of `dir`, sorted, skipping hidden ones.
pub(crate) fn sorted_subdirs(dir: &Path) -> Result<Vec<PathBuf>, PackageError> {
    let entries = std::fs::read_dir(dir).map_err(|e| PackageError::io(dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| PackageError::io(dir, e))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && path.is_dir() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}
