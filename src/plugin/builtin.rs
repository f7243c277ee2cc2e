//! The built-in plugins, embedded in the binary. Rebuild them with
//! `cargo run --manifest-path plugins/xtask/Cargo.toml -- build`.

/// One embedded plugin: its manifest text and component bytes.
pub struct Builtin {
    pub id: &'static str,
    pub manifest: &'static str,
    pub wasm: &'static [u8],
}

pub const BUILTINS: &[Builtin] = &[];
