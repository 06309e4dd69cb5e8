//! Carrying out a plan: every output is staged beside its destination (in parallel), and
//! moved into place only once all of them are complete; then the report is written.

pub mod outdir;

use rayon::prelude::*;

use crate::archive::write::{ManifestMode, Staged, stage_package};
use crate::error::Error;
use crate::fsutil;
use crate::package::PackageError;
use crate::plan::{PackageOutput, Planned};
use crate::report::Report;
use outdir::{Move, OutDir};

pub use crate::plan::REPORT_NAME;

/// One part of a sharded apply (`--shard I/N`): planning stays whole (every name is decided
/// across all packages), and the part writes the outputs whose place in the plan's list —
/// the delta packages in order, then the merged state — is `I - 1` modulo `N`, and its own
/// report. The parts' outputs together are the outputs of one apply, byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, from 1.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl Shard {
    /// `I/N` with `1 <= I <= N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("{text:?} is not a shard like 2/4 (part 2 of 4, counting from 1)");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether the part writes the output at `position` of the plan's list.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }

    /// The report this part writes: `report.json` for a whole apply, else
    /// `report-shard-I-of-N.json`, so that the parts' folders can be put together.
    pub fn report_name(shard: Option<Shard>) -> String {
        match shard {
            Some(s) if s.count > 1 => format!("report-shard-{}-of-{}.json", s.index, s.count),
            _ => REPORT_NAME.to_string(),
        }
    }
}

fn stage(out: &PackageOutput, planned: &Planned, dry_run: bool) -> Result<Staged, PackageError> {
    if let Some(bytes) = &out.file {
        return crate::archive::write::stage_file(
            &out.path,
            out.layout.name(),
            out.promotion.as_ref(),
            bytes.clone(),
            dry_run,
        );
    }
    let entries = out
        .io
        .entries(out.project.as_deref(), &out.assets, &out.extras)
        .map_err(|detail| PackageError::Layout {
            path: out.path.clone(),
            detail,
        })?;
    let mode = if out.io.embeds_manifest() {
        ManifestMode::Embedded
    } else {
        ManifestMode::Sidecar
    };
    stage_package(
        &out.path,
        planned.format,
        out.layout.name(),
        Some(mode),
        out.promotion.as_ref(),
        entries,
        dry_run,
    )
}

/// Writes what `planned` describes. With `dry_run`, walks the same path (compression
/// included) and writes nothing.
pub fn apply(planned: &Planned, dry_run: bool, shard: Option<Shard>) -> Result<Report<'_>, Error> {
    let plan = &planned.plan;
    let report_name = Shard::report_name(shard);
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
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| s.takes(*i)))
        .map(|(_, o)| o)
        .collect();
    refuse_writing_into_inputs(planned, &outputs, &report_name)?;
    // One run at a time per output folder; what an interrupted run left is dealt with first.
    let lock = if dry_run {
        None
    } else {
        let writes: std::collections::BTreeSet<String> = outputs
            .iter()
            .flat_map(|o| o.final_paths())
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .chain([report_name.clone()])
            .collect();
        let (lock, recovered) = OutDir::lock(&planned.out_dir, &writes)?;
        if recovered.finished > 0 {
            note!(
                "note: {}: finished {} move(s) of an interrupted run before this one",
                planned.out_dir.display(),
                recovered.finished
            );
        }
        Some(lock)
    };
    // The report depends on the plan alone, not on how staging goes: it is made, serialised
    // and staged beside the packages, so that no thread waits for it at the end.
    // Each staged file is flushed to disk on a thread of its own while the next are written;
    // all are flushed before the journal names them.
    let progress = crate::progress::Progress::new("writing packages", outputs.len());
    let ((staged, report), flushed) =
        fsutil::Flusher::run(2 * rayon::current_num_threads(), |flusher| {
            rayon::join(
                || -> Vec<Result<Staged, PackageError>> {
                    outputs
                        .par_iter()
                        .enumerate()
                        .with_max_len(1)
                        .map(|(at, o)| {
                            let s = stage(o, planned, dry_run).and_then(|s| {
                                for (file, shown, action) in s.to_flush()? {
                                    flusher.flush(fsutil::ToFlush {
                                        at,
                                        file,
                                        shown,
                                        action,
                                    });
                                }
                                Ok(s)
                            });
                            progress.tick();
                            s
                        })
                        .collect()
                },
                || -> Result<(Report<'_>, Option<StagedReport>), Error> {
                    if lock.is_none() {
                        let report = Report::new(plan, "dry-run", Vec::new());
                        return Ok((for_shard(report, shard, planned), None));
                    }
                    stage_report(planned, &outputs, shard, &report_name).map(|(r, s)| (r, Some(s)))
                },
            )
        });
    progress.finish();
    // The failure reported is the first in the outputs' order, whether staging or flushing
    // found it, on any number of threads.
    let mut flush_failed = flushed.err();
    let flush_error = |(_, shown, action, e): fsutil::FlushFailure| {
        Error::NothingWritten(Box::new(Error::Package(PackageError::io(
            &shown, action, e,
        ))))
    };
    let mut ready = Vec::with_capacity(staged.len());
    for (at, s) in staged.into_iter().enumerate() {
        if let Some(f) = flush_failed.take_if(|f| f.0 < at) {
            return Err(flush_error(f));
        }
        // On the first failure every staged file is dropped, and so removed: nothing is written.
        ready.push(s.map_err(|e| Error::NothingWritten(Box::new(Error::Package(e))))?);
    }
    if let Some(f) = flush_failed {
        return Err(flush_error(f));
    }
    let (report, staged_report) = report?;
    let (lock, (staged_report, report_path)) = match (lock, staged_report) {
        (Some(lock), Some(staged)) => (lock, staged),
        (None, None) => return Ok(report),
        _ => unreachable!("a report is staged exactly when the output folder is locked"),
    };
    // Every output is complete: record the moves, then make them.
    let mut moves: Vec<Move> = ready.iter().flat_map(Staged::moves).collect();
    moves.push(Move {
        from: staged_report.path().to_path_buf(),
        to: report_path.clone(),
        dir: false,
    });
    lock.write_journal(&moves)
        .map_err(|e| Error::NothingWritten(Box::new(e)))?;
    let mut written = Vec::new();
    for (s, o) in ready.into_iter().zip(&outputs) {
        if let Err(e) = s.commit() {
            // What was not moved is dropped with its temporary files: nothing is left to finish.
            let _ = lock.clear_journal();
            return Err(Error::PartlyWritten {
                cause: Box::new(Error::Package(e)),
                written,
            });
        }
        written.push(o.shown.clone());
    }
    fsutil::move_into_place(staged_report, &report_path).map_err(|e| Error::Io {
        path: report_path,
        action: "cannot write the report",
        source: e,
    })?;
    // The moves are on disk before the journal that lists them goes.
    fsutil::sync_dir(lock.path());
    lock.clear_journal()?;
    Ok(report)
}

