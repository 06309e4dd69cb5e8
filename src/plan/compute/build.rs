//! Building a package's items: the hook host, selection and transform of every asset, the
//! names a secret may not enter, the assets that could not be read, and the name checks.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::*;
use crate::archive::write::Format;
use crate::error::Error;
use crate::hooks::{Context, HookHost};
use crate::model::Asset;
use crate::plan::inputs::{self, Input, join_shown, stem};
use crate::plan::select::Names;
use crate::plan::transform::Item;
use crate::plan::{
    Action, AssetPlan, Note, PLAN_FORMAT, PackagePlan, Plan, PlanOptions, SpecInfo, Summary,
};
use crate::spec::{OnError, Spec};

/// Makes the Lua host when the spec names scripts; a script that cannot be read or
/// compiled is an error at the place the spec names it.
pub(super) fn make_host(
    spec: &Spec,
    opts: &PlanOptions,
    env: Option<&crate::spec::Environment>,
    loaded: &inputs::Loaded,
    target: &Names,
    secrets: &crate::secrets::Secrets,
) -> Result<Option<HookHost>, Error> {
    let scripts = spec.scripts();
    if scripts.is_empty() {
        return Ok(None);
    }
    let ctx = Context {
        env: opts.env.clone(),
        vars: env.map(|e| e.vars.clone()).unwrap_or_default(),
        seed: spec.seed.clone(),
        target: target.sorted(),
        secrets: secrets.clone(),
    };
    let names: Vec<String> = scripts.iter().map(|(s, _)| s.clone()).collect();
    HookHost::from_sources(loaded.hooks.clone(), &names, spec.lua, ctx)
        .map(Some)
        .map_err(|(script, message)| {
            let span = scripts
                .iter()
                .find(|(s, _)| *s == script)
                .and_then(|(_, sp)| *sp);
            Error::Spec(spec.error_at(span, "hook.script", message))
        })
}

pub(super) fn build(
    spec: &Spec,
    opts: &PlanOptions,
    env: Option<&crate::spec::Environment>,
    loaded: &inputs::Loaded,
    resolved: Resolved,
) -> Result<Planned, Error> {
    let Resolved {
        mut items,
        mut warnings,
        mut logs,
        abort,
        hook_digests,
        secrets,
        identity,
        env_vars,
    } = resolved;
    refuse_secret_names(&identity, &mut items);
    // Each package's names are checked on its own thread; the warnings keep package order.
    let name_warnings: Vec<Vec<Note>> = loaded
        .sources
        .par_iter()
        .zip(items.par_iter_mut())
        .with_max_len(1)
        .map(|(s, items)| {
            let mut found = Vec::new();
            check_names(s, items, spec.output.format, &mut found);
            found
        })
        .collect();
    warnings.extend(name_warnings.into_iter().flatten());
    // The credentials each item's documents hold, to mask by value in what the plan shows
    // of it (a hook may log, raise or copy one).
    let target: BTreeMap<(&str, &str), &Asset> = loaded
        .target
        .iter()
        .flat_map(|t| &t.package.assets)
        .map(|a| ((a.key.kind.as_str(), a.key.name.as_str()), a))
        .collect();
    let found: Vec<Vec<crate::secrets::Secrets>> = items
        .par_iter()
        .map(|items| {
            items
                .par_iter()
                .map(|it| {
                    // Only a hook (its log, error or edits) or a failure can carry a value
                    // elsewhere than its place, which masking by place already covers.
                    if it.logs.is_empty()
                        && it.error.is_none()
                        && it.edits.is_empty()
                        && it.label_edits.is_empty()
                    {
                        return crate::secrets::Secrets::new();
                    }
                    let at = |k: &crate::model::AssetKey| {
                        target.get(&(k.kind.as_str(), k.name.as_str())).copied()
                    };
                    crate::plan::changes::found_credentials(
                        it,
                        [at(&it.asset.key), at(&it.source_key)],
                    )
                })
                .collect()
        })
        .collect();
    for ((s, items), found) in loaded.sources.iter().zip(&items).zip(&found) {
        for (it, found) in items.iter().zip(found) {
            logs.extend(it.logs.iter().map(|(script, line)| {
                let mut line =
                    crate::secrets::credentials::mask_text(line).unwrap_or_else(|| line.clone());
                found.mask_in(&mut line);
                Note::new("hook.log", format!("{script}: {line}"))
                    .asset(&it.source_key)
                    .package(&s.shown)
            }));
        }
    }
    let (out_shown, out_dir, out_base) = inputs::output_folder(spec, opts, env);
    let ext = if spec.output.format == Format::Zip {
        ".zip"
    } else {
        ""
    };
    // Each package's plan and output are made on its own thread, then gathered in order (the
    // first package in order that cannot be written is the error).
    let built: Vec<Result<Built, Error>> = loaded
        .sources
        .par_iter()
        .zip(items.into_par_iter())
        .zip(found.into_par_iter())
        .with_max_len(1)
        .map(|((s, items), found)| {
            build_package(spec, s, items, found, (&out_shown, &out_dir, ext))
        })
        .collect();
    let mut packages = Vec::with_capacity(built.len());
    let mut outputs = Vec::with_capacity(built.len());
    for b in built {
        let b = b?;
        warnings.extend(b.warnings);
        packages.push(b.package);
        outputs.extend(b.output);
    }
    let merged = if spec.output.merged {
        Some(merged_state(loaded, &outputs, &out_dir, &out_shown, ext)?)
    } else {
        None
    };
    inputs::check_output_names(spec, &packages, &outputs, merged.as_ref())?;
    let inputs_digests = input_digests(loaded, hook_digests);
    if let Some(m) = &merged {
        warnings.extend(crate::plan::provenance::drift_since_last(
            m,
            loaded,
            opts,
            inputs_digests.target.as_ref(),
        ));
    }
    // Stable, like `sort`: the same order on every thread count.
    warnings.par_sort();
    warnings.dedup();
    let summary = Summary::of(&packages, warnings.len());
    let protected = inputs::protected(spec, loaded);
    let mut spec_info = SpecInfo::of(spec, opts);
    spec_info.env_vars = env_vars;
    let plan = Plan {
        format: PLAN_FORMAT,
        generator: crate::archive::manifest::generator(),
        spec: spec_info,
        inputs: inputs_digests,
        packages,
        merged: merged.as_ref().map(|m| m.shown.clone()),
        warnings,
        logs,
        abort,
        summary,
        kie: Vec::new(),
    };
    crate::secrets::remember(&secrets);
    let mut plan = plan;
    plan.mask(&secrets);
    Ok(Planned {
        plan,
        outputs,
        merged,
        out_dir,
        out_base,
        protected,
        format: spec.output.format,
        abort_on_error: spec.on_error == OnError::Abort,
    })
}

