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
use crate::secrets::credentials;

/// Text payloads up to this size (each side) are shown line by line.
pub const TEXT_LINES_MAX: u64 = 64 << 10;

/// Fills in `diff` and `files` of every item that will be written or is unchanged.
/// `recorded` lists the places (kind, name, pointer) where the target, a merged state of an
/// earlier promotion, holds a secret that promotion wrote: they are masked on both sides.
pub fn attach(
    items: &mut [Vec<Item>],
    target: &TargetAssets<'_>,
    platforms: &[&dyn Platform],
    recorded: &[(String, String, String)],
) {
    let mut by_asset: Recorded<'_> = std::collections::BTreeMap::new();
    for (k, n, p) in recorded {
        by_asset.entry((k, n)).or_default().push(p);
    }
    let recorded = &by_asset;
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
                    // Each document is parsed once (a parked one is text) for the diff and
                    // the masking both.
                    let old_doc = old.meta();
                    let new_doc = it.asset.meta().into_owned();
                    let mut changes = diff::json(&old_doc, &new_doc);
                    for c in &mut changes {
                        c.by = Some(credit(it, &c.pointer));
                    }
                    it.diff = changes.into();
                    let mut labels = diff::json(&old.labels_json(), &it.asset.labels_json());
                    for c in &mut labels {
                        c.by = Some(label_credit(it, &c.pointer));
                    }
                    it.label_diff = labels.into();
                    it.files = files(old, &it.asset, Lines::Shown).into();
                    mask(it, [Some(&old_doc), Some(&new_doc)], *platform, recorded);
                }
                (Some(Action::Create), _) => {
                    it.diff = it.edits.clone();
                    it.label_diff = it.label_edits.clone();
                    // Without changes to show, nothing needs the document.
                    let new_doc = (!it.diff.is_empty()).then(|| it.asset.meta().into_owned());
                    mask(it, [None, new_doc.as_ref()], *platform, recorded);
                }
                _ => {}
            }
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

/// The hook that last changed the label at `pointer`, else the source.
fn label_credit(it: &Item, pointer: &str) -> String {
    it.label_edits
        .iter()
        .rev()
        .find(|e| e.pointer == pointer)
        .and_then(|e| e.by.clone())
        .unwrap_or_else(|| "source".into())
}

/// Whether the value at `pointer` may never be shown: what an override marked secret (shown
/// as `***` in the override's line) or what the platform hides. Fields named like a
/// credential are masked for every diff by [`mask_places`].
fn hidden(it: &Item, platform: &dyn Platform, pointer: &str) -> bool {
    secret_override(&it.overrides, pointer) || platform.hides(&it.asset.key.kind, pointer)
}

/// Whether an override marked secret (shown as `***` in its line) set the value at `pointer`.
pub fn secret_override(overrides: &[super::OverrideStep], pointer: &str) -> bool {
    overrides.iter().any(|o| {
        diff::touches(pointer, &o.pointer) && o.value == Value::String(crate::secrets::MASK.into())
    })
}

/// The credential values an item's documents hold, found by their place: in the document
/// as written, in the target's asset of its name and of its source name (what an
/// `on_conflict` hook saw), before a hook changed them, and in labels named like one. They
/// are masked by value wherever the plan shows the item's texts (a hook's log or error, a
/// field a hook copied one into); values shorter than [`crate::secrets::MIN_SECRET_CHARS`]
/// would hide ordinary words, and are masked by place only.
pub fn found_credentials(it: &Item, target: [Option<&Asset>; 2]) -> crate::secrets::Secrets {
    let mut values = Vec::new();
    credentials::collect(&it.asset.meta(), &mut values);
    for t in target.into_iter().flatten() {
        credentials::collect(&t.meta(), &mut values);
    }
    for c in &it.edits {
        if let Some(v) = &c.old {
            if c.sensitive {
                credentials::collect_all(v, &mut values);
            } else {
                credentials::collect(v, &mut values);
            }
        }
    }
    for (k, v) in &it.asset.labels {
        if credentials::is_credential_name(k) {
            values.push(v.clone());
        }
    }
    crate::secrets::Secrets::of_found(values)
}

/// Secret places recorded by an earlier promotion, by (kind, name).
type Recorded<'a> = std::collections::BTreeMap<(&'a str, &'a str), Vec<&'a str>>;

