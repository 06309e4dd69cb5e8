//! Old names nothing followed: a renamed asset's old name that is still, as a whole string,
//! the value of a field of another written document that no reference declaration covers.
//! hoist cannot know that the field names the asset (a remark, a field of a kind it knows
//! too little about), so it leaves the value and warns with both places; declaring the
//! field as a reference (`kinds:`) makes renames follow it.

use std::collections::{BTreeMap, BTreeSet};

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
    for (package, shown) in items.iter().zip(shown) {
        for it in package.iter().filter(|it| written(it)) {
            let covered: BTreeSet<String> = it
                .asset
                .references(kinds)
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.pointer)
                .collect();
            let own_name = kinds
                .get(&it.asset.key.kind)
                .and_then(|k| k.name_field.as_deref().map(str::to_string));
            let mut found = Vec::new();
            strings(it.asset.meta(), &mut String::new(), &mut |at, text| {
                if let Some(targets) = moved.get(text)
                    && !covered.contains(at)
                    && own_name.as_deref() != Some(at)
                {
                    found.push((at.to_string(), text.to_string(), targets.clone()));
                }
            });
            for (at, old, targets) in found {
                for (kind, new) in targets {
                    if (kind, new) == (it.asset.key.kind.as_str(), it.asset.key.name.as_str()) {
                        continue;
                    }
                    warnings.push(
                        Note::new(
                            "ref.unfollowed",
                            format!(
                                "{at} holds {old:?}, the old name of {kind}/{new} (renamed from {old}); no reference declaration covers {at}, so it still says {old:?}"
                            ),
                        )
                        .asset(&it.source_key)
                        .package(*shown)
                        .hint(if kinds.get(&it.asset.key.kind).is_some_and(|k| k.platform != "spec") {
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
        }
    }
}

/// Calls `f(pointer, text)` for every string value in `v`.
fn strings(v: &Value, at: &mut String, f: &mut dyn FnMut(&str, &str)) {
    match v {
        Value::String(s) => f(at, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                strings(item, at, f);
                at.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = at.len();
                at.push('/');
                at.push_str(&pointer::escape(k));
                strings(item, at, f);
                at.truncate(len);
            }
        }
        _ => {}
    }
}
