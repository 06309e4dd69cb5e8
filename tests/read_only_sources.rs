//! Sources and the target are read-only to hoist: after every command, the ones that succeed
//! and the ones that fail, every byte and every modification time under `examples/` is what
//! it was. Outputs that would land inside an input are refused.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

use common::{hoist_in, workspace};

/// Every file under `root` with its bytes and modification time.
fn snapshot(root: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    common::tree(root)
        .into_iter()
        .map(|(rel, bytes)| {
            let mtime = fs::metadata(root.join(&rel)).unwrap().modified().unwrap();
            (rel, (bytes, mtime))
        })
        .collect()
}

#[test]
fn no_command_changes_a_source_or_a_target() {
    let ws = workspace();
    let dir = ws.path();
    // A spec with three mistakes, and one whose conflict policy aborts the run.
    fs::write(
        dir.join("specs/broken.yaml"),
        "version: 1\nsources: [../examples/packages/orders-dev]\nselect: [{kind: 7}]\nbogus: 1\n",
    )
    .unwrap();
    let abort = fs::read_to_string(dir.join("specs/orders-to-prod.yaml"))
        .unwrap()
        .replace("default: fail", "default: abort")
        .replace("app: skip", "app: abort");
    fs::write(dir.join("specs/abort.yaml"), abort).unwrap();
    // KIE uploads written as YAML take the source file's own name.
    let kie_yaml = fs::read_to_string(dir.join("specs/kie-config.yaml"))
        .unwrap()
        .replace("kie:\n", "kie:\n  upload_format: yaml\n");
    fs::write(dir.join("specs/kie-yaml.yaml"), kie_yaml).unwrap();
    let before = snapshot(&dir.join("examples"));
    let before_specs = snapshot(&dir.join("specs"));
    let before_scripts = snapshot(&dir.join("scripts"));

    let commands: &[(&[&str], i32)] = &[
        (&["inspect", "examples/packages/orders-dev"], 0),
        (&["inspect", "examples/targets/prod", "--json"], 0),
        (&["inspect", "examples/packages/kie/orders-config.yaml"], 0),
        // Folders kept in Git carry no manifest: nothing to verify against.
        (
            &[
                "verify",
                "examples/packages/orders-dev",
                "examples/packages/payments-dev",
            ],
            2,
        ),
        (
            &[
                "pack",
                "examples/packages/orders-dev",
                "-o",
                "out/orders.zip",
            ],
            0,
        ),
        (&["verify", "out/orders.zip"], 0),
        (&["unpack", "out/orders.zip", "-o", "out/unpacked"], 0),
        (
            &[
                "export",
                "examples/packages/orders-dev",
                "-o",
                "out/export.zip",
                "--app",
                "orders",
                "--with-apis",
            ],
            0,
        ),
        (
            &[
                "hook",
                "test",
                "scripts/team_tags.lua",
                "--package",
                "examples/packages/orders-dev",
                "--asset",
                "api/orders-list",
                "--var",
                "team=orders",
            ],
            0,
        ),
        (
            &[
                "plan",
                "specs/orders-to-prod.yaml",
                "--env",
                "prod",
                "-o",
                "out/plan.json",
            ],
            0,
        ),
        (&["apply", "out/plan.json"], 0),
        (
            &[
                "apply",
                "specs/orders-to-prod.yaml",
                "--env",
                "prod",
                "--dry-run",
            ],
            0,
        ),
        (&["apply", "specs/orders-roma.yaml", "--env", "prod"], 0),
        (
            &["apply", "specs/orders-with-hooks.yaml", "--env", "prod"],
            0,
        ),
        (&["apply", "specs/all-teams.yaml", "--env", "prod"], 0),
        (&["apply", "specs/enebular-promote.yaml"], 0),
        (&["apply", "specs/enebular-release.yaml"], 0),
        (&["apply", "specs/kie-config.yaml", "--env", "prod"], 0),
        // Failing ones.
        (&["apply", "specs/broken.yaml"], 2),
        (&["apply", "specs/orders-to-prod.yaml", "--env", "nope"], 2),
        (&["apply", "specs/abort.yaml", "--env", "prod"], 1),
        (
            &[
                "unpack",
                "examples/packages/orders-dev",
                "-o",
                "examples/packages/x",
            ],
            2,
        ),
        (
            &[
                "pack",
                "examples/packages/orders-dev",
                "-o",
                "examples/packages/orders-dev/x.zip",
            ],
            2,
        ),
        (&["unpack", "out/orders.zip", "-o", "out", "--force"], 2),
        (
            &[
                "export",
                "examples/packages/orders-dev",
                "-o",
                "examples/packages/orders-dev/e.zip",
                "--all",
            ],
            2,
        ),
        // The spec, the hook scripts (and the folder `require` reaches) and a saved plan are
        // inputs too: no output lands on or in them, and no output folder holds them.
        (
            &[
                "plan",
                "specs/orders-to-prod.yaml",
                "--env",
                "prod",
                "-o",
                "specs/orders-to-prod.yaml",
            ],
            2,
        ),
        (
            &[
                "plan",
                "specs/orders-with-hooks.yaml",
                "--env",
                "prod",
                "-o",
                "scripts/team_tags.lua",
            ],
            2,
        ),
        (
            &[
                "apply",
                "specs/orders-to-prod.yaml",
                "--env",
                "prod",
                "--out",
                "specs",
            ],
            2,
        ),
        (
            &[
                "apply",
                "specs/orders-to-prod.yaml",
                "--env",
                "prod",
                "--out",
                ".",
            ],
            2,
        ),
        (
            &[
                "apply",
                "specs/orders-with-hooks.yaml",
                "--env",
                "prod",
                "--out",
                "scripts/out",
            ],
            2,
        ),
        // A saved plan where its own report would go.
        (
            &[
                "plan",
                "specs/orders-to-prod.yaml",
                "--env",
                "prod",
                "-o",
                "out/orders-to-prod/report.json",
            ],
            0,
        ),
        (&["apply", "out/orders-to-prod/report.json"], 2),
        // Outputs inside a source, or on a source's own path, are refused.
        (
            &[
                "apply",
                "specs/orders-to-prod.yaml",
                "--env",
                "prod",
                "--out",
                "examples/packages/orders-dev",
            ],
            2,
        ),
        (
            &[
                "apply",
                "specs/orders-to-prod.yaml",
                "--env",
                "prod",
                "--out",
                "examples/targets/prod/sub",
            ],
            2,
        ),
        (
            &[
                "apply",
                "specs/kie-yaml.yaml",
                "--env",
                "prod",
                "--out",
                "examples/packages/kie",
            ],
            2,
        ),
    ];
    for (args, code) in commands {
        let run = hoist_in(dir, args);
        assert_eq!(
            run.code,
            *code,
            "hoist {}\n--- stdout\n{}\n--- stderr\n{}",
            args.join(" "),
            run.stdout,
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        if (args.contains(&"--out") || args.contains(&"-o") || args[1].starts_with("out/"))
            && *code == 2
            && args[0] != "pack"
            && args[0] != "unpack"
            && args[0] != "export"
        {
            assert!(
                run.stderr.contains("hoist never writes into what it reads"),
                "hoist {}: {}",
                args.join(" "),
                run.stderr
            );
        }
        assert!(
            snapshot(&dir.join("scripts")) == before_scripts,
            "hoist {} changed a hook script",
            args.join(" ")
        );
        assert!(
            snapshot(&dir.join("examples")) == before,
            "hoist {} changed a source or target",
            args.join(" ")
        );
    }
    assert!(
        snapshot(&dir.join("specs")) == before_specs,
        "a spec changed"
    );
}

/// Every output gets a name of its own before anything is staged: a source named like the
/// report or the merged state, or two sources whose names differ only by case, are a spec
/// error naming both, and nothing is written.
#[test]
fn outputs_that_would_share_a_name_are_refused_before_anything_is_written() {
    let ws = common::tmp();
    let dir = ws.path();
    let orders = common::example("packages/orders-dev");
    common::copy_tree(&orders, &dir.join("in/merged"));
    common::copy_tree(&orders, &dir.join("in/Orders"));
    common::copy_tree(
        &common::example("packages/payments-dev"),
        &dir.join("in/orders"),
    );
    fs::copy(
        common::example("targets/kie-prod.json"),
        dir.join("in/report.json"),
    )
    .unwrap();
    let spec = |sources: &str, merged: bool| {
        format!(
            "version: 1\nname: names\nsources: [{sources}]\noutput: {{dir: out, merged: {merged}}}\n"
        )
    };
    for (text, want) in [
        (
            spec("in/merged", true),
            "source in/merged and the merged target state would both be written as merged.zip",
        ),
        (
            spec("in/Orders, in/orders", false),
            "source in/Orders and source in/orders would be written as Orders.zip and orders.zip",
        ),
        (
            spec("in/report.json", false),
            "the report and source in/report.json would both be written as report.json",
        ),
    ] {
        fs::write(dir.join("spec.yaml"), &text).unwrap();
        for cmd in ["plan", "apply"] {
            let run = hoist_in(dir, &[cmd, "spec.yaml"]).expect_code(2);
            assert!(run.stderr.contains("error[spec.output]"), "{}", run.stderr);
            assert!(run.stderr.contains(want), "{text}\n{}", run.stderr);
            assert!(!dir.join("out").exists(), "nothing is written");
        }
    }
}

/// A link planted in the workspace cannot carry outputs into an input or elsewhere: `link/..`
/// is where the kernel goes (the link's target's parent), and an output folder reached
/// through a link is refused however it is written (`out`, `out/`, `out/.`, `out/prod`).
#[cfg(unix)]
#[test]
fn links_in_the_workspace_cannot_carry_outputs_into_inputs_or_away() {
    use std::os::unix::fs::symlink;
    let ws = common::tmp();
    let dir = ws.path().join("ws");
    common::copy_tree(
        &common::example("packages/payments-dev"),
        &dir.join("in/pay"),
    );
    fs::create_dir_all(dir.join("elsewhere/pay")).unwrap();
    fs::write(dir.join("elsewhere/pay/notes.txt"), "precious").unwrap();
    symlink(dir.join("in/pay/assets"), dir.join("deep")).unwrap();
    symlink(dir.join("elsewhere"), dir.join("build")).unwrap();
    let spec = |out: &str| {
        format!(
            "version: 1\nname: links\nsources: [in/pay]\noutput: {{dir: \"{out}\", format: dir}}\n"
        )
    };
    let before = snapshot(&dir.join("in"));
    let elsewhere = snapshot(&dir.join("elsewhere"));
    for (args, out) in [
        (vec!["apply", "spec.yaml", "--out", "deep/../o"], "out"),
        (vec!["plan", "spec.yaml", "-o", "deep/../plan.json"], "out"),
        (vec!["apply", "spec.yaml"], "deep/../o"),
        (vec!["apply", "spec.yaml"], "build"),
        (vec!["apply", "spec.yaml"], "build/"),
        (vec!["apply", "spec.yaml"], "build/."),
        (vec!["apply", "spec.yaml"], "build/prod"),
        (vec!["apply", "spec.yaml", "--out", "build/"], "out"),
    ] {
        fs::write(dir.join("spec.yaml"), spec(out)).unwrap();
        let run = hoist_in(&dir, &args);
        assert_eq!(
            run.code, 2,
            "{args:?} with output {out}: {}{}",
            run.stdout, run.stderr
        );
        assert!(
            snapshot(&dir.join("in")) == before,
            "{args:?} {out}: a source changed"
        );
        assert!(
            snapshot(&dir.join("elsewhere")) == elsewhere,
            "{args:?} {out}: the link's target changed"
        );
    }
}
