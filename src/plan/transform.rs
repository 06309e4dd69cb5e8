//! Transform: strip non-portable fields, apply rename rules, rewrite every reference to a
//! renamed asset, and apply the environment's overrides.

use crate::diff::Change;
use crate::plan::FileChange;
use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde_json::Value;
use thin_vec::ThinVec;

use super::inputs::{EnvLookup, span_text};
use super::select::Selection;
use super::{Action, Note, OverrideStep, RefRewrite, RenameStep};
use crate::archive::names;
use crate::hooks::HookHost;
use crate::model::kinds::Kinds;
use crate::model::{Asset, AssetKey, Version, pointer};
use crate::spec::{Diagnostic, Environment, RenameOp, SetOp, Setting, Spec};

/// One selected asset on its way through the pipeline.
#[derive(Debug, Clone)]
pub struct Item {
    /// Kind, name and version in the source.
    pub source_key: AssetKey,
    /// The asset as it is now.
    pub asset: Asset,
    /// Renames, in order.
    pub renames: ThinVec<RenameStep>,
    /// Fields removed by `strip`.
    pub stripped: ThinVec<String>,
    /// Fields set by overrides.
    pub overrides: ThinVec<OverrideStep>,
    /// References rewritten to follow renames.
    pub references: ThinVec<RefRewrite>,
    /// Why it fails, once it does (boxed: few items fail).
    pub error: Option<Box<Note>>,
    /// References already unresolved before any transform (warned at selection).
    pub unresolved: BTreeSet<(String, String, String)>,
    /// The outcome, once resolved.
    pub action: Option<Action>,
    /// The script that dropped the asset, when a transform hook returned nil.
    pub dropped: Option<String>,
    /// Lines hooks logged for this asset: (script, line).
    pub logs: ThinVec<(String, String)>,
    /// What transform hooks changed in the document, field by field, each naming its hook.
    pub edits: ThinVec<Change>,
    /// What transform hooks changed in the labels (pointers into the labels), each naming its
    /// hook.
    pub label_edits: ThinVec<Change>,
    /// How the labels written differ from the target's (pointers into the labels).
    pub label_diff: ThinVec<Change>,
    /// The field-level difference the plan shows (see [`crate::plan::changes`]).
    pub diff: ThinVec<Change>,
    /// Payload files that differ from the target's.
    pub files: ThinVec<FileChange>,
    /// Steps on the platform after the import (see [`crate::plan::AssetPlan::after_import`]).
    pub after_import: ThinVec<Note>,
}

// Every item of a run lives until the plan is made (100,000 at once in the benchmark): what
// only some items have is boxed, and its lists are `ThinVec`s (one pointer, and no allocation
// while empty, as most of them stay), 8 bytes each where a `Vec` takes 24. A field that makes
// it larger should be weighed against that.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Item>() <= 488);

impl Item {
    /// Fails the item with `note` (the first failure is the one kept).
    pub fn fail(&mut self, note: Note) {
        if self.error.is_none() {
            self.error = Some(Box::new(note.asset(&self.source_key)));
        }
        self.action = Some(Action::Fail);
    }

    /// Whether it fails.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Gives back the room its lists grew into: every item of a run lives until the plan is
    /// made.
    fn shrink_to_fit(&mut self) {
        self.renames.shrink_to_fit();
        self.stripped.shrink_to_fit();
        self.overrides.shrink_to_fit();
        self.references.shrink_to_fit();
        self.logs.shrink_to_fit();
        self.edits.shrink_to_fit();
        self.label_edits.shrink_to_fit();
    }
}

/// The transformed assets of one package.
pub(super) struct Transformed {
    pub items: Vec<Item>,
    /// Lines rename hooks logged: (asset, script, line).
    pub logs: Vec<(AssetKey, String, String)>,
    pub warnings: Vec<Note>,
    pub matched_overrides: BTreeSet<usize>,
    pub env_errors: Vec<Diagnostic>,
}

