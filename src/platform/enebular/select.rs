//! enebular's import rules that act on what is taken: a promoted version replaces the
//! asset's master, and a destination without versions takes master versions only.

use std::collections::BTreeMap;

use crate::model::{Asset, Version};
use crate::plan::Note;
use crate::plan::select::Selection;
use crate::spec::{PromoteVersion, Spec};

/// The version a promote rule names among the asset's versions, by asset index.
fn promoted_index(assets: &[Asset], versions: &[usize], wanted: PromoteVersion) -> Option<usize> {
    let numbered = versions
        .iter()
        .filter_map(|&i| match assets[i].key.version {
            Version::Number(n) => Some((n, i)),
            _ => None,
        });
    match wanted {
        PromoteVersion::Latest => numbered.max().map(|(_, i)| i),
        PromoteVersion::Number(n) => numbered.into_iter().find(|(m, _)| *m == n).map(|(_, i)| i),
    }
}

fn version_list(assets: &[Asset], idx: &[usize]) -> String {
    idx.iter()
        .map(|&i| assets[i].key.version.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies `promote` and `capabilities.versions` to the selection of one enebular package.
pub fn adjust(spec: &Spec, assets: &[Asset], sel: &mut Selection, shown: &str) {
    // Every version of each asset the selection touches, chosen or not.
    let mut all: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, a) in assets.iter().enumerate() {
        all.entry((a.key.kind.as_str(), a.key.name.as_str()))
            .or_default()
            .push(i);
    }
    let mut chosen: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for &i in &sel.chosen {
        let k = &assets[i].key;
        chosen
            .entry((k.kind.as_str(), k.name.as_str()))
            .or_default()
            .push(i);
    }
    let mut keep: Vec<usize> = Vec::new();
    for ((kind, name), picked) in &chosen {
        let a = &assets[picked[0]];
        let rule = spec
            .promote
            .iter()
            .position(|p| p.selector.matches(kind, name, &a.labels));
        let Some(r) = rule else {
            keep.extend(picked);
            continue;
        };
        let wanted = spec.promote[r].version;
        match promoted_index(assets, &all[&(*kind, *name)], wanted) {
            Some(i) => {
                keep.push(i);
                sel.promoted.insert(i, r);
                let others: Vec<usize> = all[&(*kind, *name)]
                    .iter()
                    .copied()
                    .filter(|&j| j != i)
                    .collect();
                let not_taken = if others.is_empty() {
                    String::new()
                } else {
                    format!("; not taken: {}", version_list(assets, &others))
                };
                let note = Note::new(
                    "enebular.promoted",
                    format!(
                        "version {} becomes master, named after its title (promote[{r}]){not_taken}",
                        assets[i].key.version
                    ),
                )
                .asset(&assets[i].key)
                .package(shown);
                sel.warnings.push(note);
            }
            None => {
                let what = match wanted {
                    PromoteVersion::Latest => "a numbered version".to_string(),
                    PromoteVersion::Number(n) => format!("version {n}"),
                };
                for &i in picked {
                    keep.push(i);
                    sel.failures.insert(
                        i,
                        Note::new(
                            "enebular.promote_missing",
                            format!(
                                "promote[{r}] takes {what}, but {kind}/{name} has {}",
                                version_list(assets, &all[&(*kind, *name)])
                            ),
                        ),
                    );
                }
            }
        }
    }
    keep.sort_unstable();
    if !spec.capabilities.versions {
        keep.retain(|&i| {
            let k = &assets[i].key;
            let take = k.version == Version::Master || sel.promoted.contains_key(&i);
            if !take {
                sel.warnings.push(
                    Note::new(
                        "enebular.versions_unsupported",
                        format!(
                            "version {} is not taken: the destination keeps master versions only",
                            k.version
                        ),
                    )
                    .asset(k)
                    .package(shown)
                    .hint(
                        "capabilities.versions is false; promote the version to take it as master",
                    ),
                );
            }
            take
        });
    }
    sel.chosen = keep;
}
