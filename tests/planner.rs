//! The planner as a library, on packages built in memory: no file is read, no binary runs.
//! A spec parsed from text, a source and a target made of assets, and the plan's actions,
//! renames, no-op detection and field-level diffs checked on the value `compute_loaded`
//! returns.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use hoist::diff::Op;
use hoist::digest::Digest;
use hoist::model::{Asset, AssetKey, Payload, Version};
use hoist::package::{Layout, Package, layout_io};
use hoist::plan::inputs::{Input, Loaded};
use hoist::plan::{Action, compute_loaded};
use hoist::spec::Spec;
use serde_json::json;

fn asset(kind: &str, name: &str, meta: serde_json::Value, files: &[(&str, &[u8])]) -> Asset {
    let mut a = Asset::new(AssetKey::new(kind, name, Version::None), meta, None);
    for (path, bytes) in files {
        a.files
            .insert(path.to_string(), Payload::Bytes(Arc::new(bytes.to_vec())));
    }
    a
}

fn package(label: &str, assets: Vec<Asset>) -> Package {
    let io = layout_io(hoist::platform::LAYOUTS, Layout::Hoist).unwrap();
    Package::in_memory(Path::new(label), io, assets)
}

fn spec(text: &str) -> Spec {
    let path = Path::new("/nowhere/spec.yaml");
    Spec::parse(path, Arc::from(text), Digest::of(text.as_bytes())).unwrap()
}

#[test]
fn a_plan_computed_from_packages_in_memory() {
    let spec = spec(
        "version: 1\nname: mem\nsources: [in/shop]\ntarget: target\noutput: {dir: out}\n\
         rename:\n  - {kind: task, prefix: \"prod-\"}\n\
         conflicts: {default: overwrite}\n\
         environments:\n  prod:\n    overrides:\n      - {kind: backend, names: [svc], set: {/timeout: 3000}}\n",
    );
    let source = package(
        "in/shop",
        vec![
            asset(
                "backend",
                "svc",
                json!({"name": "svc", "timeout": 5000, "address": "dev:443"}),
                &[],
            ),
            asset(
                "api",
                "list",
                json!({"name": "list", "backend": "svc"}),
                &[("openapi.yaml", b"a: 1\n")],
            ),
            asset("task", "sync", json!({"name": "sync"}), &[]),
        ],
    );
    let target = package(
        "target",
        vec![
            asset(
                "backend",
                "svc",
                json!({"name": "svc", "timeout": 5000, "address": "prod:443"}),
                &[],
            ),
            asset(
                "api",
                "list",
                json!({"backend": "svc", "name": "list"}),
                &[("openapi.yaml", b"a: 1\n")],
            ),
        ],
    );
    let loaded = Loaded {
        sources: vec![Input {
            shown: "in/shop".into(),
            package: source,
        }],
        target: Some(Input {
            shown: "target".into(),
            package: target,
        }),
        hooks: BTreeMap::new(),
        last_merged: None,
    };
    let opts = hoist::plan::PlanOptions {
        env: Some("prod".into()),
        ..hoist::platform::plan_options()
    };
    let planned = compute_loaded(&spec, &opts, &|_| None, loaded).unwrap();
    let assets = &planned.plan.packages[0].assets;
    let by_name = |n: &str| assets.iter().find(|a| a.name == n).unwrap();
    // Same value (key order aside), same payload: unchanged, and not written.
    assert_eq!(by_name("list").action, Action::Unchanged);
    let backend = by_name("svc");
    assert_eq!(backend.action, Action::Overwrite);
    let changes: Vec<(&str, Op, Option<&str>)> = backend
        .diff
        .iter()
        .map(|c| (c.pointer.as_str(), c.op, c.by.as_deref()))
        .collect();
    assert_eq!(
        changes,
        [
            ("/timeout", Op::Changed, Some("override at spec.yaml:12:45")),
            ("/address", Op::Changed, Some("source")),
        ]
    );
    let task = by_name("sync");
    assert_eq!(
        (task.action, task.output_name.as_str()),
        (Action::Create, "prod-sync")
    );
    let s = planned.plan.summary;
    assert_eq!((s.create, s.overwrite, s.unchanged), (1, 1, 1));
    // The delta holds what changes, nothing else.
    let written: Vec<String> = planned.outputs[0]
        .assets
        .iter()
        .map(|a| a.key.to_string())
        .collect();
    assert_eq!(written, ["backend/svc", "task/prod-sync"]);
}
