//! The spec as users meet it: the schema editors read, the starter spec, and errors for
//! YAML that is malformed or hostile.

mod common;

use std::fs;

use common::{hoist_in, tmp};

#[test]
fn schema_describes_the_spec_from_the_same_types() {
    let run = common::hoist(&["schema"]).expect_code(0);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let props = &schema["properties"];
    for field in [
        "version",
        "name",
        "seed",
        "sources",
        "target",
        "output",
        "select",
        "exclude",
        "rename",
        "conflicts",
        "strip",
        "hooks",
        "environments",
        "on_error",
    ] {
        assert!(props.get(field).is_some(), "schema lacks {field}");
    }
    assert_eq!(
        schema["additionalProperties"], false,
        "unknown fields are refused"
    );
    assert!(
        props["seed"]["description"]
            .as_str()
            .unwrap()
            .contains("Seed for generated names"),
        "doc comments become descriptions"
    );
    assert!(!text_has_raw(&schema), "internal type names stay internal");
    let text = run.stdout;
    assert!(
        text.contains("with_dependencies") && text.contains("\"match\""),
        "nested types are described"
    );
}

fn text_has_raw(v: &serde_json::Value) -> bool {
    v.to_string().contains("Raw")
}

#[test]
fn init_writes_a_starter_spec_that_validates() {
    let dir = tmp();
    hoist_in(dir.path(), &["init"]).expect_code(0);
    let spec = hoist::spec::Spec::load(&dir.path().join("hoist.yaml")).unwrap();
    assert_eq!(spec.name, "my-promotion");
    assert!(spec.environments.contains_key("prod"));
    let run = hoist_in(dir.path(), &["init"]).expect_code(2);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    hoist_in(dir.path(), &["init", "--force"]).expect_code(0);
    // Planning it names what is missing, at its place.
    let run = hoist_in(dir.path(), &["plan", "hoist.yaml", "--env", "prod"]).expect_code(2);
    assert!(
        run.stderr.contains("error[spec.source]: hoist.yaml:10:5"),
        "{}",
        run.stderr
    );
}

fn plan_spec(text: &str) -> common::Run {
    let dir = tmp();
    fs::write(dir.path().join("s.yaml"), text).unwrap();
    hoist_in(dir.path(), &["plan", "s.yaml"])
}

