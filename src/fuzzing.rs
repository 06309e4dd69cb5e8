//! Entry points of the fuzz targets (`fuzz/`), kept in the library so that the test suite
//! runs them too (over the seed corpus and every input a fuzzer ever found): they cannot
//! drift from the code they exercise.
//!
//! Each takes arbitrary bytes and must return, whatever the bytes: an error is a fine
//! outcome, a panic, a hang or unbounded memory is a bug.

use std::path::Path;

use crate::archive::write::{Format, ManifestMode, write_package};
use crate::package::{Hashing, Limits, LoadOptions, Package};

/// Limits for fuzzing: small enough that no input can take long.
fn limits() -> Limits {
    Limits {
        max_entries: 10_000,
        max_total_size: 64 << 20,
        max_ratio: 200,
    }
}

/// The package reader: `bytes` as a ZIP package, opened, every asset loaded and every entry
/// read (inflated and checked), then written again (compression and raw copies included,
/// into nothing).
pub fn package(bytes: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("package.zip");
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    let opts = LoadOptions {
        layouts: crate::platform::LAYOUTS,
        limits: limits(),
        layout: None,
        hashing: Hashing::Content,
    };
    let Ok(pkg) = Package::load(&path, &opts) else {
        return;
    };
    for entry in pkg.source.entries() {
        let _ = pkg.source.read(entry);
    }
    for asset in &pkg.assets {
        let _ = asset.references(crate::model::kinds::Kinds::builtin());
    }
    if let Ok(entries) = pkg.entries_for(&pkg.assets) {
        let mode = if pkg.io.embeds_manifest() {
            ManifestMode::Embedded
        } else {
            ManifestMode::Sidecar
        };
        let _ = write_package(
            &dir.path().join("out.zip"),
            Format::Zip,
            pkg.layout.name(),
            Some(mode),
            entries,
            true,
        );
    }
}

/// The spec parser: `bytes` as a spec file, parsed and validated (every error rendered).
pub fn spec(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let digest = crate::digest::Digest::of(bytes);
    if let Err(errors) = crate::spec::Spec::parse(Path::new("fuzz.yaml"), text.into(), digest) {
        let _ = errors.to_string();
    }
}

/// The KIE reader: `bytes` as a KIE file, as JSON and as YAML.
pub fn kie(bytes: &[u8]) {
    for name in ["fuzz.json", "fuzz.yaml"] {
        if let Ok(file) = crate::platform::kie::layout::parse(Path::new(name), bytes, 1 << 30) {
            let _ = crate::platform::kie::layout::to_bytes(
                file.format,
                file.metadata.as_ref(),
                &file.items,
            );
        }
    }
}
