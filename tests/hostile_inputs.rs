//! Hostile inputs through `hoist apply`, each crafted here: archives, asset documents, specs
//! and KIE files. Each gets a clear error with a stable code (exit 2), or fails only its asset
//! (exit 1) while the rest is written; each runs in bounded memory (peak resident size
//! measured), and nothing is ever written outside the output folder.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::craft::{self, Entry};
use common::{Run, tmp, tree};

/// Peak resident memory allowed to any run here. The largest input below is a 64 MiB bomb;
/// a run that inflated it would pass this.
const MEMORY_CAP_KIB: u64 = 48 << 10;

/// What a hostile input must lead to.
#[derive(Debug)]
enum Expect {
    /// Exit 2 with this code, naming the file; no output folder.
    Refused(&'static str),
    /// Exit 1: the asset fails with this code and the package is written without it.
    AssetFails(&'static str),
}

/// Runs `hoist apply spec.yaml` in `dir` under GNU time: the run and its peak RSS in KiB.
fn apply_measured(dir: &Path) -> (Run, u64) {
    let rss = dir.join("..").join(format!(
        "rss-{}",
        dir.file_name().unwrap().to_string_lossy()
    ));
    let time = ["/usr/bin/time", "/bin/time"]
        .into_iter()
        .find(|t| Path::new(t).exists())
        .expect("GNU time (apt-get install time) measures peak memory");
    let out = Command::new(time)
        .args(["-f", "%M", "-o"])
        .arg(&rss)
        .args(["timeout", "300"])
        .arg(env!("CARGO_BIN_EXE_hoist"))
        .args(["apply", "spec.yaml"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let peak: u64 = fs::read_to_string(&rss)
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("a peak RSS figure");
    let _ = fs::remove_file(rss);
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_ne!(run.code, 124, "the run did not finish: {}", run.stderr);
    (run, peak)
}

const SPEC: &str = "version: 1\nname: hostile\nsources: [packages/*]\noutput: {dir: out}\n";

/// A fresh folder `ws/` holding `packages/FILE` and `spec.yaml` (and the folder that holds it,
/// which removes everything when dropped).
fn workspace(file: &str, bytes: &[u8], spec: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let ws = tmp();
    let dir = ws.path().join("ws");
    fs::create_dir_all(dir.join("packages")).unwrap();
    fs::write(dir.join("packages").join(file), bytes).unwrap();
    fs::write(dir.join("spec.yaml"), spec).unwrap();
    (ws, dir)
}

/// Runs one hostile package (written as `packages/FILE`) and checks what must hold.
fn check(label: &str, file: &str, bytes: &[u8], spec: &str, expect: Expect) -> Run {
    let (_ws, dir) = workspace(file, bytes, spec);
    let before = tree(&dir);
    let (run, peak) = apply_measured(&dir);
    let all = || {
        format!(
            "{label}\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        )
    };
    assert!(
        peak < MEMORY_CAP_KIB,
        "{label}: peak memory {peak} KiB\n{}",
        all()
    );
    let after = tree(&dir);
    let outside: BTreeMap<_, _> = after
        .iter()
        .filter(|(name, _)| !name.starts_with("out/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(outside, before, "{label}: files changed outside out/");
    assert!(
        !run.stderr.contains("panicked"),
        "{label}: hoist panicked\n{}",
        all()
    );
    match expect {
        Expect::Refused(code) => {
            assert_eq!(run.code, 2, "{}", all());
            assert!(
                run.stderr.contains(&format!("error[{code}]")),
                "{label}: wanted {code}\n{}",
                all()
            );
            assert!(
                run.stderr.contains(file),
                "{label}: the file is named\n{}",
                all()
            );
            assert!(!dir.join("out").exists(), "{label}: an output was written");
        }
        Expect::AssetFails(code) => {
            assert_eq!(run.code, 1, "{}", all());
            assert!(
                run.stdout.contains(code) || run.stderr.contains(code),
                "{label}: wanted {code}\n{}",
                all()
            );
            assert!(
                after
                    .keys()
                    .any(|n| n.starts_with("out/") && n.ends_with(".zip")),
                "{label}: the package is written without the failed asset\n{}",
                all()
            );
        }
    }
    run
}

fn good() -> Entry {
    Entry::new(
        "assets/app/good/asset.json",
        br#"{"meta": {"name": "good"}}"#,
    )
}

fn zip_with(entry: Entry) -> Vec<u8> {
    craft::zip(&[good(), entry])
}

#[test]
fn hostile_archives_are_refused_each_with_its_code() {
    let names: &[(&[u8], &str)] = &[
        (b"../../evil", "zip.parent_dir"),
        (b"/etc/passwd", "zip.absolute_path"),
        (b"C:/Windows/evil", "zip.drive_letter"),
        (b"assets\\..\\..\\evil", "zip.backslash"),
        ("assets/\u{2215}etc/passwd".as_bytes(), "zip.lookalike"),
        ("\u{FF0E}\u{FF0E}/evil".as_bytes(), "zip.lookalike"),
    ];
    for (name, code) in names {
        let label = format!("name {}", String::from_utf8_lossy(name));
        check(
            &label,
            "evil.zip",
            &zip_with(Entry::new(name, "x")),
            SPEC,
            Expect::Refused(code),
        );
    }

    let symlink = zip_with(Entry::new("assets/app/good/files/link", "/etc/passwd").symlink());
    check(
        "symlink",
        "evil.zip",
        &symlink,
        SPEC,
        Expect::Refused("zip.symlink"),
    );

    let duplicate = zip_with(Entry::new(
        "assets/app/good/asset.json",
        br#"{"meta": {"name": "evil"}}"#,
    ));
    check(
        "duplicate",
        "evil.zip",
        &duplicate,
        SPEC,
        Expect::Refused("zip.duplicate"),
    );

    let overlap = zip_with(Entry::new("assets/app/b/asset.json", "").overlap_with(0));
    check(
        "overlap",
        "evil.zip",
        &overlap,
        SPEC,
        Expect::Refused("zip.overlap"),
    );

    // A quoted overlap: the first entry's stored data is the second entry's local record, so
    // the central directory names two files that share bytes.
    let inner = Entry::new("assets/app/b/files/x", vec![b'a'; 4096]);
    let quoted = craft::local_record(&inner);
    let outer = Entry::new("assets/app/a/files/x", &quoted).stored();
    let header = 30 + outer.name.len() as u32;
    let bomb = craft::zip(&[outer, inner.at(header)]);
    check(
        "quoted overlap",
        "evil.zip",
        &bomb,
        SPEC,
        Expect::Refused("zip.overlap"),
    );

    let zeros = zip_with(Entry::new(
        "assets/app/good/files/zeros",
        vec![0u8; 64 << 20],
    ));
    check(
        "deflate bomb",
        "evil.zip",
        &zeros,
        SPEC,
        Expect::Refused("zip.ratio"),
    );

    // The central directory cut in half.
    let whole = craft::zip(&[good(), Entry::new("assets/app/b/asset.json", "{}")]);
    let cd = whole
        .windows(4)
        .position(|w| w == 0x0201_4b50u32.to_le_bytes())
        .unwrap();
    let mut cut = whole[..cd + 20].to_vec();
    cut.extend_from_slice(&whole[whole.len() - 22..]);
    check(
        "truncated central directory",
        "evil.zip",
        &cut,
        SPEC,
        Expect::Refused("zip.truncated"),
    );

    // Zip64 markers with no zip64 record behind them, and a zip64 record that claims 2^62 bytes.
    let marker =
        zip_with(Entry::new("assets/app/b/files/x", "data").central_sizes(u32::MAX, u32::MAX));
    // Read as sizes of 4 GiB, which run over the next entry.
    check(
        "zip64 marker without record",
        "evil.zip",
        &marker,
        SPEC,
        Expect::Refused("zip.overlap"),
    );
    let mut extra = vec![0x01, 0x00, 16, 0];
    extra.extend_from_slice(&(1u64 << 62).to_le_bytes());
    extra.extend_from_slice(&4u64.to_le_bytes());
    let huge = zip_with(
        Entry::new("assets/app/b/files/x", "data")
            .stored()
            .central_sizes(u32::MAX, u32::MAX)
            .extra(extra),
    );
    check(
        "zip64 size of 2^62",
        "evil.zip",
        &huge,
        SPEC,
        Expect::Refused("zip.size"),
    );

    let encrypted = zip_with(Entry::new("assets/app/b/asset.json", "x").flags(1));
    check(
        "encrypted",
        "evil.zip",
        &encrypted,
        SPEC,
        Expect::Refused("zip.encrypted"),
    );
    check(
        "not a zip",
        "evil.zip",
        b"<html>not an archive</html>\n",
        SPEC,
        Expect::Refused("zip.not_zip"),
    );
    check(
        "empty file",
        "evil.zip",
        b"",
        SPEC,
        Expect::Refused("zip.not_zip"),
    );
}

#[test]
fn broken_documents_fail_their_asset_and_the_rest_is_written() {
    let crc = zip_with(
        Entry::new("assets/app/b/asset.json", br#"{"meta": {"name": "b"}}"#).crc(0xdead_beef),
    );
    check(
        "wrong crc",
        "evil.zip",
        &crc,
        SPEC,
        Expect::AssetFails("zip.crc"),
    );

    let size =
        zip_with(Entry::new("assets/app/b/asset.json", br#"{"meta": {"name": "b"}}"#).size(7));
    check(
        "wrong size",
        "evil.zip",
        &size,
        SPEC,
        Expect::AssetFails("zip.size"),
    );

    let deep = format!(
        r#"{{"meta": {{"name": "b", "x": {}1{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep = zip_with(Entry::new("assets/app/b/asset.json", deep));
    let run = check(
        "deep json",
        "evil.zip",
        &deep,
        SPEC,
        Expect::AssetFails("asset.json"),
    );
    assert!(run.stdout.contains("recursion limit"), "{}", run.stdout);

    let not_json = zip_with(Entry::new("assets/app/b/asset.json", "{\"meta\": "));
    check(
        "cut json",
        "evil.zip",
        &not_json,
        SPEC,
        Expect::AssetFails("asset.json"),
    );
}

#[test]
fn numbers_beyond_f64_and_i64_are_kept_exactly_through_an_edit() {
    let text = r#"{"meta": {"name": "b", "big": 123456789012345678901234567890, "huge": 1e999, "precise": 0.10000000000000000000001, "neg": -98765432109876543210}}"#;
    let bytes = craft::zip(&[good(), Entry::new("assets/app/b/asset.json", text)]);
    let spec = format!("{SPEC}rename:\n  - {{kind: app, prefix: \"prod-\"}}\n");
    let (_ws, dir) = workspace("nums.zip", &bytes, &spec);
    let (run, _) = apply_measured(&dir);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out = fs::read(dir.join("out/nums.zip")).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(out)).unwrap();
    let mut doc = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("assets/app/prod-b/asset.json").unwrap(),
        &mut doc,
    )
    .unwrap();
    assert!(doc.contains("\"prod-b\""), "the document was edited: {doc}");
    for number in [
        "123456789012345678901234567890",
        "0.10000000000000000000001",
        "-98765432109876543210",
    ] {
        assert!(doc.contains(number), "{number} changed: {doc}");
    }
    // An edit patches the text it touches: the rest keeps the spelling it was read with,
    // this exponent too (a serialisation of the whole tree would write it 1e+999).
    assert!(doc.contains("\"huge\": 1e999,"), "{doc}");
}

#[test]
fn a_zip_inside_a_package_is_a_payload_copied_as_is_never_opened() {
    let evil_inner = craft::zip(&[Entry::new("../../escaped", "x"), Entry::new("/etc/x", "y")]);
    let bytes = craft::zip(&[
        good(),
        Entry::new("assets/app/good/files/inner.zip", &evil_inner).stored(),
    ]);
    let (ws, dir) = workspace("nested.zip", &bytes, SPEC);
    let (run, _) = apply_measured(&dir);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out = fs::read(dir.join("out/nested.zip")).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(out)).unwrap();
    let mut inner = Vec::new();
    std::io::Read::read_to_end(
        &mut archive.by_name("assets/app/good/files/inner.zip").unwrap(),
        &mut inner,
    )
    .unwrap();
    assert_eq!(inner, evil_inner);
    assert!(!ws.path().join("escaped").exists());
    let names: Vec<String> = tree(&dir).into_keys().collect();
    assert!(names.iter().all(|n| !n.contains("escaped")), "{names:?}");
}

#[test]
fn hostile_specs_are_refused_with_their_place() {
    let package = craft::zip(&[good()]);
    let bomb = common::yaml_alias_bomb("version: 1\nsources: [packages/*]\n");
    // Few nodes, many bytes: one long scalar copied by 4,000 aliases would be 4 GiB.
    let long = format!(
        "{SPEC}x: &a \"{}\"\ny: [{}]\n",
        "x".repeat(1 << 20),
        vec!["*a"; 4000].join(", ")
    );
    let cases: Vec<(&str, String, &str)> = vec![
        ("alias bomb", bomb, "spec.limit"),
        ("alias bomb by bytes", long, "spec.limit"),
        // 300 short expressions that each compile to megabytes.
        (
            "regular expressions past the budget",
            format!(
                "{SPEC}select:\n  - {{names: [{}]}}\n",
                vec![r"'re:\w{200}'"; 300].join(", ")
            ),
            "spec.pattern_too_big",
        ),
        (
            "deep nesting",
            format!("{SPEC}x: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000)),
            "spec.syntax",
        ),
        (
            "huge scalar",
            format!("{SPEC}name: \"{}\"\n", "x".repeat(64 << 20)),
            "spec.limit",
        ),
        (
            "tab",
            format!("{SPEC}select:\n\t- {{kind: app}}\n"),
            "spec.syntax",
        ),
        (
            "duplicate key",
            format!("{SPEC}name: again\n"),
            "spec.duplicate_key",
        ),
        (
            "binary",
            "version: 1\n\u{0}\u{1}\u{2}".to_string(),
            "spec.syntax",
        ),
    ];
    for (label, spec, code) in cases {
        let (_ws, dir) = workspace("ok.zip", &package, &spec);
        let (run, peak) = apply_measured(&dir);
        assert!(peak < 2 * MEMORY_CAP_KIB, "{label}: peak memory {peak} KiB");
        assert_eq!(run.code, 2, "{label}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("error[{code}]")) && run.stderr.contains("spec.yaml"),
            "{label}: wanted {code}: {}",
            run.stderr
        );
        assert!(!dir.join("out").exists(), "{label}");
    }
}

#[test]
fn invalid_kie_files_are_refused_naming_the_item() {
    let spec = "version: 1\nname: kie\nsources: [packages/*]\noutput: {dir: out}\n";
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "item not an object",
            "c.json",
            r#"{"data": [{"key": "a", "value": "1"}, 7]}"#,
            "data[1]",
        ),
        (
            "no key",
            "c.json",
            r#"{"data": [{"value": "1"}]}"#,
            "no `key`",
        ),
        (
            "value not a string",
            "c.json",
            r#"{"data": [{"key": "a", "value": {"x": 1}}]}"#,
            "`value` must be a string",
        ),
        (
            "labels not strings",
            "c.json",
            r#"{"data": [{"key": "a", "labels": {"app": 3}}]}"#,
            "label `app`",
        ),
        (
            "data not a list",
            "c.json",
            r#"{"data": {"key": "a"}}"#,
            "`data` must be a list",
        ),
        (
            "deep",
            "c.json",
            &format!(
                "{{\"data\": [{{\"key\": \"a\", \"value\": {}\"x\"{}}}]}}",
                "[".repeat(10_000),
                "]".repeat(10_000)
            ),
            "recursion limit",
        ),
        (
            "yaml alias in kie",
            "c.yaml",
            "data:\n  - &a {key: a, value: \"1\"}\n  - *a\n  - key: [1, 2]\n",
            "`key` must be a string",
        ),
        (
            "yaml alias bomb by bytes",
            "c.yaml",
            &format!(
                "data:\n  - {{key: a, value: &v \"{}\"}}\n{}",
                "x".repeat(1 << 20),
                (0..4000)
                    .map(|i| format!("  - {{key: b{i}, value: *v}}\n"))
                    .collect::<String>()
            ),
            "aliases expand to more than",
        ),
        (
            "not utf-8",
            "c.json",
            "{\"data\": [\"\u{FFFD}\"]}",
            "data[0]",
        ),
    ];
    for (label, file, text, needle) in cases {
        let mut bytes = text.as_bytes().to_vec();
        if *label == "not utf-8" {
            bytes = b"{\"data\": [\"\xff\xfe\"]}".to_vec();
        }
        let run = check(label, file, &bytes, spec, Expect::Refused("package.layout"));
        let wanted = if *label == "not utf-8" {
            "not UTF-8"
        } else {
            needle
        };
        assert!(run.stderr.contains(wanted), "{label}: {}", run.stderr);
    }
}

/// Text from packages, specs and hooks reaches a terminal as visible escapes: a hook log or a
/// renamed asset cannot move the cursor, erase the plan lines a reviewer reads, or write
/// over a line with a carriage return.
#[test]
fn control_characters_from_specs_and_hooks_are_shown_not_acted_on() {
    let ws = common::workspace();
    let dir = ws.path();
    fs::write(
        dir.join("scripts/erase.lua"),
        "return { transform = function(a, ctx) ctx.log('ok\\27[1A\\27[2K\\rall clear') print('\\27]0;title\\7') return a end }\n",
    )
    .unwrap();
    fs::write(
        dir.join("specs/erase.yaml"),
        "version: 1\nname: \"\\e[2Jwiped\"\nsources: [../examples/packages/payments-dev]\noutput: {dir: ../out/erase}\nhooks:\n  - {script: ../scripts/erase.lua, kinds: [app]}\n",
    )
    .unwrap();
    for args in [
        &["plan", "specs/erase.yaml"][..],
        &["plan", "specs/erase.yaml", "--summary"],
        &["plan", "specs/erase.yaml", "--format", "markdown"],
        &["apply", "specs/erase.yaml"],
    ] {
        let run = common::hoist_in(dir, args).expect_code(0);
        for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(
                !text.contains(['\x1b', '\r', '\x07']),
                "{args:?} {name} holds raw control characters: {text:?}"
            );
        }
        if args[0] == "plan" && args.len() > 2 {
            // The spec's name is in every form of the plan, escaped once.
            assert!(
                run.stdout.contains("\\u{1b}[2Jwiped"),
                "{args:?} {}",
                run.stdout
            );
            assert!(!run.stdout.contains("\\\\u{1b}"), "{args:?} {}", run.stdout);
        } else if args[0] == "plan" {
            assert!(
                run.stdout.contains("ok\\u{1b}[1A\\u{1b}[2K\\u{d}all clear"),
                "{}",
                run.stdout
            );
            assert!(run.stdout.contains("\\u{1b}[2Jwiped"), "{}", run.stdout);
        }
    }
    // JSON keeps the real text, escaped as JSON escapes it.
    let json = common::hoist_in(dir, &["plan", "specs/erase.yaml", "--json"]).expect_code(0);
    assert!(json.stdout.contains("\\u001b[2Jwiped"), "{}", json.stdout);
}

/// A line break inside a name or a message cannot forge plan lines: an API definition whose
/// operationId carries a fake plan line shows it escaped, on its own line, in `plan`,
/// `inspect` and the report.
#[test]
fn line_breaks_in_names_cannot_forge_plan_lines() {
    let ws = tmp();
    let dir = ws.path();
    fs::create_dir_all(dir.join("in")).unwrap();
    fs::write(
        dir.join("in/api.json"),
        r#"{"swagger": "2.0", "info": {"title": "g"}, "paths": {"/a": {"get": {"operationId": "real\n    + injected  (create)\n\nsummary: 9 create", "x-apigateway-backend": {"type": "MOCK"}}}}}"#,
    )
    .unwrap();
    fs::write(
        dir.join("spec.yaml"),
        "version: 1\nname: forge\nsources: [in/api.json]\noutput: {dir: out}\n",
    )
    .unwrap();
    for args in [
        &["plan", "spec.yaml"][..],
        &["plan", "spec.yaml", "--format", "markdown"],
        &["apply", "spec.yaml", "--dry-run"],
        &["apply", "spec.yaml"],
        &["inspect", "in/api.json"],
    ] {
        let run = common::hoist_in(dir, args);
        assert!(
            !run.stdout
                .lines()
                .any(|l| l.trim_start().starts_with("+ injected") || l.starts_with("summary: 9")),
            "{args:?}:\n{}",
            run.stdout
        );
        assert!(
            run.stdout.contains("real\\u{a}"),
            "{args:?}:\n{}",
            run.stdout
        );
    }
}

/// `serde_json` reads an object whose first key is `$serde_json::private::Number` as a number
/// and one whose first key is `$serde_json::private::RawValue` as raw text: a document holding
/// one would be one thing as written and another in the plan, or would not parse again once
/// held (this crashed a run). Each fails its own asset, named, and the rest is written; it
/// makes no difference whether the key is spelled with an escape, or the document is edited.
#[test]
fn keys_the_json_reader_reserves_fail_their_asset_not_the_run() {
    let spec = format!("{SPEC}rename:\n  - {{kind: app, prefix: \"prod-\"}}\n");
    for (label, text) in [
        (
            "raw value marker",
            r#"{"meta": {"name": "b", "x": {"$serde_json::private::RawValue": 5}}}"#,
        ),
        (
            "number marker",
            r#"{"meta": {"name": "b", "x": {"$serde_json::private::Number": "abc"}}}"#,
        ),
        (
            "escaped marker",
            r#"{"meta": {"name": "b", "x": {"\u0024serde_json::private::RawValue": "{\"name\": \"c\"}"}}}"#,
        ),
        (
            "marker as meta",
            r#"{"meta": {"$serde_json::private::RawValue": "{\"name\": \"b\"}"}}"#,
        ),
    ] {
        for spec in [SPEC, spec.as_str()] {
            let bytes = zip_with(Entry::new("assets/app/b/asset.json", text));
            let run = check(
                label,
                "evil.zip",
                &bytes,
                spec,
                Expect::AssetFails("asset.bad_json"),
            );
            assert!(
                run.stdout.contains("$serde_json::private::"),
                "{label}: the key is named\n{}",
                run.stdout
            );
        }
    }
}

/// The same keys in a YAML source (an APIG export): refused at reading, never read as a
/// number or as raw text, and never held to crash the run when the document is parsed again
/// (a path item's methods are taken out of it, which made the key its first).
#[test]
fn keys_the_json_reader_reserves_in_a_yaml_source_are_refused() {
    for key in [
        "$serde_json::private::RawValue",
        "$serde_json::private::Number",
    ] {
        let text = format!(
            "swagger: \"2.0\"\ninfo: {{title: orders_api}}\npaths:\n  /orders:\n    get: {{operationId: listOrders, responses: {{\"200\": {{description: ok}}}}}}\n    \"{key}\": \"not json\"\n"
        );
        let run = check(
            key,
            "api.yaml",
            text.as_bytes(),
            SPEC,
            Expect::Refused("package.layout"),
        );
        assert!(run.stderr.contains(key), "{}", run.stderr);
    }
}
