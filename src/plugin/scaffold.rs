//! `repl-mcp plugin new`: a standalone plugin crate, written from files
//! embedded in this binary — the template, the guest SDK and the WIT it is
//! built against — so that it builds with nothing but Rust and crates.io,
//! without a checkout of this repository.

use std::path::{Path, PathBuf};

/// The name the template's files use; replaced by the new plugin's.
const TEMPLATE_NAME: &str = "my-plugin";
const TEMPLATE_SNAKE: &str = "my_plugin";
const TEMPLATE_TYPE: &str = "MyPlugin";

/// Files copied verbatim: the SDK and the interface it binds.
const VERBATIM: &[(&str, &str)] = &[
    (
        "sdk/Cargo.toml",
        include_str!("../../plugins/sdk/Cargo.toml"),
    ),
    (
        "sdk/src/lib.rs",
        include_str!("../../plugins/sdk/src/lib.rs"),
    ),
    (
        "sdk/src/facts.rs",
        include_str!("../../plugins/sdk/src/facts.rs"),
    ),
    (
        "sdk/src/settings.rs",
        include_str!("../../plugins/sdk/src/settings.rs"),
    ),
    (
        "sdk/src/text.rs",
        include_str!("../../plugins/sdk/src/text.rs"),
    ),
    (
        "wit/0.2/plugin.wit",
        include_str!("../../plugins/wit/0.2/plugin.wit"),
    ),
];

/// The template's files, with its name replaced.
const TEMPLATE: &[(&str, &str)] = &[
    (
        "plugin.toml",
        include_str!("../../plugins/template/plugin.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../../plugins/template/src/lib.rs"),
    ),
    (
        "tests/hooks.rs",
        include_str!("../../plugins/template/tests/hooks.rs"),
    ),
    (
        "README.md",
        include_str!("../../plugins/template/README.md"),
    ),
];

/// The SDK's source files, for the test that keeps `VERBATIM` complete.
#[cfg(test)]
const SDK_SOURCES: &[&str] = &["lib.rs", "facts.rs", "settings.rs", "text.rs"];

const GITIGNORE: &str = "/target\n/dist\n";

/// Why a plugin cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "`{0}` is not a usable plugin name: use 1-64 characters of a-z, 0-9, `-` or `_`, starting with a letter (it becomes the crate name and the plugin id)"
    )]
    BadName(String),
    #[error("{} already exists and is not empty; choose another name or --dir", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Names Rust or cargo would refuse as a crate, or that would shadow a
/// crate the plugin uses.
const RESERVED: &[&str] = &[
    "self",
    "super",
    "crate",
    "std",
    "core",
    "alloc",
    "test",
    "proc_macro",
    "build",
    "deps",
    "examples",
    "incremental",
    "repl_mcp_plugin_sdk",
    "wit_bindgen",
];

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !RESERVED.contains(&name.replace('-', "_").as_str())
}

/// `my-plugin` → `MyPlugin`.
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|p| !p.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn cargo_toml(name: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
# cdylib: the wasm module; rlib: lets `cargo test` run the tests natively.
crate-type = ["cdylib", "rlib"]

[dependencies]
# The plugin SDK (interface 0.2), written out by `repl-mcp plugin new`.
repl-mcp-plugin-sdk = {{ path = "sdk" }}

# A crate of its own, whatever folder it sits in.
[workspace]

# Plugins run inside the server: keep them small.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
strip = true
debug = false
"#
    )
}

/// Every file of a new plugin crate called `name`, by relative path.
pub fn files(name: &str) -> Result<Vec<(PathBuf, String)>, ScaffoldError> {
    if !valid_name(name) {
        return Err(ScaffoldError::BadName(name.to_string()));
    }
    let snake = name.replace('-', "_");
    let ty = type_name(name);
    let mut out = vec![
        (PathBuf::from("Cargo.toml"), cargo_toml(name)),
        (PathBuf::from(".gitignore"), GITIGNORE.to_string()),
    ];
    for (path, text) in TEMPLATE {
        let text = text
            .replace(TEMPLATE_TYPE, &ty)
            .replace(TEMPLATE_SNAKE, &snake)
            .replace(TEMPLATE_NAME, name);
        out.push((PathBuf::from(path), text));
    }
    for (path, text) in VERBATIM {
        out.push((PathBuf::from(path), (*text).to_string()));
    }
    Ok(out)
}

/// Writes a new plugin crate called `name` into `dir` (created; it must
/// not exist or be empty).
pub fn create(dir: &Path, name: &str) -> Result<Vec<PathBuf>, ScaffoldError> {
    let files = files(name)?;
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(ScaffoldError::Exists(dir.to_path_buf()));
    }
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(&rel);
        let write = |p: &Path| -> std::io::Result<()> {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, &text)
        };
        write(&path).map_err(|source| ScaffoldError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(rel);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_carried_into_every_file() {
        for bad in [
            "",
            "9lives",
            "Foo",
            "a b",
            "../x",
            "std",
            "test",
            "x".repeat(65).as_str(),
        ] {
            assert!(files(bad).is_err(), "{bad:?}");
        }
        let files = files("ocaml-top").expect("valid");
        let text = |p: &str| {
            files
                .iter()
                .find(|(path, _)| path == Path::new(p))
                .map(|(_, t)| t.as_str())
                .unwrap_or_else(|| panic!("no {p}"))
        };
        assert!(text("Cargo.toml").contains("name = \"ocaml-top\""));
        assert!(text("plugin.toml").contains("id = \"ocaml-top\""));
        assert!(text("plugin.toml").contains("api = \"0.2\""));
        assert!(text("src/lib.rs").contains("pub struct OcamlTop"));
        assert!(text("tests/hooks.rs").contains("use ocaml_top::OcamlTop;"));
        assert!(text("sdk/src/lib.rs").contains("\"../wit/0.2\""));
        assert!(text("wit/0.2/plugin.wit").contains("package repl-mcp:plugin@0.2.0;"));
        for (path, t) in &files {
            assert!(
                !t.contains("my-plugin") && !t.contains("MyPlugin"),
                "{path:?}"
            );
        }
    }

    #[test]
    fn every_sdk_source_is_written_out() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/sdk/src");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("plugins/sdk/src")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = SDK_SOURCES.iter().map(|s| s.to_string()).collect();
        embedded.sort();
        assert_eq!(
            on_disk, embedded,
            "add the new SDK file to VERBATIM and SDK_SOURCES"
        );
        for f in SDK_SOURCES {
            let path = format!("sdk/src/{f}");
            assert!(VERBATIM.iter().any(|(p, _)| *p == path), "{path}");
        }
    }

    #[test]
    fn an_existing_folder_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("keep"), "mine").expect("write");
        assert!(matches!(
            create(dir.path(), "demo"),
            Err(ScaffoldError::Exists(_))
        ));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("keep")).expect("read"),
            "mine"
        );
    }
}
