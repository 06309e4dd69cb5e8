//! APIG (API Gateway, and ROMA Connect's API integration): API definitions as OpenAPI files
//! with `x-apigateway-*` extensions, imported into an existing API group.
//!
//! The import's rules (the APIG user guide, "Importing APIs"; the API reference, "Importing
//! APIs to an Existing API Group"): `mode` decides an API the group already has — `merge`
//! keeps the existing one, `override` replaces it; `extend_mode` decides the group's extended
//! definitions (access control and request throttling policies) the same way; two APIs of one
//! file with one name, or one method and path, import the first and fail the second. The
//! group itself is the file's: importing into a group that exists is the normal case.

pub mod layout;

use std::sync::Arc;

use serde_json::Value;

use crate::archive::PackageError;
use crate::archive::source::Source;
use crate::archive::write::OutEntry;
use crate::model::{Asset, EntryRef};
use crate::package::{Layout, LayoutIo, Package, SingleFile};
use crate::plan::platform::{Ctx, Platform, TargetChecks};
use crate::plan::transform::Item;
use crate::plan::{Action, Note};
use crate::spec::{ApigMode, Policy, Spec};

/// The group fields `extend_mode` decides.
const EXTENDED: [&str; 2] = ["x-apigateway-access-controls", "x-apigateway-ratelimits"];

/// The APIG platform.
#[derive(Debug)]
pub struct Apig;

impl LayoutIo for Apig {
    fn layout(&self) -> Layout {
        Layout::Apig
    }

    fn detect(&self, source: &Source) -> bool {
        source.is_file() && layout::looks_like(source)
    }

    fn read(&'static self, source: &Arc<Source>) -> Result<Package, PackageError> {
        layout::read(self, source)
    }

    fn entries(
        &self,
        _project: Option<&str>,
        _assets: &[Asset],
        _extras: &[EntryRef],
    ) -> Result<Vec<OutEntry>, String> {
        Err("an API definition is written as one file".into())
    }

    fn asset_of_entry(&self, _entry: &str) -> Option<String> {
        None
    }

    fn single_file(&self, like: &Package, assets: &[Asset]) -> Option<Result<SingleFile, String>> {
        Some(layout::write(like, assets))
    }
}

impl Platform for Apig {
    fn import_policy(&self, spec: &Spec, kind: &str, _: bool) -> Option<Policy> {
        match kind {
            // The file is the group: its definition goes in, the extended parts as
            // `extend_mode` says (see the target checks).
            "api_group" => Some(Policy::Overwrite),
            "api" => spec.apig.as_ref()?.mode.map(|m| match m {
                ApigMode::Merge => Policy::Skip,
                ApigMode::Override => Policy::Overwrite,
            }),
            _ => None,
        }
    }

    fn policy_source(&self, spec: &Spec, kind: &str) -> Option<String> {
        match kind {
            "api_group" => Some("apig (a file is imported into its group)".into()),
            "api" if spec.apig.as_ref().is_some_and(|a| a.mode.is_some()) => {
                Some("apig.mode".into())
            }
            _ => None,
        }
    }

    fn after_resolve(
        &self,
        _spec: &Spec,
        items: &mut [Item],
        _shown: &str,
        _warnings: &mut Vec<Note>,
    ) {
        // Two APIs of one file at one method and path: the first is imported.
        let mut seen: std::collections::BTreeMap<(String, String), String> =
            std::collections::BTreeMap::new();
        for it in items.iter_mut().filter(|it| {
            !it.failed()
                && it.asset.key.kind == "api"
                && matches!(it.action, Some(Action::Create | Action::Overwrite))
        }) {
            let mut f = it.asset.top_fields(&["method", "path"]).into_iter();
            let mut text = || match f.next().flatten() {
                Some(Value::String(s)) => s,
                _ => String::new(),
            };
            let at = (text(), text());
            match seen.get(&at) {
                Some(first) => {
                    let note = Note::new(
                        "apig.duplicate_path",
                        format!(
                            "{} {} is also {first}'s; the platform imports the first and fails this one",
                            at.0, at.1
                        ),
                    )
                    .hint("give each API its own method and path");
                    it.fail(note);
                }
                None => {
                    seen.insert(at, it.asset.key.name.clone());
                }
            }
        }
    }

    fn target_checks<'a>(&self, ctx: &Ctx<'a>) -> Option<Box<dyn TargetChecks + 'a>> {
        let keep = ctx
            .spec
            .apig
            .as_ref()
            .and_then(|a| a.extend_mode)
            .is_some_and(|m| m == ApigMode::Merge);
        Some(Box::new(Extended {
            keep,
            target: ctx.target,
        }))
    }
}

/// `extend_mode: merge`: the group keeps its own extended definitions, so the file written
/// (and the merged state) carries the target group's, not the source's.
struct Extended<'a> {
    keep: bool,
    target: &'a crate::plan::platform::TargetAssets<'a>,
}

impl TargetChecks for Extended<'_> {
    fn package(&mut self, items: &mut [Item]) {
        if !self.keep {
            return;
        }
        for it in items
            .iter_mut()
            .filter(|it| !it.failed() && it.asset.key.kind == "api_group")
        {
            let key = ("api_group".to_string(), it.asset.key.name.clone());
            let Some(existing) = self.target.get(&key) else {
                continue;
            };
            let theirs = existing.meta().get("document").cloned();
            let mine = it.asset.meta().get("document").cloned();
            let (Some(Value::Object(theirs)), Some(Value::Object(mut mine))) = (theirs, mine)
            else {
                continue;
            };
            let mut changed = false;
            for field in EXTENDED {
                let kept = theirs.get(field).cloned();
                if mine.get(field) != kept.as_ref() {
                    changed = true;
                    match kept {
                        Some(v) => {
                            mine.insert(field.to_string(), v);
                        }
                        None => {
                            mine.shift_remove(field);
                        }
                    }
                }
            }
            if changed {
                it.asset.meta_mut()["document"] = Value::Object(mine);
            }
        }
    }

    fn finish(self: Box<Self>) -> Vec<Note> {
        Vec::new()
    }
}