/// A new name and the steps that made it, or why renaming failed.
type Renamed = Result<(String, Vec<RenameStep>), Note>;

/// One transformed item, the overrides it matched, its warnings and its spec-level errors.
type ItemResult = (Item, BTreeSet<usize>, Vec<Note>, Vec<Diagnostic>);

/// What rename rules make of a source name. `asset` is the asset (its first version) as a
/// rename hook sees it; logs of hooks go to `logs`. `names_are_paths`: the layout's names
/// are folder or file names (every layout's but enebular's).
fn rename_by_rules(
    spec: &Spec,
    asset: &Asset,
    hooks: Option<&HookHost>,
    logs: &mut Vec<(String, String)>,
    names_are_paths: bool,
) -> Result<(String, Vec<RenameStep>), Note> {
    let (kind, name) = (asset.key.kind.as_str(), asset.key.name.as_str());
    let mut cur = name.to_string();
    let mut steps = Vec::new();
    for rule in spec.renames.iter().filter(|r| r.applies(kind, name)) {
        let next = match &rule.op {
            RenameOp::Affix { prefix, suffix } => format!("{prefix}{cur}{suffix}"),
            RenameOp::Regex { re, to } => re.replace(&cur, to.as_str()).into_owned(),
            RenameOp::Hook(path) => {
                let script = path.to_string_lossy();
                let host = hooks.expect("a host exists when a spec names scripts");
                let mut view = asset.clone();
                view.key.name = cur.clone();
                match host.rename(&script, &view) {
                    Ok(out) => {
                        logs.extend(out.logs.into_iter().map(|l| (script.to_string(), l)));
                        out.value.unwrap_or_else(|| cur.clone())
                    }
                    Err(e) => {
                        return Err(Note::new(
                            e.code(),
                            crate::hooks::stage_message("rename", &script, &e.message),
                        ));
                    }
                }
            }
        };
        if next != cur {
            steps.push(RenameStep {
                from: cur.clone(),
                to: next.clone(),
                by: rule.describe(),
            });
            cur = next;
        }
    }
    // enebular names are titles, not folders: the platform takes any title, and no rule
    // renames one (a spec error), so there is nothing to check.
    if !names_are_paths && steps.is_empty() {
        return Ok((cur, steps));
    }
    check_name(&cur).map_err(|m| {
        Note::new(
            "rename.invalid_name",
            format!("renaming gives {cur:?}, which {m}"),
        )
        .hint("change the rename rules so every name stays a valid folder name")
    })?;
    Ok((cur, steps))
}

/// Whether a string inside `v` is one of `secrets`, whole (a `${env:NAME}` secret written as
/// the value): the place it is written to is then secret on both sides of the diff, since
/// what the target held there is most likely the secret's earlier value. A secret inside a
/// longer value (a URL's password) is masked by value, and the rest stays readable.
fn holds_secret(v: &Value, secrets: &crate::secrets::Secrets) -> bool {
    match v {
        Value::String(s) => secrets.is_one(s),
        Value::Array(a) => a.iter().any(|x| holds_secret(x, secrets)),
        Value::Object(m) => m.values().any(|x| holds_secret(x, secrets)),
        _ => false,
    }
}

/// Whether a generated name can be an asset name.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > 255 {
        return Err("is longer than 255 bytes".into());
    }
    names::check_segment_name(name).map_err(|p| format!("is not a valid name ({p})"))
}

/// New names by kind, then old name.
pub(super) type Moves = BTreeMap<String, BTreeMap<String, String>>;

fn moved_to<'a>(moves: &'a Moves, kind: &str, name: &str) -> Option<&'a String> {
    moves.get(kind).and_then(|m| m.get(name))
}

