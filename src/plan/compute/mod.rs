//! Computing a plan: load → select → transform → resolve, then the plan value and the
//! outputs it describes.

mod build;
use build::{build, make_host};

use std::collections::BTreeMap;
use std::path::PathBuf;

use rayon::prelude::*;

use super::inputs::{self, EnvLookup, Input, join_shown};
use super::platform::{Ctx, PlanInput, Platform, TargetAssets, platform_of};
use super::resolve::{Work, resolve};
use super::select::{Names, select};
use super::transform::{Item, Run, transform};
use super::{Action, AssetPlan, InputDigests, Note, Plan, PlanOptions, TargetDigests};
use crate::archive::write::Format;
use crate::error::Error;
use crate::hooks::HookHost;
use crate::model::{Asset, AssetKey, EntryRef, Version};
use crate::package::{Layout, Package};
use crate::spec::{Diagnostic, Spec, SpecErrors};

/// A package to write.
#[derive(Debug)]
pub struct PackageOutput {
    /// Where it goes.
    pub path: PathBuf,
    /// The same, as shown in plans (relative to the spec).
    pub shown: String,
    /// Its layout.
    pub layout: Layout,
    /// How packages of that layout are written.
    pub io: &'static dyn crate::package::LayoutIo,
    /// enebular project folder.
    pub project: Option<String>,
    /// The assets it holds.
    pub assets: Vec<Asset>,
    /// Entries carried through untouched.
    pub extras: Vec<EntryRef>,
    /// For an output that is one file (a KIE upload): its bytes, made by its platform.
    pub file: Option<Vec<u8>>,
    /// The promotion record its manifest carries (see [`crate::plan::provenance`]).
    pub promotion: Option<serde_json::Value>,
}

impl PackageOutput {
    /// Every path this output puts in place: the package, and its manifest when that lives
    /// beside it (a single file, an enebular package).
    pub fn final_paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.path.clone()];
        if self.file.is_some() || !self.io.embeds_manifest() {
            paths.push(crate::archive::manifest::sidecar_path(&self.path));
        }
        paths
    }
}

/// A plan and everything needed to carry it out.
#[derive(Debug)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// One delta package per source.
    pub outputs: Vec<PackageOutput>,
    /// The merged target state, when asked for.
    pub merged: Option<PackageOutput>,
    /// The output folder.
    pub out_dir: PathBuf,
    /// The folder `out_dir` was written relative to (the spec's, or the working folder).
    pub out_base: PathBuf,
    /// Every input (sources, target, spec, hook scripts and their folders): nothing is ever
    /// written into them.
    pub protected: Vec<crate::fsutil::Protected>,
    /// ZIP files or directories.
    pub format: Format,
    /// Whether any failure writes nothing (`on_error: abort`).
    pub abort_on_error: bool,
}

fn parse_failure_key(text: &str) -> (String, String, Version) {
    let (kind, rest) = text.split_once('/').unwrap_or(("", text));
    let (name, version) = match rest.rsplit_once('@') {
        Some((n, v)) => (n, Version::parse_folder(v).unwrap_or(Version::None)),
        None => (rest, Version::None),
    };
    (kind.to_string(), name.to_string(), version)
}

fn digests_of(pkg: &Package) -> BTreeMap<String, crate::digest::Digest> {
    let src = &pkg.source;
    src.entries()
        .iter()
        .filter_map(|e| src.identity(e).map(|d| (e.name.clone(), d)))
        .collect()
}

/// What the plan says of `it`, which gives up what only the plan needs (its asset, action and
/// failure stay; its source key is given up too).
fn asset_plan(it: &mut Item) -> AssetPlan {
    use std::mem::take;
    AssetPlan {
        kind: take(&mut it.source_key.kind),
        name: take(&mut it.source_key.name),
        version: it.source_key.version,
        labels: BTreeMap::new(),
        action: if it.failed() {
            Action::Fail
        } else {
            it.action.unwrap_or(Action::Fail)
        },
        output_name: it.asset.key.name.clone(),
        output_version: Some(it.asset.key.version).filter(|v| *v != it.source_key.version),
        renames: take(&mut it.renames),
        stripped: take(&mut it.stripped),
        overrides: take(&mut it.overrides),
        references: take(&mut it.references),
        changed: it.asset.is_edited(),
        error: it.error.clone(),
        dropped: take(&mut it.dropped),
        diff: take(&mut it.diff),
        files: take(&mut it.files),
        label_diff: take(&mut it.label_diff),
        after_import: take(&mut it.after_import),
    }
}

