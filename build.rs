//! Records the commit hoist is built from, for `hoist --version`: `HOIST_COMMIT` when set (a
//! container build passes it in), else what `git` says of the source tree, else `unknown`.
//! Only the version line shows it; no output byte depends on it.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=HOIST_COMMIT");
    let from_env = std::env::var("HOIST_COMMIT")
        .ok()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let commit = from_env
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=HOIST_COMMIT={commit}");
    // Build again when the checked-out commit moves.
    if let Ok(head) = std::fs::read_to_string(".git/HEAD") {
        println!("cargo:rerun-if-changed=.git/HEAD");
        if let Some(reference) = head.strip_prefix("ref: ") {
            println!("cargo:rerun-if-changed=.git/{}", reference.trim());
        }
    }
}

/// The short commit of the source tree, with `-modified` when tracked files differ from it.
fn git_commit() -> Option<String> {
    let run = |args: &[&str]| {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = run(&["rev-parse", "--short=12", "HEAD"])?;
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty {
        format!("{commit}-modified")
    } else {
        commit
    })
}
