use super::dir::{case_collision, ignores_case};
use super::*;

#[test]
fn names_equal_but_for_case_are_found_in_files_and_folders() {
    let found = |names: &[&str]| case_collision(names.iter().copied());
    assert_eq!(
        found(&["assets/app/a/asset.json", "assets/app/b/asset.json"]),
        None
    );
    assert_eq!(
        found(&["assets/app/a/asset.json", "assets/app/A/asset.json"]),
        Some(("assets/app/a".into(), "assets/app/A".into()))
    );
    assert_eq!(
        found(&["files/Read.me", "files/read.me"]),
        Some(("files/Read.me".into(), "files/read.me".into()))
    );
    assert_eq!(
        found(&["x/É/1", "x/é/2"]),
        Some(("x/É".into(), "x/é".into())),
        "beyond ASCII too"
    );
}

#[test]
fn a_case_sensitive_disk_is_seen_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let sensitive = {
        fs::write(dir.path().join("A"), "").unwrap();
        !dir.path().join("a").exists()
    };
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(ignores_case(fresh.path()), !sensitive);
    assert_eq!(
        fs::read_dir(fresh.path()).unwrap().count(),
        0,
        "the probe is removed"
    );
}
