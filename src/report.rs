//! The report of an apply, as data: per package and kind, counts of each action; every error
//! with asset, code, message and hint; what was written and what was not. The command line
//! renders it for people (`cli::render`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::plan::{Note, Plan, Summary};

/// Format of `report.json` this version writes.
pub const REPORT_FORMAT: u32 = 1;
/// Counts of each action.
pub use crate::plan::AssetCounts as Counts;

/// One source package in the report.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report<'a> {
    /// Format of the report (see docs/formats.md).
    pub format: u32,
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
    pub warnings: Cow<'a, [Note]>,
    /// Lines hook scripts logged (secrets masked).
    #[serde(default, skip_serializing_if = "<[Note]>::is_empty")]
    pub logs: Cow<'a, [Note]>,
    /// For KIE sources: each upload's `success` and `failure`, as the server answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kie: Vec<crate::plan::KieUpload>,
    /// Why nothing was written, when aborted.
    pub abort: Option<Note>,
    /// What the operator does on the platform once the written packages are imported, asset
    /// by asset (enebular: register the private nodes flows use, then save those flows again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_import: Vec<Note>,
    /// Files written, in order.
    pub written: Vec<String>,
    /// Outputs the plan names that were not written (of this part's, when sharded).
    pub not_written: Vec<String>,
    /// The part of a sharded apply this report is of (`I/N`, `--shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Counts over everything.
    pub summary: Summary,
}

impl<'a> Report<'a> {
    /// The report of `plan` once `written` are in place.
    pub fn new(plan: &'a Plan, outcome: &'static str, written: Vec<String>) -> Report<'a> {
        let mut errors = Vec::new();
        let mut after_import = Vec::new();
        let mut packages = Vec::new();
        for p in &plan.packages {
            let mut kinds: BTreeMap<String, Counts> = BTreeMap::new();
            let out = written.contains(&p.output);
            for a in &p.assets {
                kinds.entry(a.kind.clone()).or_default().add(a);
                if let Some(e) = &a.error {
                    errors.push(Note::clone(e));
                }
                if out {
                    after_import.extend(a.after_import.iter().cloned());
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
            format: REPORT_FORMAT,
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
            warnings: Cow::Borrowed(&plan.warnings),
            logs: Cow::Borrowed(&plan.logs),
            kie: plan.kie.clone(),
            abort: plan.abort.clone(),
            after_import,
            written,
            not_written,
            shard: None,
            summary: plan.summary,
        }
    }
}
