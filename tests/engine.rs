//! The engine's promises: identical bytes at any thread count and across runs, a saved plan
//! applies to the same bytes as the spec, a stale plan is refused, an abort writes nothing.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::{hoist_in, tree, workspace};

fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(dir)
}

#[test]
fn outputs_are_identical_at_any_thread_count_and_across_runs() {
    let ws = workspace();
    // Every example spec: each layout and each platform's rules.
    let specs: &[(&str, &[&str], &[&str])] = &[
        (
            "orders-to-prod",
            &["--env", "prod"],
            &["orders-dev.zip", "merged.zip"],
        ),
        (
            "orders-roma",
            &["--env", "prod"],
            &["orders-dev.zip", "merged.zip"],
        ),
        ("orders-with-hooks", &["--env", "prod"], &["orders-dev.zip"]),
        (
            "all-teams",
            &["--env", "prod"],
            &["orders-dev.zip", "payments-dev.zip"],
        ),
        ("enebular-promote", &[], &["enebular-dev.zip", "merged.zip"]),
        ("enebular-release", &[], &["enebular-dev.zip"]),
        ("kie-config", &["--env", "prod"], &["orders-config.json"]),
        (
            "integration-to-prod",
            &["--env", "prod"],
            &["integration-dev.zip"],
        ),
    ];
    for (spec, env, expected) in specs {
        // Each run writes to the same folder name (the report records it), then is kept aside.
        let run = |jobs: &str, keep: &str| {
            let spec_path = format!("specs/{spec}.yaml");
            let mut args = vec!["--jobs", jobs, "apply", spec_path.as_str()];
            args.extend_from_slice(env);
            args.extend_from_slice(&["--out", "out"]);
            hoist_in(ws.path(), &args).expect_code(0);
            let kept = ws.path().join(format!("{spec}-{keep}"));
            fs::rename(ws.path().join("out"), &kept).unwrap();
            outputs(&kept)
        };
        let one = run("1", "run-1");
        let two = run("2", "run-2");
        let again = run("2", "run-3");
        for e in expected.iter().chain(&["report.json"]) {
            assert!(one.contains_key(*e), "{spec}: no {e} in {:?}", one.keys());
        }
        assert_eq!(one, two, "{spec}: --jobs 1 and --jobs 2 differ");
        assert_eq!(two, again, "{spec}: two runs differ");
    }
}

#[test]
fn a_saved_plan_applies_to_the_same_bytes_as_the_spec() {
    let ws = workspace();
    let out = ws.path().join("out/orders-to-prod");
    hoist_in(
        ws.path(),
        &["apply", "specs/orders-to-prod.yaml", "--env", "prod"],
    )
    .expect_code(0);
    let direct = outputs(&out);
    fs::remove_dir_all(&out).unwrap();
    hoist_in(
        ws.path(),
        &[
            "plan",
            "specs/orders-to-prod.yaml",
            "--env",
            "prod",
            "-o",
            "plans/prod.json",
        ],
    )
    .expect_code(0);
    let plan: serde_json::Value =
        serde_json::from_slice(&fs::read(ws.path().join("plans/prod.json")).unwrap()).unwrap();
    assert_eq!(
        plan["spec"]["path"], "../specs/orders-to-prod.yaml",
        "the plan finds its spec relative to itself"
    );
    let run = hoist_in(
        ws.path(),
        &["apply", "plans/prod.json", "--out", "elsewhere"],
    )
    .expect_code(2);
    assert!(run.stderr.contains("names its outputs"), "{}", run.stderr);
    hoist_in(ws.path(), &["apply", "plans/prod.json"]).expect_code(0);
    assert_eq!(direct, outputs(&out));
}

#[test]
fn plans_are_deterministic_text() {
    let ws = workspace();
    let a = hoist_in(
        ws.path(),
        &[
            "--jobs",
            "1",
            "plan",
            "specs/orders-to-prod.yaml",
            "--env",
            "prod",
            "--json",
        ],
    )
    .expect_code(0);
    let b = hoist_in(
        ws.path(),
        &[
            "--jobs",
            "2",
            "plan",
            "specs/orders-to-prod.yaml",
            "--env",
            "prod",
            "--json",
        ],
    )
    .expect_code(0);
    assert_eq!(a.stdout, b.stdout);
    // Run from another folder: the plan does not depend on where hoist runs.
    let c = hoist_in(
        &ws.path().join("specs"),
        &["plan", "orders-to-prod.yaml", "--env", "prod", "--json"],
    )
    .expect_code(0);
    let strip = |s: &str| {
        s.replace(
            "\"path\": \"orders-to-prod.yaml\"",
            "\"path\": \"specs/orders-to-prod.yaml\"",
        )
    };
    assert_eq!(strip(&c.stdout), a.stdout);
}

