use super::*;

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|n| n.to_string()).collect()
}

fn ours() -> BTreeSet<String> {
    names(&["a.zip", "b", "report.json"])
}

#[test]
fn a_second_lock_on_the_same_folder_is_refused_until_the_first_is_dropped() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let (first, _) = OutDir::lock(&out, &ours()).unwrap();
    match OutDir::lock(&out, &ours()) {
        Err(Error::Locked { dir, holder }) => {
            assert_eq!(dir, out);
            assert!(holder.contains("hoist apply"), "{holder}");
        }
        other => panic!("expected a lock error, got {other:?}"),
    }
    drop(first);
    OutDir::lock(&out, &ours()).unwrap();
}

#[test]
fn moves_left_by_an_interrupted_run_are_finished_by_the_next() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    write(&out.join("a.zip"), "old a");
    write(&out.join("b/x.json"), "old b");
    write(&out.join("report.json"), "old report");
    let moves = [
        (".hoist-tmp-1", "a.zip", false),
        (".hoist-tmp-2", "b", true),
        (".hoist-tmp-3", "report.json", false),
    ]
    .map(|(from, to, dir)| Move {
        from: out.join(from),
        to: out.join(to),
        dir,
    });
    {
        let (o, _) = OutDir::lock(&out, &ours()).unwrap();
        // The run stages its outputs (and something a run killed earlier left)...
        write(&out.join(".hoist-tmp-1"), "new a");
        write(&out.join(".hoist-tmp-2/x.json"), "new b");
        write(&out.join(".hoist-tmp-3"), "new report");
        write(
            &out.join(".hoist-tmp-9"),
            "staged by a run killed before its journal",
        );
        o.write_journal(&moves).unwrap();
        // The run makes the first move and is killed.
        o.make(&Move {
            from: PathBuf::from(".hoist-tmp-1"),
            to: PathBuf::from("a.zip"),
            dir: false,
        })
        .unwrap();
    }
    let (_o, recovered) = OutDir::lock(&out, &ours()).unwrap();
    assert_eq!(
        recovered,
        Recovered {
            finished: 2,
            removed: 1
        }
    );
    let read = |p: &str| fs::read_to_string(out.join(p)).unwrap();
    assert_eq!(read("a.zip"), "new a");
    assert_eq!(read("b/x.json"), "new b");
    assert_eq!(read("report.json"), "new report");
    let mut left: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [LOCK_NAME, "a.zip", "b", "report.json"]);
    drop(_o);
    assert!(
        !out.join(LOCK_NAME).exists(),
        "the lock file goes with the lock"
    );
}

#[test]
fn a_damaged_journal_stops_the_run_and_is_kept() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    write(&out.join(JOURNAL_NAME), "{not json");
    let err = OutDir::lock(&out, &ours()).unwrap_err();
    assert!(err.to_string().contains(JOURNAL_NAME), "{err}");
    assert!(out.join(JOURNAL_NAME).exists());
}

