//! Old names nothing followed: a renamed asset's old name that is still, as a whole string,
//! the value of a field of another written document that no reference declaration covers.
//! hoist cannot know that the field names the asset (a remark, a field of a kind it knows
//! too little about), so it leaves the value and warns with both places; declaring the
//! field as a reference (`kinds:`) makes renames follow it.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use rayon::prelude::*;
use serde_json::Value;

use super::transform::Item;
use super::{Action, Note};
use crate::model::kinds::Kinds;
use crate::model::pointer;

/// A warning for every field of a written document (of every package in `items`, shown as
/// `shown`) whose string value is the old name of another asset a rename moved.
pub fn warn(kinds: &Kinds, items: &[Vec<Item>], shown: &[&str], warnings: &mut Vec<Note>) {
    let written =
        |it: &Item| !it.failed() && matches!(it.action, Some(Action::Create | Action::Overwrite));
    // Old name → the renamed assets that had it: (kind, new name).
    let mut moved: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for it in items.iter().flatten().filter(|it| written(it)) {
        if it.source_key.name != it.asset.key.name {
            moved
                .entry(it.source_key.name.as_str())
                .or_default()
                .insert((it.asset.key.kind.as_str(), it.asset.key.name.as_str()));
        }
    }
    if moved.is_empty() {
        return;
    }
    // Most strings are no old name: a hash set turns them away. Membership only, never
    // iterated, so no hash order reaches an output; its hash is seeded per run, so names a
    // package chose cannot be made to collide.
    let old_names: HashSet<&str> = moved.keys().copied().collect();
    // And before hashing, a string of a length no old name has is turned away.
    let mut lengths = vec![false; moved.keys().map(|n| n.len()).max().unwrap_or(0) + 1];
    for n in moved.keys() {
        lengths[n.len()] = true;
    }
    let may_be_old =
        |text: &str| lengths.get(text.len()).copied().unwrap_or(false) && old_names.contains(text);
    for (package, shown) in items.iter().zip(shown) {
        // Most documents hold no old name: each is scanned without building anything, in
        // parallel, and the notes are put back in item order.
        let found: Vec<Vec<Note>> = package
            .par_iter()
            .map(|it| {
                if !written(it) {
                    return Vec::new();
                }
                // The text is scanned first; the tree is built for a hit only.
                if !it.asset.any_string(&mut |text| may_be_old(text)) {
                    return Vec::new();
                }
                let mut hits: Vec<(String, &str)> = Vec::new();
                strings(&it.asset.meta(), &mut Vec::new(), &mut |at, text| {
                    if old_names.contains(text)
                        && let Some((old, _)) = moved.get_key_value(text)
                    {
                        hits.push((pointer_of(at), old));
                    }
                });
                if hits.is_empty() {
                    return Vec::new();
                }
                notes_for(kinds, it, hits, &moved, shown)
            })
            .collect();
        warnings.extend(found.into_iter().flatten());
    }
}

/// The notes of one document's fields that hold old names (`hits`: pointer, old name).
fn notes_for(
    kinds: &Kinds,
    it: &Item,
    hits: Vec<(String, &str)>,
    moved: &BTreeMap<&str, BTreeSet<(&str, &str)>>,
    shown: &str,
) -> Vec<Note> {
    let covered: BTreeSet<String> = it
        .asset
        .references(kinds)
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.pointer.into_owned())
        .collect();
    let own_name = kinds
        .get(&it.asset.key.kind)
        .and_then(|k| k.name_field.as_deref().map(str::to_string));
    let built_in = kinds
        .get(&it.asset.key.kind)
        .is_some_and(|k| k.platform != "spec");
    let mut out = Vec::new();
    for (at, old) in hits {
        if covered.contains(&at) || own_name.as_deref() == Some(at.as_str()) {
            continue;
        }
        for (kind, new) in &moved[old] {
            if (*kind, *new) == (it.asset.key.kind.as_str(), it.asset.key.name.as_str()) {
                continue;
            }
            out.push(
                Note::new(
                    "ref.unfollowed",
                    format!(
                        "{at} holds {old:?}, the old name of {kind}/{new} (renamed from {old}); no reference declaration covers {at}, so it still says {old:?}"
                    ),
                )
                .asset(&it.source_key)
                .package(shown)
                .hint(if built_in {
                    format!("if {at} names the {kind}, set it with an override or a hook")
                } else {
                    format!(
                        "if {at} names the {kind}, declare it as a reference of {} under kinds:, or set it with an override",
                        it.asset.key.kind
                    )
                }),
            );
        }
    }
    out
}

/// One step of the way to a value: a member's key or an element's index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn pointer_of(steps: &[Step<'_>]) -> String {
    let mut out = String::new();
    for s in steps {
        out.push('/');
        match s {
            Step::Key(k) => out.push_str(&pointer::escape(k)),
            Step::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// Calls `f(steps, text)` for every string value in `v`, `steps` the way to it.
fn strings<'a>(v: &'a Value, at: &mut Vec<Step<'a>>, f: &mut dyn FnMut(&[Step<'a>], &'a str)) {
    match v {
        Value::String(s) => f(at, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(Step::Index(i));
                strings(item, at, f);
                at.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                at.push(Step::Key(k));
                strings(item, at, f);
                at.pop();
            }
        }
        _ => {}
    }
}
