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
    fn target_checks<'a>(&self, ctx: &Ctx<'a>) -> Option<Box<dyn TargetChecks + 'a>> {
        Some(Box::new(checks::State::new(ctx)))
    }
}
