//! ServiceComb KIE configuration: the upload, as the KIE server performs it.
//!
//! Each source package is one upload, in path order, against the target's items plus what
//! earlier uploads left. Items are taken in file order; identity is the key with its exact
//! label set; duplicates inside one upload count. With `override`:
//! - `force` creates, or updates value and status only (value_type is not updated, an empty
//!   value keeps the old one);
//! - `skip` answers a duplicate with 400004 "skip overriding duplicate kvs";
//! - `abort` answers the first duplicate and every later item with 400005 "stop overriding
//!   kvs after reaching the duplicate kv"; what came before stays.
//!
//! A missing status means `disabled`, a missing value type `text`. An item the server would
//! refuse (key, sizes, status, value type, labels) fails with 400001 and the rest go on.

use std::collections::BTreeMap;
use thin_vec::ThinVec;

use serde_json::Value;

use super::layout::{KieFile, KieFormat, KvDoc, to_bytes};
use crate::error::Error;
use crate::model::{Version, pointer};
use crate::package::Layout;
use crate::plan::inputs::{EnvLookup, Loaded, join_shown, span_text, stem};
use crate::plan::platform::PlanInput;
use crate::plan::{
    Action, AssetPlan, KieFailure, KieUpload, Note, OverrideStep, Plan, Planned, RenameStep,
    Summary,
};
use crate::spec::{Diagnostic, Environment, RenameOp, SetOp, Spec};

mod server;
pub use server::{INVALID, SKIPPED, STOPPED, UploadResult, upload, validate};

/// Key and labels of an item document.
fn identity_of(
    doc: &serde_json::Map<String, Value>,
) -> Result<(String, BTreeMap<String, String>), String> {
    let key = doc
        .get("key")
        .and_then(Value::as_str)
        .ok_or("the item's key must stay a string")?
        .to_string();
    let mut labels = BTreeMap::new();
    match doc.get("labels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let v = v
                    .as_str()
                    .ok_or_else(|| format!("label {k} must stay a string"))?;
                labels.insert(k.clone(), v.to_string());
            }
        }
        Some(_) => return Err("the item's labels must stay a map of strings".into()),
    }
    Ok((key, labels))
}

/// What planning the items of every upload consults and collects.
struct Items<'a> {
    spec: &'a Spec,
    env: Option<&'a Environment>,
    vars: BTreeMap<String, String>,
    env_lookup: &'a EnvLookup<'a>,
    /// Which of the environment's overrides matched an item.
    matched: Vec<bool>,
    /// Spec errors found on the way (an unset variable).
    diags: Vec<Diagnostic>,
}

