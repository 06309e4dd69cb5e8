//! The fuzz targets' entry points (`hoist::fuzzing`) on every input a fuzzer found
//! (`fuzz/regressions/<target>/`), on the repository's own files, and on cut and flipped
//! versions of them: none may panic.

mod common;

use std::fs;
use std::path::Path;

use common::craft::{self, Entry};
use common::repo;

fn files_in(dir: &Path) -> Vec<Vec<u8>> {
    let mut names: Vec<_> = match fs::read_dir(dir) {
        Ok(it) => it.map(|e| e.unwrap().path()).collect(),
        Err(_) => return Vec::new(),
    };
    names.sort();
    names
        .into_iter()
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .map(|p| fs::read(p).unwrap())
        .collect()
}

/// `bytes`, then every prefix at a stride, then single bytes flipped at a stride.
fn variants(bytes: &[u8], cuts: usize) -> Vec<Vec<u8>> {
    let mut out = vec![bytes.to_vec()];
    let step = (bytes.len() / cuts).max(1);
    for at in (0..bytes.len()).step_by(step) {
        out.push(bytes[..at].to_vec());
        let mut flipped = bytes.to_vec();
        flipped[at] ^= 0x5a;
        out.push(flipped);
    }
    out
}

/// Every kept input: what fuzzers found, and cut, flipped and bounded-parsing inputs kept as
/// files. A folder may not be empty (the test would then check nothing), and no input may
/// panic.
#[test]
fn found_inputs_stay_fixed() {
    type Target = fn(&[u8]);
    let targets: [(&str, Target); 3] = [
        ("package", hoist::fuzzing::package),
        ("spec", hoist::fuzzing::spec),
        ("kie", hoist::fuzzing::kie),
    ];
    for (target, run) in targets {
        let inputs = files_in(&repo().join("fuzz/regressions").join(target));
        assert!(
            inputs.len() >= 3,
            "fuzz/regressions/{target} holds {} inputs; it keeps what the fuzzers found and the seeds of damaged files",
            inputs.len()
        );
        for input in inputs {
            run(&input);
        }
    }
}

#[test]
fn the_package_reader_survives_damaged_archives() {
    let good = craft::zip(&[
        Entry::new(
            "hoist.json",
            r#"{"format": 1, "layout": "hoist", "entries": {}}"#,
        ),
        Entry::new(
            "assets/app/a/asset.json",
            br#"{"meta": {"name": "a", "groups": ["g"]}}"#,
        ),
        Entry::new("assets/app/a/files/data.bin", vec![7u8; 3000]),
        Entry::new(
            "assets/api_group/g/asset.json",
            br#"{"meta": {"name": "g"}}"#,
        )
        .stored(),
    ]);
    for v in variants(&good, 150) {
        hoist::fuzzing::package(&v);
    }
}

#[test]
fn the_spec_parser_survives_cut_and_damaged_specs() {
    for name in ["specs/orders-to-prod.yaml", "specs/orders-with-hooks.yaml"] {
        let text = fs::read(repo().join(name)).unwrap();
        for v in variants(&text, 400) {
            hoist::fuzzing::spec(&v);
        }
    }
}

#[test]
fn the_kie_reader_survives_cut_and_damaged_files() {
    for name in ["examples/targets/kie-prod.json"] {
        let text = fs::read(repo().join(name)).unwrap();
        for v in variants(&text, 300) {
            hoist::fuzzing::kie(&v);
        }
    }
    for entry in fs::read_dir(repo().join("examples/packages/kie")).unwrap() {
        let text = fs::read(entry.unwrap().path()).unwrap();
        for v in variants(&text, 300) {
            hoist::fuzzing::kie(&v);
        }
    }
}
