//! The report of an apply: per package and kind, counts of each action; every error with
//! asset, code, message and hint; what was written and what was not.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::cli::table::render;
use crate::plan::{Action, Note, Plan, Summary};

/// `package: asset` of a note, the package shown from the working folder.
/// `package: asset: `, or nothing for a note about the whole run.
fn who(n: &Note, at: &dyn Fn(&str) -> String) -> String {
    [n.package.as_deref().map(at), n.asset.clone()]
        .into_iter()
        .flatten()
        .map(|w| format!("{w}: "))
        .collect()
}

/// Counts of each action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Created.
    pub create: usize,
    /// Overwritten.
    pub overwrite: usize,
    /// Skipped.
    pub skip: usize,
    /// Failed.
    pub fail: usize,
    /// Renamed.
    pub renamed: usize,
}

/// One source package in the report.
#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    /// The source.
    pub source: String,
    /// Its delta package.
    pub output: String,
    /// Whether the delta package was written.
    pub written: bool,
    /// Counts per kind.
    pub kinds: BTreeMap<String, Counts>,
}

/// What an apply did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The spec's file name (the same whether applied from the spec or from a saved plan).
    pub spec: String,
    /// Name of the promotion.
    pub name: String,
    /// Environment.
    pub env: Option<String>,
    /// `written`, `dry-run`, `aborted`, or `not written` (failures with `on_error: abort`).
    pub outcome: &'static str,
    /// Per source package.
    pub packages: Vec<PackageReport>,
    /// Every asset error.
    pub errors: Vec<Note>,
    /// Every warning.
    pub warnings: Vec<Note>,
    /// Lines hook scripts logged (secrets masked).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<Note>,
    /// For KIE sources: each upload's `success` and `failure`, as the server answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kie: Vec<crate::plan::kie::KieUpload>,
    /// Why nothing was written, when aborted.
    pub abort: Option<Note>,
    /// Files written, in order.
    pub written: Vec<String>,
    /// Outputs the plan names that were not written.
    pub not_written: Vec<String>,
    /// Counts over everything.
    pub summary: Summary,
}

impl Report {
    /// The report of `plan` once `written` are in place.
    pub fn new(plan: &Plan, outcome: &'static str, written: Vec<String>) -> Report {
        let mut errors = Vec::new();
        let mut packages = Vec::new();
        for p in &plan.packages {
            let mut kinds: BTreeMap<String, Counts> = BTreeMap::new();
            for a in &p.assets {
                let c = kinds.entry(a.kind.clone()).or_default();
                match a.action {
                    Action::Create => c.create += 1,
                    Action::Overwrite => c.overwrite += 1,
                    Action::Skip => c.skip += 1,
                    Action::Fail => c.fail += 1,
                }
                if !a.renames.is_empty() && a.action != Action::Fail {
                    c.renamed += 1;
                }
                if let Some(e) = &a.error {
                    errors.push(e.clone());
                }
            }
            packages.push(PackageReport {
                source: p.source.clone(),
                output: p.output.clone(),
                written: written.contains(&p.output),
                kinds,
            });
        }
        let mut planned: Vec<String> = plan.packages.iter().map(|p| p.output.clone()).collect();
        planned.extend(plan.merged.clone());
        let not_written = planned
            .into_iter()
            .filter(|o| !written.contains(o))
            .collect();
        Report {
            spec: std::path::Path::new(&plan.spec.path)
                .file_name()
                .map_or_else(
                    || plan.spec.path.clone(),
                    |f| f.to_string_lossy().into_owned(),
                ),
            name: plan.spec.name.clone(),
            env: plan.spec.env.clone(),
            outcome,
            packages,
            errors,
            warnings: plan.warnings.clone(),
            logs: plan.logs.clone(),
            kie: plan.kie.clone(),
            abort: plan.abort.clone(),
            written,
            not_written,
            summary: plan.summary,
        }
    }

    /// The report for people; paths are shown from the working folder, given the spec's
    /// folder `base`.
    pub fn human(&self, base: &std::path::Path) -> String {
        let at = |p: &str| crate::fsutil::shown_from(base, p);
        let mut out = String::new();
        let env = self
            .env
            .as_deref()
            .map(|e| format!(" (env {e})"))
            .unwrap_or_default();
        let _ = writeln!(out, "apply {}{env}: {}\n", self.name, self.outcome);
        let mut rows = Vec::new();
        for p in &self.packages {
            if p.kinds.is_empty() {
                rows.push(vec![
                    at(&p.source),
                    "-".into(),
                    "0".into(),
                    "0".into(),
                    "0".into(),
                    "0".into(),
                    "0".into(),
                ]);
            }
            for (i, (kind, c)) in p.kinds.iter().enumerate() {
                rows.push(vec![
                    if i == 0 { at(&p.source) } else { String::new() },
                    kind.clone(),
                    c.create.to_string(),
                    c.overwrite.to_string(),
                    c.skip.to_string(),
                    c.fail.to_string(),
                    c.renamed.to_string(),
                ]);
            }
        }
        out.push_str(&render(
            &[
                "SOURCE",
                "KIND",
                ">CREATE",
                ">OVERWRITE",
                ">SKIP",
                ">FAIL",
                ">RENAMED",
            ],
            &rows,
        ));
        if !self.errors.is_empty() {
            let _ = writeln!(out, "\nerrors ({}):", self.errors.len());
            for e in &self.errors {
                let _ = writeln!(out, "  [{}] {}{}", e.code, who(e, &at), e.message);
                if let Some(h) = &e.hint {
                    let _ = writeln!(out, "    hint: {h}");
                }
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "\nwarnings ({}):", self.warnings.len());
            for w in self.warnings.iter().take(20) {
                let _ = writeln!(out, "  [{}] {}{}", w.code, who(w, &at), w.message);
            }
            if self.warnings.len() > 20 {
                let _ = writeln!(
                    out,
                    "  … and {} more in report.json",
                    self.warnings.len() - 20
                );
            }
        }
        if !self.logs.is_empty() {
            let _ = writeln!(out, "\nhook logs ({}):", self.logs.len());
            for l in self.logs.iter().take(20) {
                let _ = writeln!(out, "  {}{}", who(l, &at), l.message);
            }
            if self.logs.len() > 20 {
                let _ = writeln!(out, "  … and {} more in report.json", self.logs.len() - 20);
            }
        }
        if let Some(a) = &self.abort {
            let _ = writeln!(out, "\naborted: [{}] {}{}", a.code, who(a, &at), a.message);
        }
        let _ = writeln!(out, "\nwritten:");
        if self.written.is_empty() {
            let _ = writeln!(out, "  (nothing)");
        }
        for w in &self.written {
            let _ = writeln!(out, "  {}", at(w));
        }
        if !self.not_written.is_empty() {
            let _ = writeln!(out, "not written:");
            for w in &self.not_written {
                let _ = writeln!(out, "  {}", at(w));
            }
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "\nsummary: {} create, {} overwrite, {} skip, {} fail, {} renamed, {} warnings",
            s.create, s.overwrite, s.skip, s.fail, s.renamed, s.warnings
        );
        out
    }
}