/// Masks the changes of `it` (see [`mask_places`]); `docs` are the documents before and after,
/// the latter needed only when `it` has document changes.
fn mask(
    it: &mut Item,
    docs: [Option<&Value>; 2],
    platform: &dyn Platform,
    recorded: &Recorded<'_>,
) {
    let key = &it.asset.key;
    let places = recorded
        .get(&(key.kind.as_str(), key.name.as_str()))
        .map_or(&[][..], Vec::as_slice);
    let places: Vec<bool> = it
        .diff
        .iter()
        .map(|c| {
            hidden(it, platform, &c.pointer) || places.iter().any(|p| diff::touches(&c.pointer, p))
        })
        .collect();
    let mut hide = places.into_iter();
    mask_places(&mut it.diff, docs, |_| hide.next().unwrap_or(true));
    mask_places(&mut it.label_diff, [None, None], |_| false);
}

/// Masks the values of every change at a place `hidden` names (always, whatever the value),
/// or that is a credential by its place: marked so by the diff ([`Change::sensitive`]), or
/// at or below a field named like one or a credential pair's value in either document of
/// `docs` (before, after) — see [`credentials`]. Other values are shown with the credentials
/// inside them masked ([`credentials::mask_inside`]). In pointers, every key below a
/// credential-named field is masked too (such a map may be keyed by the tokens themselves).
pub fn mask_places(
    changes: &mut [Change],
    docs: [Option<&Value>; 2],
    mut hidden: impl FnMut(&str) -> bool,
) {
    let mask = Value::String(crate::secrets::MASK.into());
    for c in changes {
        let forced = hidden(&c.pointer);
        let depth = credentials::secret_depth(&c.pointer, docs);
        let by_place = c.sensitive || depth.is_some();
        for v in c.old.iter_mut().chain(&mut c.new) {
            if forced {
                *v = mask.clone();
            } else if by_place {
                credentials::mask_whole(v);
            } else {
                credentials::mask_inside(v);
            }
        }
        if let Some(depth) = depth
            && let Some(p) = masked_pointer(&c.pointer, depth)
        {
            c.pointer = p;
        }
        if let Some(p) = credentials::mask_pointer_keys(&c.pointer) {
            c.pointer = p;
        }
    }
}

/// `pointer` with every key after its first `depth` segments shown as the mask, when it has
/// any.
fn masked_pointer(pointer: &str, depth: usize) -> Option<String> {
    let parts: Vec<&str> = pointer.split('/').skip(1).collect();
    (parts.len() > depth).then(|| {
        let mut out: Vec<&str> = parts[..depth].to_vec();
        out.resize(parts.len(), crate::secrets::MASK);
        format!("/{}", out.join("/"))
    })
}

/// Whether [`files`] gives the changed lines of small text files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// With the lines (for people).
    Shown,
    /// Without them (when only whether files differ is wanted).
    Skipped,
}