/// What one source package adds to the plan: its assets' plans, its output (none when every
/// asset failed) and the warnings about assets that could not be read.
struct Built {
    package: PackagePlan,
    output: Option<PackageOutput>,
    warnings: Vec<Note>,
}

/// The plan and the output of one source package `s`, from its resolved `items` and the
/// credentials `found` in each. `out` is the output folder as shown, as a path, and the
/// extension of a package file.
fn build_package(
    spec: &Spec,
    s: &Input,
    mut items: Vec<Item>,
    found: Vec<crate::secrets::Secrets>,
    out: (&str, &std::path::Path, &str),
) -> Result<Built, Error> {
    let (out_shown, out_dir, ext) = out;
    let mut warnings = Vec::new();
    let mut assets: Vec<AssetPlan> = items
        .par_iter_mut()
        .zip(found.par_iter())
        .map(|(it, found)| {
            let mut a = asset_plan(it);
            if let Some(e) = &mut a.error {
                e.each_text(&mut |t| {
                    if let Some(m) = crate::secrets::credentials::mask_text(t) {
                        *t = m;
                    }
                });
            }
            if !found.is_empty() {
                a.each_text(&mut |t| found.mask_in(t));
            }
            a
        })
        .collect();
    failed_on_reading(spec, s, &mut assets, &mut warnings);
    assets.sort_by(|a, b| (&a.kind, &a.name, a.version).cmp(&(&b.kind, &b.name, b.version)));
    let written: Vec<Asset> = items
        .into_iter()
        .filter(|it| !it.failed() && matches!(it.action, Some(Action::Create | Action::Overwrite)))
        .map(|it| {
            // Resolution is over: what the writer holds until its turn is only what it writes.
            let mut asset = it.asset;
            asset.forget_references();
            asset
        })
        .collect();
    let (name, file) = match s.package.io.single_file(&s.package, &written) {
        None => (format!("{}{ext}", stem(&s.shown)), None),
        Some(Ok(f)) => (format!("{}.{}", stem(&s.shown), f.extension), Some(f.bytes)),
        Some(Err(e)) => return Err(Error::Usage(format!("{}: {e}", s.shown))),
    };
    let shown_out = join_shown(out_shown, &name);
    // A package whose assets all failed (or failed and were skipped) holds nothing to
    // import: it is not written, and the report lists it as not written.
    let all_failed = written.is_empty() && assets.iter().any(|a| a.action == Action::Fail);
    let package = PackagePlan {
        source: s.shown.clone(),
        layout: s.package.layout,
        output: shown_out.clone(),
        assets,
    };
    let output = (!all_failed).then(|| PackageOutput {
        path: out_dir.join(&name),
        shown: shown_out,
        layout: s.package.layout,
        io: s.package.io,
        project: s.package.project.clone(),
        assets: written,
        extras: s.package.extras.clone(),
        file,
        promotion: None,
    });
    Ok(Built {
        package,
        output,
        warnings,
    })
}

