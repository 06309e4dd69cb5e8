//! Packing, unpacking and verifying: identity on trees, identical bytes on every run,
//! raw copies that keep compressed bytes, and tampering found.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use common::{example, hoist_in, s, tmp, tree};
use hoist::archive::write::{Format, ManifestMode, write_package};
use hoist::package::{LoadOptions, Package};

const PACKAGES: &[&str] = &[
    "packages/orders-dev",
    "packages/payments-dev",
    "packages/enebular-dev",
];

#[test]
fn unpack_of_pack_is_the_identity_on_trees() {
    for rel in PACKAGES {
        let dir = tmp();
        let src = example(rel);
        hoist_in(dir.path(), &["pack", s(&src), "-o", "p.zip"]).expect_code(0);
        hoist_in(dir.path(), &["unpack", "p.zip", "-o", "back"]).expect_code(0);
        let mut got = tree(&dir.path().join("back"));
        let want = tree(&src);
        if rel.contains("enebular") {
            // enebular has no room for a manifest inside: it travels beside the package.
            assert!(dir.path().join("p.zip.hoist.json").exists());
            assert!(dir.path().join("back.hoist.json").exists());
        } else {
            assert!(got.remove("hoist.json").is_some(), "pack adds the manifest");
        }
        assert_eq!(got, want, "{rel}");
    }
}

#[test]
fn packing_twice_and_at_any_thread_count_gives_identical_bytes() {
    for rel in PACKAGES {
        let dir = tmp();
        let src = example(rel);
        hoist_in(dir.path(), &["--jobs", "1", "pack", s(&src), "-o", "a.zip"]).expect_code(0);
        hoist_in(dir.path(), &["--jobs", "2", "pack", s(&src), "-o", "b.zip"]).expect_code(0);
        hoist_in(dir.path(), &["pack", s(&src), "-o", "c.zip"]).expect_code(0);
        let a = fs::read(dir.path().join("a.zip")).unwrap();
        assert_eq!(
            a,
            fs::read(dir.path().join("b.zip")).unwrap(),
            "{rel}: jobs 1 vs 2"
        );
        assert_eq!(
            a,
            fs::read(dir.path().join("c.zip")).unwrap(),
            "{rel}: two runs"
        );
    }
}

