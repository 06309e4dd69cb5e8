//! No-op detection: an overwrite whose result is the target's asset exactly as it is (the same
//! kind, name and version, the same JSON value, the same labels, the same payload files byte
//! for byte) changes nothing on the platform, so it is `unchanged`: not written to the delta
//! and not counted as a change.

use rayon::prelude::*;

use super::Action;
use super::platform::TargetAssets;
use super::transform::Item;
use crate::digest::Digest;
use crate::model::{Asset, Payload};

/// Marks every overwrite of `items` that would write the target's asset as it already is.
pub fn mark_unchanged(items: &mut [Vec<Item>], target: &TargetAssets<'_>) {
    // Each comparison may parse two documents: they run on every thread.
    items.par_iter_mut().flatten().for_each(|it| {
        if it.failed() || it.action != Some(Action::Overwrite) {
            return;
        }
        let key = (it.asset.key.kind.clone(), it.asset.key.name.clone());
        if target
            .get(&key)
            .is_some_and(|old| same_asset(&it.asset, old))
        {
            it.action = Some(Action::Unchanged);
        }
    });
}

/// Whether `new` is `old`: identity, labels, document (as a JSON value: key order aside) and
/// every payload file's bytes.
pub fn same_asset(new: &Asset, old: &Asset) -> bool {
    new.key == old.key
        && new.labels == old.labels
        && new.same_meta(old)
        && new.files.len() == old.files.len()
        && new
            .files
            .iter()
            .zip(&old.files)
            .all(|((a, pa), (b, pb))| a == b && same_bytes(pa, pb))
}

fn same_bytes(a: &Payload, b: &Payload) -> bool {
    a.size() == b.size()
        && match (digest(a), digest(b)) {
            (Some(x), Some(y)) => x == y,
            // A payload that cannot be read is never taken for the same.
            _ => false,
        }
}

/// The SHA-256 of a payload's bytes (cached by the source for entries).
pub fn digest(p: &Payload) -> Option<Digest> {
    match p {
        Payload::Bytes(b) => Some(Digest::of(b)),
        Payload::Entry(e) => {
            let entry = e.source.find(&e.name)?;
            e.source.digest(entry).ok()
        }
    }
}
