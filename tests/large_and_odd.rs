//! Large and odd inputs that are valid, and must work: 100,000 assets in one package, names
//! with spaces and unicode, a payload of more than 4 GiB (zip64), empty packages and specs
//! that select nothing.

mod common;

use std::fs::{self, File};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use common::craft::{self, Entry};
use common::{hoist_in, tmp};

fn entry_names(zip_path: &Path) -> Vec<String> {
    let archive = zip::ZipArchive::new(File::open(zip_path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| archive.name_for_index(i).unwrap().unwrap().to_string())
        .collect()
}

fn read_entry(zip_path: &Path, name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(File::open(zip_path).unwrap()).unwrap();
    let mut out = Vec::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn a_package_of_100000_assets_is_promoted_whole() {
    if !common::slow_tests("a_package_of_100000_assets_is_promoted_whole") {
        return;
    }
    let dir = tmp();
    fs::create_dir(dir.path().join("packages")).unwrap();
    let path = dir.path().join("packages/big.zip");
    let mut w = zip::ZipWriter::new(BufWriter::new(File::create(&path).unwrap()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..100_000 {
        w.start_file(format!("assets/app/c{i:06}/asset.json"), options)
            .unwrap();
        write!(w, r#"{{"meta": {{"name": "c{i:06}", "value": "{i}"}}}}"#).unwrap();
    }
    w.finish().unwrap().flush().unwrap();
    fs::write(
        dir.path().join("spec.yaml"),
        "version: 1\nname: big\nsources: [packages/big.zip]\noutput: {dir: out}\n\
         rename:\n  - {kind: app, prefix: \"prod-\"}\n",
    )
    .unwrap();
    let run = hoist_in(dir.path(), &["apply", "spec.yaml", "--json"]).expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["summary"]["create"], 100_000,
        "{}",
        report["summary"]
    );
    assert_eq!(report["summary"]["renamed"], 100_000);
    let out = dir.path().join("out/big.zip");
    let names = entry_names(&out);
    assert_eq!(names.len(), 100_001, "every asset and the manifest");
    assert!(names.contains(&"assets/app/prod-c099999/asset.json".to_string()));
    let doc = read_entry(&out, "assets/app/prod-c054321/asset.json");
    let doc: serde_json::Value = serde_json::from_slice(&doc).unwrap();
    assert_eq!(doc["meta"]["name"], "prod-c054321");
    assert_eq!(doc["meta"]["value"], "54321");
    hoist_in(dir.path(), &["verify", "out/big.zip"]).expect_code(0);
}

#[test]
fn names_with_spaces_and_unicode_keep_their_bytes_and_references() {
    let dir = tmp();
    let pkg = dir.path().join("packages/ünïcode dev");
    let write = |rel: &str, text: &str| {
        let p = pkg.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    };
    write(
        "assets/authorizer/注文 auth/asset.json",
        r#"{"meta": {"name": "注文 auth", "type": "FUNC"}}"#,
    );
    write(
        "assets/api/orders list é/asset.json",
        r#"{"meta": {"name": "orders list é", "authorizer": "注文 auth", "path": "/v1/ö"}}"#,
    );
    write("assets/api/orders list é/files/read me.txt", "données ✓\n");
    fs::write(
        dir.path().join("spec.yaml"),
        "version: 1\nname: odd\nsources: [\"packages/ünïcode dev\"]\noutput: {dir: out}\n\
         rename:\n  - {kind: authorizer, prefix: \"prod \"}\n",
    )
    .unwrap();
    hoist_in(dir.path(), &["apply", "spec.yaml"]).expect_code(0);
    let out = dir.path().join("out/ünïcode dev.zip");
    let mut names = entry_names(&out);
    names.sort();
    assert_eq!(
        names,
        [
            "assets/api/orders list é/asset.json",
            "assets/api/orders list é/files/read me.txt",
            "assets/authorizer/prod 注文 auth/asset.json",
            "hoist.json",
        ]
    );
    let api: serde_json::Value =
        serde_json::from_slice(&read_entry(&out, "assets/api/orders list é/asset.json")).unwrap();
    assert_eq!(
        api["meta"]["authorizer"], "prod 注文 auth",
        "the reference follows"
    );
    assert_eq!(
        read_entry(&out, "assets/api/orders list é/files/read me.txt"),
        "données ✓\n".as_bytes()
    );
    // And back to a folder, names intact.
    hoist_in(dir.path(), &["unpack", "out/ünïcode dev.zip", "-o", "back"]).expect_code(0);
    assert!(
        dir.path()
            .join("back/assets/authorizer/prod 注文 auth/asset.json")
            .exists()
    );
}

#[test]
fn empty_packages_and_specs_that_select_nothing_work() {
    let dir = tmp();
    fs::create_dir_all(dir.path().join("packages/empty-dir")).unwrap();
    // An empty hoist package: its manifest and nothing else.
    hoist_in(
        dir.path(),
        &[
            "pack",
            "packages/empty-dir",
            "-o",
            "packages/empty.zip",
            "--layout",
            "hoist",
        ],
    )
    .expect_code(0);
    fs::write(
        dir.path().join("packages/some.zip"),
        craft::zip(&[Entry::new(
            "assets/app/a/asset.json",
            br#"{"meta": {"name": "a"}}"#,
        )]),
    )
    .unwrap();
    fs::write(
        dir.path().join("spec.yaml"),
        "version: 1\nname: empty\nsources: [packages/empty.zip]\noutput: {dir: out}\n",
    )
    .unwrap();
    let run = hoist_in(dir.path(), &["plan", "spec.yaml"]).expect_code(0);
    assert!(run.stdout.contains("0 create"), "{}", run.stdout);
    hoist_in(dir.path(), &["apply", "spec.yaml"]).expect_code(0);
    assert_eq!(
        entry_names(&dir.path().join("out/empty.zip")),
        ["hoist.json"]
    );

    // An empty folder has no layout to detect: said so, with the way out.
    fs::write(
        dir.path().join("dir.yaml"),
        "version: 1\nname: empty\nsources: [packages/empty-dir]\noutput: {dir: out-dir}\n",
    )
    .unwrap();
    let run = hoist_in(dir.path(), &["apply", "dir.yaml"]).expect_code(2);
    assert!(
        run.stderr.contains("empty-dir") && run.stderr.contains("--layout"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("out-dir").exists());

    // A spec whose selection matches nothing in a package that has assets.
    fs::write(
        dir.path().join("none.yaml"),
        "version: 1\nname: none\nsources: [packages/some.zip]\noutput: {dir: out-none}\n\
         select:\n  - {kind: app, names: [nothing-by-this-name]}\n",
    )
    .unwrap();
    let run = hoist_in(dir.path(), &["apply", "none.yaml"]).expect_code(0);
    assert!(run.stdout.contains("0 create"), "{}", run.stdout);
    assert_eq!(
        entry_names(&dir.path().join("out-none/some.zip")),
        ["hoist.json"]
    );

    // An empty spec file is not a spec: a clear error naming what is missing.
    fs::write(dir.path().join("blank.yaml"), "").unwrap();
    let run = hoist_in(dir.path(), &["apply", "blank.yaml"]).expect_code(2);
    assert!(
        run.stderr.contains("blank.yaml") && run.stderr.contains("missing `version: 1`"),
        "{}",
        run.stderr
    );
}

/// Writes a hoist package holding one asset and one stored payload of `size` zero bytes, as
/// a sparse file: zip64 sizes in the local and central records, a zip64 end record.
fn sparse_zip64_package(path: &Path, size: u64) {
    let doc = br#"{"meta": {"name": "big"}}"#;
    let payload_name = b"assets/app/big/files/zeros.bin";
    let mut crc = crc32fast::Hasher::new();
    let chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        crc.update(&chunk[..n]);
        left -= n as u64;
    }
    let payload_crc = crc.finalize();

    let mut f = File::create(path).unwrap();
    // The document, an ordinary stored entry at offset 0.
    let doc_entry = Entry::new("assets/app/big/asset.json", doc).stored();
    let local = craft::local_record(&doc_entry);
    f.write_all(&local).unwrap();
    // The payload's local record with zip64 sizes, then its data as a hole.
    let payload_offset = local.len() as u64;
    let mut zip64 = Vec::new();
    zip64.extend_from_slice(&1u16.to_le_bytes());
    zip64.extend_from_slice(&16u16.to_le_bytes());
    zip64.extend_from_slice(&size.to_le_bytes());
    zip64.extend_from_slice(&size.to_le_bytes());
    let mut h = Vec::new();
    h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    h.extend_from_slice(&45u16.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&33u16.to_le_bytes());
    h.extend_from_slice(&payload_crc.to_le_bytes());
    h.extend_from_slice(&u32::MAX.to_le_bytes());
    h.extend_from_slice(&u32::MAX.to_le_bytes());
    h.extend_from_slice(&(payload_name.len() as u16).to_le_bytes());
    h.extend_from_slice(&(zip64.len() as u16).to_le_bytes());
    h.extend_from_slice(payload_name);
    h.extend_from_slice(&zip64);
    f.write_all(&h).unwrap();
    let data_start = payload_offset + h.len() as u64;
    let cd_start = data_start + size;
    f.set_len(cd_start).unwrap();
    f.seek(SeekFrom::Start(cd_start)).unwrap();

    let mut cd = Vec::new();
    let central =
        |cd: &mut Vec<u8>, name: &[u8], crc: u32, sizes: (u32, u32), extra: &[u8], offset: u32| {
            cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            cd.extend_from_slice(&((3u16 << 8) | 45).to_le_bytes());
            cd.extend_from_slice(&45u16.to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&33u16.to_le_bytes());
            cd.extend_from_slice(&crc.to_le_bytes());
            cd.extend_from_slice(&sizes.0.to_le_bytes());
            cd.extend_from_slice(&sizes.1.to_le_bytes());
            cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
            cd.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
            cd.extend_from_slice(&offset.to_le_bytes());
            cd.extend_from_slice(name);
            cd.extend_from_slice(extra);
        };
    central(
        &mut cd,
        b"assets/app/big/asset.json",
        crc32fast::hash(doc),
        (doc.len() as u32, doc.len() as u32),
        &[],
        0,
    );
    central(
        &mut cd,
        payload_name,
        payload_crc,
        (u32::MAX, u32::MAX),
        &zip64,
        payload_offset as u32,
    );
    f.write_all(&cd).unwrap();
    let eocd64 = cd_start + cd.len() as u64;
    let mut end = Vec::new();
    end.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
    end.extend_from_slice(&44u64.to_le_bytes());
    end.extend_from_slice(&45u16.to_le_bytes());
    end.extend_from_slice(&45u16.to_le_bytes());
    end.extend_from_slice(&0u32.to_le_bytes());
    end.extend_from_slice(&0u32.to_le_bytes());
    end.extend_from_slice(&2u64.to_le_bytes());
    end.extend_from_slice(&2u64.to_le_bytes());
    end.extend_from_slice(&(cd.len() as u64).to_le_bytes());
    end.extend_from_slice(&cd_start.to_le_bytes());
    end.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
    end.extend_from_slice(&0u32.to_le_bytes());
    end.extend_from_slice(&eocd64.to_le_bytes());
    end.extend_from_slice(&1u32.to_le_bytes());
    end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end.extend_from_slice(&2u16.to_le_bytes());
    end.extend_from_slice(&2u16.to_le_bytes());
    end.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    end.extend_from_slice(&u32::MAX.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    f.write_all(&end).unwrap();
}

#[test]
fn a_payload_over_4_gib_is_carried_through_with_zip64() {
    if !common::slow_tests("a_payload_over_4_gib_is_carried_through_with_zip64") {
        return;
    }
    let dir = tmp();
    fs::create_dir(dir.path().join("packages")).unwrap();
    let size = (4u64 << 30) + 1;
    let pkg = dir.path().join("packages/huge.zip");
    sparse_zip64_package(&pkg, size);
    fs::write(
        dir.path().join("spec.yaml"),
        "version: 1\nname: huge\nsources: [packages/huge.zip]\noutput: {dir: out}\n\
         rename:\n  - {kind: app, prefix: \"prod-\"}\n",
    )
    .unwrap();
    hoist_in(dir.path(), &["apply", "spec.yaml"]).expect_code(0);
    let out = dir.path().join("out/huge.zip");
    let archive = zip::ZipArchive::new(File::open(&out).unwrap()).unwrap();
    let mut archive = archive;
    let payload = archive
        .by_name("assets/app/prod-big/files/zeros.bin")
        .unwrap();
    assert_eq!(payload.size(), size);
    assert_eq!(
        payload.compressed_size(),
        size,
        "copied as stored, not recompressed"
    );
    drop(payload);
    drop(archive);
    // Every entry, the 4 GiB one included, matches the manifest hoist wrote.
    hoist_in(dir.path(), &["verify", "out/huge.zip"]).expect_code(0);
}

/// Names that are valid but unsafe somewhere are told, never silently carried: bidirectional
/// controls, Windows device names, trailing dots and spaces, and names equal once
/// Unicode-normalised, which a directory output refuses (one folder on disks that normalise).
#[test]
fn names_unsafe_on_some_platform_get_a_warning_and_collisions_are_refused_in_folders() {
    let ws = tmp();
    let dir = ws.path();
    let names = [
        "caf\u{e9}",
        "cafe\u{301}",
        "CON",
        "report.",
        "invoice\u{202e}fdp.exe",
        "plain",
    ];
    for name in names {
        let folder = dir.join("in/pkg/assets/app").join(name);
        fs::create_dir_all(&folder).unwrap();
        fs::write(
            folder.join("asset.json"),
            serde_json::json!({"meta": {"name": name}}).to_string(),
        )
        .unwrap();
    }
    let spec = |format: &str| {
        format!(
            "version: 1\nname: odd\nsources: [in/pkg]\noutput: {{dir: out, format: {format}}}\n"
        )
    };
    fs::write(dir.join("spec.yaml"), spec("zip")).unwrap();
    let run = hoist_in(dir, &["plan", "spec.yaml"]).expect_code(0);
    for want in [
        "[name.normalization] in/pkg: app/caf\u{e9}: its name (caf\\u{e9}) and cafe\u{301}'s (cafe\\u{301}) are the same once Unicode-normalised",
        "[name.unsafe] in/pkg: app/CON: the name is a device name on Windows",
        "[name.unsafe] in/pkg: app/report.: the name ends with a dot or a space",
        "[name.unsafe] in/pkg: app/invoice\\u{202e}fdp.exe: the name holds bidirectional control characters",
    ] {
        assert!(run.stdout.contains(want), "{want}\n{}", run.stdout);
    }
    assert!(!run.stdout.contains("app/plain:"), "{}", run.stdout);
    fs::write(dir.join("spec.yaml"), spec("dir")).unwrap();
    let run = hoist_in(dir, &["apply", "spec.yaml"]).expect_code(1);
    assert!(run.stdout.contains("[name.collision]"), "{}", run.stdout);
    let written: Vec<String> = fs::read_dir(dir.join("out/pkg/assets/app"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(written.contains(&"cafe\u{301}".to_string()), "{written:?}");
    assert!(!written.contains(&"caf\u{e9}".to_string()), "{written:?}");
}
