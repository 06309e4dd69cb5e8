//! What a plan counts: each action over the whole plan, and each asset once when the plan
//! holds several versions of one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Action, AssetPlan, PackagePlan};

/// Counts over the whole plan.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Assets created.
    pub create: usize,
    /// Assets overwritten.
    pub overwrite: usize,
    /// Assets the target already holds exactly as they would be written.
    pub unchanged: usize,
    /// Assets skipped.
    pub skip: usize,
    /// Assets failed.
    pub fail: usize,
    /// Assets renamed (by rules or conflict policies).
    pub renamed: usize,
    /// Warnings.
    pub warnings: usize,
    /// The same counts with each asset once, all its versions together (by its master's
    /// action), as enebular's result mail counts assets; only when an asset has several
    /// versions in the plan (the counts above count versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets: Option<AssetCounts>,
}

/// Counts of assets, each once whatever its number of versions.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct AssetCounts {
    /// Assets created.
    pub create: usize,
    /// Assets overwritten.
    pub overwrite: usize,
    /// Assets the target already holds as they would be written.
    pub unchanged: usize,
    /// Assets skipped.
    pub skip: usize,
    /// Assets failed.
    pub fail: usize,
    /// Assets renamed.
    pub renamed: usize,
}

impl Summary {
    /// The counts of `packages`' assets, with `warnings` warnings.
    pub fn of(packages: &[PackagePlan], warnings: usize) -> Summary {
        let mut versions = AssetCounts::default();
        for a in packages.iter().flat_map(|p| &p.assets) {
            versions.add(a);
        }
        Summary {
            create: versions.create,
            overwrite: versions.overwrite,
            unchanged: versions.unchanged,
            skip: versions.skip,
            fail: versions.fail,
            renamed: versions.renamed,
            warnings,
            assets: AssetCounts::of(packages),
        }
    }
}

impl AssetCounts {
    /// Each asset of `packages` once, by its master version (else its first version listed);
    /// `None` when no asset has more than one version.
    pub fn of(packages: &[PackagePlan]) -> Option<AssetCounts> {
        let mut by_asset: BTreeMap<(&str, &str, &str), Vec<&AssetPlan>> = BTreeMap::new();
        for p in packages {
            for a in &p.assets {
                by_asset
                    .entry((p.source.as_str(), a.kind.as_str(), a.name.as_str()))
                    .or_default()
                    .push(a);
            }
        }
        // Only a layout with versions (enebular) has an asset under two versions; KIE items
        // of one key and APIG duplicates are separate assets of one name, not versions.
        let versioned = by_asset
            .values()
            .any(|v| v.iter().any(|a| a.version != v[0].version));
        if !versioned {
            return None;
        }
        let mut c = AssetCounts::default();
        for versions in by_asset.values() {
            let a = versions
                .iter()
                .find(|a| a.version == crate::model::Version::Master)
                .unwrap_or(&versions[0]);
            c.add(a);
        }
        Some(c)
    }

    /// Counts `a` under its action (and as renamed, when a rename stands).
    pub fn add(&mut self, a: &AssetPlan) {
        match a.action {
            Action::Create => self.create += 1,
            Action::Overwrite => self.overwrite += 1,
            Action::Unchanged => self.unchanged += 1,
            Action::Skip => self.skip += 1,
            Action::Fail => self.fail += 1,
        }
        if !a.renames.is_empty() && a.action != Action::Fail {
            self.renamed += 1;
        }
    }
}
