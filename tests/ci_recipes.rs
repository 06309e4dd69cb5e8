//! The CI recipes in docs/ci/ run: their plan, apply and verify steps, as written, against
//! the example spec they name, with this build of hoist on the PATH.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{repo, workspace};

/// The text of a block that follows `line` (a `run: |` or `- |`): the lines indented more
/// than it, dedented.
fn block_after(lines: &[&str], at: usize) -> String {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = indent(lines[at]);
    let body: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > base)
        .copied()
        .collect();
    let cut = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()
        .unwrap_or(0);
    body.iter()
        .map(|l| if l.len() >= cut { &l[cut..] } else { "" })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `NAME: value` lines of the recipe's top-level variables.
fn variable(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("  {name}: ")))
        .unwrap_or_else(|| panic!("the recipe sets no {name}"))
        .trim()
        .to_string()
}

/// The shell of the GitHub workflow's steps with `id: ID`.
fn github_step(text: &str, id: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim() == format!("id: {id}"))
        .unwrap_or_else(|| panic!("no step with id {id}"));
    for (i, l) in lines.iter().enumerate().skip(at + 1) {
        let t = l.trim_start();
        if t.starts_with("- ") {
            break;
        }
        if let Some(cmd) = t.strip_prefix("run: ") {
            return if cmd == "|" {
                block_after(&lines, i)
            } else {
                cmd.to_string()
            };
        }
    }
    panic!("step {id} has no run");
}

/// The shell of every script item of the GitLab file marked `# tested`, in order.
fn gitlab_tested(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.trim() != "# tested" {
            continue;
        }
        let item = lines[i + 1].trim_start();
        let cmd = item
            .strip_prefix("- ")
            .expect("a script item follows # tested");
        out.push(if cmd == "|" {
            block_after(&lines, i + 1)
        } else {
            cmd.to_string()
        });
    }
    out
}

fn run_shell(dir: &Path, script: &str, vars: &[(&str, String)]) -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_hoist"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-e", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("HOIST_NO_PROGRESS", "1")
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the step failed:\n{script}\n---\n{said}"
    );
    said
}

fn check_loop(recipe: &str, steps: &[String]) {
    let text = fs::read_to_string(repo().join("docs/ci").join(recipe)).unwrap();
    let vars = [
        ("SPEC", variable(&text, "SPEC")),
        ("HOIST_ENV", variable(&text, "HOIST_ENV")),
        ("OUT", variable(&text, "OUT")),
    ];
    assert!(
        repo().join(&vars[0].1).is_file(),
        "{recipe}: SPEC names an example spec"
    );
    let ws = workspace();
    let dir = ws.path();
    let [plan, apply, verify] = steps else {
        panic!("{recipe}: a plan, an apply and a verify step");
    };
    run_shell(dir, plan, &vars);
    let md = fs::read_to_string(dir.join("plan.md")).unwrap();
    assert!(
        md.contains("hoist plan"),
        "{recipe}: the comment is the markdown plan"
    );
    assert!(
        dir.join("plan.json").is_file(),
        "{recipe}: the plan is kept"
    );
    run_shell(dir, apply, &vars);
    let out = dir.join(&vars[2].1);
    assert!(
        out.join("report.json").is_file(),
        "{recipe}: apply wrote its outputs"
    );
    let said = run_shell(dir, verify, &vars);
    assert_eq!(
        said.matches(": ok (").count(),
        2,
        "{recipe}: verify checked the delta and the merged state: {said}"
    );
    // The reviewed plan is refused once an input changed: run the apply step again after
    // an edit, and it must fail.
    let spec = dir.join(&vars[0].1);
    let edited = fs::read_to_string(&spec).unwrap() + "\n# edited after review\n";
    fs::write(&spec, edited).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_hoist"))
        .parent()
        .unwrap()
        .to_path_buf();
    let status = Command::new("bash")
        .args(["-e", "-c", apply])
        .current_dir(dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        !status.status.success(),
        "{recipe}: a stale plan is refused"
    );
}

#[test]
fn the_github_actions_recipe_runs() {
    let text = fs::read_to_string(repo().join("docs/ci/github-actions.yml")).unwrap();
    let steps: Vec<String> = ["plan", "apply", "verify"]
        .iter()
        .map(|id| github_step(&text, id))
        .collect();
    check_loop("github-actions.yml", &steps);
}

#[test]
fn the_gitlab_recipe_runs() {
    let text = fs::read_to_string(repo().join("docs/ci/gitlab-ci.yml")).unwrap();
    check_loop("gitlab-ci.yml", &gitlab_tested(&text));
}
