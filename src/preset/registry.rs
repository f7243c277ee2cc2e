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

/// Every definition of one kind the server knows (presets, targets), plus
/// the errors of the files it could not load (reported, never fatal).
#[derive(Debug)]
pub struct Registry<L> {
    entries: BTreeMap<String, L>,
    errors: Vec<PresetError>,
}

/// Every preset the server knows.
pub type PresetRegistry = Registry<LoadedPreset>;

impl<L> Default for Registry<L> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            errors: Vec::new(),
        }
    }
}

impl<L> Registry<L> {
    /// Load `kind` from its three places (see [`load_layers`]).
    pub(crate) fn from_layers<T>(kind: &Kind<T>, dirs: &PresetDirs) -> Self
    where
        L: From<Found<T>>,
    {
        let (found, errors) = load_layers(kind, dirs);
        let entries = found.into_iter().map(|(n, f)| (n, L::from(f))).collect();
        Self { entries, errors }
    }

    pub fn get(&self, name: &str) -> Option<&L> {
        self.entries.get(name)
    }

    pub fn all(&self) -> impl Iterator<Item = &L> {
        self.entries.values()
    }

    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    pub fn errors(&self) -> &[PresetError] {
        &self.errors
    }
}

impl From<Found<Preset>> for LoadedPreset {
    fn from(f: Found<Preset>) -> Self {
        LoadedPreset {
            preset: f.item,
            source: f.source,
            origin: f.origin,
            overrides: f.overrides,
        }
    }
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
        Self::standard_for("presets")
    }

    /// The user's and the project's `<kind>` folders (`presets`, `targets`).
    pub fn standard_for(kind: &str) -> Self {
        Self {
            user: crate::paths::config_dir().map(|d| d.join(kind)),
            project: std::env::current_dir()
                .ok()
                .map(|d| d.join(".repl-mcp").join(kind)),
        }
    }
}

/// A definition as loaded from its three places: where it came from and
/// which sources it shadows.
pub(crate) struct Found<T> {
    pub item: T,
    pub source: PresetSource,
    pub origin: String,
    pub overrides: Vec<PresetSource>,
}

/// How one kind of definition (presets, targets) is read.
pub(crate) struct Kind<T> {
    pub builtin: &'static [(&'static str, &'static str)],
    pub files: fn(&Path) -> Vec<PathBuf>,
    pub parse: fn(&str, &str) -> Result<Vec<T>, PresetError>,
    pub name: fn(&T) -> &str,
}

/// Load the embedded definitions, then those of `dirs` (user, project),
/// later ones winning. Broken files are returned as errors, never fatal.
pub(crate) fn load_layers<T>(
    kind: &Kind<T>,
    dirs: &PresetDirs,
) -> (BTreeMap<String, Found<T>>, Vec<PresetError>) {
    let mut found: BTreeMap<String, Found<T>> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut unreadable = Vec::new();
    let mut add = |source: PresetSource, origin: &str, src: &str| match (kind.parse)(origin, src) {
        Ok(items) => {
            for item in items {
                let name = (kind.name)(&item).to_string();
                let mut overrides = Vec::new();
                if let Some(old) = found.get(&name) {
                    overrides = old.overrides.clone();
                    overrides.push(old.source);
                }
                found.insert(
                    name,
                    Found {
                        item,
                        source,
                        origin: origin.to_string(),
                        overrides,
                    },
                );
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "skipping a broken definition file");
            errors.push(e);
        }
    };
    for (file, src) in kind.builtin {
        add(PresetSource::Builtin, &format!("builtin:{file}"), src);
    }
    for (source, dir) in [
        (PresetSource::User, &dirs.user),
        (PresetSource::Project, &dirs.project),
    ] {
        let Some(dir) = dir else { continue };
        for path in (kind.files)(dir) {
            let origin = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(src) => add(source, &origin, &src),
                Err(e) => unreadable.push(PresetError::Io { path, source: e }),
            }
        }
    }
    errors.append(&mut unreadable);
    (found, errors)
}

const PRESETS: Kind<Preset> = Kind {
    builtin: builtin::FILES,
    files: preset_files,
    parse: PresetRegistry::parse,
    name: |p| &p.name,
};

impl Registry<LoadedPreset> {
    /// Only the embedded presets.
    pub fn builtin() -> Self {
        Self::load(&PresetDirs::default())
    }

    /// Built-in presets overridden by the user's and the project's.
    pub fn load(dirs: &PresetDirs) -> Self {
        Self::from_layers(&PRESETS, dirs)
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
            super::templates::check_preset(p, origin, src)?;
        }
        Ok(presets)
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
