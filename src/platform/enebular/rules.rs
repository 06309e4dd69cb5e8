//! What an enebular import does with names, and the spec rules it cannot carry out.
//!
//! The import takes an asset's name from its master `settings.json` `title`, and a name the
//! project already has is imported as `name_1`, `name_2`, … (platform-docs/
//! enebular-asset-import-export.ja.txt, "Import機能の使い方": 同名のAssetが存在する場合には
//! 末尾に_nを付与). It never replaces an asset, and a title hoist changed would break the hash
//! the platform checks ("hash"; a modified export is refused). So: the platform's `_n` is the
//! default conflict rule, `overwrite` and other rename strategies are refused at their line,
//! and so are rename rules (an asset is renamed in the platform's screen after import).

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Version;
use crate::plan::platform::{TargetAssets, TargetChecks};

use crate::plan::transform::Item;
use crate::plan::{Action, Note};
use crate::spec::{Diagnostic, Policy, RenameStrategy, Spec};

/// The kinds of the enebular layout.
pub const KINDS: [&str; 3] = ["flow", "file", "privatenode"];

/// The platform's own rule for a name the project already has: `name_1`, `name_2`, …
pub fn platform_rename() -> Policy {
    Policy::Rename(RenameStrategy::Counter {
        separator: "_".into(),
    })
}

fn covers_enebular(kinds: Option<&BTreeSet<String>>) -> bool {
    kinds.is_none_or(|k| KINDS.iter().any(|e| k.contains(*e)))
}

/// The rules of `spec` an enebular import cannot carry out.
pub fn check_spec(spec: &Spec) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in &spec.renames {
        if covers_enebular(rule.kinds.as_ref()) {
            out.push(
                Diagnostic::new(
                    "enebular.rename",
                    Some(rule.span),
                    "enebular takes an asset's name from its settings.json title, which hoist cannot change without breaking the hash the import checks",
                )
                .help(Some(
                    "rename the asset in enebular's screen after import, or limit the rule's kinds to other layouts' kinds".into(),
                )),
            );
        }
    }
    for (kinds, policy, span) in &spec.conflicts.written {
        if !covers_enebular(kinds.as_ref()) {
            continue;
        }
        let refused = match policy {
            Policy::Overwrite => Some(
                "an enebular import never replaces an asset: a name the project has is imported as name_1, name_2, …".to_string(),
            ),
            Policy::Rename(RenameStrategy::Counter { separator }) if separator == "_" => None,
            Policy::Rename(_) => Some(
                "enebular names a same-name asset name_1, name_2, … itself; hoist cannot give it another name".to_string(),
            ),
            _ => None,
        };
        if let Some(message) = refused {
            out.push(
                Diagnostic::new("enebular.conflict_policy", Some(*span), message).help(Some(
                    "use `rename` (the platform's own rule, the default), `skip` or `fail`".into(),
                )),
            );
        }
    }
    out
}

/// The platform's rule when the spec names no default and no rule for the kind.
pub fn import_policy(spec: &Spec) -> Option<Policy> {
    spec.conflicts.default_span.is_none().then(platform_rename)
}

/// An asset's labels are its tags (`tagTitles`), inside the hashed export: a hook that
/// changed them fails the asset rather than see the change silently dropped.
pub fn refuse_label_edits(items: &mut [Item]) {
    for it in items
        .iter_mut()
        .filter(|it| !it.failed() && !it.label_edits.is_empty())
    {
        it.fail(
            Note::new(
                "enebular.tags",
                "a hook changed the asset's labels, which are its tags (tagTitles in settings.json, part of the hashed export)",
            )
            .hint("change tags in enebular after import; a hook may read labels but not change them here"),
        );
    }
}

/// Private nodes clash by the package name inside their `.tgz`, not by title: the platform
/// refuses one whose package the project already has, whatever the conflict policy (a title
/// the project has, with another package, follows the `_n` rule like any asset).
pub struct PackageNames {
    /// Package names the target and earlier packages hold, with the asset that holds each.
    held: BTreeMap<String, String>,
}