impl Items<'_> {
    /// Whether the spec takes `item`: the label filter, `select` and `exclude`.
    fn taken(&self, item: &KvDoc) -> bool {
        let spec = self.spec;
        if let Some((k, v)) = &spec.kie.only_label
            && item.labels.get(k) != Some(v)
        {
            return false;
        }
        spec.select.as_ref().is_none_or(|rules| {
            rules
                .iter()
                .any(|r| r.matches_map("config", &item.key, &item.labels))
        }) && !spec
            .exclude
            .iter()
            .any(|r| r.matches_map("config", &item.key, &item.labels))
    }

    /// Applies the rename rules to `kv`'s key, and says what each did.
    fn rename(&self, item: &KvDoc, kv: &mut KvDoc) -> Vec<RenameStep> {
        let mut renames = Vec::new();
        for rule in self
            .spec
            .renames
            .iter()
            .filter(|r| r.applies("config", &item.key))
        {
            let next = match &rule.op {
                RenameOp::Affix { prefix, suffix } => format!("{prefix}{}{suffix}", kv.key),
                RenameOp::Regex { re, to } => re.replace(&kv.key, to.as_str()).into_owned(),
                RenameOp::Hook(_) => kv.key.clone(),
            };
            if next != kv.key {
                renames.push(RenameStep {
                    from: kv.key.clone(),
                    to: next.clone(),
                    by: rule.describe(),
                });
                kv.key = next;
            }
        }
        kv.doc.insert("key".into(), Value::String(kv.key.clone()));
        renames
    }

    /// Applies the environment's overrides to `kv`: what was set, and why the item fails if it
    /// does (a field that is not there).
    fn set(&mut self, item: &KvDoc, kv: &mut KvDoc) -> (Vec<OverrideStep>, Option<Note>) {
        let mut overrides = Vec::new();
        let mut error = None;
        let overrides_of_env = self.env.map(|e| e.overrides.as_slice()).unwrap_or_default();
        for (i, o) in overrides_of_env.iter().enumerate() {
            if !o.selector.matches_map("config", &item.key, &item.labels) {
                continue;
            }
            self.matched[i] = true;
            for set in &o.set {
                let mut doc = Value::Object(std::mem::take(&mut kv.doc));
                let at = span_text(self.spec, set.span);
                let checked = crate::plan::transform::check_setting(&doc, set, &at);
                match (checked, set.value.render(&self.vars, self.env_lookup)) {
                    (_, Err(m)) => {
                        self.diags
                            .push(Diagnostic::new("spec.env", Some(set.value_span), m))
                    }
                    (Err(note), _) => {
                        error.get_or_insert(note);
                    }
                    (Ok(ptr), Ok(v)) => {
                        match set.op {
                            SetOp::Set => {
                                if let Some(slot) = pointer::get_mut(&mut doc, &ptr) {
                                    *slot = v.clone();
                                }
                            }
                            // A label, or any field the item lacks (e.g. `value_type`).
                            SetOp::Add => {
                                let _ = pointer::add(&mut doc, &ptr, v.clone());
                            }
                        }
                        // A value the override marks secret, or a credential item's value,
                        // is never shown; the plan is masked as a whole before anyone sees it.
                        overrides.push(OverrideStep {
                            value: crate::secrets::credentials::override_shown(
                                &v, set.secret, &ptr, &doc,
                            ),
                            pointer: ptr,
                            at,
                            op: set.op,
                        });
                    }
                }
                if let Value::Object(m) = doc {
                    kv.doc = m;
                }
            }
        }
        (overrides, error)
    }

    /// One upload: each item's plan, the items sent, and the server's `success` and `failure`
    /// lists; `state` becomes what the server holds after it.
    fn upload(
        &mut self,
        file: &KieFile,
        shown: &str,
        state: &mut Vec<KvDoc>,
        warnings: &mut Vec<Note>,
    ) -> (Vec<AssetPlan>, Vec<KvDoc>, Vec<Value>, Vec<KieFailure>) {
        let mut rows: Vec<(&KvDoc, AssetPlan, Option<KvDoc>)> = Vec::new();
        for item in &file.items {
            if !self.taken(item) {
                continue;
            }
            let (plan, kv) = self.item(item, shown);
            rows.push((item, plan, kv));
        }
        merged_by_rename(&mut rows, shown);
        let mut sent: Vec<KvDoc> = Vec::new();
        let mut plans: Vec<AssetPlan> = Vec::new();
        // For each plan row, the position of its item in the upload (none when it failed before).
        let mut sent_at: Vec<Option<usize>> = Vec::new();
        for (_, plan, kv) in rows {
            sent_at.push(kv.as_ref().map(|_| sent.len()));
            sent.extend(kv);
            plans.push(plan);
        }
        let results = upload(state, &sent, self.spec.kie.mode);
        let (success, failure, kept) =
            answer(&mut plans, &sent_at, &sent, results, shown, warnings);
        // An update that leaves the item as the server holds it is not sent: leaving it out
        // changes nothing the server holds (under `force` nothing after it depends on it).
        let sent = sent
            .into_iter()
            .zip(kept)
            .filter_map(|(kv, keep)| keep.then_some(kv))
            .collect();
        (plans, sent, success, failure)
    }

    /// The spec errors found on the way, and an override that matched no item: all at once.
    fn finish(&mut self) -> Result<(), Error> {
        let mut diags = std::mem::take(&mut self.diags);
        for (o, matched) in self
            .env
            .map(|e| e.overrides.as_slice())
            .unwrap_or_default()
            .iter()
            .zip(&self.matched)
        {
            if !matched {
                diags.push(Diagnostic::new(
                    "override.unmatched",
                    Some(o.selector.span),
                    "this override matches no selected item",
                ));
            }
        }
        if !diags.is_empty() {
            diags.sort_by_key(|d| d.span.map(|s| s.start));
            diags.dedup();
            return Err(Error::Spec(crate::spec::SpecErrors {
                path: self.spec.path.clone(),
                text: self.spec.text.clone(),
                diagnostics: diags,
            }));
        }
        Ok(())
    }

    /// The plan of one item and, unless it already fails, the item as it is uploaded.
    fn item(&mut self, item: &KvDoc, shown: &str) -> (AssetPlan, Option<KvDoc>) {
        let mut kv = item.clone();
        let renames = self.rename(item, &mut kv);
        let (mut overrides, mut error) = self.set(item, &mut kv);
        let stripped = server::strip_server_fields(&mut kv.doc);
        if error.is_none()
            && let Some((k, v)) = &self.spec.kie.add_label
            && server::add_label(&mut kv.doc, k, v)
        {
            overrides.push(OverrideStep {
                pointer: format!("/labels/{}", pointer::escape(k)),
                value: Value::String(v.clone()),
                at: "kie.add_label".into(),
                op: SetOp::Add,
            });
        }
        // Overrides may change the key or the labels: the identity follows the document.
        if error.is_none() {
            match identity_of(&kv.doc) {
                Ok((key, labels)) => {
                    kv.key = key;
                    kv.labels = labels;
                }
                Err(m) => error = Some(Note::new("kie.bad_item", m)),
            }
        }
        let plan = AssetPlan {
            kind: "config".into(),
            name: item.key.clone(),
            version: Version::None,
            labels: item.labels.clone(),
            action: Action::Create,
            output_name: kv.key.clone(),
            output_version: None,
            renames: renames.into(),
            stripped: stripped.into(),
            overrides: overrides.into(),
            references: ThinVec::new(),
            changed: kv.doc != item.doc,
            error: error
                .map(|e| Box::new(e.asset(format!("config/{}", item.shown())).package(shown))),
            dropped: None,
            diff: ThinVec::new(),
            files: ThinVec::new(),
            label_diff: ThinVec::new(),
            after_import: ThinVec::new(),
        };
        let sent = plan.error.is_none().then_some(kv);
        (plan, sent)
    }
}

