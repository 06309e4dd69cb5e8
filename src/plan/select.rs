//! Selection: which assets of a package the spec takes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::Note;
use crate::model::{AssetKey, Reference, Version};
use crate::package::Package;
use crate::spec::{Selector, Spec};

/// What the target holds, by kind and name. Resolution asks it of every name it writes and
/// adds each, one package after another on one thread, so it is hashed (foldhash, seeded at
/// random per set, so names a package chose cannot be made to collide); it is never iterated
/// but through [`Names::sorted`], so no hash order reaches an output.
#[derive(Debug, Default, Clone)]
pub struct Names(HashMap<String, HashSet<String, RandomState>, RandomState>);

type RandomState = foldhash::quality::RandomState;

impl Names {
    /// Every kind and name, in order.
    pub fn sorted(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.0
            .iter()
            .map(|(kind, names)| (kind.clone(), names.iter().cloned().collect()))
            .collect()
    }

    /// Whether an asset of this kind and name is there.
    pub fn has(&self, kind: &str, name: &str) -> bool {
        self.0.get(kind).is_some_and(|n| n.contains(name))
    }

    /// Records a kind and name.
    pub fn add(&mut self, kind: &str, name: &str) {
        // The kind is copied only the first time it is seen: resolution adds every name
        // written, one package after another, on one thread.
        match self.0.get_mut(kind) {
            Some(names) => {
                names.insert(name.to_string());
            }
            None => {
                let mut names = HashSet::default();
                names.insert(name.to_string());
                self.0.insert(kind.to_string(), names);
            }
        }
    }
}

/// The assets taken from one package.
#[derive(Debug, Default)]
pub struct Selection {
    /// Indices into the package's assets, in order.
    pub chosen: Vec<usize>,
    /// References leaving the selection that the target does not satisfy either, per asset
    /// index: `(pointer, kind, name)`.
    pub unresolved: BTreeMap<usize, BTreeSet<(String, String, String)>>,
    /// Warnings.
    pub warnings: Vec<Note>,
    /// Which `select` rules matched something.
    pub matched: Vec<bool>,
    /// Versions promoted to master, by asset index: the promote rule's index.
    pub promoted: BTreeMap<usize, usize>,
    /// Chosen assets that fail before any transform, by asset index.
    pub failures: BTreeMap<usize, Note>,
}

fn version_ok(sel: &Selector, key: &AssetKey, latest: &BTreeMap<(&str, &str), u64>) -> bool {
    if key.version == Version::None {
        return true;
    }
    let top = latest.get(&(key.kind.as_str(), key.name.as_str())).copied();
    sel.versions.takes(key.version, top)
}

