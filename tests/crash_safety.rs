//! Crash safety of `hoist apply`: a run killed at any moment, a full disk, an output folder
//! that cannot be written, and two runs on the same folder at once. Each leaves the previous
//! outputs whole, and never a partial file under a final name.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{hoist_in, tmp, tree};

/// A corpus of `packages` hoist packages of `assets` assets each (`common::corpus`, fixed
/// seed), with `spec.yaml` writing to `out/` and `spec-b.yaml`, the same job with a
/// different seed and zone so that every output changes.
fn corpus(packages: usize, assets: usize) -> tempfile::TempDir {
    let dir = tmp();
    common::corpus::many(dir.path(), packages, assets);
    let spec = fs::read_to_string(dir.path().join("spec.yaml")).unwrap();
    let b = spec
        .replace("seed: bench", "seed: other")
        .replace("zone: eu-1", "zone: eu-2");
    assert_ne!(spec, b);
    fs::write(dir.path().join("spec-b.yaml"), b).unwrap();
    dir
}

fn apply(dir: &Path, spec: &str, out: &str) -> common::Run {
    hoist_in(dir, &["apply", spec, "--env", "prod", "--out", out])
}

/// The outputs a user sees: every file whose name does not start with `.hoist`.
fn visible(out: &Path) -> BTreeMap<String, Vec<u8>> {
    if !out.exists() {
        return BTreeMap::new();
    }
    visible_of(&tree(out))
}