/// The payload files of `new` that differ from those of `old`.
pub fn files(old: &Asset, new: &Asset, lines: Lines) -> Vec<FileChange> {
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
                        lines: match lines {
                            Lines::Shown => text_lines(p, q),
                            Lines::Skipped => Vec::new(),
                        },
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

/// Texts with more lines than this (either side) are not diffed line by line: the time a
/// line diff takes grows with the product of the lines and the differences, and a bound in
/// lines (not a clock) keeps the plan the same on every machine.
pub const TEXT_LINES_MAX_LINES: usize = 4_000;

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
    // A text that names a credential anywhere (words run together: `api_key`, `BEGIN
    // PRIVATE KEY`) is not shown line by line: its values may be the target's secrets,
    // which no spec declares.
    if credentials::text_names_credential(&ta) || credentials::text_names_credential(&tb) {
        return None;
    }
    if ta.lines().count() > TEXT_LINES_MAX_LINES || tb.lines().count() > TEXT_LINES_MAX_LINES {
        return None;
    }
    let lines = diff::lines(&ta, &tb, 2);
    Some(
        lines
            .lines()
            .map(|l| credentials::mask_text(l).unwrap_or_else(|| l.to_string()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::{TEXT_LINES_MAX_LINES, mask_places, text_diff};
    use crate::diff;
    use crate::model::Payload;

    fn masked(old: serde_json::Value, new: serde_json::Value) -> Vec<diff::Change> {
        let mut changes = diff::json(&old, &new);
        mask_places(&mut changes, [Some(&old), Some(&new)], |_| false);
        changes
    }

    #[test]
    fn name_value_pairs_naming_a_credential_are_masked() {
        let header = |v: &str| json!({"headers": [{"name": "Authorization", "value": v}]});
        let c = masked(header("Bearer a1"), header("Bearer b2"));
        assert_eq!(c[0].pointer, "/headers/0/value");
        assert_eq!(
            (c[0].old.clone(), c[0].new.clone()),
            (Some(json!("***")), Some(json!("***")))
        );
        // A KIE item's value, also when the whole pair is added.
        let c = masked(
            json!({"i": []}),
            json!({"i": [{"key": "db.pwd", "value": "s3"}]}),
        );
        assert_eq!(c[0].new, Some(json!({"key": "db.pwd", "value": "***"})));
        // A pair whose name says nothing is shown.
        let c = masked(
            json!({"name": "Accept", "value": "a"}),
            json!({"name": "Accept", "value": "b"}),
        );
        assert_eq!(c[0].new, Some(json!("b")));
    }

    #[test]
    fn keys_below_a_credential_field_are_masked_in_pointers() {
        let c = masked(
            json!({"tokens": {"tok-1": 1}}),
            json!({"tokens": {"tok-2": 1}}),
        );
        let pointers: Vec<&str> = c.iter().map(|c| c.pointer.as_str()).collect();
        assert_eq!(pointers, ["/tokens/***", "/tokens/***"]);
        let c = masked(json!({"a": {"b": 1}}), json!({"a": {"b": 2}}));
        assert_eq!(c[0].pointer, "/a/b");
    }

    #[test]
    fn url_passwords_are_masked() {
        let c = masked(
            json!({"u": "jdbc:mysql://a:b1@db/x"}),
            json!({"u": "jdbc:mysql://a:b2@db/x"}),
        );
        assert_eq!(c[0].new, Some(json!("jdbc:mysql://a:***@db/x")));
    }

    #[test]
    fn a_pair_that_moved_in_its_array_is_judged_by_its_own_name() {
        // The target's Authorization header is at index 2; the source's list is shorter, so
        // the element paired with it is found at index 1, where neither document has a
        // credential pair.
        let c = masked(
            json!({"h": [{"name": "A", "value": "1"}, {"name": "Accept", "value": "json"},
                         {"name": "Authorization", "value": "Bearer tgt-secret"}]}),
            json!({"h": [{"name": "Accept", "value": "json"}, {"name": "X-Trace", "value": "on"}]}),
        );
        let shown = serde_json::to_string(&c).unwrap();
        assert!(!shown.contains("tgt-secret"), "{shown}");
        assert!(shown.contains("X-Trace"), "{shown}");
    }

    #[test]
    fn escaped_keys_and_flags_under_credential_names() {
        let c = masked(
            json!({"api~key": "k-old", "a": {"pass/word": "p-old"}, "credentials_required": false}),
            json!({"api~key": "k-new", "a": {"pass/word": "p-new"}, "credentials_required": true}),
        );
        let shown = serde_json::to_string(&c).unwrap();
        for leak in ["k-old", "k-new", "p-old", "p-new"] {
            assert!(!shown.contains(leak), "{shown}");
        }
        let flag = c
            .iter()
            .find(|c| c.pointer == "/credentials_required")
            .unwrap();
        assert_eq!(flag.new, Some(json!(true)));
    }

    #[test]
    fn long_texts_get_no_line_diff() {
        let text =
            |n: usize, c: char| Payload::Bytes(Arc::new(format!("{c}\n").repeat(n).into_bytes()));
        let n = TEXT_LINES_MAX_LINES;
        assert!(text_diff(&text(n, 'a'), &text(n, 'b')).is_some());
        assert!(text_diff(&text(n + 1, 'a'), &text(n, 'b')).is_none());
        assert!(text_diff(&text(n, 'a'), &text(n + 1, 'b')).is_none());
        let url =
            |p: &str| Payload::Bytes(Arc::new(format!("url: https://u:{p}@h\n").into_bytes()));
        let lines = text_diff(&url("one1"), &url("two2")).unwrap();
        assert_eq!(lines, ["- url: https://u:***@h", "+ url: https://u:***@h"]);
    }
}