/// Fails every item a rename or an override gives the identity (key and label set) of
/// another item of the same upload: the server would take the later one as a duplicate of
/// the earlier (updating it under `force`), so two source items would silently become one.
/// Items equal in the source file itself are left to the server's duplicate rule.
fn merged_by_rename(rows: &mut [(&KvDoc, AssetPlan, Option<KvDoc>)], shown: &str) {
    type Identity = (String, BTreeMap<String, String>);
    let mut by_identity: BTreeMap<Identity, Vec<usize>> = BTreeMap::new();
    for (i, (_, _, kv)) in rows.iter().enumerate() {
        if let Some(kv) = kv {
            by_identity
                .entry((kv.key.clone(), kv.labels.clone()))
                .or_default()
                .push(i);
        }
    }
    for idxs in by_identity.into_values() {
        let sources: std::collections::BTreeSet<(&String, &BTreeMap<String, String>)> = idxs
            .iter()
            .map(|&i| (&rows[i].0.key, &rows[i].0.labels))
            .collect();
        if sources.len() < 2 {
            continue;
        }
        let names: Vec<String> = idxs.iter().map(|&i| rows[i].0.shown()).collect();
        let target = rows[idxs[0]]
            .2
            .as_ref()
            .map(KvDoc::shown)
            .unwrap_or_default();
        for &i in &idxs {
            let (item, plan, kv) = &mut rows[i];
            *kv = None;
            plan.action = Action::Fail;
            plan.error = Some(Box::new(
                Note::new(
                    "kie.rename_collision",
                    format!(
                        "renames and overrides make {} one item, {target}; the server would keep only one",
                        names.join(" and ")
                    ),
                )
                .asset(format!("config/{}", item.shown()))
                .package(shown)
                .hint("change the rename rules or overrides so every item keeps its own key and labels"),
            ));
        }
    }
}

