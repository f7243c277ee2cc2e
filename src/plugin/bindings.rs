//! Host bindings for `repl-mcp:plugin@0.1.0`, generated from the WIT files in
//! `plugins/wit/0.1`. A later API version gets a sibling module (`v0_2`) and
//! the host picks one from the manifest's `api` field.

pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "plugins/wit/0.1",
        world: "strategy",
        // Borrowed parameters let the host pass the screen text without
        // copying it into an owned String first.
        ownership: Borrowing { duplicate_if_necessary: false },
    });
}
