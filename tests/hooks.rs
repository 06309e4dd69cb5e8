//! Lua hooks from the command line: the watchdog, determinism, stale plans after a script
//! edit, broken scripts, and the authoring commands.

mod common;

use std::fs;

use common::{hoist_in, repo, tmp, tree, workspace};

#[test]
fn a_hook_stuck_in_a_c_function_ends_the_run_and_writes_nothing() {
    let ws = workspace();
    fs::write(
        ws.path().join("scripts/slow.lua"),
        r#"return { transform = function(a) string.find(("a"):rep(200), ".-.-.-.-b$") return a end }"#,
    )
    .unwrap();
    fs::write(
        ws.path().join("specs/slow.yaml"),
        "version: 1\nsources: [../examples/packages/payments-dev]\noutput: {dir: ../out/slow}\nhooks:\n  - {script: ../scripts/slow.lua, kinds: [app]}\nlua: {timeout_ms: 100}\n",
    )
    .unwrap();
    let run = hoist_in(ws.path(), &["apply", "specs/slow.yaml"]).expect_code(1);
    assert!(run.stderr.contains("error[hook.timeout]"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("../scripts/slow.lua (transform) on app/payments"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert!(!ws.path().join("out").exists(), "nothing is written");
    let leftovers: Vec<_> = fs::read_dir(ws.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".hoist"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn hooks_give_the_same_bytes_at_any_thread_count() {
    let ws = workspace();
    let run = |jobs: &str, keep: &str| {
        hoist_in(
            ws.path(),
            &[
                "--jobs",
                jobs,
                "apply",
                "specs/orders-with-hooks.yaml",
                "--env",
                "prod",
                "--out",
                "out",
            ],
        )
        .expect_code(0);
        fs::rename(ws.path().join("out"), ws.path().join(keep)).unwrap();
        tree(&ws.path().join(keep))
    };
    let one = run("1", "one");
    let two = run("2", "two");
    assert!(one.len() >= 3);
    assert_eq!(one, two);
}

#[test]
fn editing_a_script_or_a_module_makes_a_saved_plan_stale() {
    for edited in ["scripts/team_tags.lua", "scripts/lib/extra.lua"] {
        let ws = workspace();
        fs::create_dir_all(ws.path().join("scripts/lib")).unwrap();
        fs::write(ws.path().join("scripts/lib/extra.lua"), "return {}\n").unwrap();
        hoist_in(
            ws.path(),
            &[
                "plan",
                "specs/orders-with-hooks.yaml",
                "--env",
                "prod",
                "-o",
                "plan.json",
            ],
        )
        .expect_code(0);
        let plan = fs::read_to_string(ws.path().join("plan.json")).unwrap();
        assert!(
            plan.contains("../scripts/lib/extra.lua"),
            "modules beside the scripts are digested"
        );
        let path = ws.path().join(edited);
        let text = fs::read_to_string(&path).unwrap() + "\n-- edited\n";
        fs::write(&path, text).unwrap();
        let run = hoist_in(ws.path(), &["apply", "plan.json"]).expect_code(2);
        assert!(
            run.stderr.contains("error[plan.stale]") && run.stderr.contains("was modified"),
            "{edited}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_broken_or_missing_script_is_an_error_at_its_place_in_the_spec() {
    let ws = workspace();
    fs::write(
        ws.path().join("scripts/broken.lua"),
        "return {\n  transform = function(a) return a.name .. end\n}\n",
    )
    .unwrap();
    let spec = "version: 1\nsources: [../examples/packages/payments-dev]\nhooks:\n  - {script: ../scripts/broken.lua}\n";
    fs::write(ws.path().join("specs/broken.yaml"), spec).unwrap();
    let run = hoist_in(ws.path(), &["plan", "specs/broken.yaml"]).expect_code(2);
    assert!(
        run.stderr
            .contains("error[hook.script]: specs/broken.yaml:4:14"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("../scripts/broken.lua:2:"),
        "the script's own line: {}",
        run.stderr
    );
    fs::write(
        ws.path().join("specs/missing.yaml"),
        spec.replace("broken.lua", "nope.lua"),
    )
    .unwrap();
    let run = hoist_in(ws.path(), &["plan", "specs/missing.yaml"]).expect_code(2);
    assert!(
        run.stderr
            .contains("error[hook.script]: specs/missing.yaml:4:14")
            && run.stderr.contains("nope.lua"),
        "{}",
        run.stderr
    );
}

#[test]
fn hook_test_shows_what_a_script_does_to_one_asset() {
    let run = common::hoist(&[
        "hook",
        "test",
        "scripts/team_tags.lua",
        "--package",
        "examples/packages/orders-dev",
        "--asset",
        "api/orders-list",
        "--var",
        "team=orders",
    ])
    .expect_code(0);
    assert!(run.stdout.contains("rename: (name kept)"), "{}", run.stdout);
    assert!(
        run.stdout.contains("+       \"team:orders\""),
        "{}",
        run.stdout
    );
    let run = common::hoist(&[
        "hook",
        "test",
        "scripts/authorizer_prefix.lua",
        "--package",
        "examples/packages/payments-dev",
        "--asset",
        "authorizer/payments-auth",
    ])
    .expect_code(1);
    assert!(
        run.stdout
            .contains("rename failed [hook.error]: scripts/authorizer_prefix.lua:19:"),
        "{}",
        run.stdout
    );
    let run = common::hoist(&[
        "hook",
        "test",
        "scripts/authorizer_on_conflict.lua",
        "--package",
        "examples/packages/orders-dev",
        "--asset",
        "authorizer/orders-auth",
        "--target",
        "examples/targets/prod",
    ])
    .expect_code(0);
    assert!(
        run.stdout
            .contains("on_conflict against the target's asset: rename (random)"),
        "{}",
        run.stdout
    );
    let run = common::hoist(&[
        "hook",
        "test",
        "scripts/team_tags.lua",
        "--package",
        "examples/packages/orders-dev",
        "--asset",
        "api/nope",
    ])
    .expect_code(2);
    assert!(run.stderr.contains("no asset api/nope"), "{}", run.stderr);
}

#[test]
fn hook_types_writes_the_annotations_the_examples_use() {
    let dir = tmp();
    hoist_in(dir.path(), &["hook", "types", "-o", "."]).expect_code(0);
    let stubs = fs::read_to_string(dir.path().join("hoist.d.lua")).unwrap();
    for class in [
        "---@class HoistHooks",
        "---@class HoistAsset",
        "---@class HoistCtx",
        "function HoistAsset:read",
        "function HoistCtx.suffix",
    ] {
        assert!(stubs.contains(class), "{class}");
    }
    for script in fs::read_dir(repo().join("scripts")).unwrap() {
        let text = fs::read_to_string(script.unwrap().path()).unwrap();
        assert!(
            text.contains("---@type HoistHooks"),
            "every example is annotated"
        );
    }
}
