//! The built-in plugins, embedded in the binary. Their sources live in
//! `plugins/<id>/`; rebuild them with
//! `cargo run --manifest-path plugins/xtask/Cargo.toml -- build`.

/// One embedded plugin: its manifest text and component bytes.
pub struct Builtin {
    pub id: &'static str,
    pub manifest: &'static str,
    pub wasm: &'static [u8],
}

macro_rules! builtin {
    ($id:literal) => {
        Builtin {
            id: $id,
            manifest: include_str!(concat!("../../plugins/dist/", $id, "/plugin.toml")),
            wasm: include_bytes!(concat!("../../plugins/dist/", $id, "/", $id, ".wasm")),
        }
    };
}

pub const BUILTINS: &[Builtin] = &[
    builtin!("prompt-regex"),
    builtin!("default-recovery"),
    builtin!("psql-recovery"),
];
