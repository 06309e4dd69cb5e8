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

/// Every written enebular asset whose hashed content hoist changed: the platform checks a
/// hash it does not publish and refuses a modified export (platform-docs/
/// enebular-asset-import-export.ja.txt, 概要: ExportしたAssetを変更したファイルをImportすると
/// エラー; settings.json `hash`), so the asset fails, unless `capabilities.changed_content`
/// says the destination accepts it; then each is a warning.
pub fn flag_hash_changes(spec: &Spec, items: &mut [Item], shown: &str, warnings: &mut Vec<Note>) {
    for it in items
        .iter_mut()
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
        let what = what.join(", ");
        if spec.capabilities.changed_content {
            warnings.push(
                Note::new(
                    "enebular.hash_changed",
                    format!("{what} changed: the export's hash no longer matches its content"),
                )
                .asset(&it.source_key)
                .package(shown)
                .hint("capabilities.changed_content says the destination accepts modified exports; enebular's default is to refuse them"),
            );
        } else {
            let note = Note::new(
                "enebular.hash_changed",
                format!(
                    "{what} changed: the platform refuses an export whose hashed content was modified"
                ),
            );
            it.fail(note.hint(
                "values that differ per environment belong outside the exported asset (e.g. Node-RED environment variables); or change it on the platform and export again; set capabilities.changed_content: true only for a destination configured to accept modified exports",
            ));
        }
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