/// Selects the assets of `pkg` that `spec` takes.
pub fn select(spec: &Spec, pkg: &Package, shown: &str, target: &Names) -> Selection {
    let assets = &pkg.assets;
    let mut latest: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut by_name: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, a) in assets.iter().enumerate() {
        by_name
            .entry((a.key.kind.as_str(), a.key.name.as_str()))
            .or_default()
            .push(i);
        if let Version::Number(n) = a.key.version {
            let top = latest
                .entry((a.key.kind.as_str(), a.key.name.as_str()))
                .or_insert(n);
            *top = (*top).max(n);
        }
    }
    let hits = |sel: &Selector, i: usize| {
        let a = &assets[i];
        sel.matches(&a.key.kind, &a.key.name, &a.labels) && version_ok(sel, &a.key, &latest)
    };
    let excluded: BTreeSet<usize> = (0..assets.len())
        .filter(|&i| spec.exclude.iter().any(|s| hits(s, i)))
        .collect();
    let mut matched = Vec::new();
    let mut chosen = BTreeSet::new();
    let mut seeds = Vec::new();
    match &spec.select {
        None => chosen.extend((0..assets.len()).filter(|i| !excluded.contains(i))),
        Some(rules) => {
            for rule in rules {
                let mut any = false;
                for i in 0..assets.len() {
                    if hits(rule, i) {
                        any = true;
                        if !excluded.contains(&i) {
                            chosen.insert(i);
                            if rule.with_dependencies {
                                seeds.push(i);
                            }
                        }
                    }
                }
                matched.push(any);
            }
        }
    }
    let refs: Vec<Vec<Reference>> = assets
        .iter()
        .map(|a| a.all_references(&spec.kinds).unwrap_or_default())
        .collect();
    let closure = reachable(assets, &refs, &by_name, seeds, true, |j| {
        !excluded.contains(&j)
    });
    chosen.extend(closure);
    let in_selection: BTreeSet<(&str, &str)> = chosen
        .iter()
        .map(|&i| (assets[i].key.kind.as_str(), assets[i].key.name.as_str()))
        .collect();
    let mut unresolved: BTreeMap<usize, BTreeSet<(String, String, String)>> = BTreeMap::new();
    let mut warnings = Vec::new();
    for &i in &chosen {
        for r in &refs[i] {
            if in_selection.contains(&(r.kind.as_ref(), r.name.as_str()))
                || target.has(&r.kind, &r.name)
                || spec.kinds.always_there(&r.kind, &r.name)
            {
                continue;
            }
            let in_package = by_name.contains_key(&(r.kind.as_ref(), r.name.as_str()));
            let mut note = Note::new(
                "select.unresolved_ref",
                format!(
                    "{} names {}/{}, which is neither selected nor in the target",
                    r.pointer, r.kind, r.name
                ),
            )
            .asset(&assets[i].key)
            .package(shown);
            note = if in_package {
                note.hint(format!(
                    "select {}/{} too, or use with_dependencies: true",
                    r.kind, r.name
                ))
            } else {
                note.hint("the package does not hold it either; the import may fail")
            };
            warnings.push(note);
            unresolved.entry(i).or_default().insert((
                r.pointer.to_string(),
                r.kind.to_string(),
                r.name.clone(),
            ));
        }
    }
    Selection {
        chosen: chosen.into_iter().collect(),
        unresolved,
        warnings,
        matched,
        promoted: BTreeMap::new(),
        failures: BTreeMap::new(),
    }
}

/// Assets by (kind, name).
pub type ByName<'a> = BTreeMap<(&'a str, &'a str), Vec<usize>>;

/// Every asset reachable from `seeds` (which are included): through the references each
/// makes, to the assets `by_name` finds, and with `owned_too` to the assets it owns. A reached
/// asset is taken, and walked from, only when `keep` says so.
pub fn reachable(
    assets: &[crate::model::Asset],
    refs: &[Vec<Reference>],
    by_name: &ByName<'_>,
    seeds: Vec<usize>,
    owned_too: bool,
    keep: impl Fn(usize) -> bool,
) -> BTreeSet<usize> {
    // Owners: (kind, name) of an owner → the assets it owns.
    let mut owned: ByName<'_> = BTreeMap::new();
    for (i, rs) in refs.iter().enumerate() {
        for r in rs.iter().filter(|r| r.owner) {
            owned
                .entry((r.kind.as_ref(), r.name.as_str()))
                .or_default()
                .push(i);
        }
    }
    let mut queue = seeds;
    let mut closure: BTreeSet<usize> = queue.iter().copied().collect();
    while let Some(i) = queue.pop() {
        let a = &assets[i];
        let forward = refs[i].iter().flat_map(|r| {
            by_name
                .get(&(r.kind.as_ref(), r.name.as_str()))
                .into_iter()
                .flatten()
        });
        let backward = owned
            .get(&(a.key.kind.as_str(), a.key.name.as_str()))
            .filter(|_| owned_too)
            .into_iter()
            .flatten();
        for &j in forward.chain(backward) {
            if keep(j) && closure.insert(j) {
                queue.push(j);
            }
        }
    }
    closure
}
