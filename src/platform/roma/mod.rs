//! ROMA Connect: instance exports in the hoist layout, and the checks the instance makes on
//! import (data-source ids, function versions and aliases, API paths).

pub mod checks;
pub mod layout;

use std::sync::Arc;

use crate::archive::PackageError;
use crate::archive::source::Source;
use crate::archive::write::OutEntry;
use crate::model::{Asset, EntryRef};
use crate::package::{Layout, LayoutIo, Package};
use crate::plan::platform::Ctx;
use crate::plan::platform::{Platform, TargetChecks};
use crate::spec::{ImportMode, Policy, ROMA_ALPHABET, RenameStrategy, Spec};

/// The ROMA Connect platform.
#[derive(Debug)]
pub struct Roma;

impl LayoutIo for Roma {
    fn layout(&self) -> Layout {
        Layout::Hoist
    }

    fn detect(&self, source: &Source) -> bool {
        source
            .entries()
            .iter()
            .any(|e| e.name.starts_with("assets/"))
    }

    fn read(&'static self, source: &Arc<Source>) -> Result<Package, PackageError> {
        layout::read(self, source)
    }

    fn entries(
        &self,
        _project: Option<&str>,
        assets: &[Asset],
        extras: &[EntryRef],
    ) -> Result<Vec<OutEntry>, String> {
        Ok(layout::entries(assets, extras))
    }

    fn asset_of_entry(&self, entry: &str) -> Option<String> {
        layout::asset_of_entry(entry)
    }

    fn embeds_manifest(&self) -> bool {
        true
    }
}

impl Platform for Roma {
    // The import dialog's modes (roma-importing-and-exporting-assets.txt, "Importing
    // Assets"): Append keeps what the instance has; Overwrite replaces it, except data
    // sources unless "override the environment configurations" is chosen. Custom authorizer
    // names are unique per instance, so the instance appends random characters to a clashing
    // one whatever the mode.
    fn import_policy(
        &self,
        spec: &Spec,
        kind: &str,
        override_data_sources: bool,
    ) -> Option<Policy> {
        let roma = spec.roma.as_ref()?;
        match (roma.mode, kind) {
            (_, "authorizer") => Some(Policy::Rename(RenameStrategy::Random {
                length: 6,
                alphabet: ROMA_ALPHABET.chars().collect(),
                separator: "_".into(),
            })),
            (Some(ImportMode::Append), _) => Some(Policy::Skip),
            (Some(ImportMode::Overwrite), "data_source") if !override_data_sources => {
                Some(Policy::Skip)
            }
            (Some(ImportMode::Overwrite), _) => Some(Policy::Overwrite),
            (None, _) => None,
        }
    }

    fn policy_source(&self, spec: &Spec, kind: &str) -> Option<String> {
        let roma = spec.roma.as_ref()?;
        if kind == "authorizer" {
            Some("roma (authorizer names are unique per instance)".into())
        } else {
            roma.mode.map(|_| "roma.mode".into())
        }
    }

    fn target_checks<'a>(&self, ctx: &Ctx<'a>) -> Option<Box<dyn TargetChecks + 'a>> {
        Some(Box::new(checks::State::new(ctx)))
    }
}