/// A workspace whose `plan.json` is the saved plan of the orders example for prod.
fn with_saved_plan() -> tempfile::TempDir {
    let ws = workspace();
    let plan = [
        "plan",
        "specs/orders-to-prod.yaml",
        "--env",
        "prod",
        "-o",
        "plan.json",
    ];
    hoist_in(ws.path(), &plan).expect_code(0);
    ws
}

fn stale_after(edit: impl FnOnce(&Path), expect: &str) {
    let ws = with_saved_plan();
    edit(ws.path());
    let run = hoist_in(ws.path(), &["apply", "plan.json"]).expect_code(2);
    assert!(run.stderr.contains("error[plan.stale]"), "{}", run.stderr);
    assert!(
        run.stderr.contains(expect),
        "wanted {expect:?} in: {}",
        run.stderr
    );
    assert!(
        !ws.path().join("out").exists(),
        "a stale plan writes nothing"
    );
}

#[test]
fn a_stale_plan_is_refused_naming_what_changed() {
    stale_after(
        |ws| {
            let p = ws.join("examples/packages/orders-dev/assets/backend/orders-fn/asset.json");
            let text = fs::read_to_string(&p).unwrap().replace("5000", "5001");
            fs::write(p, text).unwrap();
        },
        "assets/backend/orders-fn/asset.json was modified",
    );
    stale_after(
        |ws| {
            fs::remove_file(
                ws.join("examples/targets/prod/assets/function/create-order/asset.json"),
            )
            .unwrap()
        },
        "assets/function/create-order/asset.json is gone",
    );
    stale_after(
        |ws| {
            let p = ws.join("specs/orders-to-prod.yaml");
            let text = fs::read_to_string(&p)
                .unwrap()
                .replace("length: 6", "length: 7");
            fs::write(p, text).unwrap();
        },
        "orders-to-prod.yaml changed",
    );
    stale_after(
        |ws| {
            fs::write(
                ws.join("examples/packages/orders-dev/assets/app/orders/notes.txt"),
                "new",
            )
            .unwrap()
        },
        "is new",
    );
}

/// What the plan says is what is compared, not how its file is spelled: an edit of what it
/// says is refused, a file written again with other whitespace applies.
#[test]
fn a_plan_edited_by_hand_is_refused_and_one_only_reformatted_applies() {
    stale_after(
        |ws| {
            let p = ws.join("plan.json");
            let text = fs::read_to_string(&p).unwrap();
            assert!(text.contains("\"generator\": \""));
            fs::write(
                p,
                text.replacen("\"generator\": \"", "\"generator\": \"x", 1),
            )
            .unwrap();
        },
        "the plan differs",
    );
    let ws = with_saved_plan();
    let p = ws.path().join("plan.json");
    let text = fs::read_to_string(&p).unwrap();
    let compact: String = text.lines().map(str::trim_start).collect();
    assert!(compact.len() < text.len());
    fs::write(&p, compact).unwrap();
    hoist_in(ws.path(), &["apply", "plan.json"]).expect_code(0);
}

#[test]
fn an_abort_writes_nothing_at_all() {
    let ws = workspace();
    let spec = fs::read_to_string(ws.path().join("specs/orders-to-prod.yaml"))
        .unwrap()
        .replace("data_source: skip", "data_source: abort");
    fs::write(ws.path().join("specs/abort.yaml"), spec).unwrap();
    let run = hoist_in(
        ws.path(),
        &["apply", "specs/abort.yaml", "--env", "prod", "--out", "out"],
    )
    .expect_code(1);
    assert!(run.stdout.contains("aborted"), "{}", run.stdout);
    assert!(
        !ws.path().join("out").exists(),
        "nothing, not even the output folder, is written"
    );
}