/// A secret may not become part of a name, whatever put it there (a hook reads the
/// overridden document): the asset fails rather than carry it into the target's names.
pub(super) fn refuse_secret_names(secrets: &crate::secrets::Secrets, items: &mut [Vec<Item>]) {
    if !secrets.is_empty() {
        for it in items.iter_mut().flatten() {
            if !it.failed() && secrets.appears_in(&it.asset.key.name) {
                it.fail(
                    Note::new(
                        "secret.identity",
                        "its name would hold a secret value",
                    )
                    .hint("names are shown on the platform and in every plan; derive names from vars or the source name, never from secret values"),
                );
            }
        }
    }
}

/// The assets of `s` that could not be read: failures in the plan when selected, else
/// warnings.
pub(super) fn failed_on_reading(
    spec: &Spec,
    s: &Input,
    assets: &mut Vec<AssetPlan>,
    warnings: &mut Vec<Note>,
) {
    for f in &s.package.failures {
        let (kind, fname, version) = parse_failure_key(&f.asset);
        let selected = match &spec.select {
            None => true,
            Some(rules) => rules.iter().any(|r| {
                r.kinds.as_ref().is_none_or(|k| k.contains(&kind)) && r.names.matches(&fname)
            }),
        };
        if selected {
            let error = Note::new(f.code, f.message.clone())
                .asset(&f.asset)
                .package(&s.shown);
            assets.push(AssetPlan {
                error: Some(Box::new(error)),
                ..AssetPlan::bare(&kind, &fname, version, Action::Fail)
            });
        } else {
            warnings.push(
                Note::new(
                    f.code,
                    format!(
                        "{} could not be read and is not selected: {}",
                        f.asset, f.message
                    ),
                )
                .package(&s.shown),
            );
        }
    }
}

/// Names that are unsafe somewhere get a warning: bidirectional controls, Windows device
/// names, trailing dots or spaces, and two names of one kind equal once Unicode-normalised.
/// In a directory output the latter would be one folder on disks that normalise names, so
/// there the second fails instead.
pub(super) fn check_names(s: &Input, items: &mut [Item], format: Format, warnings: &mut Vec<Note>) {
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    if !s.package.io.names_are_paths() {
        return;
    }
    for it in items.iter_mut().filter(|it| !it.failed()) {
        let name = it.asset.key.name.clone();
        if let Some(why) = crate::text::name_concern(&name) {
            warnings.push(
                Note::new("name.unsafe", format!("the name {why}"))
                    .asset(&it.asset.key)
                    .package(&s.shown),
            );
        }
        let key = (
            it.asset.key.kind.clone(),
            crate::text::normalized(&name).into_owned(),
        );
        match seen.get(&key) {
            Some(first) if *first != name => {
                let spelled = |n: &str| -> String {
                    n.chars()
                        .map(|c| {
                            if c.is_ascii() && !c.is_ascii_control() {
                                c.to_string()
                            } else {
                                format!("\\u{{{:x}}}", c as u32)
                            }
                        })
                        .collect()
                };
                let message = format!(
                    "its name ({}) and {}'s ({}) are the same once Unicode-normalised (NFC): they look alike, and are one name on disks that normalise names",
                    spelled(&name),
                    crate::text::escape_controls(first),
                    spelled(first)
                );
                if format == Format::Dir {
                    it.fail(
                        Note::new("name.collision", message)
                            .hint("a directory output would write both into one folder there; rename one of them"),
                    );
                } else {
                    warnings.push(
                        Note::new("name.normalization", message)
                            .asset(&it.asset.key)
                            .package(&s.shown),
                    );
                }
            }
            Some(_) => {}
            None => {
                seen.insert(key, name);
            }
        }
    }
}