/// The server's answer to one upload, written into the items' plans: their actions, errors,
/// warnings and field-level differences, the `success` and `failure` lists, and for each item
/// sent whether it is still sent (an update that changes nothing is `unchanged` and is not).
fn answer(
    plans: &mut [AssetPlan],
    sent_at: &[Option<usize>],
    sent: &[KvDoc],
    results: Vec<UploadResult>,
    shown: &str,
    warnings: &mut Vec<Note>,
) -> (Vec<Value>, Vec<KieFailure>, Vec<bool>) {
    let mut success = Vec::new();
    let mut failure = Vec::new();
    let mut kept = vec![true; sent.len()];
    for (p, at) in plans.iter_mut().zip(sent_at) {
        let Some(at) = *at else {
            p.action = Action::Fail;
            continue;
        };
        let kv = &sent[at];
        match results[at].clone() {
            UploadResult::Created(mut v) => {
                p.action = Action::Create;
                // The lists are for people: a credential item's value is masked there (the
                // upload file carries it).
                crate::secrets::credentials::mask_inside(&mut v);
                success.push(v);
            }
            UploadResult::Updated { before, after } => {
                let diff = update_diff(p, kv, &before, &after);
                if diff.is_empty() {
                    p.action = Action::Unchanged;
                    kept[at] = false;
                    continue;
                }
                p.action = Action::Overwrite;
                p.diff = diff.into();
                let mut v = after;
                crate::secrets::credentials::mask_inside(&mut v);
                if kv.field("status").is_none_or(str::is_empty) {
                    warnings.push(
                        Note::new(
                            "kie.status_default",
                            "has no status: the server stores the updated item as disabled",
                        )
                        .asset(format!("config/{}", kv.shown()))
                        .package(shown),
                    );
                }
                success.push(v);
            }
            UploadResult::Failed(code, message, hint) => {
                p.action = Action::Fail;
                p.error = Some(Box::new(
                    Note::new(&format!("kie.{code}"), message.clone())
                        .asset(format!("config/{}", kv.shown()))
                        .package(shown)
                        .hint(hint),
                ));
                let mut labels = kv.labels.clone();
                for (k, v) in labels.iter_mut() {
                    *v = crate::secrets::credentials::shown_label(k, v).into_owned();
                }
                failure.push(KieFailure {
                    key: kv.key.clone(),
                    labels,
                    error_code: code,
                    error_message: message,
                });
            }
        }
    }
    (success, failure, kept)
}

/// How an update changes the item the server holds, field by field, each change credited to
/// the override that set it, to the server's default status (an item sent without `status`
/// is stored disabled), or to the source; credentials masked.
fn update_diff(
    p: &AssetPlan,
    kv: &KvDoc,
    before: &Value,
    after: &Value,
) -> Vec<crate::diff::Change> {
    let mut diff = crate::diff::json(before, after);
    for c in &mut diff {
        let by = match p
            .overrides
            .iter()
            .rev()
            .find(|o| crate::diff::touches(&c.pointer, &o.pointer))
        {
            Some(o) => format!("override at {}", o.at),
            None if c.pointer == "/status" && kv.field("status").is_none_or(str::is_empty) => {
                "server default (no status: disabled)".into()
            }
            None => "source".into(),
        };
        c.by = Some(by);
    }
    crate::plan::changes::mask_places(&mut diff, [Some(before), Some(after)], |pointer| {
        crate::plan::changes::secret_override(&p.overrides, pointer)
    });
    diff
}

/// The KIE file a package holds.
fn file_of(p: &crate::package::Package) -> Option<KieFile> {
    p.data
        .as_ref()
        .and_then(|d| d.downcast_ref::<KieFile>())
        .cloned()
}

/// What a KIE promotion cannot take: Lua hooks (the file's items are not documents a hook
/// edits) and a target that is not a KIE file.
fn refuse_unsupported(spec: &crate::spec::Spec, loaded: &Loaded) -> Result<(), Error> {
    if let Some((script, span)) = spec.scripts().first() {
        return Err(Error::Spec(spec.error_at(
            *span,
            "kie.hooks",
            format!("Lua hooks do not apply to KIE configuration ({script}); use select, rename and overrides"),
        )));
    }
    if loaded
        .target
        .as_ref()
        .is_some_and(|t| t.package.layout != Layout::Kie)
    {
        return Err(Error::Usage(
            "the sources are KIE files, so the target must be one too".into(),
        ));
    }
    Ok(())
}