/// Computes the plan of `spec` on its inputs.
pub fn compute(spec: &Spec, opts: &PlanOptions, env_lookup: &EnvLookup) -> Result<Planned, Error> {
    let opts = &PlanOptions {
        env: spec.env_name(opts.env.as_deref()).map_err(Error::Usage)?,
        ..opts.clone()
    };
    let loaded = load_inputs(spec, opts)?;
    compute_loaded(spec, opts, env_lookup, loaded)
}

/// The environment `--env` names, if any.
fn chosen_environment<'a>(
    spec: &'a Spec,
    opts: &PlanOptions,
) -> Result<Option<&'a crate::spec::Environment>, Error> {
    opts.env
        .as_deref()
        .map(|n| spec.environment(n))
        .transpose()
        .map_err(Error::Usage)
}

/// Finds, loads and hashes the inputs of `spec`: its sources and target.
pub fn load_inputs(spec: &Spec, opts: &PlanOptions) -> Result<inputs::Loaded, Error> {
    let env = chosen_environment(spec, opts)?;
    let mut loaded = inputs::load(spec, env, &opts.limits, opts.layouts)?;
    if spec.output.merged {
        let (_, out_dir, _) = inputs::output_folder(spec, opts, env);
        loaded.last_merged = crate::plan::provenance::last_merged(&out_dir, opts, &loaded);
    }
    Ok(loaded)
}

/// The digests of loaded inputs, as a plan records them.
pub fn input_digests(
    loaded: &inputs::Loaded,
    hooks: BTreeMap<String, crate::digest::Digest>,
) -> InputDigests {
    InputDigests {
        hooks,
        sources: loaded
            .sources
            .iter()
            .map(|s| (s.shown.clone(), digests_of(&s.package)))
            .collect(),
        target: loaded.target.as_ref().map(|t: &Input| TargetDigests {
            path: t.shown.clone(),
            entries: digests_of(&t.package),
        }),
    }
}

/// Computes the plan of `spec` on inputs already loaded by [`load_inputs`]; every output
/// carries its promotion record.
pub fn compute_loaded(
    spec: &Spec,
    opts: &PlanOptions,
    env_lookup: &EnvLookup,
    loaded: inputs::Loaded,
) -> Result<Planned, Error> {
    let mut planned = plan_loaded(spec, opts, env_lookup, loaded)?;
    crate::plan::provenance::stamp(&mut planned);
    Ok(planned)
}

fn plan_loaded(
    spec: &Spec,
    opts: &PlanOptions,
    env_lookup: &EnvLookup,
    mut loaded: inputs::Loaded,
) -> Result<Planned, Error> {
    let env = chosen_environment(spec, opts)?;
    let read = super::environ::read(spec, env, env_lookup)?;
    let env_lookup: &EnvLookup = &|n: &str| read.lookup(n);
    let platforms = platforms_of(opts, &loaded)?;
    check_spec(spec, &platforms)?;
    if let Some(planner) = own_planner(&platforms, &loaded)? {
        let input = PlanInput {
            spec,
            opts,
            env,
            read: &read,
        };
        return planner(&input, loaded);
    }
    let (target_names, mut warnings) = target_names(&loaded);
    let secrets = secrets_of(&read, opts, &platforms, &loaded, env, env_lookup)?;
    let hooks = make_host(spec, opts, env, &loaded, &target_names, &secrets)?;
    // Names may not hold what the spec's environment provides; a credential found in a
    // package is masked, but another team's package cannot fail an asset through it.
    let identity = read.secrets.clone();
    let hooks = hooks.as_ref();
    let mut transformed: Vec<_> = loaded
        .sources
        .par_iter_mut()
        .zip(platforms.par_iter())
        .with_max_len(1)
        .map(|(s, platform)| {
            let mut sel = select(spec, &s.package, &s.shown, &target_names);
            platform.adjust_selection(spec, &s.package.assets, &mut sel, &s.shown);
            let matched = sel.matched.clone();
            let assets = std::mem::take(&mut s.package.assets);
            let run = Run {
                spec,
                env,
                env_lookup,
                hooks,
                platform: *platform,
                secrets: &secrets,
            };
            (transform(&run, assets, &s.shown, sel), matched)
        })
        .collect();
    let loaded = &loaded;
    check_matches(spec, opts, env, loaded, &mut transformed, &mut warnings)?;
    let mut existing = target_names.clone();
    let mut items: Vec<Vec<Item>> = Vec::with_capacity(transformed.len());
    let mut logs = Vec::new();
    for ((t, _), s) in transformed.into_iter().zip(&loaded.sources) {
        warnings.extend(t.warnings);
        logs.extend(t.logs.into_iter().map(|(key, script, line)| {
            let line = crate::secrets::credentials::mask_text(&line).unwrap_or(line);
            Note::new("hook.log", format!("{script}: {line}"))
                .asset(&key)
                .package(&s.shown)
        }));
        items.push(t.items);
    }
    let abort = resolve_all(
        spec,
        env,
        hooks,
        loaded,
        &platforms,
        &mut items,
        &mut existing,
        &mut warnings,
    );
    let shown: Vec<&str> = loaded.sources.iter().map(|s| s.shown.as_str()).collect();
    crate::plan::unfollowed::warn(&spec.kinds, &items, &shown, &mut warnings);
    let hook_digests = hooks.map(HookHost::digests).unwrap_or_default();
    let resolved = Resolved {
        items,
        warnings,
        logs,
        abort,
        hook_digests,
        secrets,
        identity,
        env_vars: read.names_set(),
    };
    build(spec, opts, env, loaded, resolved)
}

