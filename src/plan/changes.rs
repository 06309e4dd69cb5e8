//! The field-level difference a plan shows for each asset, and which step made each change.
//!
//! An overwrite (or an unchanged asset) is compared with the target's asset of the same kind
//! and name: its document field by field ([`crate::diff::json`]) and its payload files by
//! digest, with the changed lines of small text files. A create shows what transform hooks
//! changed; what renames, strips and overrides did is listed beside it. A change is credited
//! to the last step that touched its place (a hook, an override, a strip, a reference
//! following a rename), else to the source package (`source`: the value is the one the
//! source holds). Values a reviewer must not see are masked here, before the plan is: what an
//! override marks secret, what the platform hides, and any field whose name says it holds a
//! credential; the plan as a whole is then masked with every secret of the run.

use rayon::prelude::*;
use serde_json::Value;

use super::platform::{Platform, TargetAssets};
use super::transform::Item;
use super::unchanged::digest;
use super::{Action, FileChange, FileInfo};
use crate::diff::{self, Change, Op};
use crate::model::{Asset, Payload};

/// Text payloads up to this size (each side) are shown line by line.
pub const TEXT_LINES_MAX: u64 = 64 << 10;

/// Fills in `diff` and `files` of every item that will be written or is unchanged.
pub fn attach(items: &mut [Vec<Item>], target: &TargetAssets<'_>, platforms: &[&dyn Platform]) {
    for (items, platform) in items.iter_mut().zip(platforms) {
        items.par_iter_mut().for_each(|it| {
            if it.failed() {
                return;
            }
            let old = target
                .get(&(it.asset.key.kind.clone(), it.asset.key.name.clone()))
                .copied();
            match (it.action, old) {
                (Some(Action::Overwrite), Some(old)) => {
                    let mut changes = diff::json(old.meta(), it.asset.meta());
                    for c in &mut changes {
                        c.by = Some(credit(it, &c.pointer));
                    }
                    it.diff = changes;
                    it.files = files(old, &it.asset);
                }
                (Some(Action::Create), _) => it.diff = it.edits.clone(),
                _ => return,
            }
            mask(it, *platform);
        });
    }
}

/// The step that last touched `pointer`: hooks run last, then overrides, strips and the
/// references that follow renames; else the value is the source's.
fn credit(it: &Item, pointer: &str) -> String {
    if let Some(e) = it
        .edits
        .iter()
        .rev()
        .find(|e| diff::touches(pointer, &e.pointer))
    {
        return e.by.clone().unwrap_or_else(|| "hook".into());
    }
    if let Some(o) = it
        .overrides
        .iter()
        .rev()
        .find(|o| diff::touches(pointer, &o.pointer))
    {
        return format!("override at {}", o.at);
    }
    if it.stripped.iter().any(|p| diff::touches(pointer, p)) {
        return "strip".into();
    }
    if it.references.iter().any(|r| r.pointer == pointer) {
        return "rename (reference)".into();
    }
    "source".into()
}

/// Whether the value at `pointer` may never be shown: what an override marked secret (shown
/// as `***` in the override's line) or what the platform hides. Fields named like a
/// credential are masked for every diff by [`mask_places`].
fn hidden(it: &Item, platform: &dyn Platform, pointer: &str) -> bool {
    let masked_override = it.overrides.iter().any(|o| {
        diff::touches(pointer, &o.pointer) && o.value == Value::String(crate::secrets::MASK.into())
    });
    masked_override || platform.hides(&it.asset.key.kind, pointer)
}

/// A field name that says it holds a credential.
fn credential_name(key: &str) -> bool {
    const WORDS: [&str; 9] = [
        "password",
        "passwd",
        "secret",
        "token",
        "credential",
        "privatekey",
        "apikey",
        "accesskey",
        "sourcecode",
    ];
    let key: String = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    WORDS.iter().any(|w| key.contains(w))
}

