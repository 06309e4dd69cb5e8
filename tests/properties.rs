//! Property tests of the engine's invariants over random packages, targets, rename rules and
//! conflict policies.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::Arc;

use hoist::package::Package;
use hoist::plan::{PlanOptions, compute};
use hoist::spec::Spec;
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
struct World {
    groups: usize,
    apis: Vec<(usize, Option<usize>, usize)>,
    authorizers: usize,
    backends: usize,
    target_authorizers: Vec<usize>,
    target_backends: Vec<usize>,
    target_groups: Vec<usize>,
    renames: Vec<(Vec<&'static str>, u8, String)>,
    policies: Vec<(&'static str, &'static str)>,
}

const KINDS: [&str; 4] = ["api", "api_group", "authorizer", "backend"];
const POLICIES: [&str; 5] = [
    "skip",
    "overwrite",
    "fail",
    "rename",
    "{rename: random, length: 3, alphabet: ab}",
];

fn world() -> impl Strategy<Value = World> {
    (1usize..3, 1usize..4, 1usize..4).prop_flat_map(|(groups, authorizers, backends)| {
        let apis = proptest::collection::vec(
            (0..groups, proptest::option::of(0..authorizers), 0..backends),
            1..6,
        );
        let subset = |n: usize| proptest::collection::vec(0..n + 1, 0..3);
        let rename = (
            proptest::sample::subsequence(KINDS.to_vec(), 1..=4),
            0u8..4,
            "[a-c]{1,2}",
        );
        let renames = proptest::collection::vec(rename, 0..4);
        let policies = proptest::collection::vec(
            (
                proptest::sample::select(KINDS.to_vec()),
                proptest::sample::select(POLICIES.to_vec()),
            ),
            0..4,
        );
        (
            Just(groups),
            apis,
            Just(authorizers),
            Just(backends),
            subset(authorizers),
            subset(backends),
            subset(groups),
            renames,
            policies,
        )
            .prop_map(
                |(groups, apis, authorizers, backends, ta, tb, tg, renames, policies)| World {
                    groups,
                    apis,
                    authorizers,
                    backends,
                    target_authorizers: ta,
                    target_backends: tb,
                    target_groups: tg,
                    renames,
                    policies,
                },
            )
    })
}

/// Writes an asset whose document carries `uid`: where it came from and its original name.
fn put(root: &Path, kind: &str, name: &str, mut meta: serde_json::Value) {
    let side = if root.ends_with("target") {
        "tgt"
    } else {
        "src"
    };
    meta["uid"] = json!(format!("{side}:{name}"));
    let dir = root.join("assets").join(kind).join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("asset.json"),
        serde_json::to_vec_pretty(&json!({ "meta": meta })).unwrap(),
    )
    .unwrap();
}

fn build(w: &World, root: &Path) -> String {
    let src = root.join("in/pkg");
    put(&src, "app", "app0", json!({"name": "app0"}));
    for g in 0..w.groups {
        put(
            &src,
            "api_group",
            &format!("g{g}"),
            json!({"name": format!("g{g}"), "app": "app0"}),
        );
    }
    for a in 0..w.authorizers {
        put(
            &src,
            "authorizer",
            &format!("auth{a}"),
            json!({"name": format!("auth{a}")}),
        );
    }
    for b in 0..w.backends {
        put(
            &src,
            "backend",
            &format!("be{b}"),
            json!({"name": format!("be{b}")}),
        );
    }
    for (i, (g, a, b)) in w.apis.iter().enumerate() {
        put(
            &src,
            "api",
            &format!("api{i}"),
            json!({
                "name": format!("api{i}"), "group": format!("g{g}"),
                "authorizer": a.map(|a| format!("auth{a}")), "backend": format!("be{b}"),
            }),
        );
    }
    let tgt = root.join("target");
    put(&tgt, "app", "app0", json!({"name": "app0"}));
    for a in &w.target_authorizers {
        put(
            &tgt,
            "authorizer",
            &format!("auth{a}"),
            json!({"name": format!("auth{a}")}),
        );
    }
    for b in &w.target_backends {
        put(
            &tgt,
            "backend",
            &format!("be{b}"),
            json!({"name": format!("be{b}")}),
        );
    }
    for g in &w.target_groups {
        put(
            &tgt,
            "api_group",
            &format!("g{g}"),
            json!({"name": format!("g{g}"), "app": "app0"}),
        );
    }
    let mut spec = String::from(
        "version: 1\nname: prop\nseed: s\nsources: [in/pkg]\ntarget: target\noutput: {dir: out, format: dir, merged: true}\nselect:\n  - {kind: [api, api_group, authorizer, backend]}\nrename:\n",
    );
    for (kinds, op, text) in &w.renames {
        let kinds = kinds.join(", ");
        let rule = match op {
            0 => format!("prefix: \"{text}-\""),
            1 => format!("suffix: \"-{text}\""),
            2 => format!("{{match: '^(.)(.*)$', to: '$2{text}$1'}}")
                .trim_matches(|c| c == '{' || c == '}')
                .to_string(),
            _ => format!("match: '[0-9]', to: '{text}'"),
        };
        spec.push_str(&format!("  - {{kind: [{kinds}], {rule}}}\n"));
    }
    if w.renames.is_empty() {
        spec = spec.replace("rename:\n", "");
    }
    spec.push_str("conflicts:\n  default: overwrite\n");
    let mut seen = BTreeSet::new();
    for (kind, policy) in &w.policies {
        if seen.insert(*kind) {
            spec.push_str(&format!("  {kind}: {policy}\n"));
        }
    }
    spec
}

