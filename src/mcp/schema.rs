//! Tool schemas every MCP client accepts.
//!
//! schemars writes what JSON Schema allows; clients accept less. The
//! TypeScript SDK (Claude Code, Cursor, VS Code) rejects a boolean where a
//! property's schema should be (`"context": true`) and its validator warns on
//! formats outside the standard (`uint64`, `int32`). So every schema here is
//! generated inline (no `$ref`), without `$schema` or titles, with booleans
//! spelled as objects and only standard formats. Input schemas are also the
//! text the model reads on every turn, so they drop what says nothing:
//! `null` alternatives of optional fields and `default: null`.

use std::sync::Arc;

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// Formats JSON Schema 2020-12 defines; any other is dropped.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Keywords whose value is one schema.
const ONE_SCHEMA: &[&str] = &[
    "additionalProperties",
    "items",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
];
/// Keywords whose value maps names to schemas.
const SCHEMA_MAP: &[&str] = &["properties", "patternProperties", "$defs", "definitions"];
/// Keywords whose value is a list of schemas.
const SCHEMA_LIST: &[&str] = &["anyOf", "allOf", "oneOf", "prefixItems"];

/// The input schema of a tool taking `T` (what it accepts).
pub fn input<T: JsonSchema>() -> Arc<JsonObject> {
    generate::<T>(SchemaSettings::draft2020_12(), true)
}

/// The output schema of a tool returning `T` (what it writes).
pub fn output<T: JsonSchema>() -> Arc<JsonObject> {
    generate::<T>(SchemaSettings::draft2020_12().for_serialize(), false)
}

fn generate<T: JsonSchema>(settings: SchemaSettings, lean: bool) -> Arc<JsonObject> {
    let settings = settings.with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let root = serde_json::to_value(settings.into_generator().into_root_schema_for::<T>())
        .unwrap_or_else(|_| Value::Object(Map::new()));
    let mut object = match root {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    tidy_schema(&mut object, lean);
    object.remove("description");
    object.insert("type".into(), Value::String("object".into()));
    Arc::new(object)
}

/// A boolean schema as the object schema that means the same.
fn as_object(value: &mut Value) {
    match value {
        Value::Bool(true) => *value = Value::Object(Map::new()),
        Value::Bool(false) => {
            let mut never = Map::new();
            never.insert("not".into(), Value::Object(Map::new()));
            *value = Value::Object(never);
        }
        _ => {}
    }
}

fn tidy_value(value: &mut Value, lean: bool) {
    as_object(value);
    if let Value::Object(map) = value {
        tidy_schema(map, lean);
    }
}

fn tidy_schema(schema: &mut Map<String, Value>, lean: bool) {
    schema.remove("$schema");
    schema.remove("title");
    if schema.get("additionalProperties") == Some(&Value::Bool(true)) {
        schema.remove("additionalProperties");
    }
    // An input refuses unknown fields itself, naming the ones it has; the
    // model's tool text need not say so on every turn.
    if lean && schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        schema.remove("additionalProperties");
    }
    if let Some(Value::String(f)) = schema.get("format")
        && !STANDARD_FORMATS.contains(&f.as_str())
    {
        schema.remove("format");
    }
    for key in ONE_SCHEMA {
        if let Some(v) = schema.get_mut(*key) {
            tidy_value(v, lean);
        }
    }
    for key in SCHEMA_MAP {
        if let Some(Value::Object(m)) = schema.get_mut(*key) {
            m.values_mut().for_each(|v| tidy_value(v, lean));
        }
    }
    for key in SCHEMA_LIST {
        if let Some(Value::Array(list)) = schema.get_mut(*key) {
            list.iter_mut().for_each(|v| tidy_value(v, lean));
        }
    }
    if lean {
        drop_null_alternative(schema);
    }
}

/// `Option<T>` in an input: `T` alone. A client may still send `null`
/// (serde takes it as absent); the model needs not read about it.
fn drop_null_alternative(schema: &mut Map<String, Value>) {
    if schema.get("default") == Some(&Value::Null) {
        schema.remove("default");
    }
    if let Some(Value::Array(types)) = schema.get("type") {
        let kept: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        if kept.len() == 1 {
            schema.insert("type".into(), kept[0].clone());
        }
    }
    let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
    if let Some(Value::Array(alternatives)) = schema.get("anyOf")
        && alternatives.len() == 2
        && let Some(Value::Object(only)) = alternatives.iter().find(|v| !is_null(v))
        && alternatives.iter().any(is_null)
    {
        let only = only.clone();
        schema.remove("anyOf");
        for (k, v) in only {
            schema.entry(k).or_insert(v);
        }
    }
}