/// Points every reference of `asset` that names a renamed asset at its new name.
pub(super) fn rewrite_refs(
    kinds: &Kinds,
    asset: &mut Asset,
    renamed: &Moves,
) -> ThinVec<RefRewrite> {
    // Found once and kept: most documents name nothing that moved, and what is found here
    // is what the asset keeps when it is parked.
    let Ok(refs) = asset.kept_references(kinds) else {
        return ThinVec::new();
    };
    let out: Vec<(usize, RefRewrite)> = refs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let new = moved_to(renamed, &r.kind, &r.name)?;
            Some((
                i,
                RefRewrite {
                    pointer: r.pointer.clone(),
                    kind: r.kind.clone(),
                    from: r.name.clone(),
                    to: new.clone(),
                },
            ))
        })
        .collect();
    for (i, r) in &out {
        asset.retarget_reference(kinds, &r.pointer, *i, &r.to);
    }
    // Kept until the plan is made: collected to its length, no room for more.
    out.into_iter().map(|(_, r)| r).collect()
}

/// The name of a version promoted to master: its title (as the platform names the asset
/// after the version title), then the rename rules on that.
fn promoted_name(
    spec: &Spec,
    asset: &Asset,
    rule: usize,
    hooks: Option<&HookHost>,
    logs: &mut Vec<(String, String)>,
) -> Renamed {
    let meta = asset.meta();
    let Some(title) = meta
        .get("title")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return Err(Note::new(
            "enebular.promote_title",
            format!("promote[{rule}]: settings.json has no title to name the asset after"),
        ));
    };
    // The title is a name in the platform, not a folder: any text the platform took is one.
    let mut steps = Vec::new();
    if title != asset.key.name {
        steps.push(RenameStep {
            from: asset.key.name.clone(),
            to: title.to_string(),
            by: format!("promote[{rule}] (version title)"),
        });
    }
    let mut named = asset.clone();
    named.key.name = title.to_string();
    named.key.version = Version::Master;
    let (name, more) = rename_by_rules(spec, &named, hooks, logs, false)?;
    steps.extend(more);
    Ok((name, steps))
}

/// Keeps the document's own name field in step with a rename.
pub(super) fn sync_name_field(kinds: &Kinds, asset: &mut Asset, old: &str, new: &str) {
    let Some(field) = kinds
        .get(&asset.key.kind)
        .and_then(|r| r.name_field.clone())
    else {
        return;
    };
    let field = field.as_ref();
    if asset.value_at(field).as_ref().and_then(Value::as_str) == Some(old) {
        asset.set_at(kinds, field, Value::String(new.to_string()));
    }
}

/// What transforming a package consults besides its assets.
pub struct Run<'a> {
    /// The spec.
    pub spec: &'a Spec,
    /// The environment chosen with `--env`.
    pub env: Option<&'a Environment>,
    /// The process environment, as the run read it.
    pub env_lookup: &'a EnvLookup<'a>,
    /// The hook scripts, when the spec names any.
    pub hooks: Option<&'a HookHost>,
    /// The package's platform.
    pub platform: &'a dyn super::Platform,
    /// Every value the plan may not show (the environment's secrets, and what the platforms
    /// find): an override that writes one marks its place secret.
    pub secrets: &'a crate::secrets::Secrets,
}

/// What the rename rules (or promotion) make of every selected name, before any asset is
/// transformed: the new names, the hooks' logs, who claims each new name, and the moves.
struct Names {
    names: BTreeMap<(String, String), Renamed>,
    logs: Vec<(AssetKey, String, String)>,
    claims: BTreeMap<(String, String), Vec<String>>,
    renamed: Moves,
}

