//! `hoist verify`: every entry of a package against the manifest hoist wrote for it.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::{Layout, Layouts, layout_io, read_manifest};
use crate::archive::error::PackageError;
use crate::archive::limits::Limits;
use crate::archive::manifest::{MANIFEST_NAME, Manifest, sidecar_path};
use crate::archive::source::Source;

/// What is wrong with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemKind {
    /// Listed in the manifest, absent from the package.
    Missing,
    /// Present in the package, not listed.
    Extra,
    /// Present, but its digest differs.
    Modified,
    /// Present, but its bytes cannot be read (CRC, size).
    Unreadable,
}

impl ProblemKind {
    /// The word shown in reports.
    pub fn word(self) -> &'static str {
        match self {
            ProblemKind::Missing => "missing",
            ProblemKind::Extra => "extra",
            ProblemKind::Modified => "modified",
            ProblemKind::Unreadable => "unreadable",
        }
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    /// What kind of problem.
    pub problem: ProblemKind,
    /// The entry.
    pub entry: String,
    /// Details (digests, the read error).
    pub detail: String,
}

/// The result of verifying one package.
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    /// The package as given.
    pub package: String,
    /// Layout named by the manifest.
    pub layout: String,
    /// Where the manifest was found: `embedded` or `sidecar`.
    pub manifest: &'static str,
    /// Entries whose digest was checked.
    pub checked: usize,
    /// Problems grouped by asset (`(package)` for entries outside any asset).
    pub assets: BTreeMap<String, Vec<Problem>>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.assets.is_empty()
    }

    /// Number of problems.
    pub fn problem_count(&self) -> usize {
        self.assets.values().map(Vec::len).sum()
    }
}

/// Verifies the package at `path`.
pub fn verify(
    path: &Path,
    limits: &Limits,
    layouts: Layouts,
) -> Result<VerifyReport, PackageError> {
    let source = Source::open(path, limits)?;
    let embedded = source.find(MANIFEST_NAME).is_some();
    let Some(manifest) = read_manifest(&source)? else {
        return Err(PackageError::Manifest {
            path: path.into(),
            detail: format!(
                "no hoist.json inside and no {} beside it: nothing to verify against (hoist pack writes one)",
                sidecar_path(path).display()
            ),
        });
    };
    let layout: Option<Layout> = manifest.layout.parse().ok();
    let mut problems = check(&source, &manifest);
    problems.sort();
    let mut assets: BTreeMap<String, Vec<Problem>> = BTreeMap::new();
    for p in problems {
        let asset = layout
            .and_then(|l| layout_io(layouts, l).ok())
            .and_then(|io| io.asset_of_entry(&p.entry))
            .unwrap_or_else(|| "(package)".into());
        assets.entry(asset).or_default().push(p);
    }
    Ok(VerifyReport {
        package: path.display().to_string(),
        layout: manifest.layout.clone(),
        manifest: if embedded { "embedded" } else { "sidecar" },
        checked: manifest.entries.len(),
        assets,
    })
}

fn check(source: &Source, manifest: &Manifest) -> Vec<Problem> {
    let mut out: Vec<Problem> = manifest
        .entries
        .par_iter()
        .filter_map(|(name, want)| {
            let Some(entry) = source.find(name) else {
                return Some(Problem {
                    problem: ProblemKind::Missing,
                    entry: name.clone(),
                    detail: String::new(),
                });
            };
            match source.digest(entry) {
                Ok(got) if got == *want => None,
                Ok(got) => Some(Problem {
                    problem: ProblemKind::Modified,
                    entry: name.clone(),
                    detail: format!("sha256 {} ≠ manifest {}", got.short(), want.short()),
                }),
                Err(e) => Some(Problem {
                    problem: ProblemKind::Unreadable,
                    entry: name.clone(),
                    detail: e.to_string(),
                }),
            }
        })
        .collect();
    for e in source.entries() {
        if e.name != MANIFEST_NAME && !manifest.entries.contains_key(&e.name) {
            out.push(Problem {
                problem: ProblemKind::Extra,
                entry: e.name.clone(),
                detail: String::new(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    fn problem(kind: ProblemKind, entry: &str) -> Problem {
        Problem {
            problem: kind,
            entry: entry.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn each_entry_is_checked_against_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("same.json", "1"),
            ("changed.json", "2"),
            ("extra.json", "3"),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        std::fs::write(dir.path().join(MANIFEST_NAME), "{}").unwrap();
        let entries = [
            ("same.json", Digest::of(b"1")),
            ("changed.json", Digest::of(b"was")),
            ("gone.json", Digest::of(b"4")),
        ]
        .into_iter()
        .map(|(n, d)| (n.to_string(), d))
        .collect();
        let manifest = Manifest::new("hoist", entries);
        let source = Source::open(dir.path(), &Limits::default()).unwrap();
        let mut got = check(&source, &manifest);
        got.sort();
        let kinds: Vec<(ProblemKind, &str)> =
            got.iter().map(|p| (p.problem, p.entry.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (ProblemKind::Missing, "gone.json"),
                (ProblemKind::Extra, "extra.json"),
                (ProblemKind::Modified, "changed.json"),
            ]
        );
        let modified = &got[2].detail;
        assert!(modified.contains(&Digest::of(b"2").short()), "{modified}");
    }

    #[test]
    fn a_report_counts_every_problem_of_every_asset() {
        let mut report = VerifyReport {
            package: "p".into(),
            layout: "hoist".into(),
            manifest: "embedded",
            checked: 3,
            assets: BTreeMap::new(),
        };
        assert!(report.is_clean());
        assert_eq!(report.problem_count(), 0);
        report.assets.insert(
            "api/a".into(),
            vec![
                problem(ProblemKind::Missing, "x"),
                problem(ProblemKind::Extra, "y"),
            ],
        );
        report
            .assets
            .insert("api/b".into(), vec![problem(ProblemKind::Modified, "z")]);
        assert!(!report.is_clean());
        assert_eq!(report.problem_count(), 3);
    }

    #[test]
    fn problems_have_the_words_reports_show() {
        let words: Vec<&str> = [
            ProblemKind::Missing,
            ProblemKind::Extra,
            ProblemKind::Modified,
            ProblemKind::Unreadable,
        ]
        .iter()
        .map(|k| k.word())
        .collect();
        assert_eq!(words, ["missing", "extra", "modified", "unreadable"]);
    }
}
