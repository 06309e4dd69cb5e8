//! Idempotence: applying a spec, then planning it again against the merged state the apply
//! wrote, finds nothing to change: every asset is `unchanged`, none is created or
//! overwritten, and `plan --exit-code` exits 0. Checked at `--jobs 1` and `--jobs 2` on every
//! example spec whose platform can overwrite (enebular never overwrites: a same-name asset
//! gets `_n`; KIE uploads are planned by the server's rules). The ROMA-mode spec leaves
//! authorizers out: ROMA appends random characters to an imported custom authorizer whose
//! name the instance already has, whatever the import mode (roma-importing-and-exporting-
//! assets.txt), so promoting one twice creates a second one on the platform too.

mod common;

use common::{hoist_in, workspace};

/// `text` with the top-level section `key` (its line and the indented lines under it)
/// replaced by `new`.
fn replace_section(text: &str, key: &str, new: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        let top = !line.starts_with([' ', '#']) && !line.is_empty();
        if top {
            inside = line.starts_with(&format!("{key}:"));
            if inside {
                out.push_str(new);
                out.push('\n');
                continue;
            }
        }
        if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !text.lines().any(|l| l.starts_with(&format!("{key}:"))) {
        out.push_str(new);
        out.push('\n');
    }
    out
}

#[test]
fn planning_again_against_the_merged_state_changes_nothing() {
    let ws = workspace();
    // Conflicts overwrite, so that promoting the same assets again meets them; where the
    // spec names the platform's import mode instead, that mode stays.
    let overwrite = ("conflicts", "conflicts: {default: overwrite}");
    let no_authorizers = (
        "exclude",
        "exclude: [{kind: authorizer}, {kind: api, names: [\"*-debug\"]}]",
    );
    // (spec, its merged output, a section to replace)
    let specs = [
        ("orders-to-prod", "merged.zip", overwrite),
        ("orders-roma", "merged.zip", no_authorizers),
        ("orders-with-hooks", "merged.zip", overwrite),
        ("all-teams", "merged.zip", overwrite),
        ("apig-orders", "merged.json", ("conflicts", "")),
    ];
    for jobs in ["1", "2"] {
        for (name, merged, (key, section)) in specs {
            let text = std::fs::read_to_string(ws.path().join(format!("specs/{name}.yaml")))
                .unwrap()
                .replace("\r\n", "\n");
            let text = replace_section(&text, key, section);
            let out = format!("../out-idem/{name}-{jobs}");
            let first = replace_section(
                &text,
                "output",
                &format!("output: {{dir: {out}, merged: true}}"),
            );
            let first_path = format!("specs/idem-{name}.yaml");
            std::fs::write(ws.path().join(&first_path), first).unwrap();
            let apply = hoist_in(
                ws.path(),
                &["--jobs", jobs, "apply", &first_path, "--env", "prod"],
            );
            assert!(
                apply.code == 0 || apply.code == 1,
                "{name}: apply exit {}\n{}",
                apply.code,
                apply.stderr
            );
            let again = replace_section(
                &replace_section(&text, "target", &format!("target: {out}/{merged}")),
                "output",
                &format!("output: {{dir: {out}-again}}"),
            );
            let again_path = format!("specs/idem-{name}-again.yaml");
            std::fs::write(ws.path().join(&again_path), again).unwrap();
            let plan = hoist_in(
                ws.path(),
                &[
                    "--jobs",
                    jobs,
                    "plan",
                    &again_path,
                    "--env",
                    "prod",
                    "--json",
                    "--exit-code",
                ],
            );
            let json: serde_json::Value = serde_json::from_str(&plan.stdout)
                .unwrap_or_else(|e| panic!("{name}: {e}\n{}\n{}", plan.stdout, plan.stderr));
            let summary = &json["summary"];
            assert_eq!(summary["create"], 0, "{name} at --jobs {jobs}: {summary}");
            assert_eq!(
                summary["overwrite"], 0,
                "{name} at --jobs {jobs}: {summary}"
            );
            assert!(
                summary["unchanged"].as_u64().unwrap() > 0,
                "{name} at --jobs {jobs}: {summary}"
            );
            // Assets that failed the first time fail again; nothing else is a change.
            assert_eq!(
                plan.code, apply.code,
                "{name} at --jobs {jobs}: {summary}\n{}",
                plan.stderr
            );
        }
    }
}
