//! `hoist inspect`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use super::table::{human_size, render};
use crate::error::{Error, exit};
use crate::model::{Reference, Version};
use crate::package::{AssetFailure, Layout, Limits, LoadOptions, Package};

#[derive(Serialize)]
struct AssetRow<'a> {
    kind: &'a str,
    name: &'a str,
    version: Version,
    files: usize,
    size: u64,
    labels: BTreeMap<&'a str, std::borrow::Cow<'a, str>>,
    refs: usize,
    references: Vec<Reference>,
}

#[derive(Serialize)]
struct Inspection<'a> {
    package: String,
    layout: Layout,
    form: &'static str,
    manifest: Option<&'static str>,
    entries: usize,
    bytes: u64,
    assets: Vec<AssetRow<'a>>,
    extras: Vec<&'a str>,
    failures: &'a [AssetFailure],
}

pub fn run(
    path: &Path,
    json: bool,
    layout: Option<Layout>,
    limits: &Limits,
) -> Result<ExitCode, Error> {
    let opts = LoadOptions {
        layouts: crate::platform::LAYOUTS,
        limits: *limits,
        layout,
        hashing: crate::package::Hashing::Documents,
    };
    let pkg = Package::load(path, &opts)?;
    let mut failures = pkg.failures.clone();
    let mut rows = Vec::new();
    for a in &pkg.assets {
        let references = match a.all_references(crate::model::kinds::Kinds::builtin()) {
            Ok(r) => r,
            Err(m) => {
                failures.push(AssetFailure::new(
                    a.key.to_string(),
                    "asset.bad_reference",
                    m,
                ));
                Vec::new()
            }
        };
        rows.push(AssetRow {
            kind: &a.key.kind,
            name: &a.key.name,
            version: a.key.version,
            files: a.files.len(),
            size: a.size(),
            // A label named like a credential is shown masked, as in plans.
            labels: a
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), crate::secrets::credentials::shown_label(k, v)))
                .collect(),
            refs: references.len(),
            references,
        });
    }
    let manifest = pkg.manifest.as_ref().map(|_| {
        if pkg
            .source
            .find(crate::archive::manifest::MANIFEST_NAME)
            .is_some()
        {
            "embedded"
        } else {
            "sidecar"
        }
    });
    let report = Inspection {
        package: path.display().to_string(),
        layout: pkg.layout,
        form: if pkg.source.is_zip() {
            "zip"
        } else if pkg.source.is_file() {
            "file"
        } else {
            "directory"
        },
        manifest,
        entries: pkg.source.entries().len(),
        bytes: pkg.source.entries().iter().map(|e| e.size).sum(),
        assets: rows,
        extras: pkg.extras.iter().map(|e| e.name.as_str()).collect(),
        failures: &failures,
    };
    let text = if json {
        let mut s = serde_json::to_string_pretty(&report).expect("serialisable");
        s.push('\n');
        s
    } else {
        human(&report)
    };
    if json {
        super::print_json(&text)?;
    } else {
        super::print_out(&text)?;
    }
    Ok(ExitCode::from(if failures.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    }))
}

fn human(r: &Inspection<'_>) -> String {
    let mut s = format!(
        "{}: {} layout, {}, {} entries, {}, manifest {}\n\n",
        crate::text::escape_controls(&r.package),
        r.layout,
        r.form,
        r.entries,
        human_size(r.bytes),
        r.manifest.unwrap_or("none")
    );
    let rows: Vec<Vec<String>> = r
        .assets
        .iter()
        .map(|a| {
            let labels: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            vec![
                a.kind.to_string(),
                a.name.to_string(),
                a.version.to_string(),
                a.files.to_string(),
                human_size(a.size),
                a.refs.to_string(),
                labels.join(","),
            ]
        })
        .collect();
    s.push_str(&render(
        &[
            "KIND", "NAME", "VERSION", ">FILES", ">SIZE", ">REFS", "LABELS",
        ],
        &rows,
    ));
    let kinds: BTreeSet<&str> = r.assets.iter().map(|a| a.kind).collect();
    s.push_str(&format!(
        "\n{} assets in {} kinds; {} failed",
        r.assets.len(),
        kinds.len(),
        r.failures.len()
    ));
    if !r.extras.is_empty() {
        s.push_str(&format!(
            "; {} other entries carried through",
            r.extras.len()
        ));
    }
    s.push('\n');
    if !r.failures.is_empty() {
        s.push_str("\nfailed:\n");
        for f in r.failures {
            s.push_str(&format!(
                "  {}  [{}] {}\n",
                crate::text::escape_controls(&f.asset),
                f.code,
                crate::text::escape_controls(&f.message)
            ));
        }
    }
    s
}
