//! `hoist plan` and `hoist apply`.

use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use crate::archive::Limits;
use crate::error::{Error, exit};
use crate::plan::{PlanOptions, Planned, compute};
use crate::report::Report;
use crate::spec::Spec;

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn json<T: serde::Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("serialisable");
    s.push('\n');
    s
}

fn plan_spec(
    spec_path: &Path,
    env: Option<String>,
    out_dir: Option<PathBuf>,
    limits: &Limits,
) -> Result<Planned, Error> {
    let spec = Spec::load(spec_path)?;
    let opts = PlanOptions {
        env,
        limits: *limits,
        spec_display: Some(spec_path.display().to_string()),
        out_dir,
        ..crate::platform::plan_options()
    };
    compute(&spec, &opts, &env_lookup)
}

/// How the plan is printed.
pub struct Shown {
    /// Text, JSON or markdown.
    pub format: super::PlanFormat,
    /// Counts only.
    pub summary: bool,
}

/// `hoist plan`.
pub fn plan(
    spec_path: &Path,
    env: Option<String>,
    shown: Shown,
    save: Option<&Path>,
    exit_code: bool,
    limits: &Limits,
) -> Result<ExitCode, Error> {
    let mut planned = plan_spec(spec_path, env, None, limits)?;
    if let Some(save) = save {
        crate::fsutil::keep_apart(&planned.protected, &[save]).map_err(Error::Usage)?;
        let dir = crate::fsutil::parent_of(save);
        planned.plan.spec.path = relative(dir, spec_path)?;
        // Written as it is serialised: the plan of a large run is a hundred megabytes of text.
        crate::fsutil::write_atomic_with(save, |w| {
            serde_json::to_writer_pretty(&mut *w, &planned.plan)?;
            w.write_all(b"\n")
        })
        .map_err(|e| Error::Io {
            path: save.into(),
            action: "cannot write the plan",
            source: e,
        })?;
        planned.plan.spec.path = spec_path.display().to_string();
    }
    let base = crate::fsutil::parent_of(spec_path);
    let as_json = shown.format == super::PlanFormat::Json;
    if !as_json {
        // Saved above as it is; from here on it is only shown: made safe where it is rather
        // than in a copy (a plan of 100,000 assets is a hundred megabytes).
        super::render::make_shown(&mut planned.plan);
    }
    let plan = &planned.plan;
    match (shown.format, shown.summary) {
        (super::PlanFormat::Json, _) => super::print_json_of(plan)?,
        (super::PlanFormat::Text, false) => {
            super::print_pieces(|emit| super::render::plan_shown_in_pieces(plan, base, emit))?
        }
        (super::PlanFormat::Text, true) => {
            super::print_as(&super::render::plan_summary_shown(plan, base), false)?
        }
        (super::PlanFormat::Markdown, summary) => super::print_as(
            &super::markdown::plan_shown(plan, base, summary, super::markdown::COMMENT_MAX),
            false,
        )?,
    }
    let code = if plan.has_failures() {
        exit::FAILED
    } else if exit_code && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    };
    exit_soon(planned);
    Ok(ExitCode::from(code))
}

/// Lets the process end without freeing every document of a large run one by one (a serial
/// walk over the whole heap at the very end); the system takes the memory back at exit.
fn exit_soon(planned: Planned) {
    std::mem::forget(planned);
}

/// `hoist apply`, on a spec or on a plan saved with `hoist plan -o`.
pub fn apply(
    input: &Path,
    env: Option<String>,
    dry_run: bool,
    as_json: bool,
    out_dir: Option<PathBuf>,
    shard: Option<crate::engine::Shard>,
    limits: &Limits,
) -> Result<ExitCode, Error> {
    let (mut planned, base) = match crate::plan::saved::read_saved_plan(input)? {
        Some(saved) => {
            let spec = crate::fsutil::parent_of(input).join(&saved.spec.path);
            let base = crate::fsutil::normalize(crate::fsutil::parent_of(&spec));
            let options = PlanOptions {
                limits: *limits,
                ..crate::platform::plan_options()
            };
            let mut planned =
                crate::plan::saved::replan(input, saved, env, out_dir, &options, &env_lookup)?;
            planned
                .protected
                .push(crate::fsutil::Protected::new(input, "saved plan"));
            (planned, base)
        }
        None => (
            plan_spec(input, env, out_dir, limits)?,
            crate::fsutil::parent_of(input).to_path_buf(),
        ),
    };
    let report = match crate::engine::apply(&planned, dry_run, shard) {
        Ok(r) => r,
        Err(Error::PartlyWritten { cause, written }) => {
            let report = crate::engine::for_shard(
                Report::new(&planned.plan, "partly written", written),
                shard,
                &planned,
            );
            super::print_as(
                &if as_json {
                    json(&report)
                } else {
                    super::render::report(&report, &base)
                },
                as_json,
            )?;
            return Err(*cause);
        }
        Err(e) => return Err(e),
    };
    let nothing_written = report.written.is_empty();
    let text = if as_json {
        super::print_json_of(&report)?;
        None
    } else if dry_run {
        // Only shown from here on: made safe where it is, not in a copy.
        drop(report);
        super::render::make_shown(&mut planned.plan);
        Some(format!(
            "{}\n(dry run: the outputs were computed and compressed, and nothing was written)\n",
            super::render::plan_shown(&planned.plan, &base)
        ))
    } else {
        Some(super::render::report(&report, &base))
    };
    if let Some(text) = text {
        super::print_as(&text, false)?;
    }
    let failed = planned.plan.has_failures() || (nothing_written && !dry_run);
    exit_soon(planned);
    Ok(ExitCode::from(if failed { exit::FAILED } else { exit::OK }))
}

/// The path of `to` as seen from folder `from`.
fn relative(from: &Path, to: &Path) -> Result<String, Error> {
    let abs = |p: &Path| -> Result<PathBuf, Error> {
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| Error::Io {
                    path: ".".into(),
                    action: "cannot read the current folder",
                    source: e,
                })?
                .join(p)
        };
        Ok(crate::fsutil::normalize(&full))
    };
    let (from, to) = (abs(from)?, abs(to)?);
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), f.len() - common).collect();
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Ok(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(Path::new("/a/out"), Path::new("/a/specs/x.yaml")).unwrap(),
            "../specs/x.yaml"
        );
        assert_eq!(
            relative(Path::new("/a"), Path::new("/a/x.yaml")).unwrap(),
            "x.yaml"
        );
        assert_eq!(
            relative(Path::new("/a/b/./c/.."), Path::new("/a/x.yaml")).unwrap(),
            "../x.yaml"
        );
    }
}
