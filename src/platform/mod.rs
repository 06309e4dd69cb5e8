//! Each platform's knowledge in a folder of its own, next to the documentation it follows:
//! how its packages are laid out ([`crate::package::LayoutIo`]) and what it adds to planning
//! ([`crate::plan::Platform`]). Adding a platform is one folder here, its entry in the lists
//! below, and its layout's name.
//!
//! - [`roma`]: ROMA Connect instance exports (the hoist layout);
//! - [`enebular`]: enebular project exports;
//! - [`kie`]: ServiceComb KIE configuration files;
//! - [`apig`]: APIG API definitions (OpenAPI files with `x-apigateway-*` extensions).

pub mod apig;
pub mod enebular;
pub mod kie;
pub mod roma;

use crate::package::{Layouts, LoadOptions};
use crate::plan::Platforms;

/// Every platform. Layout detection tries them in this order: a single file is an API
/// definition when it has `swagger` or `openapi` and `paths`, else a KIE file.
pub static ALL: Platforms = &[&apig::Apig, &kie::Kie, &roma::Roma, &enebular::Enebular];

/// Every platform's layout, in the same order.
pub static LAYOUTS: Layouts = &[&apig::Apig, &kie::Kie, &roma::Roma, &enebular::Enebular];

/// Options for planning with every platform (the rest as given by `..`).
pub fn plan_options() -> crate::plan::PlanOptions {
    crate::plan::PlanOptions {
        platforms: ALL,
        layouts: LAYOUTS,
        ..Default::default()
    }
}

/// Options for reading packages of any known layout.
pub fn load_options(limits: crate::archive::Limits) -> LoadOptions {
    LoadOptions {
        layouts: LAYOUTS,
        limits,
        layout: None,
        hashing: crate::package::Hashing::Documents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_has_its_layout_listed_once_in_the_same_order() {
        let a: Vec<_> = ALL.iter().map(|p| p.layout()).collect();
        let b: Vec<_> = LAYOUTS.iter().map(|l| l.layout()).collect();
        assert_eq!(a, b);
        let mut unique = a.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), a.len());
    }
}
