//! `hoist plan` and `hoist apply`.

use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use crate::archive::Limits;
use crate::error::{Error, exit};
use crate::plan::{
    PLAN_FORMAT, Plan, PlanOptions, Planned, compute, compute_loaded, input_digests, load_inputs,
};
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

/// `hoist plan`.
pub fn plan(
    spec_path: &Path,
    env: Option<String>,
    as_json: bool,
    save: Option<&Path>,
    exit_code: bool,
    limits: &Limits,
) -> Result<ExitCode, Error> {
    let mut planned = plan_spec(spec_path, env, None, limits)?;
    if let Some(save) = save {
        crate::fsutil::keep_apart(&planned.protected, &[save]).map_err(Error::Usage)?;
        let dir = crate::fsutil::parent_of(save);
        planned.plan.spec.path = relative(dir, spec_path)?;
        let mut bytes = serde_json::to_vec_pretty(&planned.plan).expect("plans serialise");
        bytes.push(b'\n');
        crate::fsutil::write_atomic(save, &bytes).map_err(|e| Error::Io {
            path: save.into(),
            action: "cannot write the plan",
            source: e,
        })?;
        planned.plan.spec.path = spec_path.display().to_string();
    }
    let plan = &planned.plan;
    let base = crate::fsutil::parent_of(spec_path);
    super::print_as(
        &if as_json {
            json(plan)
        } else {
            super::render::plan(plan, base)
        },
        as_json,
    )?;
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
    limits: &Limits,
) -> Result<ExitCode, Error> {
    let (planned, base) = match read_saved_plan(input)? {
        Some(saved) => {
            let spec = crate::fsutil::parent_of(input).join(&saved.spec.path);
            let base = crate::fsutil::normalize(crate::fsutil::parent_of(&spec));
            let mut planned = replan(input, saved, env, out_dir, limits)?;
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
    let report = match crate::engine::apply(&planned, dry_run) {
        Ok(r) => r,
        Err(Error::PartlyWritten { cause, written }) => {
            let report = Report::new(&planned.plan, "partly written", written);
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
    super::print_as(
        &if as_json {
            json(&report)
        } else {
            human_with_plan(&planned, &report, dry_run, &base)
        },
        as_json,
    )?;
    let failed = planned.plan.has_failures() || (report.written.is_empty() && !dry_run);
    exit_soon(planned);
    Ok(ExitCode::from(if failed { exit::FAILED } else { exit::OK }))
}

fn human_with_plan(planned: &Planned, report: &Report, dry_run: bool, base: &Path) -> String {
    if dry_run {
        format!(
            "{}\n(dry run: the outputs were computed and compressed, and nothing was written)\n",
            super::render::plan(&planned.plan, base)
        )
    } else {
        super::render::report(report, base)
    }
}

/// A plan file, if `input` is one.
fn read_saved_plan(input: &Path) -> Result<Option<Plan>, Error> {
    if input.extension().and_then(|e| e.to_str()) != Some("json") {
        return Ok(None);
    }
    let bytes = std::fs::read(input).map_err(|e| Error::Io {
        path: input.into(),
        action: "cannot read the plan",
        source: e,
    })?;
    let probe: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Usage(format!("{}: not a plan file: {e}", input.display())))?;
    if probe.get("format").and_then(|f| f.as_u64()) != Some(u64::from(PLAN_FORMAT)) {
        return Err(Error::Usage(format!(
            "{}: not a plan of format {PLAN_FORMAT} (write one with hoist plan SPEC -o {})",
            input.display(),
            input.display()
        )));
    }
    serde_json::from_value(probe)
        .map(Some)
        .map_err(|e| Error::Usage(format!("{}: damaged plan file: {e}", input.display())))
}

/// Recomputes a saved plan and refuses if anything changed since: first the spec's bytes,
/// then every input's digests, and last the plan itself.
fn replan(
    plan_path: &Path,
    saved: Plan,
    env: Option<String>,
    out_dir: Option<PathBuf>,
    limits: &Limits,
) -> Result<Planned, Error> {
    if out_dir.is_some() {
        return Err(Error::Usage(
            "a saved plan names its outputs; apply it without --out, or plan again with another output.dir".into(),
        ));
    }
    if env.is_some() && env != saved.spec.env {
        return Err(Error::Usage(format!(
            "the plan was made for environment {}; --env {} does not match",
            saved.spec.env.as_deref().unwrap_or("(none)"),
            env.as_deref().unwrap_or("")
        )));
    }
    let unset: Vec<&String> = saved
        .spec
        .env_vars
        .iter()
        .filter(|name| std::env::var_os(name).is_none())
        .collect();
    if let Some(first) = unset.first() {
        let names: Vec<&str> = unset.iter().map(|n| n.as_str()).collect();
        return Err(Error::Usage(format!(
            "{}: the plan was made with the environment variable{} {} set, and {} unset now; set {} as when planning (the plan records names, never values)",
            plan_path.display(),
            if unset.len() == 1 { "" } else { "s" },
            names.join(", "),
            if unset.len() == 1 {
                "it is"
            } else {
                "they are"
            },
            if unset.len() == 1 {
                first.as_str()
            } else {
                "them"
            },
        )));
    }
    let spec_path =
        crate::fsutil::normalize(&crate::fsutil::parent_of(plan_path).join(&saved.spec.path));
    let stale = |changes: Vec<String>| stale_error(plan_path, &changes);
    let bytes = std::fs::read(&spec_path).map_err(|e| Error::Io {
        path: spec_path.clone(),
        action: "cannot read the plan's spec",
        source: e,
    })?;
    if crate::digest::Digest::of(&bytes) != saved.spec.sha256 {
        return Err(stale(vec![format!(
            "the spec {} changed",
            spec_path.display()
        )]));
    }
    let spec = Spec::load(&spec_path)?;
    let gone: Vec<String> = saved
        .inputs
        .sources
        .keys()
        .chain(saved.inputs.target.iter().map(|t| &t.path))
        .filter(|p| !spec.resolve(p).exists())
        .map(|p| format!("input {p} is gone"))
        .collect();
    if !gone.is_empty() {
        return Err(stale(gone));
    }
    let opts = PlanOptions {
        env: saved.spec.env.clone(),
        limits: *limits,
        spec_display: Some(spec_path.display().to_string()),
        out_dir,
        ..crate::platform::plan_options()
    };
    let loaded = load_inputs(&spec, &opts)?;
    let scripts: Vec<String> = spec.scripts().into_iter().map(|(s, _)| s).collect();
    let hooks =
        crate::hooks::source_digests(&spec.dir, &scripts).map_err(|(script, message)| {
            Error::Spec(spec.error_at(None, "hook.script", format!("{script}: {message}")))
        })?;
    let fresh = input_digests(&loaded, hooks);
    let mut changes = Vec::new();
    let hooks = |d: &crate::plan::InputDigests| -> DigestMap {
        d.hooks.iter().map(|(k, v)| (k.clone(), Some(*v))).collect()
    };
    diff_inputs("hook", &hooks(&saved.inputs), &hooks(&fresh), &mut changes);
    let sources = |d: &crate::plan::InputDigests| -> DigestMap {
        d.sources
            .iter()
            .flat_map(|(pkg, entries)| {
                entries
                    .iter()
                    .map(move |(e, x)| (format!("{pkg}: {e}"), Some(*x)))
            })
            .collect()
    };
    diff_inputs(
        "source entry",
        &sources(&saved.inputs),
        &sources(&fresh),
        &mut changes,
    );
    let target = |d: &crate::plan::InputDigests| -> DigestMap {
        d.target
            .iter()
            .flat_map(|t| {
                t.entries
                    .iter()
                    .map(move |(e, x)| (format!("{}: {e}", t.path), Some(*x)))
            })
            .collect()
    };
    diff_inputs(
        "target entry",
        &target(&saved.inputs),
        &target(&fresh),
        &mut changes,
    );
    if !changes.is_empty() {
        return Err(stale(changes));
    }
    let mut planned = compute_loaded(&spec, &opts, &env_lookup, loaded)?;
    planned.plan.spec.path = saved.spec.path.clone();
    if planned.plan != saved {
        return Err(stale(vec!["the inputs are unchanged but the plan differs (another hoist version, or edited by hand)".into()]));
    }
    Ok(planned)
}

fn stale_error(plan_path: &Path, changes: &[String]) -> Error {
    let shown: Vec<String> = changes.iter().take(20).map(|c| format!("  {c}")).collect();
    let more = if changes.len() > 20 {
        format!("\n  … and {} more", changes.len() - 20)
    } else {
        String::new()
    };
    Error::StalePlan(format!(
        "{}: refusing a stale plan; since it was made:\n{}{more}\nrun hoist plan again and review it",
        plan_path.display(),
        shown.join("\n")
    ))
}

type DigestMap = std::collections::BTreeMap<String, Option<crate::digest::Digest>>;

fn diff_inputs(what: &str, saved: &DigestMap, fresh: &DigestMap, changes: &mut Vec<String>) {
    for (k, v) in saved {
        match fresh.get(k) {
            None => changes.push(format!("{what} {k} is gone")),
            Some(f) if f != v => changes.push(format!("{what} {k} was modified")),
            _ => {}
        }
    }
    for k in fresh.keys().filter(|k| !saved.contains_key(*k)) {
        changes.push(format!("{what} {k} is new"));
    }
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