fn visible_of(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    files
        .iter()
        .filter(|(name, _)| !name.starts_with(".hoist"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The outputs of `spec-b.yaml` as a complete run writes them to `out/`, made in a copy of
/// the corpus (the report names the folder), and how long that run took.
fn reference(dir: &Path) -> (BTreeMap<String, Vec<u8>>, std::time::Duration) {
    let copy = tmp();
    common::copy_tree(dir, copy.path());
    let _ = fs::remove_dir_all(copy.path().join("out"));
    let started = Instant::now();
    apply(copy.path(), "spec-b.yaml", "out").expect_code(0);
    let took = started.elapsed();
    (tree(&copy.path().join("out")), took)
}

/// Names of the files that differ between two trees (for messages).
fn differing(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

fn hoist_cmd(dir: &Path, spec: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
    cmd.args(["apply", spec, "--env", "prod", "--out", "out"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

#[test]
fn a_run_killed_at_any_moment_leaves_the_old_outputs_or_the_new_ones() {
    let c = corpus(6, 150);
    let dir = c.path();
    apply(dir, "spec.yaml", "out").expect_code(0);
    let old = visible(&dir.join("out"));
    let (new, whole_run) = reference(dir);
    assert_eq!(
        old.keys().collect::<Vec<_>>(),
        new.keys().collect::<Vec<_>>()
    );
    let new_visible = visible_of(&new);
    assert!(new_visible == new, "a complete run leaves no hidden file");
    for (name, bytes) in &old {
        if name != "report.json" {
            assert_ne!(bytes, &new[name], "{name} is the same in both runs");
        }
    }
    let out = dir.join("out");
    let steps = 16u32;
    for i in 0..steps {
        let mut child = hoist_cmd(dir, "spec-b.yaml").spawn().unwrap();
        std::thread::sleep(whole_run * i / steps);
        let _ = child.kill();
        child.wait().unwrap();
        let now = visible(&out);
        let journal = out.join(".hoist-journal.json").exists();
        eprintln!(
            "kill {i}: journal {journal}, old {}, new {}, hidden {:?}",
            now == old,
            now == new,
            tree(&out)
                .keys()
                .filter(|k| k.starts_with(".hoist"))
                .collect::<Vec<_>>()
        );
        if journal {
            // Killed while moving outputs into place: each file is whole, old or new, and the
            // next run finishes the moves.
            for (name, bytes) in &now {
                assert!(
                    old.get(name) == Some(bytes) || new.get(name) == Some(bytes),
                    "kill {i}: {name} is neither the old nor the new output"
                );
            }
        } else {
            assert!(
                now == old || now == new,
                "kill {i}: without a journal the outputs are all old or all new; \
                 differing from old: {:?}, from new: {:?}",
                differing(&now, &old),
                differing(&now, &new)
            );
        }
    }
    apply(dir, "spec-b.yaml", "out").expect_code(0);
    assert!(
        tree(&out) == new,
        "after a complete run: the new outputs and nothing else (no lock, journal or staged \
         file); differing: {:?}",
        differing(&tree(&out), &new)
    );
}

#[test]
fn a_full_disk_leaves_the_previous_outputs_and_no_partial_file() {
    let c = corpus(2, 150);
    let dir = c.path();
    apply(dir, "spec.yaml", "out").expect_code(0);
    let before = tree(&dir.join("out"));
    let biggest = before.values().map(Vec::len).max().unwrap();
    assert!(biggest > 64 << 10, "an output larger than the limit below");
    // A file size limit (64 KiB) makes writes fail as a full disk would.
    let run = Command::new("bash")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_hoist"))
        .args(["apply", "spec-b.yaml", "--env", "prod", "--out", "out"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(
        stderr.contains("File too large"),
        "the cause is given: {stderr}"
    );
    assert_eq!(
        tree(&dir.join("out")),
        before,
        "the previous outputs, whole, and nothing else"
    );
}

#[test]
fn an_output_folder_that_cannot_be_made_is_a_clear_error() {
    let c = corpus(1, 20);
    let dir = c.path();
    fs::write(
        dir.join("blocker"),
        "a file where the output folder should go",
    )
    .unwrap();
    let run = apply(dir, "spec.yaml", "blocker/out").expect_code(2);
    assert!(run.stderr.contains("error[io]"), "{}", run.stderr);
    assert!(run.stderr.contains("blocker/out"), "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(dir.join("blocker")).unwrap(),
        "a file where the output folder should go"
    );
    // An output that exists as a folder where a file goes is refused before anything moves.
    apply(dir, "spec.yaml", "out").expect_code(0);
    let before = tree(&dir.join("out"));
    let name = before.keys().find(|n| n.ends_with(".zip")).unwrap().clone();
    fs::remove_file(dir.join("out").join(&name)).unwrap();
    fs::create_dir(dir.join("out").join(&name)).unwrap();
    let run = apply(dir, "spec-b.yaml", "out").expect_code(1);
    assert!(run.stderr.contains("not a file"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    let mut expected = before;
    expected.remove(&name);
    assert_eq!(tree(&dir.join("out")), expected);
}

#[test]
fn a_second_run_on_a_locked_folder_is_refused_and_writes_nothing() {
    let c = corpus(1, 20);
    let dir = c.path();
    apply(dir, "spec.yaml", "out").expect_code(0);
    let before = tree(&dir.join("out"));
    // Another run holds the lock.
    let lock_path: PathBuf = dir.join("out/.hoist.lock");
    let lock = fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    let run = apply(dir, "spec-b.yaml", "out").expect_code(2);
    assert!(
        run.stderr.contains("error[output.locked]"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("out"), "{}", run.stderr);
    let mut now = tree(&dir.join("out"));
    now.remove(".hoist.lock");
    assert_eq!(now, before, "nothing written while locked");
    lock.unlock().unwrap();
    drop(lock);
    apply(dir, "spec-b.yaml", "out").expect_code(0);
    assert!(!lock_path.exists(), "the lock file goes when the run ends");
}

#[test]
fn two_runs_at_once_on_one_folder_do_not_mix() {
    let c = corpus(4, 100);
    let dir = c.path();
    let (new, _) = reference(dir);
    for _ in 0..3 {
        let runs: Vec<_> = (0..2)
            .map(|_| hoist_cmd(dir, "spec-b.yaml").spawn().unwrap())
            .collect();
        let codes: Vec<i32> = runs
            .into_iter()
            .map(|mut c| c.wait().unwrap().code().unwrap_or(-1))
            .collect();
        assert!(
            codes.iter().all(|c| *c == 0 || *c == 2) && codes.contains(&0),
            "each run finishes or is refused by the lock: {codes:?}"
        );
        let now = tree(&dir.join("out"));
        assert!(now == new, "differing: {:?}", differing(&now, &new));
    }
}

/// The output folder is input too: a journal committed to the repository (or left by anyone
/// who could write there) may not move or delete anything, and a link planted as the lock may
/// not make a run write through it.
#[test]
fn a_planted_journal_or_lock_moves_deletes_and_truncates_nothing() {
    let journals = [
        // Moves the spec out of the repository into the output folder.
        r#"{"journal": 1, "moves": [{"from": "../../specs/orders-to-prod.yaml", "to": "stolen.yaml", "dir": false}]}"#,
        // Replaces (and so deletes) a folder outside the output folder with another.
        r#"{"journal": 1, "moves": [{"from": "../../examples/packages/payments-dev", "to": "../../examples/targets/prod", "dir": true}]}"#,
    ];
    for journal in journals {
        let ws = common::workspace();
        let out = ws.path().join("out/orders-to-prod");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join(".hoist-journal.json"), journal).unwrap();
        let before = tree(ws.path());
        let run = hoist_in(
            ws.path(),
            &["apply", "specs/orders-to-prod.yaml", "--env", "prod"],
        )
        .expect_code(2);
        assert!(
            run.stderr.contains("error[output.untrusted]")
                && run.stderr.contains("nothing was moved or deleted"),
            "{}",
            run.stderr
        );
        assert_eq!(before, tree(ws.path()), "the workspace is untouched");
    }
    #[cfg(unix)]
    {
        let ws = common::workspace();
        let out = ws.path().join("out/orders-to-prod");
        fs::create_dir_all(&out).unwrap();
        let spec = ws.path().join("specs/orders-to-prod.yaml");
        let text = fs::read(&spec).unwrap();
        std::os::unix::fs::symlink(&spec, out.join(".hoist.lock")).unwrap();
        let run = hoist_in(
            ws.path(),
            &["apply", "specs/orders-to-prod.yaml", "--env", "prod"],
        )
        .expect_code(2);
        assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
        assert_eq!(fs::read(&spec).unwrap(), text, "the spec is not truncated");
    }
}

#[test]
fn export_takes_the_output_folders_lock_like_apply() {
    let dir = tmp();
    let dir = dir.path();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/packages/orders-dev");
    fs::create_dir_all(dir.join("out")).unwrap();
    let lock_path = dir.join("out/.hoist.lock");
    let lock = fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    let src = src.to_str().unwrap();
    let run = hoist_in(
        dir,
        &["export", src, "-o", "out/orders.zip", "--app", "orders"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("error[output.locked]"),
        "{}",
        run.stderr
    );
    assert!(
        !dir.join("out/orders.zip").exists(),
        "nothing written while locked"
    );
    lock.unlock().unwrap();
    drop(lock);
    let run = hoist_in(
        dir,
        &["export", src, "-o", "out/orders.zip", "--app", "orders"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dir.join("out/orders.zip").is_file());
    assert!(
        !lock_path.exists(),
        "the lock file goes when the export ends"
    );
}
