//! Hand-written WAT components implementing the `strategy` world, for the
//! hostile-plugin tests. Each fixture supplies the bodies of the core
//! functions; the rest (types, canonical lifts) is the same for all.
//!
//! Canonical ABI reminders for the return areas written below:
//! - `option<detection>`: tag u8 @0, kind u8 @4, prompt ptr @8, len @12;
//! - `option<decision>`: tag u8 @0, decision tag u8 @8, payload @16
//!   (u64, or string ptr @16 / len @20);
//! - `result<_, string>`: tag u8 @0, error ptr @4, len @8.

/// Core function bodies (each must leave one i32 on the stack: a pointer to
/// the return area), plus optional extra component-level imports.
#[derive(Clone)]
pub struct Bodies {
    pub imports: &'static str,
    pub init: &'static str,
    pub detect: &'static str,
    pub on_timeout: &'static str,
    pub on_exit: &'static str,
    pub on_startup: &'static str,
}

/// Answers: init ok, every hook "no opinion" (tag 0 in a zeroed area).
pub const NO_OPINION: &str = "(i32.const 0)";

impl Default for Bodies {
    fn default() -> Self {
        Bodies {
            imports: "",
            init: NO_OPINION,
            detect: NO_OPINION,
            on_timeout: NO_OPINION,
            on_exit: NO_OPINION,
            on_startup: NO_OPINION,
        }
    }
}

const FACTS_PARAMS: &str = "(param i32 i32 i32 i32 i64 i32 i32 i32 i32 i32 i32 i32 i32 i32)";

pub fn component(b: &Bodies) -> String {
    format!(
        r#"(component
  {imports}
  (core module $m
    (memory (export "memory") 1)
    ;; Return areas live at 256; the bump allocator hands out memory from 1024.
    (global $heap (mut i32) (i32.const 1024))
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.const 16)))))
      (local.get $p))
    (func $recurse (export "recurse") (param i32) (result i32)
      (call $recurse (i32.add (local.get 0) (i32.const 1))))
    (func (export "init") (param i32 i32) (result i32) {init})
    (func (export "detect-prompt") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32) {detect})
    (func (export "on-timeout") {facts} (result i32) {on_timeout})
    (func (export "on-exit") {facts} (result i32) {on_exit})
    (func (export "on-startup-failure") {facts} (result i32) {on_startup})
  )
  (core instance $i (instantiate $m))
  (type $prompt-kind' (enum "ready" "continuation" "busy" "awaiting-input"))
  (export $prompt-kind "prompt-kind" (type $prompt-kind'))
  (type $detection' (record (field "kind" $prompt-kind) (field "prompt" string)))
  (export $detection "detection" (type $detection'))
  (type $detect-input' (record (field "screen" string) (field "cursor-row" u16) (field "cursor-col" u16)
    (field "cursor-line" string) (field "recent-output" string) (field "alternate-screen" bool) (field "preset" string)))
  (export $detect-input "detect-input" (type $detect-input'))
  (type $hook-facts' (record (field "preset" string) (field "state" string) (field "elapsed-ms" u64)
    (field "screen" string) (field "recent-output" string) (field "exit-code" (option s32))
    (field "restarts" u32) (field "last-input" string)))
  (export $hook-facts "hook-facts" (type $hook-facts'))
  (type $llm-question' (record (field "question" string) (field "question-type" string)))
  (export $llm-question "llm-question" (type $llm-question'))
  (type $decision' (variant (case "wait" u64) (case "send-input" string) (case "send-signal" string)
    (case "set-ready" string) (case "restart") (case "mark-failed" string) (case "ask-llm" $llm-question)))
  (export $decision "decision" (type $decision'))
  (func (export "init") (param "settings" (list (tuple string string))) (result (result (error string)))
    (canon lift (core func $i "init") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc"))))
  (func (export "detect-prompt") (param "input" $detect-input) (result (option $detection))
    (canon lift (core func $i "detect-prompt") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc"))))
  (func (export "on-timeout") (param "facts" $hook-facts) (result (option $decision))
    (canon lift (core func $i "on-timeout") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc"))))
  (func (export "on-exit") (param "facts" $hook-facts) (result (option $decision))
    (canon lift (core func $i "on-exit") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc"))))
  (func (export "on-startup-failure") (param "facts" $hook-facts) (result (option $decision))
    (canon lift (core func $i "on-startup-failure") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc"))))
)"#,
        imports = b.imports,
        init = b.init,
        detect = b.detect,
        on_timeout = b.on_timeout,
        on_exit = b.on_exit,
        on_startup = b.on_startup,
        facts = FACTS_PARAMS,
    )
}

/// A manifest for a fixture, with the digest of `wasm` filled in.
pub fn manifest(id: &str, wasm: &[u8], extra: &str) -> String {
    format!(
        r#"id = "{id}"
version = "0.0.1"
api = "0.1"
sha256 = "{sha}"
hooks = ["detect-prompt", "on-timeout", "on-exit", "on-startup-failure"]
{extra}
"#,
        sha = repl_mcp::plugin::sha256_hex(wasm)
    )
}

/// Install plugin `id` (a component built from `bodies`, its manifest with
/// `extra` appended) in the user's config dir `config`, and a python preset
/// of the same name that uses it as its strategy.
// Not every crate that includes this file (benches, plugin_host) installs.
#[allow(dead_code)]
pub fn install_python_plugin(config: &std::path::Path, id: &str, bodies: &Bodies, extra: &str) {
    let wasm = wat::parse_str(component(bodies)).expect("fixture WAT");
    let dir = config.join("repl-mcp/plugins").join(id);
    std::fs::create_dir_all(&dir).expect("plugin dir");
    std::fs::write(dir.join(format!("{id}.wasm")), &wasm).expect("write wasm");
    std::fs::write(dir.join("plugin.toml"), manifest(id, &wasm, extra)).expect("write manifest");
    let presets = config.join("repl-mcp/presets");
    std::fs::create_dir_all(&presets).expect("presets dir");
    std::fs::write(
        presets.join(format!("{id}.toml")),
        format!(
            "name = \"{id}\"\ncommand = [\"python3\", \"-q\"]\nenv = {{ PYTHON_BASIC_REPL = \"1\" }}\n\
             [prompt]\nready = ['^>>> $']\ncontinuation = ['^\\.\\.\\. $']\n[strategy]\nplugin = \"{id}\"\n"
        ),
    )
    .expect("write preset");
}
