//! Loading presets from their three places, later ones winning:
//! built-in (embedded), the user's config dir, the project dir.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Preset, PresetError, PresetFile, builtin};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PresetSource {
    Builtin,
    User,
    Project,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadedPreset {
    pub preset: Preset,
    pub source: PresetSource,
    /// File it came from (`builtin:<name>.toml` for embedded ones).
    pub origin: String,
    /// Sources this one shadows, e.g. a user preset overriding a built-in.
    pub overrides: Vec<PresetSource>,
}

/// Every preset the server knows, plus the errors of those it could not load
/// (a broken preset is reported, never fatal).
#[derive(Debug, Default)]
pub struct PresetRegistry {
    presets: BTreeMap<String, LoadedPreset>,
    errors: Vec<PresetError>,
}

/// Where to look for presets on disk.
#[derive(Debug, Clone, Default)]
pub struct PresetDirs {
    pub user: Option<PathBuf>,
    pub project: Option<PathBuf>,
}

impl PresetDirs {
    /// `$XDG_CONFIG_HOME/repl-mcp/presets` (else `~/.config/...`) and
    /// `./.repl-mcp/presets` of the directory the server started in.
    pub fn standard() -> Self {
        Self {
            user: crate::paths::config_dir().map(|d| d.join("presets")),
            project: std::env::current_dir()
                .ok()
                .map(|d| d.join(".repl-mcp").join("presets")),
        }
    }
}

impl PresetRegistry {
    /// Only the embedded presets.
    pub fn builtin() -> Self {
        let mut reg = Self::default();
        for (file, src) in builtin::FILES {
            reg.add_source(PresetSource::Builtin, &format!("builtin:{file}"), src);
        }
        reg
    }

    /// Built-in presets overridden by the user's and the project's.
    pub fn load(dirs: &PresetDirs) -> Self {
        let mut reg = Self::builtin();
        if let Some(dir) = &dirs.user {
            reg.add_dir(PresetSource::User, dir);
        }
        if let Some(dir) = &dirs.project {
            reg.add_dir(PresetSource::Project, dir);
        }
        reg
    }

    /// Parse and validate one TOML text. Returns the presets it defines.
    pub fn parse(origin: &str, src: &str) -> Result<Vec<Preset>, PresetError> {
        let file: PresetFile = toml::from_str(src).map_err(|e| {
            // `untagged` hides the real error; re-parse as a single preset
            // (or a list) to get a message that names the key.
            let precise = if src.contains("[[preset]]") {
                toml::from_str::<ManyOnly>(src).err()
            } else {
                toml::from_str::<Preset>(src).err()
            };
            PresetError::from_toml(origin, src, precise.as_ref().unwrap_or(&e))
        })?;
        let presets = file.into_presets();
        for p in &presets {
            p.validate(origin)?;
        }
        Ok(presets)
    }

    fn add_source(&mut self, source: PresetSource, origin: &str, src: &str) {
        match Self::parse(origin, src) {
            Ok(presets) => {
                for preset in presets {
                    self.insert(preset, source, origin);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "skipping broken preset");
                self.errors.push(e);
            }
        }
    }

    fn insert(&mut self, preset: Preset, source: PresetSource, origin: &str) {
        let mut overrides = Vec::new();
        if let Some(old) = self.presets.get(&preset.name) {
            overrides = old.overrides.clone();
            overrides.push(old.source);
        }
        self.presets.insert(
            preset.name.clone(),
            LoadedPreset {
                preset,
                source,
                origin: origin.to_string(),
                overrides,
            },
        );
    }

    /// `*.toml` files in `dir`, and `*/preset.toml` of installed packages.
    fn add_dir(&mut self, source: PresetSource, dir: &Path) {
        for path in preset_files(dir) {
            let origin = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(src) => self.add_source(source, &origin, &src),
                Err(e) => self.errors.push(PresetError::Io { path, source: e }),
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&LoadedPreset> {
        self.presets.get(name)
    }

    pub fn all(&self) -> impl Iterator<Item = &LoadedPreset> {
        self.presets.values()
    }

    pub fn names(&self) -> Vec<String> {
        self.presets.keys().cloned().collect()
    }

    pub fn errors(&self) -> &[PresetError] {
        &self.errors
    }
}

/// Helper for precise errors in multi-preset files.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ManyOnly {
    #[allow(dead_code)]
    preset: Vec<Preset>,
}

/// Preset files under `dir`, sorted so loading order is stable.
pub fn preset_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter_map(|p| {
            if p.is_dir() {
                let inner = p.join("preset.toml");
                inner.is_file().then_some(inner)
            } else {
                (p.extension().is_some_and(|e| e == "toml")).then_some(p)
            }
        })
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_preset_loads() {
        let reg = PresetRegistry::builtin();
        assert!(reg.errors().is_empty(), "{:?}", reg.errors());
        for name in ["python", "node", "bash", "sqlite3", "zsh", "irb", "psql"] {
            assert!(reg.get(name).is_some(), "missing builtin preset {name}");
        }
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let src = "name = \"x\"\ncommand = [\"x\"]\n[prompt]\nready = ['>']\nbogus = 1\n";
        let err = PresetRegistry::parse("p.toml", src)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.toml:5:"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn bad_regex_names_its_key() {
        let src = "name = \"x\"\ncommand = [\"x\"]\n[prompt]\nready = ['(']\n";
        let err = PresetRegistry::parse("p.toml", src)
            .unwrap_err()
            .to_string();
        assert!(err.contains("prompt.ready[0]"), "{err}");
    }

    #[test]
    fn later_sources_win() {
        let dir = std::env::temp_dir().join(format!("repl-mcp-preset-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("python.toml"),
            "name = \"python\"\ncommand = [\"python3\"]\n[prompt]\nready = ['^> $']\n",
        )
        .unwrap();
        let reg = PresetRegistry::load(&PresetDirs {
            user: Some(dir.clone()),
            project: None,
        });
        let p = reg.get("python").unwrap();
        assert_eq!(p.source, PresetSource::User);
        assert_eq!(p.overrides, vec![PresetSource::Builtin]);
        std::fs::remove_dir_all(dir).ok();
    }
}