/// The source documents, by `kind/name`.
fn planned_originals(root: &Path) -> BTreeMap<String, serde_json::Value> {
    let pkg = Package::load(
        &root.join("in/pkg"),
        &hoist::platform::load_options(Default::default()),
    )
    .unwrap();
    pkg.assets
        .iter()
        .map(|a| {
            (
                format!("{}/{}", a.key.kind, a.key.name),
                a.meta().into_owned(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    /// Whatever the renames and conflict policies, every reference in what hoist writes
    /// resolves to the asset it meant, and hoist never reports that it broke one.
    #[test]
    fn every_reference_lands_on_the_asset_it_meant(w in world()) {
        let dir = common::tmp();
        let text = build(&w, dir.path());
        let path = dir.path().join("spec.yaml");
        fs::write(&path, &text).unwrap();
        let spec = Spec::parse(&path, Arc::from(text.as_str()), hoist::digest::Digest::of(text.as_bytes()))
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let planned = compute(&spec, &hoist::platform::plan_options(), &|_| None).unwrap();
        // A plan holds each document as text, not as a tree a dozen times its size.
        for a in planned.outputs.iter().flat_map(|o| &o.assets) {
            prop_assert!(!a.holds_tree(), "{} is held as a tree", a.key);
        }
        for a in planned.plan.packages.iter().flat_map(|p| &p.assets) {
            if let Some(e) = &a.error {
                prop_assert!(e.code != "ref.dangling", "hoist broke a reference: {e:?}\n{text}");
            }
        }
        let again = compute(&spec, &hoist::platform::plan_options(), &|_| None).unwrap();
        prop_assert_eq!(&again.plan, &planned.plan);
        hoist::engine::apply(&planned, false, None).unwrap();
        let merged = Package::load(&dir.path().join("out/merged"), &hoist::platform::load_options(Default::default())).unwrap();
        prop_assert!(merged.failures.is_empty(), "{:?}", merged.failures);
        // Every reference must land on the asset it meant: the package's own copy when that was
        // written (under whatever name), the target's only when the package's was not.
        let uid = |a: &hoist::model::Asset| a.meta()["uid"].as_str().unwrap().to_string();
        let by_name: BTreeMap<(String, String), String> =
            merged.assets.iter().map(|a| ((a.key.kind.clone(), a.key.name.clone()), uid(a))).collect();
        let uids: BTreeSet<(String, String)> = merged.assets.iter().map(|a| (a.key.kind.clone(), uid(a))).collect();
        let originals: BTreeMap<String, serde_json::Value> = planned_originals(dir.path());
        for a in merged.assets.iter().filter(|a| uid(a).starts_with("src:")) {
            let original = &originals[&format!("{}/{}", a.key.kind, &uid(a)[4..])];
            for r in a.references(hoist::model::kinds::Kinds::builtin()).unwrap() {
                let meant = original.pointer(&r.pointer).and_then(|v| v.as_str()).unwrap().to_string();
                let own = format!("src:{meant}");
                let want = if uids.contains(&(r.kind.to_string(), own.clone())) { own } else { format!("tgt:{meant}") };
                let got = by_name.get(&(r.kind.to_string(), r.name.clone()));
                prop_assert_eq!(got, Some(&want), "{} {} names {}/{}\n{}", a.key, r.pointer, r.kind, r.name, text);
            }
        }
    }
}

/// Applies the world's spec with `threads` workers into `out`; every written file's bytes.
fn apply_with(threads: usize, root: &Path, out: &str) -> BTreeMap<String, Vec<u8>> {
    let text = fs::read_to_string(root.join("spec.yaml")).unwrap();
    let spec = Spec::parse(
        &root.join("spec.yaml"),
        Arc::from(text.as_str()),
        hoist::digest::Digest::of(text.as_bytes()),
    )
    .unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let opts = PlanOptions {
            out_dir: Some(root.join(out)),
            ..hoist::platform::plan_options()
        };
        let planned = compute(&spec, &opts, &|_| None).unwrap();
        hoist::engine::apply(&planned, false, None).unwrap();
    });
    let mut files = common::tree(&root.join(out));
    files.remove("report.json");
    files
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// The same inputs give the same bytes with one worker or two.
    #[test]
    fn bytes_do_not_depend_on_thread_count(w in world()) {
        let dir = common::tmp();
        let text = build(&w, dir.path()).replace("format: dir", "format: zip");
        fs::write(dir.path().join("spec.yaml"), &text).unwrap();
        let one = apply_with(1, dir.path(), "out1");
        let two = apply_with(2, dir.path(), "out2");
        prop_assert!(!one.is_empty());
        prop_assert_eq!(one, two);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, .. ProptestConfig::default() })]

    /// Saving the plan and applying it writes what applying the spec writes.
    #[test]
    fn a_saved_plan_applies_like_its_spec(w in world()) {
        let dir = common::tmp();
        let text = build(&w, dir.path()).replace("format: dir", "format: zip");
        fs::write(dir.path().join("spec.yaml"), &text).unwrap();
        let direct = common::hoist_in(dir.path(), &["apply", "spec.yaml"]);
        prop_assert!(direct.code == 0 || direct.code == 1, "{}", direct.stderr);
        let first = common::tree(&dir.path().join("out"));
        fs::remove_dir_all(dir.path().join("out")).unwrap();
        common::hoist_in(dir.path(), &["plan", "spec.yaml", "-o", "plan.json"]);
        let via_plan = common::hoist_in(dir.path(), &["apply", "plan.json"]);
        prop_assert_eq!(via_plan.code, direct.code, "{}", via_plan.stderr);
        prop_assert_eq!(first, common::tree(&dir.path().join("out")));
    }
}