#[test]
fn written_archives_have_fixed_times_and_modes_and_pass_unzip() {
    let dir = tmp();
    hoist_in(
        dir.path(),
        &["pack", s(&example("packages/orders-dev")), "-o", "p.zip"],
    )
    .expect_code(0);
    let mut ar = zip::ZipArchive::new(fs::File::open(dir.path().join("p.zip")).unwrap()).unwrap();
    let names: Vec<String> = ar.file_names().map(|n| n.unwrap().into_owned()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are sorted");
    for i in 0..ar.len() {
        let f = ar.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        assert_eq!(f.unix_mode(), Some(0o100644), "{name}");
        let t = f.last_modified().unwrap();
        assert_eq!((t.year(), t.month(), t.day()), (1980, 1, 1), "{name}");
        assert!(f.extra_data().is_none(), "no extra fields: {name}");
    }
    let out = std::process::Command::new("unzip")
        .args(["-tq", "p.zip"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unzip -t: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Builds a ZIP of a folder with another writer and another compression level.
fn foreign_zip(src: &Path, dest: &Path) {
    let mut w = zip::ZipWriter::new(fs::File::create(dest).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    for (name, bytes) in tree(src) {
        w.start_file(name, opts).unwrap();
        w.write_all(&bytes).unwrap();
    }
    w.finish().unwrap();
}

fn raw_entries(path: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    let mut ar = zip::ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..ar.len() {
        let mut f = ar.by_index_raw(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let crc = f.crc32();
        let mut raw = Vec::new();
        f.read_to_end(&mut raw).unwrap();
        out.insert(name, (raw, crc));
    }
    out
}

#[test]
fn unchanged_entries_are_raw_copied_with_their_compressed_bytes() {
    for rel in ["packages/orders-dev", "packages/enebular-dev"] {
        let dir = tmp();
        let src_zip = dir.path().join("src.zip");
        foreign_zip(&example(rel), &src_zip);
        let pkg =
            Package::load(&src_zip, &hoist::platform::load_options(Default::default())).unwrap();
        let entries = pkg.entries_for(&pkg.assets).unwrap();
        let out = dir.path().join("out.zip");
        let mode = if pkg.io.embeds_manifest() {
            ManifestMode::Embedded
        } else {
            ManifestMode::Sidecar
        };
        write_package(
            &out,
            Format::Zip,
            pkg.layout.name(),
            Some(mode),
            entries,
            false,
        )
        .unwrap();
        let before = raw_entries(&src_zip);
        let mut after = raw_entries(&out);
        after.remove("hoist.json");
        assert_eq!(
            after.keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>()
        );
        for (name, raw) in &before {
            assert!(after[name] == *raw, "{rel}: {name} was recompressed");
        }
    }
}

#[test]
fn enebular_exports_round_trip_byte_for_byte_through_the_model() {
    let dir = tmp();
    let pkg = Package::load(
        &example("packages/enebular-dev"),
        &hoist::platform::load_options(Default::default()),
    )
    .unwrap();
    assert_eq!(pkg.assets.len(), 6);
    let entries = pkg.entries_for(&pkg.assets).unwrap();
    let out = dir.path().join("out");
    write_package(&out, Format::Dir, "enebular", None, entries, false).unwrap();
    let got = tree(&out);
    assert_eq!(got, tree(&example("packages/enebular-dev")));
    let settings = &got["SmartFactory/flows/line-monitor/master/settings.json"];
    assert!(settings.windows(2).any(|w| w == b"\r\n"), "CRLF kept");
    assert!(
        String::from_utf8_lossy(settings).contains("\"category\""),
        "old category field kept"
    );
}

#[test]
fn an_edited_enebular_settings_file_is_rewritten_with_crlf() {
    let dir = tmp();
    let mut pkg = Package::load(
        &example("packages/enebular-dev"),
        &hoist::platform::load_options(Default::default()),
    )
    .unwrap();
    let mut assets = std::mem::take(&mut pkg.assets);
    assets[1].meta_mut()["description"] = "changed".into();
    let entries = pkg.entries_for(&assets).unwrap();
    let out = dir.path().join("out");
    write_package(&out, Format::Dir, "enebular", None, entries, false).unwrap();
    let got = tree(&out);
    let want = tree(&example("packages/enebular-dev"));
    let changed: Vec<&String> = got.keys().filter(|k| got[*k] != want[*k]).collect();
    assert_eq!(
        changed,
        vec!["SmartFactory/flows/line-monitor/master/settings.json"]
    );
    let text = String::from_utf8(got[changed[0]].clone()).unwrap();
    assert!(text.contains("\"description\": \"changed\",\r\n"), "{text}");
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "only CRLF line ends"
    );
}

#[test]
fn a_flipped_byte_in_any_entry_is_found_by_verify() {
    let dir = tmp();
    hoist_in(
        dir.path(),
        &["pack", s(&example("packages/orders-dev")), "-o", "p.zip"],
    )
    .expect_code(0);
    hoist_in(dir.path(), &["unpack", "p.zip", "-o", "clean"]).expect_code(0);
    hoist_in(dir.path(), &["verify", "clean", "p.zip"]).expect_code(0);
    let files: Vec<String> = tree(&dir.path().join("clean"))
        .into_keys()
        .filter(|k| k != "hoist.json")
        .collect();
    assert!(files.len() > 10);
    for (i, name) in files.iter().enumerate() {
        let copy = dir.path().join(format!("t{i}"));
        common::copy_tree(&dir.path().join("clean"), &copy);
        let path = copy.join(name);
        let mut bytes = fs::read(&path).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x01;
        fs::write(&path, &bytes).unwrap();
        let run = hoist_in(dir.path(), &["verify", &format!("t{i}")]).expect_code(1);
        assert!(
            run.stdout.contains(&format!("modified   {name}")),
            "{name}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("1 problem in 1 asset"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn a_rezipped_package_with_one_changed_entry_is_found_by_verify() {
    let dir = tmp();
    hoist_in(
        dir.path(),
        &["pack", s(&example("packages/payments-dev")), "-o", "p.zip"],
    )
    .expect_code(0);
    // Re-zip with a consistent CRC, as someone editing the package by hand would.
    let mut ar = zip::ZipArchive::new(fs::File::open(dir.path().join("p.zip")).unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(fs::File::create(dir.path().join("edited.zip")).unwrap());
    for i in 0..ar.len() {
        let mut f = ar.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        if name == "assets/api/payments-charge/asset.json" {
            bytes = String::from_utf8(bytes)
                .unwrap()
                .replace("/v1/charges", "/v1/refunds")
                .into_bytes();
        }
        w.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(&bytes).unwrap();
    }
    w.finish().unwrap();
    let run = hoist_in(dir.path(), &["verify", "edited.zip"]).expect_code(1);
    assert!(run.stdout.contains("api/payments-charge"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("modified   assets/api/payments-charge/asset.json"),
        "{}",
        run.stdout
    );
}

#[test]
fn verify_names_missing_and_extra_entries_per_asset() {
    let dir = tmp();
    hoist_in(
        dir.path(),
        &["pack", s(&example("packages/orders-dev")), "-o", "p.zip"],
    )
    .expect_code(0);
    hoist_in(dir.path(), &["unpack", "p.zip", "-o", "d"]).expect_code(0);
    fs::remove_file(dir.path().join("d/assets/task/orders-sync/asset.json")).unwrap();
    fs::create_dir_all(dir.path().join("d/assets/app/orders/files")).unwrap();
    fs::write(dir.path().join("d/assets/app/orders/files/new.txt"), "new").unwrap();
    let run = hoist_in(dir.path(), &["verify", "--json", "d"]).expect_code(1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let assets = &v["packages"][0]["assets"];
    assert_eq!(assets["task/orders-sync"][0]["problem"], "missing");
    assert_eq!(assets["app/orders"][0]["problem"], "extra");
    assert_eq!(
        assets["app/orders"][0]["entry"],
        "assets/app/orders/files/new.txt"
    );
}

#[test]
fn verify_without_a_manifest_is_bad_input() {
    let run = common::hoist(&["verify", "examples/packages/orders-dev"]).expect_code(2);
    assert!(
        run.stderr.contains("error[package.manifest]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("nothing to verify against"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_modified_entry_fails_only_its_asset() {
    let dir = tmp();
    hoist_in(
        dir.path(),
        &["pack", s(&example("packages/orders-dev")), "-o", "p.zip"],
    )
    .expect_code(0);
    hoist_in(dir.path(), &["unpack", "p.zip", "-o", "d"]).expect_code(0);
    let doc = dir.path().join("d/assets/backend/orders-svc/asset.json");
    let text = fs::read_to_string(&doc).unwrap().replace("5000", "6000");
    fs::write(&doc, text).unwrap();
    let run = hoist_in(dir.path(), &["inspect", "--json", "d"]).expect_code(1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["failures"].as_array().unwrap().len(), 1);
    assert_eq!(v["failures"][0]["asset"], "backend/orders-svc");
    assert_eq!(v["failures"][0]["code"], "integrity.modified");
    assert_eq!(
        v["assets"].as_array().unwrap().len(),
        12,
        "the other assets load"
    );
}

#[test]
fn pack_refuses_a_stale_manifest_unless_asked_to_rehash() {
    let dir = tmp();
    hoist_in(
        dir.path(),
        &["pack", s(&example("packages/payments-dev")), "-o", "p.zip"],
    )
    .expect_code(0);
    hoist_in(dir.path(), &["unpack", "p.zip", "-o", "d"]).expect_code(0);
    fs::create_dir_all(dir.path().join("d/assets/app/payments/files")).unwrap();
    fs::write(
        dir.path().join("d/assets/app/payments/files/notes.txt"),
        "added by hand",
    )
    .unwrap();
    let run = hoist_in(dir.path(), &["pack", "d", "-o", "q.zip"]).expect_code(1);
    assert!(run.stderr.contains("--rehash"), "{}", run.stderr);
    assert!(!dir.path().join("q.zip").exists(), "nothing written");
    hoist_in(dir.path(), &["pack", "d", "-o", "q.zip", "--rehash"]).expect_code(0);
    hoist_in(dir.path(), &["verify", "q.zip"]).expect_code(0);
}

#[test]
fn unpack_refuses_a_non_empty_destination_unless_forced() {
    let dir = tmp();
    hoist_in(
        dir.path(),
        &["pack", s(&example("packages/payments-dev")), "-o", "p.zip"],
    )
    .expect_code(0);
    fs::create_dir(dir.path().join("d")).unwrap();
    fs::write(dir.path().join("d/keep.txt"), "mine").unwrap();
    let run = hoist_in(dir.path(), &["unpack", "p.zip", "-o", "d"]).expect_code(2);
    assert!(
        run.stderr.contains("error[output.destination]") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("d/keep.txt")).unwrap(),
        "mine"
    );
    hoist_in(dir.path(), &["unpack", "p.zip", "-o", "d", "--force"]).expect_code(0);
    assert!(!dir.path().join("d/keep.txt").exists());
    assert!(dir.path().join("d/hoist.json").exists());
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".hoist"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary folders left: {leftovers:?}"
    );
}

#[test]
fn many_entries_are_written_as_zip64_that_unzip_accepts() {
    let dir = tmp();
    let entries: Vec<_> = (0..70_000)
        .map(|i| {
            hoist::archive::write::OutEntry::bytes(
                format!("assets/file/f{i:05}/asset.json"),
                br#"{"meta":{}}"#.to_vec(),
            )
        })
        .collect();
    let out = dir.path().join("big.zip");
    write_package(
        &out,
        Format::Zip,
        "hoist",
        Some(ManifestMode::Embedded),
        entries,
        false,
    )
    .unwrap();
    let out_t = std::process::Command::new("unzip")
        .args(["-tqq", "big.zip"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out_t.status.success(),
        "unzip -t: {}",
        String::from_utf8_lossy(&out_t.stderr)
    );
    let pkg = Package::load(
        &out,
        &LoadOptions {
            hashing: hoist::package::Hashing::Content,
            ..hoist::platform::load_options(Default::default())
        },
    )
    .unwrap();
    assert_eq!(pkg.assets.len(), 70_000);
    assert!(pkg.failures.is_empty());
    let _ = Arc::clone(&pkg.source);
}
