//! Turning plugin bytes into a `Component`, once per plugin per process, with
//! an optional on-disk cache of the compiled code so that a server start does
//! not run Cranelift again for plugins it already compiled.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

pub use repl_mcp_plugin_build::sha256_hex;

/// Feeds `Hash` output into a sha256, to get a key that is stable across
/// processes (std's hashers are seeded per process).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The cache file for `wasm_sha256`: keyed by the wasm's digest and by the
/// engine's compatibility hash, which covers the wasmtime version and every
/// setting that changes compiled code.
fn cache_path(engine: &Engine, dir: &Path, wasm_sha256: &str) -> PathBuf {
    let mut h = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    let engine_key: String =
        h.0.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
    dir.join(format!("{wasm_sha256}-{engine_key}.cwasm"))
}

pub fn compile(
    engine: &Engine,
    wasm: &[u8],
    wasm_sha256: &str,
    cache_dir: Option<&Path>,
) -> wasmtime::Result<Component> {
    let Some(dir) = cache_dir else {
        return Component::new(engine, wasm);
    };
    let path = cache_path(engine, dir, wasm_sha256);
    if let Ok(bytes) = std::fs::read(&path) {
        // SAFETY: `Component::deserialize` trusts its input to be code that
        // wasmtime produced. The cache lives in the user's own cache
        // directory, written only by this function; wasmtime also checks the
        // header (version, engine settings) and refuses a mismatch.
        match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(c) => return Ok(c),
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "stale plugin cache entry, recompiling")
            }
        }
    }
    let compiled = engine.precompile_component(wasm)?;
    if let Err(e) = write_atomically(dir, &path, &compiled) {
        tracing::debug!(path = %path.display(), error = %e, "cannot write plugin cache");
    }
    // SAFETY: the bytes were produced just above by this engine.
    unsafe { Component::deserialize(engine, &compiled) }
}

/// Writes to a temporary file then renames, so a concurrent reader never
/// sees half a file.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
