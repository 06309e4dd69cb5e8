//! What a plan counts: each action over the whole plan, and each asset once when the plan
//! holds several versions of one.

use std::collections::BTreeMap;

use rayon::prelude::*;
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
        // An asset is a source, kind and name: each source is counted on its own thread.
        let mut by_source: BTreeMap<&str, Vec<&PackagePlan>> = BTreeMap::new();
        for p in packages {
            by_source.entry(p.source.as_str()).or_default().push(p);
        }
        let sources: Vec<Vec<&PackagePlan>> = by_source.into_values().collect();
        // A source whose assets all have one version has no asset under two.
        let one_version = |ps: &[&PackagePlan]| {
            let mut all = ps.iter().flat_map(|p| &p.assets);
            all.next()
                .is_none_or(|first| all.all(|a| a.version == first.version))
        };
        if sources.par_iter().all(|ps| one_version(ps)) {
            return None;
        }
        let counted: Vec<(bool, AssetCounts)> =
            sources.par_iter().map(|ps| Self::of_source(ps)).collect();
        // Only a layout with versions (enebular) has an asset under two versions; KIE items
        // of one key and APIG duplicates are separate assets of one name, not versions.
        if !counted.iter().any(|(versioned, _)| *versioned) {
            return None;
        }
        let mut c = AssetCounts::default();
        for (_, one) in counted {
            c.create += one.create;
            c.overwrite += one.overwrite;
            c.unchanged += one.unchanged;
            c.skip += one.skip;
            c.fail += one.fail;
            c.renamed += one.renamed;
        }
        Some(c)
    }

    /// The assets of one source's packages, each once, and whether one has two versions.
    fn of_source(packages: &[&PackagePlan]) -> (bool, AssetCounts) {
        let mut by_asset: BTreeMap<(&str, &str), Vec<&AssetPlan>> = BTreeMap::new();
        for a in packages.iter().flat_map(|p| &p.assets) {
            by_asset
                .entry((a.kind.as_str(), a.name.as_str()))
                .or_default()
                .push(a);
        }
        let versioned = by_asset
            .values()
            .any(|v| v.iter().any(|a| a.version != v[0].version));
        let mut c = AssetCounts::default();
        for versions in by_asset.values() {
            let a = versions
                .iter()
                .find(|a| a.version == crate::model::Version::Master)
                .unwrap_or(&versions[0]);
            c.add(a);
        }
        (versioned, c)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Version;

    fn asset(kind: &str, name: &str, version: Version, action: Action) -> AssetPlan {
        AssetPlan::bare(kind, name, version, action)
    }

    fn package(source: &str, assets: Vec<AssetPlan>) -> PackagePlan {
        PackagePlan {
            source: source.into(),
            layout: crate::package::Layout::Hoist,
            output: format!("out/{source}"),
            assets,
        }
    }

    #[test]
    fn an_asset_is_its_source_kind_and_name_counted_by_its_master() {
        let versioned = package(
            "a.zip",
            vec![
                asset("flow", "f", Version::Number(1), Action::Skip),
                asset("flow", "f", Version::Master, Action::Create),
                asset("flow", "g", Version::Number(2), Action::Overwrite),
            ],
        );
        // The same kind and name in another source is another asset; two items of one name
        // and one version are counted once, by the first.
        let plain = package(
            "b.zip",
            vec![
                asset("flow", "f", Version::None, Action::Fail),
                asset("item", "k", Version::None, Action::Create),
                asset("item", "k", Version::None, Action::Skip),
            ],
        );
        let counts = AssetCounts::of(&[versioned, plain.clone()]).expect("versioned");
        assert_eq!(
            (counts.create, counts.overwrite, counts.skip, counts.fail),
            (2, 1, 0, 1)
        );
        // Sources of one version each hold no asset under two.
        assert_eq!(
            AssetCounts::of(&[plain.clone(), package("c.zip", vec![])]),
            None
        );
        let split = [
            package(
                "d.zip",
                vec![asset("flow", "f", Version::Number(1), Action::Skip)],
            ),
            package(
                "d.zip",
                vec![asset("flow", "f", Version::Master, Action::Create)],
            ),
        ];
        // Two plans of one source are one source.
        assert_eq!(
            AssetCounts::of(&split).map(|c| (c.create, c.skip)),
            Some((1, 0))
        );
    }
}
