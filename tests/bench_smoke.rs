//! The benchmark must not rot: its smoke run (tiny corpora, one run of every command) works
//! and prints every table. Nothing here looks at the times.

mod common;

use std::process::Command;

#[test]
fn the_benchmark_runs_end_to_end_on_tiny_corpora() {
    let corpora = common::tmp();
    let out = Command::new("python3")
        .arg(common::repo().join("benches/run.py"))
        .args([
            "--smoke",
            "--hoist",
            env!("CARGO_BIN_EXE_hoist"),
            "--corpus-dir",
        ])
        .arg(corpora.path())
        .output()
        .expect("python3 runs (the benchmark needs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "benchmark failed:\n{stdout}\n{stderr}"
    );
    for heading in [
        "### (a) 2 packages x 20 small JSON assets",
        "### Lua hooks on every one of 40 assets",
        "### (b) The copy-only job on large payloads",
        "### (c) enebular",
        "### (d) KIE: one file of 2,000 items",
        "### Plans with field-level diffs: 40 assets",
        "python3 benches/alt_promote.py",
        "unzip + zip -r",
    ] {
        assert!(stdout.contains(heading), "no {heading:?} in:\n{stdout}");
    }
}
