//! enebular's import rules once conflicts are resolved: what the destination does not accept,
//! the `master` every imported asset needs, and hashed content the platform will check.

use crate::plan::transform::Item;
use crate::plan::{Action, Note};
use crate::spec::Spec;

/// Fails the files and private nodes a destination does not accept.
pub fn refuse_unsupported(spec: &Spec, items: &mut [Item]) {
    let caps = spec.capabilities;
    for it in items.iter_mut().filter(|it| it.dropped.is_none()) {
        let (allowed, what, field) = match it.asset.key.kind.as_str() {
            "file" => (caps.files, "uploaded files", "files"),
            "privatenode" => (caps.privatenodes, "private nodes", "privatenodes"),
            _ => continue,
        };
        if !allowed {
            it.fail(
                Note::new(
                    "enebular.unsupported",
                    format!("the destination does not accept {what} (capabilities.{field}: false)"),
                )
                .hint(format!("exclude kind {} from this spec", it.asset.key.kind)),
            );
        }
    }
}

/// Warns about every written enebular asset whose hashed content hoist changed: the
/// platform checks a hash it does not publish, so it will refuse the asset.
pub fn flag_hash_changes(items: &[Item], shown: &str, warnings: &mut Vec<Note>) {
    for it in items
        .iter()
        .filter(|it| !it.failed() && matches!(it.action, Some(Action::Create | Action::Overwrite)))
    {
        let files: Vec<&str> = it
            .asset
            .files
            .iter()
            .filter(|(_, p)| !matches!(p, crate::model::Payload::Entry(_)))
            .map(|(name, _)| name.as_str())
            .collect();
        if !it.asset.is_edited() && files.is_empty() {
            continue;
        }
        let mut what: Vec<&str> = Vec::new();
        if it.asset.is_edited() {
            what.push(super::layout::SETTINGS);
        }
        what.extend(files);
        warnings.push(
            Note::new(
                "enebular.hash_changed",
                format!(
                    "{} changed: the platform rejects an export whose hashed content was modified",
                    what.join(", ")
                ),
            )
            .asset(&it.source_key)
            .package(shown)
            .hint("change it on the platform and export again, or leave it as exported"),
        );
    }
}

/// enebular imports every asset with its `master` version: an asset written without one
/// would be refused, so its versions fail here, with the way out.
pub fn require_master(items: &mut [Item]) {
    let mut with_master: std::collections::BTreeSet<(String, String)> =
        std::collections::BTreeSet::new();
    for it in items.iter() {
        if !it.failed() && it.asset.key.version == crate::model::Version::Master {
            with_master.insert((it.asset.key.kind.clone(), it.asset.key.name.clone()));
        }
    }
    for it in items.iter_mut() {
        let k = (it.asset.key.kind.clone(), it.asset.key.name.clone());
        if !it.failed()
            && matches!(it.action, Some(Action::Create | Action::Overwrite))
            && !with_master.contains(&k)
        {
            it.fail(
                Note::new(
                    "enebular.no_master",
                    format!(
                        "{}/{} would be written without its master version",
                        k.0, k.1
                    ),
                )
                .hint("select master too (versions: [master, latest])"),
            );
        }
    }
}
