//! Every refusal of the safe reader, on archives crafted byte by byte in the test: each
//! exits 2 with its own stable code and names the package.

mod common;

use common::craft::{self, Entry};
use common::{hoist_in, s, tmp};

/// Writes `bytes` as `pkg.zip` in a fresh folder and runs `hoist inspect` on it (plus `extra` args).
fn inspect(bytes: &[u8], extra: &[&str]) -> common::Run {
    let dir = tmp();
    std::fs::write(dir.path().join("pkg.zip"), bytes).unwrap();
    let mut args = vec!["inspect", "pkg.zip"];
    args.extend_from_slice(extra);
    let run = hoist_in(dir.path(), &args);
    // Nothing may appear beside the package.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("pkg.zip")],
        "inspect wrote files"
    );
    run
}

fn refused(bytes: &[u8], extra: &[&str], code: &str) {
    let run = inspect(bytes, extra).expect_code(2);
    assert!(
        run.stderr.contains(&format!("error[{code}]")),
        "wanted {code}, got: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("pkg.zip"),
        "the error names the package: {}",
        run.stderr
    );
}

fn with(entry: Entry) -> Vec<u8> {
    let mut entries = craft::minimal_package();
    entries.push(entry);
    craft::zip(&entries)
}

#[test]
fn a_clean_crafted_package_is_accepted() {
    let run = inspect(&craft::zip(&craft::minimal_package()), &[]).expect_code(0);
    assert!(run.stdout.contains("app "), "{}", run.stdout);
}

#[test]
fn unsafe_names_are_refused_each_with_its_code() {
    let cases: &[(&[u8], &str)] = &[
        (b"/etc/passwd", "zip.absolute_path"),
        (b"../../evil", "zip.parent_dir"),
        (b"assets/../../evil", "zip.parent_dir"),
        (b"C:/Windows/evil", "zip.drive_letter"),
        (b"assets\\..\\evil", "zip.backslash"),
        ("assets/\u{2215}etc/passwd".as_bytes(), "zip.lookalike"),
        ("\u{FF0E}\u{FF0E}/evil".as_bytes(), "zip.lookalike"),
        (b"assets//x", "zip.bad_name"),
        (b"a\x01b", "zip.bad_name"),
        (b"\xff\xfe.json", "zip.bad_name"),
    ];
    for (name, code) in cases {
        refused(&with(Entry::new(name, "x")), &[], code);
    }
}

#[test]
fn symlink_entries_are_refused() {
    refused(
        &with(Entry::new("assets/app/a/files/link", "/etc/passwd").symlink()),
        &[],
        "zip.symlink",
    );
}

#[test]
fn symlinks_in_a_directory_package_are_refused() {
    let dir = tmp();
    let pkg = dir.path().join("pkg");
    common::copy_tree(&common::example("packages/payments-dev"), &pkg);
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/passwd", pkg.join("assets/app/payments/passwd")).unwrap();
    let run = hoist_in(dir.path(), &["inspect", "pkg"]).expect_code(2);
    assert!(run.stderr.contains("error[zip.symlink]"), "{}", run.stderr);
}

#[test]
fn encrypted_entries_are_refused() {
    refused(
        &with(Entry::new("assets/app/b/asset.json", "x").flags(1)),
        &[],
        "zip.encrypted",
    );
}

#[test]
fn duplicate_names_are_refused_and_named() {
    let mut entries = craft::minimal_package();
    entries.push(Entry::new(
        "assets/app/a/asset.json",
        br#"{"meta": {"name": "evil"}}"#,
    ));
    let run = inspect(&craft::zip(&entries), &[]).expect_code(2);
    assert!(
        run.stderr.contains("error[zip.duplicate]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("assets/app/a/asset.json"),
        "{}",
        run.stderr
    );
}

#[test]
fn overlapping_entries_are_refused() {
    refused(
        &with(Entry::new("assets/app/b/asset.json", "").overlap_with(0)),
        &[],
        "zip.overlap",
    );
}

#[test]
fn a_file_that_is_also_a_folder_is_refused() {
    let bytes = craft::zip(&[
        Entry::new("assets/app/a", "x"),
        Entry::new("assets/app/a/asset.json", "{}"),
    ]);
    refused(&bytes, &[], "zip.path_conflict");
}

#[test]
fn a_deflate_bomb_is_refused_by_ratio() {
    refused(
        &with(Entry::new("assets/app/a/files/zeros", vec![0u8; 4 << 20])),
        &[],
        "zip.ratio",
    );
    // The same archive passes when the user raises the limit.
    inspect(
        &with(Entry::new("assets/app/a/files/zeros", vec![0u8; 4 << 20])),
        &["--max-ratio", "5000"],
    )
    .expect_code(0);
}

#[test]
fn entry_count_and_total_size_are_capped() {
    let bytes = with(Entry::new("assets/app/b/asset.json", br#"{"meta": {}}"#));
    refused(&bytes, &["--max-entries", "1"], "zip.too_many_entries");
    refused(&bytes, &["--max-total-size", "10"], "zip.too_large");
}

#[test]
fn unsupported_compression_is_refused() {
    refused(
        &with(
            Entry::new("assets/app/b/asset.json", "x")
                .stored()
                .method(12),
        ),
        &[],
        "zip.method",
    );
}

#[test]
fn truncated_empty_and_non_zip_files_are_named() {
    let good = craft::zip(&craft::minimal_package());
    refused(&good[..good.len() - 10], &[], "zip.truncated");
    refused(&good[..good.len() / 2], &[], "zip.truncated");
    refused(b"", &[], "zip.not_zip");
    refused(
        b"this is a text file, not a zip archive\n",
        &[],
        "zip.not_zip",
    );
}

#[test]
fn a_wrong_crc_fails_the_asset_on_inspect_and_the_whole_unpack() {
    let bytes = craft::zip(&[
        Entry::new("assets/app/a/asset.json", br#"{"meta": {"name": "a"}}"#).crc(0xdead_beef),
        Entry::new("assets/app/b/asset.json", br#"{"meta": {"name": "b"}}"#),
    ]);
    let run = inspect(&bytes, &[]).expect_code(1);
    assert!(run.stdout.contains("app/a  [zip.crc]"), "{}", run.stdout);
    assert!(
        run.stdout.contains("1 assets in 1 kinds; 1 failed"),
        "the other asset still loads: {}",
        run.stdout
    );

    let dir = tmp();
    std::fs::write(dir.path().join("pkg.zip"), &bytes).unwrap();
    let run = hoist_in(dir.path(), &["unpack", "pkg.zip", "-o", "out"]).expect_code(2);
    assert!(run.stderr.contains("error[zip.crc]"), "{}", run.stderr);
    assert!(
        !dir.path().join("out").exists(),
        "nothing is written after a failed unpack"
    );
}

#[test]
fn a_wrong_declared_size_is_found() {
    let bytes =
        craft::zip(&[Entry::new("assets/app/a/asset.json", br#"{"meta": {"name": "a"}}"#).size(5)]);
    let dir = tmp();
    std::fs::write(dir.path().join("pkg.zip"), &bytes).unwrap();
    let run = hoist_in(dir.path(), &["unpack", "pkg.zip", "-o", "out"]).expect_code(2);
    assert!(run.stderr.contains("error[zip.size]"), "{}", run.stderr);
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_missing_package_is_a_clear_error() {
    let dir = tmp();
    let run = hoist_in(dir.path(), &["inspect", "nope.zip"]).expect_code(2);
    assert!(
        run.stderr.contains("nope.zip") && run.stderr.contains("error[io]"),
        "{}",
        run.stderr
    );
    let _ = s(dir.path());
}