#[test]
fn a_failed_write_leaves_no_output_in_place() {
    let ws = workspace();
    // The merged output's name is taken by a folder: staging it fails, so nothing moves into place.
    fs::create_dir_all(ws.path().join("out/merged.zip/keep")).unwrap();
    let run = hoist_in(
        ws.path(),
        &[
            "apply",
            "specs/orders-to-prod.yaml",
            "--env",
            "prod",
            "--out",
            "out",
        ],
    );
    assert_ne!(run.code, 0, "{}", run.stdout);
    let names: Vec<String> = fs::read_dir(ws.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["merged.zip"],
        "only what was there before: {}",
        run.stderr
    );
    assert!(ws.path().join("out/merged.zip/keep").exists());
}

#[test]
fn sources_and_target_are_never_written() {
    let ws = workspace();
    let before = (
        tree(&ws.path().join("examples")),
        tree(&ws.path().join("specs")),
    );
    hoist_in(
        ws.path(),
        &[
            "apply",
            "specs/orders-to-prod.yaml",
            "--env",
            "prod",
            "--out",
            "out",
        ],
    )
    .expect_code(0);
    hoist_in(
        ws.path(),
        &["plan", "specs/orders-to-prod.yaml", "--env", "prod"],
    )
    .expect_code(0);
    let after = (
        tree(&ws.path().join("examples")),
        tree(&ws.path().join("specs")),
    );
    assert!(before == after, "inputs changed");
}

