//! The operator's to-do list after an import: what the platform needs configured by hand
//! because its import does not carry it. The kind tables say which kinds hold instance data
//! (`KindRules::after_import`); platforms add their own steps (`Platform::after_import`).

use super::transform::Item;
use super::{Action, Note};
use crate::model::kinds::Kinds;

/// One step per asset created (not failed) of a kind whose rules name a step after import:
/// an asset the instance already has keeps the configuration it has there.
pub fn instance_data(kinds: &Kinds, items: &mut [Item], shown: &str) {
    for it in items.iter_mut() {
        if it.failed() || it.action != Some(Action::Create) {
            continue;
        }
        let Some(rules) = kinds.get(&it.asset.key.kind) else {
            continue;
        };
        if let Some(step) = rules.after_import_step(&it.asset.key.name) {
            it.after_import.push(
                Note::new(&format!("{}.instance_data", rules.platform), step)
                    .asset(&it.source_key)
                    .package(shown),
            );
        }
    }
}
