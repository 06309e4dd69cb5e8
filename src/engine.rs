//! Carrying out a plan: every output is staged beside its destination (in parallel), and
//! moved into place only once all of them are complete; then the report is written.

use rayon::prelude::*;

use crate::error::Error;
use crate::fsutil;
use crate::package::write::{ManifestMode, Staged, stage_package};
use crate::package::{PackageError, write_entries};
use crate::plan::{PackageOutput, Planned};
use crate::report::Report;

/// Name of the report written beside the outputs.
pub const REPORT_NAME: &str = "report.json";

fn stage(out: &PackageOutput, planned: &Planned, dry_run: bool) -> Result<Staged, PackageError> {
    if let Some(k) = &out.kie {
        let bytes = crate::package::kie::to_bytes(k.format, k.metadata.as_ref(), &k.items);
        return crate::package::write::stage_file(&out.path, "kie", bytes, dry_run);
    }
    let entries = write_entries(out.layout, out.project.as_deref(), &out.assets, &out.extras)
        .map_err(|detail| PackageError::Layout {
            path: out.path.clone(),
            detail,
        })?;
    let mode = if out.layout.embeds_manifest() {
        ManifestMode::Embedded
    } else {
        ManifestMode::Sidecar
    };
    stage_package(
        &out.path,
        planned.format,
        out.layout.name(),
        Some(mode),
        entries,
        dry_run,
    )
}

/// Writes what `planned` describes. With `dry_run`, walks the same path (compression
/// included) and writes nothing.
pub fn apply(planned: &Planned, dry_run: bool) -> Result<Report, Error> {
    let plan = &planned.plan;
    if plan.abort.is_some() {
        return Ok(Report::new(plan, "aborted", Vec::new()));
    }
    if planned.abort_on_error && plan.has_failures() {
        return Ok(Report::new(
            plan,
            "not written (on_error: abort)",
            Vec::new(),
        ));
    }
    let outputs: Vec<&PackageOutput> = planned
        .outputs
        .iter()
        .chain(planned.merged.as_ref())
        .collect();
    let progress = crate::progress::Progress::new("writing packages", outputs.len());
    let staged: Vec<Result<Staged, PackageError>> = outputs
        .par_iter()
        .map(|o| {
            let s = stage(o, planned, dry_run);
            progress.tick();
            s
        })
        .collect();
    progress.finish();
    let mut ready = Vec::with_capacity(staged.len());
    for s in staged {
        // On the first failure every staged file is dropped, and so removed: nothing is written.
        ready.push(s.map_err(|e| Error::NothingWritten(Box::new(Error::Package(e))))?);
    }
    if dry_run {
        return Ok(Report::new(plan, "dry-run", Vec::new()));
    }
    let mut written = Vec::new();
    for (s, o) in ready.into_iter().zip(&outputs) {
        if let Err(e) = s.commit() {
            let report = Report::new(plan, "partly written", written);
            return Err(Error::PartlyWritten {
                cause: Box::new(Error::Package(e)),
                report: Box::new(report),
            });
        }
        written.push(o.shown.clone());
    }
    let report_shown = format!(
        "{}/{REPORT_NAME}",
        outputs.first().map_or(String::from("."), |o| {
            o.shown
                .rsplit_once('/')
                .map_or(String::from("."), |(d, _)| d.to_string())
        })
    );
    let mut with_report = written.clone();
    with_report.push(report_shown);
    let report = Report::new(plan, "written", with_report);
    let mut json = serde_json::to_vec_pretty(&report).expect("reports serialise");
    json.push(b'\n');
    let path = planned.out_dir.join(REPORT_NAME);
    fsutil::write_atomic(&path, &json).map_err(|e| Error::Io {
        path,
        action: "cannot write the report",
        source: e,
    })?;
    Ok(report)
}