/// Renames every selected (kind, name) once, so all its versions move together.
fn new_names(run: &Run<'_>, assets: &[Asset], selection: &Selection) -> Names {
    let (spec, hooks) = (run.spec, run.hooks);
    let mut names: BTreeMap<(String, String), Renamed> = BTreeMap::new();
    let mut rename_logs = Vec::new();
    for &i in &selection.chosen {
        let k = &assets[i].key;
        let key = (k.kind.clone(), k.name.clone());
        if let std::collections::btree_map::Entry::Vacant(slot) = names.entry(key) {
            let mut logs = Vec::new();
            slot.insert(match selection.promoted.get(&i) {
                Some(&rule) => promoted_name(spec, &assets[i], rule, hooks, &mut logs),
                None => rename_by_rules(
                    spec,
                    &assets[i],
                    hooks,
                    &mut logs,
                    run.platform.names_are_paths(),
                ),
            });
            rename_logs.extend(
                logs.into_iter()
                    .map(|(script, line)| (k.clone(), script, line)),
            );
        }
    }
    // Two assets may not end up with one name.
    let mut claims: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for ((kind, name), r) in &names {
        let new = r.as_ref().map_or(name, |(n, _)| n);
        claims
            .entry((kind.clone(), new.clone()))
            .or_default()
            .push(name.clone());
    }
    let mut renamed = Moves::new();
    for ((k, n), r) in &names {
        if let Ok((new, _)) = r
            && new != n
        {
            renamed
                .entry(k.clone())
                .or_default()
                .insert(n.clone(), new.clone());
        }
    }
    Names {
        names,
        logs: rename_logs,
        claims,
        renamed,
    }
}