fn mask(it: &mut Item, platform: &dyn Platform) {
    let places: Vec<bool> = it
        .diff
        .iter()
        .map(|c| hidden(it, platform, &c.pointer))
        .collect();
    let mut hide = places.into_iter();
    mask_places(&mut it.diff, |_| hide.next().unwrap_or(true));
}

/// Masks the values of every change at a place `hidden` names, or whose field is named like
/// a credential.
pub fn mask_places(changes: &mut [Change], mut hidden: impl FnMut(&str) -> bool) {
    let mask = Value::String(crate::secrets::MASK.into());
    for c in changes {
        let hide = hidden(&c.pointer) || c.pointer.split('/').any(credential_name);
        for v in c.old.iter_mut().chain(&mut c.new) {
            if hide {
                *v = mask.clone();
            } else {
                mask_inside(v, &mask);
            }
        }
    }
}

/// Masks, at any depth inside `v`, the value of every key named like a credential (a whole
/// object added, removed or replaced carries its credentials inside it).
fn mask_inside(v: &mut Value, mask: &Value) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if credential_name(k) {
                    *x = mask.clone();
                } else {
                    mask_inside(x, mask);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| mask_inside(x, mask)),
        _ => {}
    }
}

/// The payload files of `new` that differ from those of `old`.
pub fn files(old: &Asset, new: &Asset) -> Vec<FileChange> {
    let mut out = Vec::new();
    for (path, p) in &old.files {
        match new.files.get(path) {
            None => out.push(FileChange {
                path: path.clone(),
                op: Op::Removed,
                old: info(p),
                new: None,
                lines: Vec::new(),
            }),
            Some(q) => {
                let (a, b) = (info(p), info(q));
                if a.is_none() || a != b {
                    out.push(FileChange {
                        path: path.clone(),
                        op: Op::Changed,
                        lines: text_lines(p, q),
                        old: a,
                        new: b,
                    });
                }
            }
        }
    }
    for (path, q) in &new.files {
        if !old.files.contains_key(path) {
            out.push(FileChange {
                path: path.clone(),
                op: Op::Added,
                old: None,
                new: info(q),
                lines: Vec::new(),
            });
        }
    }
    out
}

fn info(p: &Payload) -> Option<FileInfo> {
    Some(FileInfo {
        sha256: digest(p)?,
        size: p.size(),
    })
}

/// The changed lines of two small text files; none for large or binary ones (bytes are
/// never shown).
fn text_lines(a: &Payload, b: &Payload) -> Vec<String> {
    text_diff(a, b).unwrap_or_default()
}

fn text_diff(a: &Payload, b: &Payload) -> Option<Vec<String>> {
    if a.size() > TEXT_LINES_MAX || b.size() > TEXT_LINES_MAX {
        return None;
    }
    let text = |p: &Payload| -> Option<String> {
        let bytes = match p {
            Payload::Bytes(b) => b.as_ref().clone(),
            Payload::Entry(e) => e.source.read(e.source.find(&e.name)?).ok()?,
        };
        let s = String::from_utf8(bytes).ok()?;
        (!s.contains('\0')).then_some(s)
    };
    let (ta, tb) = (text(a)?, text(b)?);
    // A text that names a credential anywhere is not shown line by line: its values may be
    // the target's secrets, which no spec declares.
    let words = |t: &str| t.split(|c: char| !c.is_alphanumeric()).any(credential_name);
    if words(&ta) || words(&tb) {
        return None;
    }
    let lines = diff::lines(&ta, &tb, 2);
    Some(lines.lines().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::credential_name;

    #[test]
    fn credential_names() {
        for k in [
            "password",
            "db_password",
            "clientSecret",
            "api-key",
            "apiKey",
            "sourceCode",
        ] {
            assert!(credential_name(k), "{k}");
        }
        for k in ["name", "timeout", "address", "keys", "monkey"] {
            assert!(!credential_name(k), "{k}");
        }
    }
}