/// The report's temporary file beside its final place, and that place.
type StagedReport = (tempfile::NamedTempFile, std::path::PathBuf);

/// Makes the report of a run that writes `outputs`, and writes it under a temporary name
/// beside its place in the output folder (on disk before the journal names it).
fn stage_report<'a>(
    planned: &'a Planned,
    outputs: &[&PackageOutput],
    shard: Option<Shard>,
    report_name: &str,
) -> Result<(Report<'a>, StagedReport), Error> {
    let plan = &planned.plan;
    // Beside the outputs the plan names, written or not (a package whose assets all failed
    // is not).
    let report_shown = format!(
        "{}/{report_name}",
        plan.packages
            .first()
            .map(|p| p.output.as_str())
            .map_or(String::from("."), |shown| {
                shown
                    .rsplit_once('/')
                    .map_or(String::from("."), |(d, _)| d.to_string())
            })
    );
    let mut with_report: Vec<String> = outputs.iter().map(|o| o.shown.clone()).collect();
    with_report.push(report_shown);
    let report = for_shard(Report::new(plan, "written", with_report), shard, planned);
    let report_path = planned.out_dir.join(report_name);
    // Written as it is serialised: a report lists every warning, tens of megabytes in a large
    // run, which need not be held a second time as text.
    let staged = fsutil::stage_with(&report_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &report)?;
        w.write_all(b"\n")
    })
    .map_err(|source| {
        Error::NothingWritten(Box::new(Error::Io {
            path: report_path.clone(),
            action: "cannot write the report",
            source,
        }))
    })?;
    Ok((report, (staged, report_path)))
}

/// Inputs are read-only to hoist: an output folder inside one (or holding the spec, a hook
/// script or a saved plan), or an output with the same path as one (or a folder output holding
/// one), is refused before anything is written.
fn refuse_writing_into_inputs(
    planned: &Planned,
    outputs: &[&PackageOutput],
    report_name: &str,
) -> Result<(), Error> {
    if let Some(link) = fsutil::link_below(&planned.out_base, &planned.out_dir) {
        return Err(Error::Untrusted {
            path: link,
            detail: format!(
                "the output folder {} is reached through this symbolic link; hoist writes only into real folders (name the folder the link points to, if that is meant)",
                planned.out_dir.display()
            ),
        });
    }
    fsutil::keep_folder_apart(&planned.protected, &planned.out_dir).map_err(Error::Usage)?;
    let report = planned.out_dir.join(report_name);
    let paths: Vec<std::path::PathBuf> = outputs
        .iter()
        .flat_map(|o| o.final_paths())
        .chain([report])
        .collect();
    let paths: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    fsutil::keep_apart(&planned.protected, &paths).map_err(Error::Usage)
}

/// A part's report: which part it is, and among the outputs not written its own, and (in
/// part 1) the packages no part writes because every asset of theirs failed.
pub fn for_shard<'a>(
    mut report: Report<'a>,
    shard: Option<Shard>,
    planned: &Planned,
) -> Report<'a> {
    let Some(s) = shard.filter(|s| s.count > 1) else {
        return report;
    };
    report.shard = Some(format!("{}/{}", s.index, s.count));
    let all: Vec<&PackageOutput> = planned
        .outputs
        .iter()
        .chain(planned.merged.as_ref())
        .collect();
    let part_of = |shown: &str| all.iter().position(|o| o.shown == shown);
    report.not_written.retain(|o| match part_of(o) {
        Some(position) => s.takes(position),
        None => s.index == 1,
    });
    report
}
