//! The JSON Schemas `hoist schema` prints hold for what hoist reads and writes, checked with
//! a JSON Schema validator: the spec schema accepts every spec hoist loads (the examples in
//! `specs/` and every case's) and refuses `{}`; the plan, report, errors and diff schemas
//! accept what `hoist plan --json`, `report.json`, a failed `--json` command and
//! `hoist diff --json` print.

mod common;

use std::fs;

use common::{hoist, hoist_in, repo, workspace};
use serde_json::Value;

fn schema(what: &str) -> jsonschema::Validator {
    let run = hoist(&["schema", what]).expect_code(0);
    let schema: Value = serde_json::from_str(&run.stdout).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{what} schema: {e}"))
}

fn check(validator: &jsonschema::Validator, what: &str, doc: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}

/// A spec file as the JSON value its YAML stands for.
fn spec_value(path: &std::path::Path) -> Value {
    let text = fs::read_to_string(path).unwrap();
    hoist::yaml::parse_value(&text, &hoist::yaml::YamlLimits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_spec_schema_accepts_every_spec_hoist_loads_and_refuses_an_empty_one() {
    let v = schema("spec");
    assert!(!v.is_valid(&serde_json::json!({})), "{{}} is not a spec");
    assert!(!v.is_valid(&serde_json::json!({"version": 2, "sources": ["a"]})));
    let mut specs: Vec<std::path::PathBuf> = fs::read_dir(repo().join("specs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for case in fs::read_dir(repo().join("tests/cases")).unwrap() {
        let spec = case.unwrap().path().join("spec.yaml");
        if spec.exists() {
            specs.push(spec);
        }
    }
    specs.sort();
    let mut loaded = 0;
    for path in &specs {
        // Specs that are wrong on purpose (the error cases) are not the schema's to accept.
        if hoist::spec::Spec::load(path).is_err() {
            continue;
        }
        check(&v, &path.display().to_string(), &spec_value(path));
        loaded += 1;
    }
    assert!(loaded > 60, "only {loaded} specs were checked");
    // The documented forms with numbers.
    let numbers = serde_json::json!({
        "version": 1,
        "sources": ["in/a"],
        "select": [{"kind": "flow", "versions": [1, "master", 3]}],
        "promote": [{"kind": "flow", "names": ["alert"], "version": 3}]
    });
    check(&v, "numbers", &numbers);
}

#[test]
fn plans_reports_errors_and_diffs_match_their_schemas() {
    let (plan, report, errors, diff) = (
        schema("plan"),
        schema("report"),
        schema("errors"),
        schema("diff"),
    );
    let ws = workspace();
    for (spec, env) in [
        ("orders-to-prod", &["--env", "prod"][..]),
        ("orders-roma", &["--env", "prod"]),
        ("orders-with-hooks", &["--env", "prod"]),
        ("kie-config", &["--env", "prod"]),
        ("apig-orders", &["--env", "prod"]),
        ("enebular-promote", &[]),
    ] {
        let path = format!("specs/{spec}.yaml");
        let mut args = vec!["plan", path.as_str(), "--json"];
        args.extend_from_slice(env);
        let run = hoist_in(ws.path(), &args);
        let doc: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{spec}: {e}\n{}", run.stderr));
        check(&plan, spec, &doc);
        let mut args = vec!["apply", path.as_str(), "--out", "out"];
        args.extend_from_slice(env);
        hoist_in(ws.path(), &args);
        let written: Value =
            serde_json::from_slice(&fs::read(ws.path().join("out/report.json")).unwrap()).unwrap();
        check(&report, spec, &written);
        fs::remove_dir_all(ws.path().join("out")).unwrap();
    }
    for case in fs::read_dir(repo().join("tests/cases")).unwrap() {
        let case = case.unwrap().path();
        let written = case.join("expected/out/report.json");
        if written.exists() {
            let doc: Value = serde_json::from_slice(&fs::read(&written).unwrap()).unwrap();
            check(&report, &written.display().to_string(), &doc);
        }
    }
    let failed = hoist_in(ws.path(), &["plan", "specs/kie-config.yaml", "--json"]).expect_code(2);
    check(
        &errors,
        "a usage error",
        &serde_json::from_str(&failed.stdout).unwrap(),
    );
    fs::write(ws.path().join("bad.yaml"), "version: 1\nselct: []\n").unwrap();
    let failed = hoist_in(ws.path(), &["plan", "bad.yaml", "--json"]).expect_code(2);
    check(
        &errors,
        "spec errors",
        &serde_json::from_str(&failed.stdout).unwrap(),
    );
    let drift = hoist_in(
        ws.path(),
        &[
            "diff",
            "examples/targets/prod",
            "examples/packages/orders-dev",
            "--json",
        ],
    )
    .expect_code(0);
    check(
        &diff,
        "a diff",
        &serde_json::from_str(&drift.stdout).unwrap(),
    );
}