/// Every file under `root` with its bytes, links shown as `-> target`.
fn snapshot(root: &Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.file_type().is_symlink() {
                out.insert(rel, format!("-> {}", fs::read_link(&p).unwrap().display()));
            } else if m.is_dir() {
                out.insert(rel.clone(), "/".into());
                stack.push(p);
            } else {
                out.insert(rel, fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// A workspace with a spec beside the output folder, a staged file and a staged folder
/// in it, and the journal `journal`; locking must refuse it and change nothing at all.
fn refused(journal: &str, want: &str) {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    write(&t.path().join("spec.yaml"), "the spec");
    write(&t.path().join("elsewhere/keep.txt"), "kept");
    write(&out.join("a.zip"), "old a");
    write(&out.join(".hoist-tmp-1"), "new a");
    write(&out.join(".hoist-tmp-2/x.json"), "new b");
    write(&out.join(JOURNAL_NAME), journal);
    let before = snapshot(t.path());
    let err = OutDir::lock(&out, &ours()).unwrap_err();
    assert_eq!(err.code(), "output.untrusted", "{err}");
    let text = err.to_string();
    assert!(text.contains(want), "{text}");
    assert!(text.contains("nothing was moved or deleted"), "{text}");
    let after = snapshot(t.path());
    // The lock file is the one trace a refused run leaves, and it goes with the lock.
    assert_eq!(before, after);
}

fn journal_of(moves: &[(&str, &str, bool)]) -> String {
    let moves: Vec<String> = moves
        .iter()
        .map(|(f, t, d)| {
            format!(
                "{{\"from\": {}, \"to\": {}, \"dir\": {d}}}",
                serde_json::to_string(f).unwrap(),
                serde_json::to_string(t).unwrap()
            )
        })
        .collect();
    format!("{{\"journal\": 1, \"moves\": [{}]}}", moves.join(","))
}

#[test]
fn a_journal_moving_anything_but_staged_names_onto_this_runs_outputs_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let abs = t.path().join("spec.yaml");
    let abs = abs.to_str().unwrap();
    for (moves, want) in [
        // Moves the spec into the output folder, then away with the next run.
        (
            vec![("../spec.yaml", "a.zip", false)],
            "not a name hoist stages",
        ),
        (vec![(abs, "a.zip", false)], "not a name hoist stages"),
        (
            vec![("a.zip", "report.json", false)],
            "not a name hoist stages",
        ),
        (
            vec![(".hoist-tmp-1", "../spec.yaml", false)],
            "not a name this run writes",
        ),
        (
            vec![(".hoist-tmp-1", abs, false)],
            "not a name this run writes",
        ),
        (
            vec![(".hoist-tmp-2", "../elsewhere", true)],
            "not a name this run writes",
        ),
        (
            vec![(".hoist-tmp-1", "sub/a.zip", false)],
            "not a name this run writes",
        ),
        (
            vec![(".hoist-tmp-1", "c.zip", false)],
            "not a name this run writes",
        ),
        (
            vec![(".hoist-tmp-1", ".hoist.lock", false)],
            "not a name this run writes",
        ),
        (
            vec![(".hoist-tmp-1/../x", "a.zip", false)],
            "not a name hoist stages",
        ),
        (
            vec![
                (".hoist-tmp-1", "a.zip", false),
                (".hoist-tmp-1", "a.zip", false),
            ],
            "a second time",
        ),
        // The staged file is not a folder, nor the staged folder a file.
        (vec![(".hoist-tmp-1", "b", true)], "not the staged folder"),
        (
            vec![(".hoist-tmp-2", "a.zip", false)],
            "not the staged file",
        ),
    ] {
        refused(&journal_of(&moves), want);
    }
    refused(
        r#"{"journal": 2, "moves": []}"#,
        "of version 2, and this hoist writes version 1",
    );
    refused(
        r#"{"journal": 1, "moves": [], "run": "x"}"#,
        "unknown field `run`",
    );
    refused(
        r#"{"journal": 1, "moves": [{"from": ".hoist-tmp-1", "to": "a.zip", "dir": false, "mode": 777}]}"#,
        "unknown field `mode`",
    );
    let mut big = journal_of(&[(".hoist-tmp-1", "a.zip", false)]);
    big.push_str(&" ".repeat(MAX_JOURNAL_BYTES as usize));
    refused(&big, "larger than");
}

#[cfg(unix)]
#[test]
fn links_planted_in_the_output_folder_are_refused_and_never_followed() {
    use std::os::unix::fs::symlink;
    // The journal, the lock, a staged name and an output name as links to a file outside.
    for planted in [JOURNAL_NAME, LOCK_NAME, ".hoist-tmp-1", "a.zip"] {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        let victim = t.path().join("victim.txt");
        write(&victim, &journal_of(&[(".hoist-tmp-1", "a.zip", false)]));
        fs::create_dir_all(&out).unwrap();
        if planted != JOURNAL_NAME {
            write(
                &out.join(JOURNAL_NAME),
                &journal_of(&[(".hoist-tmp-1", "a.zip", false)]),
            );
        }
        symlink(&victim, out.join(planted)).unwrap();
        let before = snapshot(t.path());
        let err = OutDir::lock(&out, &ours()).unwrap_err();
        assert_eq!(err.code(), "output.untrusted", "{planted}: {err}");
        assert!(
            err.to_string().contains("symbolic link")
                || err.to_string().contains("not the staged file"),
            "{planted}: {err}"
        );
        assert_eq!(before, snapshot(t.path()), "{planted}");
    }
    // A pipe where the journal goes neither blocks the run nor is read.
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(out.join(JOURNAL_NAME))
        .status()
        .unwrap();
    assert!(made.success());
    let err = OutDir::lock(&out, &ours()).unwrap_err();
    assert!(err.to_string().contains("not a plain file"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_lock_file_that_is_a_second_name_of_another_file_is_refused_untouched() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let victim = t.path().join("victim.txt");
    write(&victim, "precious");
    fs::hard_link(&victim, out.join(LOCK_NAME)).unwrap();
    let err = OutDir::lock(&out, &ours()).unwrap_err();
    assert!(err.to_string().contains("hard link"), "{err}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
}

#[cfg(unix)]
#[test]
fn an_output_folder_that_is_a_link_is_refused() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("real")).unwrap();
    std::os::unix::fs::symlink(t.path().join("real"), t.path().join("out")).unwrap();
    let err = OutDir::lock(&t.path().join("out"), &ours()).unwrap_err();
    assert_eq!(err.code(), "output.untrusted");
    assert!(
        fs::read_dir(t.path().join("real"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn a_lock_left_by_a_killed_run_is_taken_over() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    // What a killed run leaves: the file, no longer locked by anyone.
    write(&out.join(LOCK_NAME), "hoist apply, process 4242\n");
    let (lock, recovered) = OutDir::lock(&out, &ours()).unwrap();
    assert_eq!(recovered, Recovered::default());
    let text = fs::read_to_string(out.join(LOCK_NAME)).unwrap();
    assert_eq!(
        text,
        format!("hoist apply, process {}\n", std::process::id())
    );
    drop(lock);
    assert!(!out.join(LOCK_NAME).exists());
}

#[test]
fn plain_names_are_one_component() {
    for ok in ["a.zip", "report.json", "x y", ".hoist-tmp-1"] {
        assert!(is_plain_name(ok), "{ok}");
    }
    for bad in ["", ".", "..", "a/b", "/a", "a\\b", "../a", "a/", "./a"] {
        assert!(!is_plain_name(bad), "{bad}");
    }
}

/// A lock taken on a lock file its holder removed meanwhile does not count: the handle must be
/// the file still at the name (the same file, not one put there since, nor none).
#[cfg(unix)]
#[test]
fn a_lock_counts_only_on_the_file_still_at_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LOCK_NAME);
    let file = open_no_follow(&path, true).unwrap();
    assert!(same_file(&file, &path));
    fs::remove_file(&path).unwrap();
    assert!(!same_file(&file, &path), "removed");
    write(&path, "another run's lock");
    assert!(!same_file(&file, &path), "replaced");
}
