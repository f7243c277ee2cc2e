//! `preset list` and `preset remove`: every definition of every preset, and
//! which one wins.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::PackageError;
use super::load::PRESET_FILE;
use crate::preset::{PresetDirs, PresetRegistry, PresetSource, preset_files};

/// One definition of a preset in one file.
#[derive(Debug, Clone, Serialize)]
pub struct Definition {
    pub name: String,
    pub display_name: String,
    pub source: PresetSource,
    /// The file (`builtin:<file>` for embedded presets).
    pub origin: String,
    /// The installed package it belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Whether the server uses this definition (later sources win).
    pub active: bool,
    /// The definition that wins over this one, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadowed_by: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Listing {
    pub presets: Vec<Definition>,
    /// Files that could not be loaded (file:line:column and key).
    pub errors: Vec<String>,
}

/// Every definition, builtin then user then project, grouped by name.
pub fn list(dirs: &PresetDirs) -> Listing {
    let registry = PresetRegistry::load(dirs);
    let mut defs = Vec::new();
    for def in builtin_definitions() {
        defs.push(def);
    }
    for (source, dir) in [
        (PresetSource::User, dirs.user.as_ref()),
        (PresetSource::Project, dirs.project.as_ref()),
    ] {
        let Some(dir) = dir else { continue };
        for file in preset_files(dir) {
            let origin = file.display().to_string();
            let Ok(src) = std::fs::read_to_string(&file) else {
                continue;
            };
            let Ok(presets) = PresetRegistry::parse(&origin, &src) else {
                continue;
            };
            let package = package_of(dir, &file);
            for p in presets {
                defs.push(Definition {
                    display_name: p.display_name().to_string(),
                    name: p.name,
                    source,
                    origin: origin.clone(),
                    package: package.clone(),
                    active: false,
                    shadowed_by: None,
                });
            }
        }
    }
    for def in &mut defs {
        if let Some(winner) = registry.get(&def.name) {
            def.active = winner.origin == def.origin;
            if !def.active {
                def.shadowed_by = Some(winner.origin.clone());
            }
        }
    }
    // Stable order: by name, then in loading order (the winner last).
    defs.sort_by(|a, b| a.name.cmp(&b.name));
    Listing {
        presets: defs,
        errors: registry.errors().iter().map(ToString::to_string).collect(),
    }
}

fn builtin_definitions() -> Vec<Definition> {
    PresetRegistry::builtin()
        .all()
        .map(|l| Definition {
            name: l.preset.name.clone(),
            display_name: l.preset.display_name().to_string(),
            source: PresetSource::Builtin,
            origin: l.origin.clone(),
            package: None,
            active: false,
            shadowed_by: None,
        })
        .collect()
}

/// `<dir>/<pkg>/preset.toml` → `pkg`.
fn package_of(dir: &Path, file: &Path) -> Option<String> {
    let parent = file.parent()?;
    (file.file_name()? == PRESET_FILE && parent.parent()? == dir)
        .then(|| parent.file_name().map(|n| n.to_string_lossy().into_owned()))
        .flatten()
}

/// What `preset remove <name>` will delete.
#[derive(Debug)]
pub enum Removal {
    /// An installed package folder, with the presets it holds.
    Package {
        name: String,
        dir: PathBuf,
        presets: Vec<String>,
    },
    /// A loose preset file in the user's presets dir.
    File { path: PathBuf, presets: Vec<String> },
}

/// Find what to remove for `name`: an installed package of that name, else
/// the package (or loose user file) that defines the preset `name`.
pub fn plan_remove(name: &str, dirs: &PresetDirs) -> Result<Removal, PackageError> {
    let user = dirs.user.as_ref().ok_or_else(|| {
        PackageError::NotFound("no user config dir (set XDG_CONFIG_HOME or HOME)".into())
    })?;
    let listing = list(dirs);
    let presets_in = |origin: &str| -> Vec<String> {
        listing
            .presets
            .iter()
            .filter(|d| d.origin == origin)
            .map(|d| d.name.clone())
            .collect()
    };
    if super::check_name(name).is_ok() {
        let dir = user.join(name);
        if dir.join(PRESET_FILE).is_file() {
            let presets = presets_in(&dir.join(PRESET_FILE).display().to_string());
            return Ok(Removal::Package {
                name: name.to_string(),
                dir,
                presets,
            });
        }
    }
    let defs: Vec<&Definition> = listing.presets.iter().filter(|d| d.name == name).collect();
    // The user definition that is in effect, else any user definition.
    let user_def = defs
        .iter()
        .filter(|d| d.source == PresetSource::User)
        .max_by_key(|d| d.active);
    if let Some(def) = user_def {
        let file = PathBuf::from(&def.origin);
        return Ok(match &def.package {
            Some(pkg) => Removal::Package {
                name: pkg.clone(),
                dir: user.join(pkg),
                presets: presets_in(&def.origin),
            },
            None => Removal::File {
                presets: presets_in(&def.origin),
                path: file,
            },
        });
    }
    if let Some(def) = defs.iter().find(|d| d.source == PresetSource::Project) {
        return Err(PackageError::Refused(format!(
            "preset `{name}` comes from the project folder ({}); edit or delete that file instead",
            def.origin
        )));
    }
    if defs.iter().any(|d| d.source == PresetSource::Builtin) {
        return Err(PackageError::Refused(format!(
            "`{name}` is a built-in preset and cannot be removed (a user preset of the same name overrides it)"
        )));
    }
    Err(PackageError::NotFound(format!(
        "no installed package or preset named `{name}` (see `repl-mcp preset list`)"
    )))
}
