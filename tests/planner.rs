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

/// The plan of `spec` on a source and a target made of `assets`, for environment `prod`, with
/// hook scripts given as (name, text).
fn plan_of(
    spec_text: &str,
    source: Vec<Asset>,
    target: Vec<Asset>,
    hooks: &[(&str, &str)],
) -> hoist::plan::Plan {
    let spec = spec(spec_text);
    let loaded = Loaded {
        sources: vec![Input {
            shown: "in/shop".into(),
            package: package("in/shop", source),
        }],
        target: Some(Input {
            shown: "target".into(),
            package: package("target", target),
        }),
        hooks: hooks
            .iter()
            .map(|(name, text)| (name.to_string(), Arc::from(*text)))
            .collect(),
        last_merged: None,
    };
    let opts = hoist::plan::PlanOptions {
        env: Some("prod".into()),
        ..hoist::platform::plan_options()
    };
    compute_loaded(&spec, &opts, &|_| None, loaded)
        .unwrap()
        .plan
}

#[test]
fn a_failure_travels_along_references_and_leaves_skipped_assets_alone() {
    let plan = plan_of(
        "version: 1\nname: refs\nsources: [in/shop]\ntarget: target\noutput: {dir: out}\n\
         conflicts: {default: skip}\n\
         hooks:\n  - {script: drop.lua, kinds: [backend]}\n\
         environments:\n  prod:\n    overrides:\n      - {kind: api_group, names: [g1], set: {/app: nope}}\n",
        vec![
            asset("app", "shop", json!({"name": "shop"}), &[]),
            asset("api_group", "g1", json!({"name": "g1", "app": "shop"}), &[]),
            asset("api_group", "g2", json!({"name": "g2", "app": "shop"}), &[]),
            asset("api", "a1", json!({"name": "a1", "group": "g1"}), &[]),
            asset("api", "a2", json!({"name": "a2", "group": "g1"}), &[]),
            asset(
                "api",
                "a3",
                json!({"name": "a3", "group": "g2", "backend": "b1"}),
                &[],
            ),
            asset("backend", "b1", json!({"name": "b1"}), &[]),
        ],
        vec![asset(
            "api",
            "a2",
            json!({"name": "a2", "group": "old"}),
            &[],
        )],
        &[(
            "drop.lua",
            "return { transform = function(asset, ctx) if asset.name == 'b1' then return nil end return asset end }",
        )],
    );
    let outcome: Vec<(&str, Action, Option<&str>)> = plan.packages[0]
        .assets
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.action,
                a.error.as_ref().map(|e| e.code.as_str()),
            )
        })
        .collect();
    let of = |n: &str| *outcome.iter().find(|(name, ..)| *name == n).unwrap();
    // The override points g1 at an app that is nowhere: g1 fails, and with it a1, which
    // names g1 (found on the second pass, once g1 is known to fail).
    assert_eq!(of("g1"), ("g1", Action::Fail, Some("ref.dangling")));
    assert_eq!(
        of("a1"),
        ("a1", Action::Fail, Some("ref.failed_dependency"))
    );
    // a2 is skipped (the target keeps its own): its references are not checked.
    assert_eq!(of("a2"), ("a2", Action::Skip, None));
    // A hook dropped b1: a3 names an asset that is not written, which is not a failure of b1.
    assert_eq!(of("a3"), ("a3", Action::Fail, Some("ref.dangling")));
    assert_eq!(of("g2"), ("g2", Action::Create, None));
}

#[test]
fn label_changes_name_the_hook_that_made_them() {
    let plan = plan_of(
        "version: 1\nname: labels\nsources: [in/shop]\ntarget: target\noutput: {dir: out}\n\
         hooks:\n  - {script: team.lua, kinds: [backend]}\nenvironments: {prod: {}}\n",
        vec![asset("backend", "b1", json!({"name": "b1"}), &[])],
        Vec::new(),
        &[(
            "team.lua",
            "return { transform = function(asset, ctx) asset.labels.team = 'orders' return asset end }",
        )],
    );
    let b1 = &plan.packages[0].assets[0];
    let labels: Vec<(&str, Op, Option<&str>)> = b1
        .label_diff
        .iter()
        .map(|c| (c.pointer.as_str(), c.op, c.by.as_deref()))
        .collect();
    assert_eq!(labels, [("/team", Op::Added, Some("hook team.lua"))]);
}