/// Problems a client could have with `schema` (empty when there are none):
/// a boolean where a schema belongs, a non-standard format, a `$ref` (not
/// every validator resolves them), or a root that is not `type: object`.
pub fn problems(schema: &JsonObject) -> Vec<String> {
    let mut out = Vec::new();
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        out.push("root is not `type: object`".to_string());
    }
    walk(&Value::Object(schema.clone()), "#", &mut out);
    out
}

fn walk(value: &Value, at: &str, out: &mut Vec<String>) {
    let Value::Object(schema) = value else {
        out.push(format!("{at}: a boolean or other non-object schema"));
        return;
    };
    if let Some(Value::String(f)) = schema.get("format")
        && !STANDARD_FORMATS.contains(&f.as_str())
    {
        out.push(format!("{at}: non-standard format `{f}`"));
    }
    if schema.contains_key("$ref") {
        out.push(format!("{at}: `$ref`"));
    }
    for key in ONE_SCHEMA {
        if let Some(v) = schema.get(*key) {
            walk(v, &format!("{at}/{key}"), out);
        }
    }
    for key in SCHEMA_MAP {
        if let Some(Value::Object(m)) = schema.get(*key) {
            for (name, v) in m {
                walk(v, &format!("{at}/{key}/{name}"), out);
            }
        }
    }
    for key in SCHEMA_LIST {
        if let Some(Value::Array(list)) = schema.get(*key) {
            for (i, v) in list.iter().enumerate() {
                walk(v, &format!("{at}/{key}/{i}"), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::ReplServer;

    #[test]
    fn every_tool_schema_is_one_every_client_accepts() {
        let tools = ReplServer::tools();
        assert!(tools.len() >= 14, "{} tools", tools.len());
        let mut found = Vec::new();
        for tool in &tools {
            for p in problems(&tool.input_schema) {
                found.push(format!("{} input {p}", tool.name));
            }
            match &tool.output_schema {
                Some(schema) => {
                    for p in problems(schema) {
                        found.push(format!("{} output {p}", tool.name));
                    }
                }
                None => found.push(format!("{} has no output schema", tool.name)),
            }
        }
        assert!(found.is_empty(), "schema problems:\n{}", found.join("\n"));
    }

    #[test]
    fn the_walk_finds_what_clients_reject() {
        let bad = serde_json::json!({
            "type": "object",
            "properties": {
                "context": true,
                "n": {"type": "integer", "format": "uint64"},
                "list": {"type": "array", "items": {"$ref": "#/$defs/X"}},
            }
        });
        let Value::Object(bad) = bad else {
            unreachable!()
        };
        let found = problems(&bad);
        assert_eq!(found.len(), 3, "{found:?}");
        let mut fixed = Value::Object(bad);
        tidy_value(&mut fixed, false);
        let Value::Object(fixed) = fixed else {
            unreachable!()
        };
        assert_eq!(problems(&fixed).len(), 1, "only the $ref is left");
    }

    #[test]
    fn optional_inputs_read_without_null() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct P {
            /// How long.
            timeout: Option<u64>,
            inner: Option<Inner>,
        }
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Inner {
            flag: Option<bool>,
        }
        let s = Value::Object(input::<P>().as_ref().clone());
        assert_eq!(
            s["properties"]["timeout"],
            serde_json::json!({"description": "How long.", "type": "integer", "minimum": 0})
        );
        assert_eq!(s["properties"]["inner"]["type"], "object");
        assert_eq!(
            s["properties"]["inner"]["properties"]["flag"]["type"],
            "boolean"
        );
    }

    /// What a model reads about the tools on every turn: name, description
    /// and input schema, as JSON (the way clients pass them on).
    fn model_visible_bytes() -> usize {
        ReplServer::tools()
            .iter()
            .map(|t| {
                serde_json::json!({
                    "name": t.name,
                    "description": t.description,
                    "inputSchema": t.input_schema,
                })
                .to_string()
                .len()
            })
            .sum()
    }

    #[test]
    fn tool_text_stays_within_its_budget() {
        let bytes = model_visible_bytes();
        assert!(
            bytes <= 6000,
            "model-visible tool text is {bytes} bytes; the budget is 6000"
        );
    }
}
