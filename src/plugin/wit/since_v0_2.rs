//! Host bindings for `repl-mcp:plugin@0.2.0` (`plugins/wit/0.2`), and the
//! conversions between its types and the host's. New in 0.2: the session
//! facts (kernel, target, parameters, time since input) on every call.

use wasmtime::Store;

use crate::plugin::decision as host;
use crate::plugin::state::StoreState;

wasmtime::component::bindgen!({
    path: "plugins/wit/0.2",
    world: "strategy",
    ownership: Borrowing { duplicate_if_necessary: false },
});

pub const HOST_INTERFACE: &str = "repl-mcp:plugin/host@0.2.0";

shared_glue!();

/// The parameters as borrowed pairs, the shape the bindings take.
fn pairs(facts: &crate::plugin::facts::SessionFacts) -> Vec<(&str, &str)> {
    facts
        .parameters
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn session_facts<'a>(
    facts: &'a crate::plugin::facts::SessionFacts,
    parameters: &'a [(&'a str, &'a str)],
) -> self::SessionFacts<'a> {
    let k = &facts.kernel;
    self::SessionFacts {
        kernel: self::KernelFacts {
            echo: k.echo,
            canonical: k.canonical,
            foreground: k.foreground.as_ref().map(|f| self::Foreground {
                pid: f.pid,
                name: &f.name,
            }),
            reading_terminal: k.reading_terminal,
        },
        target: facts.target.as_deref(),
        parameters,
        since_input_ms: facts.since_input_ms,
    }
}

pub fn detect_prompt(
    b: &Strategy,
    store: &mut Store<StoreState>,
    input: &host::DetectInput<'_>,
) -> wasmtime::Result<Option<host::Detection>> {
    let parameters = pairs(input.session);
    let arg = self::DetectInput {
        screen: input.screen,
        cursor_row: input.cursor_row,
        cursor_col: input.cursor_col,
        cursor_line: input.cursor_line,
        recent_output: input.recent_output,
        alternate_screen: input.alternate_screen,
        preset: input.preset,
        session: session_facts(input.session, &parameters),
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
    let parameters = pairs(&facts.session);
    let arg = self::HookFacts {
        preset: &facts.preset,
        state: &facts.state,
        elapsed_ms: facts.elapsed_ms,
        screen: &facts.screen,
        recent_output: &facts.recent_output,
        exit_code: facts.exit_code,
        restarts: facts.restarts,
        last_input: &facts.last_input,
        session: session_facts(&facts.session, &parameters),
    };
    Ok(export(b, store, arg)?.map(decision))
}