#[test]
fn every_example_spec_applies_from_the_repository_root() {
    let ws = workspace();
    let mut specs: Vec<String> = fs::read_dir(ws.path().join("specs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 3, "{specs:?}");
    for spec in specs {
        let path = format!("specs/{spec}");
        let text = fs::read_to_string(ws.path().join(&path)).unwrap();
        let mut args = vec!["apply", path.as_str()];
        if text.contains("\n  prod:") {
            args.extend(["--env", "prod"]);
        }
        let run = hoist_in(ws.path(), &args).expect_code(0);
        assert!(
            run.stdout.contains("written:") && !run.stdout.contains("(nothing)"),
            "{spec}: {}",
            run.stdout
        );
    }
    for out in [
        "orders-to-prod",
        "enebular-promote",
        "all-teams",
        "orders-with-hooks",
    ] {
        let dir = ws.path().join("out").join(out);
        let packages: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path().display().to_string())
            .filter(|p| p.ends_with(".zip"))
            .collect();
        let mut args = vec!["verify"];
        args.extend(packages.iter().map(String::as_str));
        hoist_in(ws.path(), &args).expect_code(0);
    }
}

#[test]
fn payloads_copied_unchanged_are_identified_by_their_stored_bytes() {
    let ws = workspace();
    let dir = ws.path().join("examples/packages/orders-dev");
    let pack = |ws: &Path| {
        hoist_in(
            ws,
            &[
                "pack",
                "examples/packages/orders-dev",
                "-o",
                "orders.zip",
                "--rehash",
            ],
        )
        .expect_code(0);
    };
    pack(ws.path());
    fs::write(
        ws.path().join("copy.yaml"),
        "version: 1\nname: copy\nsources: [orders.zip]\noutput: {dir: out}\n",
    )
    .unwrap();
    hoist_in(ws.path(), &["plan", "copy.yaml", "-o", "plan.json"]).expect_code(0);
    // The payload changes; the documents do not.
    let payload = dir.join("assets/api/orders-list/files/openapi.yaml");
    let mut text = fs::read_to_string(&payload).unwrap();
    text.push_str("# changed\n");
    fs::write(&payload, text).unwrap();
    pack(ws.path());
    let run = hoist_in(ws.path(), &["apply", "plan.json"]).expect_code(2);
    assert!(
        run.stderr
            .contains("assets/api/orders-list/files/openapi.yaml was modified"),
        "{}",
        run.stderr
    );
    // Applied afresh, the copy carries digests that match its content.
    hoist_in(ws.path(), &["apply", "copy.yaml"]).expect_code(0);
    hoist_in(ws.path(), &["verify", "out/orders.zip"]).expect_code(0);
}

#[test]
fn the_examples_hold_every_roma_kind() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut held = std::collections::BTreeSet::new();
    for dir in [
        "packages/integration-dev/assets",
        "targets/integration-prod/assets",
    ] {
        for e in fs::read_dir(root.join(dir)).unwrap() {
            held.insert(e.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    let missing: Vec<String> = hoist::model::kinds::roma::KINDS
        .iter()
        .map(|k| k.name.to_string())
        .filter(|k| !held.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "examples/packages/integration-dev (and its target) lack kinds {missing:?}"
    );
}

#[test]
fn shards_together_write_what_one_apply_writes() {
    let ws = workspace();
    let dir = ws.path();
    // Two sources and the merged state: three outputs over the parts.
    let spec = "specs/all-teams.yaml";
    hoist_in(dir, &["plan", spec, "--env", "prod", "-o", "plan.json"]).expect_code(0);
    let whole = |jobs: &str, out: &str| {
        hoist_in(
            dir,
            &["--jobs", jobs, "apply", spec, "--env", "prod", "-o", out],
        )
        .expect_code(0);
        let mut t = outputs(&dir.join(out));
        t.remove("report.json");
        t
    };
    let one = whole("1", "whole");
    assert!(one.len() >= 2, "{:?}", one.keys());
    for (jobs, n) in [("1", 2), ("2", 2), ("2", 3), ("1", 5)] {
        let mut together = BTreeMap::new();
        for i in 1..=n {
            let out = format!("part-{jobs}-{i}-of-{n}");
            let shard = format!("{i}/{n}");
            let run = hoist_in(
                dir,
                &[
                    "--jobs", jobs, "apply", spec, "--env", "prod", "-o", &out, "--shard", &shard,
                ],
            )
            .expect_code(0);
            let mut part = outputs(&dir.join(&out));
            let report_name = format!("report-shard-{i}-of-{n}.json");
            let report: serde_json::Value =
                serde_json::from_slice(&part.remove(&report_name).expect("the part's report"))
                    .unwrap();
            assert_eq!(report["shard"], shard.as_str(), "{}", run.stdout);
            for (name, bytes) in part {
                assert!(
                    together.insert(name.clone(), bytes).is_none(),
                    "{name} in two parts"
                );
            }
        }
        assert_eq!(
            together, one,
            "--jobs {jobs}, {n} parts: the parts differ from one apply"
        );
    }
    // A saved plan shards the same way; here both parts write into the folder it names.
    // Part 1 writes the merged state first; part 2's replan must not see it as drift.
    hoist_in(dir, &["apply", "plan.json", "--shard", "1/2"]).expect_code(0);
    let second = hoist_in(dir, &["apply", "plan.json", "--shard", "2/2"]).expect_code(0);
    assert!(!second.stdout.contains("target.drift"), "{}", second.stdout);
    let report: serde_json::Value = serde_json::from_slice(
        &fs::read(dir.join("out/all-teams/report-shard-1-of-2.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        report["not_written"],
        serde_json::json!([]),
        "a part lists only its own outputs"
    );
    let mut saved = outputs(&dir.join("out/all-teams"));
    saved.retain(|name, _| !name.starts_with("report-shard-"));
    assert_eq!(saved, one, "a saved plan's parts differ from one apply");
    for bad in ["0/2", "3/2", "1/0", "one", "1/2/3"] {
        let run = hoist_in(dir, &["apply", "plan.json", "--shard", bad]).expect_code(2);
        assert!(
            run.stderr.starts_with("error[usage]"),
            "{bad}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_package_no_part_writes_is_listed_by_the_first_part() {
    let dir = common::tmp();
    let case = common::repo().join("tests/cases/enebular-promote-missing");
    common::copy_tree(&case.join("in"), &dir.path().join("in"));
    fs::copy(case.join("spec.yaml"), dir.path().join("spec.yaml")).unwrap();
    let report = |i: usize| -> serde_json::Value {
        let out = format!("p{i}");
        let shard = format!("{i}/2");
        hoist_in(
            dir.path(),
            &["apply", "spec.yaml", "-o", &out, "--shard", &shard],
        );
        let text = fs::read(
            dir.path()
                .join(&out)
                .join(format!("report-shard-{i}-of-2.json")),
        )
        .unwrap();
        serde_json::from_slice(&text).unwrap()
    };
    let (one, two) = (report(1), report(2));
    let failed = one["not_written"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{one}");
    assert!(
        failed[0].as_str().unwrap().ends_with("factory.zip"),
        "{one}"
    );
    assert_eq!(two["not_written"], serde_json::json!([]), "{two}");
}
