//! enebular: project exports of flows, files and private nodes, byte-faithful, with the
//! platform's own import rules (master versions, hashed content, private nodes that exist,
//! credentials in `sourceCode` never shown).

pub mod layout;
pub mod resolve;
pub mod rules;
pub mod select;
pub mod tgz;

use std::sync::Arc;

use crate::archive::PackageError;
use crate::archive::source::Source;
use crate::archive::write::OutEntry;
use crate::model::{Asset, EntryRef};
use crate::package::{Layout, LayoutIo, Package};
use crate::plan::Note;
use crate::plan::platform::Platform;
use crate::plan::select::Selection;
use crate::plan::transform::Item;
use crate::spec::Spec;

/// The enebular platform.
#[derive(Debug)]
pub struct Enebular;

impl LayoutIo for Enebular {
    fn layout(&self) -> Layout {
        Layout::Enebular
    }

    fn detect(&self, source: &Source) -> bool {
        source
            .entries()
            .iter()
            .any(|e| layout::is_enebular_entry(&e.name))
    }

    fn read(&'static self, source: &Arc<Source>) -> Result<Package, PackageError> {
        layout::read(self, source)
    }

    fn entries(
        &self,
        project: Option<&str>,
        assets: &[Asset],
        extras: &[EntryRef],
    ) -> Result<Vec<OutEntry>, String> {
        layout::entries(project.unwrap_or("project"), assets, extras)
    }

    fn asset_of_entry(&self, entry: &str) -> Option<String> {
        layout::asset_of_entry(entry)
    }

    fn as_held(&self, asset: &mut Asset) {
        layout::as_held(asset);
    }

    fn names_are_paths(&self) -> bool {
        false
    }

    // Uploaded files and flow.json sit beside settings.json in each version's folder.
    fn reserved_payload_name(&self) -> Option<&'static str> {
        Some(layout::SETTINGS)
    }
}

impl Platform for Enebular {
    fn secrets_finder(&self) -> Option<crate::plan::platform::SecretsFinder> {
        Some(layout::credentials)
    }

    fn hides(&self, kind: &str, pointer: &str) -> bool {
        // `sourceCode` is a string in most exports but may be an object: every place inside
        // it is hidden too.
        layout::folder_of_kind(kind).is_some()
            && pointer
                .strip_prefix('/')
                .and_then(|p| p.strip_prefix(layout::SOURCE_CODE))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    fn adjust_selection(&self, spec: &Spec, assets: &[Asset], sel: &mut Selection, shown: &str) {
        select::adjust(spec, assets, sel, shown);
    }

    fn refuse(&self, spec: &Spec, items: &mut [Item]) {
        resolve::refuse_unsupported(spec, items);
    }

    fn target_checks<'a>(
        &self,
        ctx: &crate::plan::platform::Ctx<'a>,
    ) -> Option<Box<dyn crate::plan::platform::TargetChecks + 'a>> {
        Some(Box::new(rules::PackageNames::new(ctx.target)))
    }

    fn after_resolve(
        &self,
        spec: &Spec,
        items: &mut [Item],
        shown: &str,
        warnings: &mut Vec<Note>,
    ) {
        rules::refuse_overwrite(items);
        rules::refuse_label_edits(items);
        resolve::require_master(items);
        resolve::flag_hash_changes(spec, items, shown, warnings);
    }

    fn after_import(&self, items: &mut [Item], shown: &str) {
        rules::after_import(items, shown);
    }

    fn check_spec(&self, spec: &Spec) -> Vec<crate::spec::Diagnostic> {
        rules::check_spec(spec)
    }

    fn import_policy(
        &self,
        spec: &Spec,
        _kind: &str,
        _override_data_sources: bool,
    ) -> Option<crate::spec::Policy> {
        rules::import_policy(spec)
    }

    fn policy_source(&self, spec: &Spec, _kind: &str) -> Option<String> {
        rules::import_policy(spec)
            .map(|_| "enebular's import (a same-name asset becomes name_n)".into())
    }
}
