//! Targets from their three places, later ones winning: built-in
//! (`targets/*.toml`, embedded), the user's config dir (`targets/`), the
//! project's `.repl-mcp/targets/` — exactly like presets.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Target;
use crate::preset::registry::{Found, Kind, Registry};
use crate::preset::{PresetDirs, PresetError, PresetSource};

/// The built-in targets, embedded in the binary.
const FILES: &[(&str, &str)] = &[
    ("docker.toml", include_str!("../../../targets/docker.toml")),
    (
        "kubectl.toml",
        include_str!("../../../targets/kubectl.toml"),
    ),
    ("podman.toml", include_str!("../../../targets/podman.toml")),
    ("ssh.toml", include_str!("../../../targets/ssh.toml")),
];

#[derive(Debug, Clone, Serialize)]
pub struct LoadedTarget {
    pub target: Target,
    pub source: PresetSource,
    /// File it came from (`builtin:<name>.toml` for embedded ones).
    pub origin: String,
    /// Sources this one shadows, e.g. a user's `ssh` over the built-in one.
    pub overrides: Vec<PresetSource>,
}

/// Every target the server knows.
pub type TargetRegistry = Registry<LoadedTarget>;

impl From<Found<Target>> for LoadedTarget {
    fn from(f: Found<Target>) -> Self {
        LoadedTarget {
            target: f.item,
            source: f.source,
            origin: f.origin,
            overrides: f.overrides,
        }
    }
}

const TARGETS: Kind<Target> = Kind {
    builtin: FILES,
    files: target_files,
    parse: TargetRegistry::parse,
    name: |t| &t.name,
};

impl Registry<LoadedTarget> {
    /// Only the embedded targets.
    pub fn builtin() -> Self {
        Self::load(&PresetDirs::default())
    }

    /// Built-in targets overridden by the user's and the project's.
    pub fn load(dirs: &PresetDirs) -> Self {
        Self::from_layers(&TARGETS, dirs)
    }

    /// Parse and validate one target file (one target per file).
    pub fn parse(origin: &str, src: &str) -> Result<Vec<Target>, PresetError> {
        let target: Target =
            toml::from_str(src).map_err(|e| PresetError::from_toml(origin, src, &e))?;
        target.validate(origin)?;
        crate::preset::templates::check_target(&target, origin, src)?;
        Ok(vec![target])
    }

    /// The target called `name`, or an error that lists the targets.
    pub fn find(&self, name: &str) -> Result<&Target, String> {
        self.get(name).map(|t| &t.target).ok_or_else(|| {
            format!(
                "unknown target `{name}`; the targets are: {} (list_repl_configurations shows their parameters)",
                self.names().join(", ")
            )
        })
    }
}

/// `*.toml` files in `dir`, sorted so loading order is stable.
fn target_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_target_loads() {
        let reg = TargetRegistry::builtin();
        assert!(reg.errors().is_empty(), "{:?}", reg.errors());
        assert_eq!(reg.names(), ["docker", "kubectl", "podman", "ssh"]);
        for t in reg.all() {
            assert_eq!(t.origin, format!("builtin:{}.toml", t.target.name));
        }
    }

    #[test]
    fn a_user_target_adds_to_and_overrides_the_builtin_ones() {
        let dir = std::env::temp_dir().join(format!(
            "repl-mcp-target-test-{}-{}",
            std::process::id(),
            line!()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("staging.toml"),
            "name = \"staging\"\nremote = \"shell\"\ncommand = [\"ssh\", \"-tt\", \"--\", \"deploy@staging.example.com\"]\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("ssh.toml"),
            "name = \"ssh\"\nremote = \"shell\"\ncommand = [\"ssh\", \"-tt\", \"--\", \"{host}\"]\n\
             [parameters.host]\ndescription = \"h\"\nrequired = true\npattern = '[a-z]+'\n",
        )
        .unwrap();
        let reg = TargetRegistry::load(&PresetDirs {
            user: Some(dir.clone()),
            project: None,
        });
        assert!(reg.errors().is_empty(), "{:?}", reg.errors());
        assert_eq!(reg.get("staging").unwrap().source, PresetSource::User);
        let ssh = reg.get("ssh").unwrap();
        assert_eq!(ssh.overrides, vec![PresetSource::Builtin]);
        assert_eq!(ssh.target.parameters.len(), 1);
        std::fs::remove_dir_all(dir).ok();
    }
}