/// Spec mistakes as they are shown, exactly: the code, the place, the line and a caret.
#[test]
fn malformed_yaml_is_located() {
    let cases: &[(&str, &str)] = &[
        (
            "version: 1\nsources:\n\t- x\n",
            "error[spec.syntax]: s.yaml:3:2: tabs disallowed within this context (block indentation)\n  |\n3 |  - x\n  |  ^\ns.yaml: 1 problem in the spec\n",
        ),
        (
            "version: 1\nname: a\nname: b\n",
            "error[spec.duplicate_key]: s.yaml:3:1: duplicate key `name` (first written at line 2)\n  |\n3 | name: b\n  | ^^^^\ns.yaml: 1 problem in the spec\n",
        ),
        (
            "version: 1\nsources: [a\n",
            "error[spec.syntax]: s.yaml:3:1: while parsing a flow sequence, expected ',' or ']'\ns.yaml: 1 problem in the spec\n",
        ),
        (
            "- just\n- a list\n",
            "error[spec.type]: s.yaml:1:1: a spec is a mapping of fields such as `version:`, `sources:`, `select:`\n  |\n1 | - just\n  | ^\ns.yaml: 1 problem in the spec\n",
        ),
        (
            "version: 2\nsources: [x]\n",
            "error[spec.version]: s.yaml:1:10: spec version 2 is not supported; this hoist reads version 1\n  |\n1 | version: 2\n  |          ^\ns.yaml: 1 problem in the spec\n",
        ),
        (
            "",
            "error[spec.type]: s.yaml:1:1: a spec is a mapping of fields such as `version:`, `sources:`, `select:`\nerror[spec.missing]: s.yaml:1:1: missing `version: 1`\nerror[spec.missing]: s.yaml:1:1: missing `sources:` (the packages to promote)\ns.yaml: 3 problems in the spec\n",
        ),
    ];
    for (text, want) in cases {
        let run = plan_spec(text).expect_code(2);
        assert_eq!(run.stderr, *want, "for {text:?}");
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn hostile_yaml_is_refused_quickly() {
    let bomb = common::yaml_alias_bomb("version: 1\n");
    let run = plan_spec(&bomb).expect_code(2);
    assert!(
        run.stderr.contains("error[spec.limit]") && run.stderr.contains("alias"),
        "{}",
        run.stderr
    );
    let deep = format!("version: 1\nx: {}1{}\n", "[".repeat(200), "]".repeat(200));
    let run = plan_spec(&deep).expect_code(2);
    assert!(run.stderr.contains("nesting deeper than"), "{}", run.stderr);
    let huge = format!("version: 1\nname: \"{}\"\n", "x".repeat(5 << 20));
    let run = plan_spec(&huge).expect_code(2);
    assert!(run.stderr.contains("error[spec.limit]"), "{}", run.stderr);
}

#[test]
fn an_unknown_environment_suggests_the_closest() {
    let run = common::hoist(&["plan", "specs/orders-to-prod.yaml", "--env", "prd"]).expect_code(2);
    assert!(
        run.stderr.contains("did you mean `prod`?"),
        "{}",
        run.stderr
    );
}

/// Every type mistake of a spec, not only the first, each at its place.
#[test]
fn types_are_checked_with_places() {
    let run = plan_spec("version: 1\nsources: [x]\nselect:\n  - {kind: api, with_dependencies: yes}\noutput: {merged: 3}\n").expect_code(2);
    assert_eq!(
        run.stderr,
        "error[spec.type]: s.yaml:4:36: expected true or false, found string \"yes\"\n  |\n4 |   - {kind: api, with_dependencies: yes}\n  |                                    ^^^\nerror[spec.type]: s.yaml:5:18: expected true or false, found integer `3`\n  |\n5 | output: {merged: 3}\n  |                  ^\ns.yaml: 2 problems in the spec\n"
    );
}

/// A key the JSON reader reads as a number or as raw text cannot come in through the spec:
/// not as a field an override names, nor as a key anywhere inside a value it writes (as an
/// object's first key the reader would take it for what it means; after another, a later edit
/// could make it the first).
#[test]
fn overrides_may_not_write_keys_the_json_reader_reserves() {
    let run = plan_spec(
        "version: 1\nsources: [x]\nenvironments:\n  prod:\n    overrides:\n      - kind: api\n        set:\n          /a/$serde_json::private::Number: 1\n          /b: {x: {a: 1, \"$serde_json::private::RawValue\": 5}}\n          /c: {\"$serde_json::private::Number\": \"7\"}\n",
    )
    .expect_code(2);
    assert!(
        run.stderr.contains("error[spec.bad_pointer]: s.yaml:8:11:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("error[spec.bad_value]: s.yaml:9:26:")
            && run.stderr.contains("\"$serde_json::private::RawValue\""),
        "{}",
        run.stderr
    );
    // As an object's first key it was read as a number before: refused as well.
    assert!(
        run.stderr.contains("error[spec.bad_value]: s.yaml:10:16:")
            && run.stderr.contains("\"$serde_json::private::Number\""),
        "{}",
        run.stderr
    );
}

/// An override that matches nothing because the asset that would have brought in its target
/// could not be read: the run stops at the spec, before any plan lists the broken asset, so
/// the error names it (where, and why it could not be read).
#[test]
fn an_unmatched_override_names_the_asset_that_could_not_be_read() {
    let ws = common::workspace();
    let broken = ws
        .path()
        .join("examples/packages/orders-dev/assets/task/orders-sync/asset.json");
    fs::write(&broken, r#"{"meta": {"name": "orders-sync""#).unwrap();
    let run = hoist_in(
        ws.path(),
        &["plan", "specs/orders-to-prod.yaml", "--env", "prod"],
    )
    .expect_code(2);
    assert!(run.stderr.contains("override.unmatched"), "{}", run.stderr);
    assert!(
        run.stderr.contains("1 asset(s) could not be read")
            && run
                .stderr
                .contains("task/orders-sync in ../examples/packages/orders-dev")
            && run.stderr.contains("asset.bad_json"),
        "{}",
        run.stderr
    );
}