/// What the sources' platforms refuse in the spec, every problem at its line.
fn check_spec(spec: &Spec, platforms: &[&'static dyn Platform]) -> Result<(), Error> {
    let mut seen = Vec::new();
    let mut diagnostics = Vec::new();
    for p in platforms {
        if !seen.contains(&p.layout()) {
            seen.push(p.layout());
            diagnostics.extend(p.check_spec(spec));
        }
    }
    if diagnostics.is_empty() {
        return Ok(());
    }
    diagnostics.sort_by_key(|d| d.span.map(|s| s.start));
    Err(Error::Spec(crate::spec::SpecErrors {
        path: spec.path.clone(),
        text: std::sync::Arc::clone(&spec.text),
        diagnostics,
    }))
}

/// The platform of every source: one layout for the sources and the target.
fn platforms_of(
    opts: &PlanOptions,
    loaded: &inputs::Loaded,
) -> Result<Vec<&'static dyn Platform>, Error> {
    if let Some(t) = &loaded.target {
        for s in &loaded.sources {
            if s.package.layout != t.package.layout {
                return Err(Error::Usage(format!(
                    "{} is a {} package but the target {} is {}; promote one layout per spec",
                    s.shown, s.package.layout, t.shown, t.package.layout
                )));
            }
        }
    }
    loaded
        .sources
        .iter()
        .map(|s| platform_of(opts.platforms, s.package.layout))
        .collect()
}

