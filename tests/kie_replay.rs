//! Property: for a KIE upload, the merged state hoist writes is what the server holds after it
//! imports the upload file hoist wrote into the target. The import is replayed here, item by
//! item, from the server's rules as docs/spec.md ("ServiceComb KIE") gives them, under each
//! override mode, over random sources (duplicates in the file and in the target, missing
//! status, value and value_type), with and without `add_label` and a rename.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use hoist::plan::{PlanOptions, compute};
use hoist::spec::Spec;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const KEYS: [&str; 3] = ["a", "b.c", "d-e"];
const LABEL_KEYS: [&str; 2] = ["app", "tier"];
const LABEL_VALUES: [&str; 2] = ["shop", "gold"];
const VALUES: [&str; 3] = ["", "1", "two"];
const VALUE_TYPES: [&str; 2] = ["json", "text"];
const MODES: [&str; 3] = ["force", "skip", "abort"];

#[derive(Debug, Clone)]
struct Item {
    key: usize,
    labels: Vec<(usize, usize)>,
    value: Option<usize>,
    value_type: Option<usize>,
    status: Option<bool>,
}

fn item() -> impl Strategy<Value = Item> {
    (
        0..KEYS.len(),
        prop::collection::vec((0..LABEL_KEYS.len(), 0..LABEL_VALUES.len()), 0..3),
        prop::option::of(0..VALUES.len()),
        prop::option::of(0..VALUE_TYPES.len()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(key, labels, value, value_type, status)| Item {
            key,
            labels,
            value,
            value_type,
            status,
        })
}

impl Item {
    fn json(&self) -> Value {
        let mut doc = Map::new();
        doc.insert("key".into(), json!(KEYS[self.key]));
        if let Some(v) = self.value {
            doc.insert("value".into(), json!(VALUES[v]));
        }
        if let Some(t) = self.value_type {
            doc.insert("value_type".into(), json!(VALUE_TYPES[t]));
        }
        if let Some(s) = self.status {
            doc.insert(
                "status".into(),
                json!(if s { "enabled" } else { "disabled" }),
            );
        }
        let labels: Map<String, Value> = self
            .labels
            .iter()
            .map(|&(k, v)| (LABEL_KEYS[k].to_string(), json!(LABEL_VALUES[v])))
            .collect();
        doc.insert("labels".into(), Value::Object(labels));
        Value::Object(doc)
    }
}

/// An item's identity: its key and its exact label set.
type Identity = (String, BTreeMap<String, String>);

fn identity(item: &Value) -> Identity {
    let labels = item["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    (item["key"].as_str().unwrap().to_string(), labels)
}

fn text<'a>(item: &'a Value, field: &str) -> &'a str {
    item.get(field).and_then(Value::as_str).unwrap_or_default()
}

/// The server's import of `upload` into `target`, in file order (docs/spec.md's table): a
/// missing status is `disabled`; a new item gets `value_type` text and an empty value when it
/// has none; a duplicate under `force` takes the new status and a non-empty value only; under
/// `skip` it is left out; under `abort` it and everything after it are left out.
fn replay(target: &[Value], upload: &[Value], mode: &str) -> Vec<Value> {
    let mut state: Vec<Value> = target.to_vec();
    for item in upload {
        let mut item = item.clone();
        if text(&item, "status").is_empty() {
            item["status"] = json!("disabled");
        }
        let id = identity(&item);
        match state.iter().position(|held| identity(held) == id) {
            Some(at) => match mode {
                "force" => {
                    if !text(&item, "value").is_empty() {
                        state[at]["value"] = item["value"].clone();
                    }
                    state[at]["status"] = item["status"].clone();
                }
                "skip" => {}
                _ => break,
            },
            None => {
                if text(&item, "value_type").is_empty() {
                    item["value_type"] = json!("text");
                }
                if item.get("value").is_none() {
                    item["value"] = json!("");
                }
                state.push(item);
            }
        }
    }
    state
}

/// The target: items of distinct identities, each as the server holds one (every field set).
fn target_of(items: &[Item]) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for it in items {
        let mut full = it.clone();
        full.value = Some(full.value.unwrap_or(1));
        full.value_type = Some(full.value_type.unwrap_or(0));
        full.status = Some(full.status.unwrap_or(true));
        let doc = full.json();
        let id = identity(&doc);
        if !seen.contains(&id) {
            seen.push(id);
            out.push(doc);
        }
    }
    out
}

fn data(path: &Path) -> Vec<Value> {
    let doc: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    doc["data"].as_array().cloned().unwrap_or_default()
}

/// Items in a stable order, to compare states whatever order each lists them in.
fn by_identity(items: Vec<Value>) -> BTreeMap<String, Value> {
    items
        .into_iter()
        .map(|v| (format!("{:?}", identity(&v)), v))
        .collect()
}

fn apply(root: &Path) {
    let path = root.join("spec.yaml");
    let text = fs::read_to_string(&path).unwrap();
    let spec = Spec::parse(
        &path,
        Arc::from(text.as_str()),
        hoist::digest::Digest::of(text.as_bytes()),
    )
    .unwrap();
    let opts = PlanOptions {
        out_dir: Some(root.join("out")),
        ..hoist::platform::plan_options()
    };
    let planned = compute(&spec, &opts, &|_| None).unwrap();
    hoist::engine::apply(&planned, false, None).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn the_merged_state_is_the_upload_replayed_against_the_target(
        source in prop::collection::vec(item(), 1..8),
        target in prop::collection::vec(item(), 0..5),
        mode in 0..MODES.len(),
        add_label in any::<bool>(),
        rename in any::<bool>(),
    ) {
        let mode = MODES[mode];
        let dir = common::tmp();
        let root = dir.path();
        let source_items: Vec<Value> = source.iter().map(Item::json).collect();
        let target_items = target_of(&target);
        fs::create_dir_all(root.join("in")).unwrap();
        fs::write(
            root.join("in/config.json"),
            serde_json::to_vec_pretty(&json!({"data": source_items})).unwrap(),
        )
        .unwrap();
        fs::write(
            root.join("target.json"),
            serde_json::to_vec_pretty(&json!({"data": target_items})).unwrap(),
        )
        .unwrap();
        let mut spec = format!(
            "version: 1\nname: replay\nsources: [in/config.json]\ntarget: target.json\n\
             output: {{dir: out, merged: true}}\nkie: {{override: {mode}{}}}\n",
            if add_label { ", add_label: \"tier:gold\"" } else { "" },
        );
        if rename {
            spec.push_str("rename:\n  - {kind: config, names: [a], prefix: \"d-\"}\n");
        }
        fs::write(root.join("spec.yaml"), spec).unwrap();
        apply(root);

        let upload = data(&root.join("out/config.json"));
        let merged = data(&root.join("out/merged.json"));
        let replayed = replay(&target_items, &upload, mode);
        let count = merged.len();
        let merged = by_identity(merged);
        prop_assert_eq!(merged.len(), count, "the merged state holds one identity twice");
        prop_assert_eq!(merged, by_identity(replayed));
    }
}