/// Plans KIE uploads: every source of `loaded` is a KIE file, uploaded in path order against
/// the target's items and what earlier uploads left.
pub fn plan(input: &PlanInput<'_>, loaded: Loaded) -> Result<Planned, Error> {
    let (spec, opts, env, read) = (input.spec, input.opts, input.env, input.read);
    refuse_unsupported(spec, &loaded)?;
    let mode = spec.kie.mode;
    let target_file = loaded.target.as_ref().and_then(|t| file_of(&t.package));
    let io = loaded.sources[0].package.io;
    let env_lookup: &EnvLookup = &|n: &str| read.lookup(n);
    let mut items = Items {
        spec,
        env,
        vars: env.map(|e| e.vars.clone()).unwrap_or_default(),
        env_lookup,
        matched: vec![false; env.map_or(0, |e| e.overrides.len())],
        diags: Vec::new(),
    };
    let mut state: Vec<KvDoc> = target_file
        .as_ref()
        .map(|f| f.items.clone())
        .unwrap_or_default();
    let (mut warnings, mut packages, mut uploads, mut outputs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (out_shown, out_dir, out_base) = crate::plan::inputs::output_folder(spec, opts, env);
    let mut first_format = None;
    for s in &loaded.sources {
        let file = file_of(&s.package).expect("a KIE package holds its file");
        first_format.get_or_insert(file.format);
        let (plans, sent, success, failure) =
            items.upload(&file, &s.shown, &mut state, &mut warnings);
        // The import API takes a `fileName.json` ("Importing Configurations", Table 4):
        // JSON whatever the source's format, unless the spec asks for YAML.
        let upload_format = match spec.kie.upload_format {
            Some(crate::spec::KieUploadFormat::Yaml) => KieFormat::Yaml,
            _ => KieFormat::Json,
        };
        let name = format!("{}.{}", stem(&s.shown), upload_format.extension());
        let shown_out = join_shown(&out_shown, &name);
        packages.push(crate::plan::PackagePlan {
            source: s.shown.clone(),
            layout: Layout::Kie,
            output: shown_out.clone(),
            assets: plans,
        });
        uploads.push(KieUpload {
            package: s.shown.clone(),
            mode: mode.word().into(),
            success,
            failure,
        });
        outputs.push(crate::plan::PackageOutput {
            path: out_dir.join(&name),
            shown: shown_out,
            layout: Layout::Kie,
            io,
            project: None,
            assets: Vec::new(),
            extras: Vec::new(),
            file: Some(to_bytes(upload_format, file.metadata.as_ref(), &sent)),
            promotion: None,
        });
    }
    items.finish()?;
    let merged = spec.output.merged.then(|| {
        let format = target_file
            .as_ref()
            .map(|f| f.format)
            .or(first_format)
            .unwrap_or(KieFormat::Json);
        let name = format!("merged.{}", format.extension());
        let metadata = target_file.as_ref().and_then(|f| f.metadata.clone());
        crate::plan::PackageOutput {
            path: out_dir.join(&name),
            shown: join_shown(&out_shown, &name),
            layout: Layout::Kie,
            io,
            project: None,
            assets: Vec::new(),
            extras: Vec::new(),
            file: Some(to_bytes(format, metadata.as_ref(), &state)),
            promotion: None,
        }
    });
    crate::plan::inputs::check_output_names(spec, &packages, &outputs, merged.as_ref())?;
    warnings.sort();
    let summary = Summary::of(&packages, warnings.len());
    let plan = Plan {
        format: crate::plan::PLAN_FORMAT,
        generator: crate::archive::manifest::generator(),
        spec: crate::plan::SpecInfo {
            env_vars: read.names_set(),
            ..crate::plan::SpecInfo::of(spec, opts)
        },
        inputs: crate::plan::input_digests(&loaded, BTreeMap::new()),
        packages,
        merged: merged.as_ref().map(|m| m.shown.clone()),
        warnings,
        logs: Vec::new(),
        abort: None,
        summary,
        kie: uploads,
    };
    crate::secrets::remember(&read.secrets);
    let mut plan = plan;
    plan.mask(&read.secrets);
    Ok(Planned {
        plan,
        outputs,
        merged,
        out_dir,
        out_base,
        protected: crate::plan::inputs::protected(spec, &loaded),
        format: spec.output.format,
        abort_on_error: spec.on_error == crate::spec::OnError::Abort,
    })
}

#[cfg(test)]
mod tests;