/// The planner of its own of the sources' platform, if it has one: such a platform plans
/// alone, so every source must be of its layout.
fn own_planner(
    platforms: &[&'static dyn Platform],
    loaded: &inputs::Loaded,
) -> Result<Option<super::platform::Planner>, Error> {
    let Some((i, planner)) = platforms
        .iter()
        .enumerate()
        .find_map(|(i, p)| p.planner().map(|f| (i, f)))
    else {
        return Ok(None);
    };
    let layout = loaded.sources[i].package.layout;
    if let Some(other) = loaded.sources.iter().find(|s| s.package.layout != layout) {
        return Err(Error::Usage(format!(
            "{} is a {} package, and {} packages are promoted alone: put {} in a spec of its own",
            other.shown, other.package.layout, layout, other.shown
        )));
    }
    Ok(Some(planner))
}

/// What the target holds by kind and name, assets that could not be read included (each a
/// warning).
fn target_names(loaded: &inputs::Loaded) -> (Names, Vec<Note>) {
    let mut target_names = Names::default();
    let mut warnings = Vec::new();
    if let Some(t) = &loaded.target {
        for a in &t.package.assets {
            target_names.add(&a.key.kind, &a.key.name);
        }
        for f in &t.package.failures {
            let (kind, name, _) = parse_failure_key(&f.asset);
            target_names.add(&kind, &name);
            warnings.push(
                Note::new(
                    "target.unreadable",
                    format!("target asset {} could not be read: {}", f.asset, f.message),
                )
                .package(&t.shown),
            );
        }
    }
    (target_names, warnings)
}

/// Every value the plan may not show: the environment's secrets, and what the platforms find
/// in the packages (enebular credentials in sourceCode), masked wherever a hook could echo
/// them; so are those the environment's overrides put into such fields.
fn secrets_of(
    read: &super::environ::EnvRead,
    opts: &PlanOptions,
    platforms: &[&'static dyn Platform],
    loaded: &inputs::Loaded,
    env: Option<&crate::spec::Environment>,
    env_lookup: &EnvLookup,
) -> Result<crate::secrets::Secrets, Error> {
    let mut secrets = read.secrets.clone();
    let of_target = loaded
        .target
        .iter()
        .map(|t| platform_of(opts.platforms, t.package.layout).map(|p| (p, t)))
        .collect::<Result<Vec<_>, _>>()?;
    let inputs: Vec<(super::platform::SecretsFinder, &Input)> = platforms
        .iter()
        .zip(&loaded.sources)
        .chain(of_target.iter().map(|(p, t)| (p, *t)))
        .filter_map(|(p, input)| Some((p.secrets_finder()?, input)))
        .collect();
    // The documents are parsed on every thread (one big package too); the secrets are added
    // in input and asset order.
    let found: Vec<Vec<String>> = inputs
        .par_iter()
        .map(|(find, input)| {
            let assets = &input.package.assets;
            assets
                .par_iter()
                .flat_map_iter(|a| find(&a.meta()))
                .collect()
        })
        .collect();
    found.into_iter().flatten().for_each(|c| secrets.add(c));
    let vars = env.map(|e| e.vars.clone()).unwrap_or_default();
    for set in env.iter().flat_map(|e| &e.overrides).flat_map(|o| &o.set) {
        if let Ok(v) = set.value.render(&vars, env_lookup) {
            let doc = crate::model::pointer::document_with(&set.pointer, v);
            for find in platforms.iter().filter_map(|p| p.secrets_finder()) {
                find(&doc).into_iter().for_each(|c| secrets.add(c));
            }
        }
    }
    Ok(secrets)
}

/// Overrides that match no selected asset and unset variables are spec errors; `select`
/// rules that match nothing are warnings.
fn check_matches(
    spec: &Spec,
    opts: &PlanOptions,
    env: Option<&crate::spec::Environment>,
    loaded: &inputs::Loaded,
    transformed: &mut [(super::transform::Transformed, Vec<bool>)],
    warnings: &mut Vec<Note>,
) -> Result<(), Error> {
    let mut diags = Vec::new();
    // An asset that could not be read is selected by no rule, nor is what it depends on: an
    // override that matches nothing may be why, and the run stops before the plan that would
    // list it, so the error names it.
    let unread: Vec<(&str, &crate::package::AssetFailure)> = loaded
        .sources
        .iter()
        .flat_map(|s| s.package.failures.iter().map(|f| (s.shown.as_str(), f)))
        .collect();
    let unread_help = unread.first().map(|(shown, f)| {
        format!(
            "{} asset(s) could not be read, so nothing they depend on was selected through them; the first: {} in {shown} ({}: {})",
            unread.len(),
            f.asset,
            f.code,
            f.message
        )
    });
    if let Some(env) = env {
        for (i, o) in env.overrides.iter().enumerate() {
            if !transformed
                .iter()
                .any(|(t, _)| t.matched_overrides.contains(&i))
            {
                diags.push(
                    Diagnostic::new(
                        "override.unmatched",
                        Some(o.selector.span),
                        format!(
                            "this override of environment {} matches no selected asset",
                            opts.env.as_deref().unwrap_or("")
                        ),
                    )
                    .help(unread_help.clone()),
                );
            }
        }
    }
    for (t, _) in transformed.iter_mut() {
        diags.append(&mut t.env_errors);
    }
    if !diags.is_empty() {
        diags.sort_by_key(|d| d.span.map(|s| s.start));
        diags.dedup();
        return Err(Error::Spec(SpecErrors {
            path: spec.path.clone(),
            text: spec.text.clone(),
            diagnostics: diags,
        }));
    }
    if let Some(rules) = &spec.select {
        for (i, r) in rules.iter().enumerate() {
            if !transformed
                .iter()
                .any(|(_, m)| m.get(i).copied().unwrap_or(false))
            {
                warnings.push(Note::new(
                    "select.unmatched",
                    format!(
                        "select[{i}] (line {}) matches no asset in any source",
                        r.span.start.line
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Resolves every package in order against the target and the packages before it: the
/// reason to abort, if a policy says so.
#[allow(clippy::too_many_arguments)]
fn resolve_all(
    spec: &Spec,
    env: Option<&crate::spec::Environment>,
    hooks: Option<&HookHost>,
    loaded: &inputs::Loaded,
    platforms: &[&'static dyn Platform],
    items: &mut [Vec<Item>],
    existing: &mut Names,
    warnings: &mut Vec<Note>,
) -> Option<Note> {
    let mut work: Vec<Work<'_>> = loaded
        .sources
        .iter()
        .zip(items.iter_mut())
        .zip(platforms)
        .map(|((s, items), platform)| Work {
            shown: &s.shown,
            platform: *platform,
            items,
        })
        .collect();
    let mut target_assets = TargetAssets::new();
    if let Some(t) = &loaded.target {
        for a in &t.package.assets {
            target_assets
                .entry((a.key.kind.clone(), a.key.name.clone()))
                .or_insert(a);
        }
    }
    let ctx = Ctx {
        spec,
        hooks,
        target: &target_assets,
        override_data_sources: env
            .and_then(|e| e.override_data_sources)
            .or(spec.roma.as_ref().map(|r| r.override_data_sources))
            .unwrap_or(false),
        has_target: loaded.target.is_some(),
    };
    let (abort, roma_warnings) = resolve(&ctx, &mut work, existing);
    warnings.extend(roma_warnings);
    crate::plan::unchanged::mark_unchanged(items, &target_assets);
    // Every action is final now: what the operator does after import follows from them.
    for ((items, platform), s) in items.iter_mut().zip(platforms).zip(&loaded.sources) {
        crate::plan::after_import::instance_data(&spec.kinds, items, &s.shown);
        platform.after_import(items, &s.shown);
    }
    // A merged state of an earlier promotion says where it holds the secrets that
    // promotion wrote.
    let recorded = crate::plan::drift::recorded_secret_places(
        loaded
            .target
            .as_ref()
            .and_then(|t| t.package.manifest.as_ref()),
    );
    crate::plan::changes::attach(items, &target_assets, platforms, &recorded);
    abort
}

/// What resolution leaves for the plan to describe.
struct Resolved {
    items: Vec<Vec<Item>>,
    warnings: Vec<Note>,
    logs: Vec<Note>,
    abort: Option<Note>,
    hook_digests: BTreeMap<String, crate::digest::Digest>,
    /// What the plan may not show.
    secrets: crate::secrets::Secrets,
    /// What a name may not hold.
    identity: crate::secrets::Secrets,
    /// The process environment variables read and found set.
    env_vars: Vec<String>,
}

/// The target as it will be after importing every delta: its own assets, minus those
/// overwritten, plus everything created or overwritten.
fn merged_state(
    loaded: &inputs::Loaded,
    outputs: &[PackageOutput],
    out_dir: &std::path::Path,
    out_shown: &str,
    ext: &str,
) -> Result<PackageOutput, Error> {
    let like = loaded
        .target
        .as_ref()
        .or(loaded.sources.first())
        .map(|i| &i.package);
    let (layout, io) = match (&loaded.target, outputs.first()) {
        (Some(t), _) => (t.package.layout, t.package.io),
        (None, Some(o)) => (o.layout, o.io),
        (None, None) => {
            return Err(Error::Usage(
                "output.merged needs a target or a source to take its layout from".into(),
            ));
        }
    };
    if loaded.target.is_none()
        && let Some(o) = outputs.iter().find(|o| o.layout != layout)
    {
        return Err(Error::Usage(format!(
            "output.merged needs one layout, but {} is {} and the first source is {layout}",
            o.shown, o.layout
        )));
    }
    let mut by_key: BTreeMap<AssetKey, Asset> = BTreeMap::new();
    let mut replaced: std::collections::BTreeSet<(String, String)> =
        std::collections::BTreeSet::new();
    for o in outputs {
        for a in &o.assets {
            replaced.insert((a.key.kind.clone(), a.key.name.clone()));
        }
    }
    let mut extras = Vec::new();
    let mut project = None;
    if let Some(t) = &loaded.target {
        for a in &t.package.assets {
            if !replaced.contains(&(a.key.kind.clone(), a.key.name.clone())) {
                by_key.insert(a.key.clone(), a.clone());
            }
        }
        extras = t.package.extras.clone();
        project = t.package.project.clone();
    }
    for o in outputs {
        for a in &o.assets {
            let mut held = a.clone();
            io.as_held(&mut held);
            by_key.insert(a.key.clone(), held);
        }
        if project.is_none() {
            project = o.project.clone();
        }
    }
    let assets: Vec<Asset> = by_key.into_values().collect();
    let (name, file) = match like.and_then(|l| io.single_file(l, &assets)) {
        None => (format!("merged{ext}"), None),
        Some(Ok(f)) => (format!("merged.{}", f.extension), Some(f.bytes)),
        Some(Err(e)) => return Err(Error::Usage(format!("the merged target state: {e}"))),
    };
    Ok(PackageOutput {
        path: out_dir.join(&name),
        shown: join_shown(out_shown, &name),
        layout,
        io,
        project,
        assets,
        extras,
        file,
        promotion: None,
    })
}