impl PackageNames {
    /// The package names of the target's private nodes.
    pub fn new(target: &TargetAssets<'_>) -> Self {
        let held = target
            .values()
            .filter_map(|a| {
                a.facts
                    .get(super::layout::PACKAGE_NAME)
                    .map(|p| (p.clone(), a.key.name.clone()))
            })
            .collect();
        PackageNames { held }
    }
}

impl TargetChecks for PackageNames {
    fn package(&mut self, items: &mut [Item]) {
        for it in items.iter_mut().filter(|it| {
            !it.failed() && matches!(it.action, Some(Action::Create | Action::Overwrite))
        }) {
            let Some(package) = it.asset.facts.get(super::layout::PACKAGE_NAME).cloned() else {
                continue;
            };
            match self.held.get(&package) {
                // Another version of this same asset.
                Some(holder) if *holder == it.asset.key.name => {}
                Some(holder) => it.fail(
                    Note::new(
                        "enebular.privatenode_exists",
                        format!(
                            "a private node with the package name {package} already exists in the target ({holder:?})"
                        ),
                    )
                    .hint("the platform refuses it whatever the conflict policy; remove it from the target or exclude it"),
                ),
                None => {
                    self.held.insert(package, it.asset.key.name.clone());
                }
            }
        }
    }

    fn finish(self: Box<Self>) -> Vec<Note> {
        Vec::new()
    }
}

/// A conflict hook cannot make the platform replace an asset either: an overwrite it chose
/// fails the asset.
pub fn refuse_overwrite(items: &mut [Item]) {
    for it in items
        .iter_mut()
        .filter(|it| !it.failed() && it.action == Some(Action::Overwrite))
    {
        it.fail(
            Note::new(
                "enebular.overwrite",
                "an enebular import never replaces an asset: the project's asset stays and this one is imported as name_n",
            )
            .hint("answer rename, skip or fail from the conflict hook"),
        );
    }
}

/// The steps the platform needs after importing a flow that uses a private node (see
/// `layout::link_private_nodes`, which finds the use, and the platform's rule it cites):
/// register the node in the project, then save the flow again in the Web Flow Editor. One
/// step per flow written (its master) and private node it uses.
pub fn after_import(items: &mut [Item], shown: &str) {
    // Private nodes of this promotion, by source name: (name in the target, package).
    let mut nodes: BTreeMap<String, (Option<String>, String)> = BTreeMap::new();
    for it in items.iter().filter(|it| it.asset.key.kind == "privatenode") {
        let written = !it.failed() && matches!(it.action, Some(Action::Create | Action::Overwrite));
        let package = it
            .asset
            .facts
            .get(super::layout::PACKAGE_NAME)
            .cloned()
            .unwrap_or_default();
        let entry = nodes
            .entry(it.source_key.name.clone())
            .or_insert((None, package));
        if written && it.asset.key.version == Version::Master {
            entry.0 = Some(it.asset.key.name.clone());
        }
    }
    for it in items.iter_mut() {
        if it.asset.key.kind != "flow"
            || it.asset.key.version != Version::Master
            || it.failed()
            || !matches!(it.action, Some(Action::Create | Action::Overwrite))
        {
            continue;
        }
        let flow = it.asset.key.name.clone();
        for link in &it.asset.links {
            let (name, how) = match nodes.get(&link.name) {
                Some((Some(name), package)) => (
                    name,
                    format!("package {package}, imported by this promotion"),
                ),
                Some((None, package)) => (
                    &link.name,
                    format!("package {package}, not imported by this promotion"),
                ),
                None => (&link.name, "this promotion does not import it".to_string()),
            };
            it.after_import.push(
                Note::new(
                    "enebular.register_private_node",
                    format!(
                        "register private node {name:?} in the project ({how}), then open flow {flow:?} in the Web Flow Editor and save it again: it uses the node ({}) and cannot be deployed before both",
                        link.pointer
                    ),
                )
                .asset(&it.source_key)
                .package(shown),
            );
        }
    }
}
