//! ServiceComb KIE: configuration files (JSON or YAML) uploaded item by item, planned as the
//! KIE server's import performs them.

pub mod layout;
pub mod plan;

use std::sync::Arc;

use crate::archive::PackageError;
use crate::archive::source::Source;
use crate::archive::write::OutEntry;
use crate::model::{Asset, EntryRef};
use crate::package::{Layout, LayoutIo, Package};
use crate::plan::platform::{Planner, Platform};

/// The KIE platform.
#[derive(Debug)]
pub struct Kie;

impl LayoutIo for Kie {
    fn layout(&self) -> Layout {
        Layout::Kie
    }

    fn detect(&self, source: &Source) -> bool {
        source.is_file()
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
        Err("KIE files are written by the KIE upload, not entry by entry".into())
    }

    fn asset_of_entry(&self, _entry: &str) -> Option<String> {
        None
    }
}

impl Platform for Kie {
    fn planner(&self) -> Option<Planner> {
        Some(plan::plan)
    }
}
