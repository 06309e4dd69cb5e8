//! The promotion record every output's manifest carries: which spec (name and digest) and
//! environment made it, the digests of the inputs it came from, every asset renamed on the
//! way (old → new, and the rules and policies that decided it), and the hoist version. It
//! holds no value from any document and no path outside the spec's folder, so it is the same
//! from any working folder and shows no secret.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde_json::{Value, json};

use super::inputs::{Input, Loaded};
use super::{Note, PackageOutput, PackagePlan, PlanOptions, Planned};
use crate::digest::Digest;

/// Format of the promotion record.
pub const PROMOTION_FORMAT: u32 = 1;

/// The SHA-256 of a map of digests, as compact JSON.
fn digest_of<T: serde::Serialize>(v: &T) -> Digest {
    Digest::of(&serde_json::to_vec(v).expect("digest maps serialise"))
}

/// The renames of a package's assets.
fn renames(p: &PackagePlan) -> Vec<Value> {
    p.assets
        .iter()
        .filter(|a| !a.renames.is_empty())
        .map(|a| {
            json!({
                "kind": a.kind,
                "from": a.name,
                "to": a.output_name,
                "by": a.renames.iter().map(|r| r.by.clone()).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The places of a package's assets where an override wrote a secret (a `${env:NAME}` value
/// that is not declared plain, or one marked `secret: true`): the plan shows them masked, and
/// `hoist diff` masks them in a merged state, which carries the real values. A pointer is
/// the spec's own, not a value.
fn secret_places(p: &PackagePlan) -> Vec<Value> {
    fn shows_mask(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains(crate::secrets::MASK),
            Value::Array(a) => a.iter().any(shows_mask),
            Value::Object(m) => m.values().any(shows_mask),
            _ => false,
        }
    }
    p.assets
        .iter()
        .flat_map(|a| {
            a.overrides
                .iter()
                .filter(|o| shows_mask(&o.value))
                .map(move |o| json!({"kind": a.kind, "name": a.output_name, "pointer": o.pointer}))
        })
        .collect()
}

/// Gives every output of `planned` its promotion record.
pub fn stamp(planned: &mut Planned) {
    let plan = &planned.plan;
    // Each source's digest is computed on its own thread, and gathered in order.
    let sources: Vec<(String, Value)> = plan
        .inputs
        .sources
        .par_iter()
        .map(|(path, entries)| (path.clone(), json!(digest_of(entries))))
        .collect();
    let sources: serde_json::Map<String, Value> = sources.into_iter().collect();
    let base = json!({
        "format": PROMOTION_FORMAT,
        "generator": plan.generator,
        "spec": {"name": plan.spec.name, "sha256": plan.spec.sha256},
        "env": plan.spec.env,
        "hooks": plan.inputs.hooks,
        "target": plan.inputs.target.as_ref().map(|t| json!({
            "path": t.path,
            "sha256": digest_of(&t.entries),
        })),
    });
    let record = |sources: Value, renames: Vec<Value>, secrets: Vec<Value>| {
        let mut r = base.clone();
        r["sources"] = sources;
        r["renames"] = Value::Array(renames);
        if !secrets.is_empty() {
            r["secret_places"] = Value::Array(secrets);
        }
        r
    };
    let mut by_output: BTreeMap<&str, &PackagePlan> = BTreeMap::new();
    for p in &plan.packages {
        by_output.entry(p.output.as_str()).or_insert(p);
    }
    planned.outputs.par_iter_mut().for_each(|out| {
        let Some(p) = by_output.get(out.shown.as_str()) else {
            return;
        };
        let source = json!({ &p.source: sources.get(&p.source).cloned().unwrap_or(Value::Null) });
        out.promotion = Some(record(source, renames(p), secret_places(p)));
    });
    if let Some(m) = &mut planned.merged {
        let all = plan.packages.iter().flat_map(renames).collect();
        let secrets = plan.packages.iter().flat_map(secret_places).collect();
        let mut r = record(Value::Object(sources.clone()), all, secrets);
        r["state"] = json!("merged");
        m.promotion = Some(r);
    }
}

/// Names the merged output takes, by layout and format.
const MERGED_NAMES: [&str; 5] = [
    "merged.zip",
    "merged",
    "merged.json",
    "merged.yaml",
    "merged.yml",
];

/// The merged state the last promotion left in `out_dir`, read in the load stage: a package
/// named like a merged output, of the target's layout, whose manifest carries hoist's
/// promotion record with `state: merged`. Anything else there (nothing, a package hoist did
/// not write, one that cannot be read) is left alone: the output folder is input like any
/// other, and proves nothing by being there.
pub fn last_merged(
    out_dir: &std::path::Path,
    opts: &PlanOptions,
    loaded: &Loaded,
) -> Option<(Input, Value)> {
    let target = loaded.target.as_ref()?;
    let load = crate::package::LoadOptions {
        layouts: opts.layouts,
        limits: opts.limits,
        layout: Some(target.package.layout),
        hashing: crate::package::Hashing::Documents,
    };
    for name in MERGED_NAMES {
        let path = out_dir.join(name);
        if std::fs::symlink_metadata(&path).is_err() {
            continue;
        }
        let Ok(source) = crate::archive::source::Source::open(&path, &opts.limits) else {
            continue;
        };
        let Ok(Some(manifest)) = crate::package::read_manifest(&source) else {
            continue;
        };
        let Some(record) = manifest.promotion else {
            continue;
        };
        if record.get("state").and_then(Value::as_str) != Some("merged") {
            continue;
        }
        let Ok(package) = crate::package::Package::load(&path, &load) else {
            continue;
        };
        if package.failures.is_empty() {
            let input = Input {
                shown: name.to_string(),
                package,
            };
            return Some((input, record));
        }
    }
    None
}

/// A warning when the target no longer holds the merged state the last promotion wrote to
/// `merged`'s place (someone changed the platform by hand since, the promotion was not
/// imported yet, or the target snapshot is older): the assets that differ are counted, and
/// `hoist diff` shows them field by field.
pub fn drift_since_last(
    merged: &PackageOutput,
    loaded: &Loaded,
    opts: &PlanOptions,
    target_digests: Option<&super::TargetDigests>,
) -> Option<Note> {
    let target = loaded.target.as_ref()?;
    let (last, record) = loaded.last_merged.as_ref()?;
    if merged.path.file_name()? != std::ffi::OsStr::new(&last.shown) {
        return None;
    }
    // The same snapshot the last promotion planned against: it was taken before that
    // promotion was imported, so the two differ by that promotion, not by drift (a rerun, or
    // another part of a sharded apply).
    let same_snapshot = target_digests.is_some_and(|t| {
        record.pointer("/target/sha256")
            == serde_json::to_value(digest_of(&t.entries)).ok().as_ref()
    });
    if same_snapshot {
        return None;
    }
    let platform = super::platform::platform_of(opts.platforms, target.package.layout).ok()?;
    let drift = super::drift::drift(
        &last.package,
        &target.package,
        platform,
        ("", ""),
        super::changes::Lines::Skipped,
    );
    if drift.drift.is_empty() {
        return None;
    }
    let by = |k: &str| {
        record
            .pointer(k)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    Some(
        Note::new(
            "target.drift",
            format!(
                "the target differs from the merged state the last promotion wrote ({}, by spec {} env {}) in {} of {} assets",
                merged.shown,
                by("/spec/name"),
                by("/env"),
                drift.drift.len(),
                drift.assets
            ),
        )
        .hint(format!(
            "the platform was changed since, or that promotion was not imported yet (or the target snapshot is older); hoist diff {} {} shows the difference field by field",
            merged.shown, target.shown
        )),
    )
}