/// Transforms the selected assets of one package.
pub(super) fn transform(
    run: &Run<'_>,
    assets: Vec<Asset>,
    shown: &str,
    mut selection: Selection,
) -> Transformed {
    let (spec, env, env_lookup, hooks) = (run.spec, run.env, run.env_lookup, run.hooks);
    // The selected assets move through the pipeline; nothing is copied.
    let mut warnings = std::mem::take(&mut selection.warnings);
    let Names {
        names,
        logs: rename_logs,
        claims,
        renamed,
    } = new_names(run, &assets, &selection);
    let vars = env.map(|e| e.vars.clone()).unwrap_or_default();
    let mut pool: Vec<Option<Asset>> = assets.into_iter().map(Some).collect();
    let chosen: Vec<(usize, Asset)> = selection
        .chosen
        .iter()
        .map(|&i| (i, pool[i].take().expect("chosen once")))
        .collect();
    drop(pool);
    let results: Vec<ItemResult> = chosen
        .into_par_iter()
        .map(|(i, asset)| {
            let mut item = Item {
                source_key: asset.key.clone(),
                asset,
                renames: ThinVec::new(),
                stripped: ThinVec::new(),
                overrides: ThinVec::new(),
                references: ThinVec::new(),
                error: None,
                unresolved: selection.unresolved.get(&i).cloned().unwrap_or_default(),
                action: None,
                dropped: None,
                logs: ThinVec::new(),
                edits: ThinVec::new(),
                label_edits: ThinVec::new(),
                label_diff: ThinVec::new(),
                diff: ThinVec::new(),
                files: ThinVec::new(),
                after_import: ThinVec::new(),
            };
            if let Some(note) = selection.failures.get(&i) {
                item.fail(note.clone());
            }
            if selection.promoted.contains_key(&i) {
                item.asset.key.version = Version::Master;
            }
            // Edited as text while parked (each edit patches the text it touches); a step
            // that needs the tree (an override's element selector, a hook) builds it, and it
            // is parked again when done.
            let mut matched = BTreeSet::new();
            let mut notes = Vec::new();
            let mut env_errors = Vec::new();
            let key = (item.source_key.kind.clone(), item.source_key.name.clone());
            match &names[&key] {
                Err(note) => item.fail(note.clone()),
                Ok((new, steps)) => {
                    let claimants = &claims[&(key.0.clone(), new.clone())];
                    if claimants.len() > 1 {
                        item.fail(
                            Note::new(
                                "rename.collision",
                                format!(
                                    "would be named {}/{new}, as would {}",
                                    key.0,
                                    claimants
                                        .iter()
                                        .filter(|c| **c != key.1)
                                        .cloned()
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            )
                            .hint("make the rename rules give distinct names"),
                        );
                    }
                    item.renames = steps.iter().cloned().collect();
                    strip(spec, &mut item, shown, &mut notes);
                    item.references = rewrite_refs(&spec.kinds, &mut item.asset, &renamed);
                    if new != &key.1 {
                        sync_name_field(&spec.kinds, &mut item.asset, &key.1, new);
                        item.asset.key.name = new.clone();
                    }
                    if let Some(env) = env {
                        apply_overrides(
                            run,
                            env,
                            &vars,
                            env_lookup,
                            &mut item,
                            &mut matched,
                            &mut env_errors,
                        );
                    }
                    if let Some(host) = hooks
                        && !item.failed()
                    {
                        run_transform_hooks(run, host, &mut item);
                    }
                }
            }
            item.asset.park(&spec.kinds);
            item.shrink_to_fit();
            (item, matched, notes, env_errors)
        })
        .collect();
    let mut items = Vec::with_capacity(results.len());
    let mut matched_overrides = BTreeSet::new();
    let mut env_errors = Vec::new();
    for (item, matched, notes, errs) in results {
        items.push(item);
        matched_overrides.extend(matched);
        warnings.extend(notes);
        env_errors.extend(errs);
    }
    Transformed {
        items,
        logs: rename_logs,
        warnings,
        matched_overrides,
        env_errors,
    }
}

/// Runs the spec's `hooks:` on an item, in order; a hook returning nil drops it.
fn run_transform_hooks(run: &Run<'_>, host: &HookHost, item: &mut Item) {
    let spec = run.spec;
    for h in &spec.hooks {
        if h.kinds
            .as_ref()
            .is_some_and(|k| !k.contains(&item.source_key.kind))
        {
            continue;
        }
        // A hook reads the whole document, several times (its credentials, the conversion to
        // Lua, the changes it made): parsed once, here.
        item.asset.unpark();
        // The asset moves into the hook; what stays behind when it fails or is dropped only
        // needs its key.
        let labels_before = item.asset.labels_json();
        // The asset's credentials, to mask in the hook's error (the asset is gone by then).
        let mut credentials = Vec::new();
        crate::secrets::credentials::collect(&item.asset.meta(), &mut credentials);
        let placeholder = Asset::new(item.asset.key.clone(), Value::Null, None);
        let asset = std::mem::replace(&mut item.asset, placeholder);
        match host.transform_beside(&h.script, asset, run.platform.reserved_payload_name()) {
            Ok(out) => {
                item.logs
                    .extend(out.logs.into_iter().map(|l| (h.script.clone(), l)));
                let by = format!("hook {}", h.script);
                item.edits.extend(out.edits.into_iter().map(|c| Change {
                    by: Some(by.clone()),
                    ..c
                }));
                match out.value {
                    Some(a) => {
                        let labels = crate::diff::json(&labels_before, &a.labels_json());
                        item.label_edits.extend(labels.into_iter().map(|c| Change {
                            by: Some(by.clone()),
                            ..c
                        }));
                        item.asset = a;
                    }
                    None => {
                        item.dropped = Some(h.script.clone());
                        item.action = Some(Action::Skip);
                        return;
                    }
                }
            }
            Err(e) => {
                let mut message = crate::hooks::stage_message("transform", &h.script, &e.message);
                crate::secrets::Secrets::of_found(credentials).mask_in(&mut message);
                item.fail(Note::new(e.code(), message));
                return;
            }
        }
    }
}

fn strip(spec: &Spec, item: &mut Item, shown: &str, notes: &mut Vec<Note>) {
    let Some(pointers) = spec.strip.get(&item.source_key.kind) else {
        return;
    };
    for p in pointers {
        if item.asset.remove_at(&spec.kinds, p) {
            item.stripped.push(p.clone());
            notes.push(
                Note::new("strip.removed", format!("removed {p}"))
                    .asset(&item.source_key)
                    .package(shown),
            );
        }
    }
}

fn apply_overrides(
    run: &Run<'_>,
    env: &Environment,
    vars: &BTreeMap<String, String>,
    env_lookup: &EnvLookup,
    item: &mut Item,
    matched: &mut BTreeSet<usize>,
    env_errors: &mut Vec<Diagnostic>,
) {
    let spec = run.spec;
    let key = item.source_key.clone();
    for (i, o) in env.overrides.iter().enumerate() {
        if !o.selector.matches(&key.kind, &key.name, &item.asset.labels) {
            continue;
        }
        matched.insert(i);
        for s in &o.set {
            let at = span_text(spec, s.span);
            // An element selector picks by the elements' fields: the whole tree. Any other
            // pointer is checked on the path to its place, read from the text.
            if pointer::tokens(&s.pointer)
                .map_or(true, |t| t.iter().any(|t| pointer::selector(t).is_some()))
            {
                item.asset.unpark();
            }
            let doc = item.asset.view_along(&s.pointer);
            let ptr = match check_setting(&doc, s, &at) {
                Ok(p) => p,
                Err(note) => {
                    drop(doc);
                    item.fail(note);
                    continue;
                }
            };
            let value = match s.value.render(vars, env_lookup) {
                Ok(v) => v,
                Err(m) => {
                    env_errors.push(Diagnostic::new("spec.env", Some(s.value_span), m));
                    continue;
                }
            };
            // enebular sourceCode may hold credentials: its value is never shown, nor one
            // the override marks secret, nor one set at a credential's place, whatever its
            // type. Any other value is shown with the credentials inside it masked; the plan
            // is then masked as a whole with the run's secrets before anyone sees it.
            let hidden = s.secret
                || run.platform.hides(&key.kind, &ptr)
                || holds_secret(&value, run.secrets);
            let shown = crate::secrets::credentials::override_shown(&value, hidden, &ptr, &doc);
            let changes = pointer::get(&doc, &ptr) != Some(&value);
            drop(doc);
            item.overrides.push(OverrideStep {
                pointer: ptr.clone(),
                value: shown,
                at,
                op: s.op,
            });
            match s.op {
                SetOp::Set => {
                    if changes {
                        item.asset.set_at(&spec.kinds, &ptr, value);
                    }
                }
                SetOp::Add => {
                    // Checked above: the parent is an object without this member.
                    let _ = item.asset.add_at(&spec.kinds, &ptr, value);
                }
            }
        }
    }
}

/// Where an override writes in `doc`: its pointer with each element selector
/// (`[name=region]`) replaced by the index it picks. `set` needs the field, `add` needs its
/// parent object and no field yet. The failure names the field and the override.
pub(crate) fn check_setting(doc: &Value, s: &Setting, at: &str) -> Result<String, Note> {
    let ptr = pointer::select(doc, &s.pointer).map_err(|m| {
        Note::new(
            "override.no_match",
            format!("{m}, so {} selects nothing (override at {at})", s.pointer),
        )
        .hint("a selector [FIELD=VALUE] picks the one array element whose FIELD is VALUE; fix the value or narrow the override's selector")
    })?;
    let exists = pointer::get(doc, &ptr).is_some();
    match s.op {
        SetOp::Set if !exists => Err(Note::new(
            "override.missing_path",
            format!("has no field {} to set (override at {at})", s.pointer),
        )
        .hint("`set` only changes fields that exist; fix the pointer, narrow the override's selector, or use `add` for a new field")),
        SetOp::Add if exists => Err(Note::new(
            "override.exists",
            format!("already has {}, which `add` would not change (override at {at})", s.pointer),
        )
        .hint("`add` only adds fields the asset lacks; use `set` to change one it has")),
        SetOp::Add => {
            match pointer::get(doc, parent_of(&ptr)) {
                Some(Value::Object(_)) => Ok(ptr),
                _ => Err(Note::new(
                    "override.missing_path",
                    format!(
                        "has no object {} to add {} to (override at {at})",
                        parent_of(&ptr),
                        s.pointer
                    ),
                )
                .hint("`add` adds a member to an object the asset has; fix the pointer or narrow the override's selector")),
            }
        }
        SetOp::Set => Ok(ptr),
    }
}

/// The pointer of the object holding `pointer`'s member (`""` is the document).
fn parent_of(pointer: &str) -> &str {
    pointer.rsplit_once('/').map_or("", |(p, _)| p)
}
