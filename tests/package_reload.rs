//! `reload_presets`: a running server picks up installed presets, and a
//! broken one is reported, not fatal.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn reload_picks_up_new_presets_and_reports_broken_ones() {
    let s = start().await;
    let (r, err) = call(&s.client, "reload_presets", json!({})).await;
    assert!(!err, "{r}");
    let names = |r: &serde_json::Value| -> Vec<String> {
        r["presets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert!(names(&r).contains(&"python".to_string()));
    assert!(!names(&r).contains(&"freshly".to_string()));

    let pkg = s.config_home.join("repl-mcp/presets/fresh");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("preset.toml"),
        "name = \"freshly\"\ncommand = [\"python3\", \"-q\"]\n[prompt]\nready = ['^>>> $']\n",
    )
    .unwrap();
    std::fs::write(
        s.config_home.join("repl-mcp/presets/broken.toml"),
        "name = \"broken\"\ncommand = [\"x\"]\n[prompt]\nready = ['(']\n",
    )
    .unwrap();

    let (r, err) = call(&s.client, "reload_presets", json!({})).await;
    assert!(!err, "{r}");
    assert_eq!(r["success"], true);
    assert!(names(&r).contains(&"freshly".to_string()), "{r}");
    let errors = r["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.as_str().unwrap().contains("broken.toml")),
        "{r}"
    );
    // The list tool sees the same registry.
    let (l, _) = call(&s.client, "list_repl_configurations", json!({})).await;
    assert!(
        l["configurations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "freshly")
    );
}

#[tokio::test]
async fn reload_presets_is_annotated() {
    let s = start().await;
    let tools = s.client.list_all_tools().await.expect("tools/list");
    let t = tools
        .iter()
        .find(|t| t.name == "reload_presets")
        .expect("reload_presets listed");
    let a = t.annotations.as_ref().expect("annotations");
    assert_eq!(a.read_only_hint, Some(false));
    assert_eq!(a.destructive_hint, Some(false));
    assert!(t.output_schema.is_some());
}
