//! Host bindings for `repl-mcp:plugin@0.1.0` (`plugins/wit/0.1`), and the
//! conversions between its types and the host's. 0.1 plugins see no session
//! facts; their `elapsed-ms` is the time since the last input, as that API
//! promises.

use wasmtime::Store;

use crate::plugin::decision as host;
use crate::plugin::state::StoreState;

wasmtime::component::bindgen!({
    path: "plugins/wit/0.1",
    world: "strategy",
    // Borrowed parameters let the host pass the screen text without
    // copying it into an owned String first.
    ownership: Borrowing { duplicate_if_necessary: false },
});

pub const HOST_INTERFACE: &str = "repl-mcp:plugin/host@0.1.0";

shared_glue!();

pub fn detect_prompt(
    b: &Strategy,
    store: &mut Store<StoreState>,
    input: &host::DetectInput<'_>,
) -> wasmtime::Result<Option<host::Detection>> {
    let arg = self::DetectInput {
        screen: input.screen,
        cursor_row: input.cursor_row,
        cursor_col: input.cursor_col,
        cursor_line: input.cursor_line,
        recent_output: input.recent_output,
        alternate_screen: input.alternate_screen,
        preset: input.preset,
    };
    Ok(b.call_detect_prompt(store, arg)?.map(|d| host::Detection {
        kind: prompt_kind(d.kind),
        prompt: d.prompt,
    }))
}

pub fn hook(
    export: HookExport,
    b: &Strategy,
    store: &mut Store<StoreState>,
    facts: &host::HookFacts,
) -> wasmtime::Result<Option<host::Decision>> {
    let arg = self::HookFacts {
        preset: &facts.preset,
        state: &facts.state,
        elapsed_ms: facts.session.since_input_ms.unwrap_or(facts.elapsed_ms),
        screen: &facts.screen,
        recent_output: &facts.recent_output,
        exit_code: facts.exit_code,
        restarts: facts.restarts,
        last_input: &facts.last_input,
    };
    Ok(export(b, store, arg)?.map(decision))
}
