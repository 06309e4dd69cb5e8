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
                    let mut labels = diff::json(&labels_json(old), &labels_json(&it.asset));
                    for c in &mut labels {
                        c.by = Some(label_credit(it, &c.pointer));
                    }
                    it.label_diff = labels;
                    it.files = files(old, &it.asset, Lines::Shown);
                    mask(it, Some(old.meta()), *platform);
                }
                (Some(Action::Create), _) => {
                    it.diff = it.edits.clone();
                    it.label_diff = it.label_edits.clone();
                    mask(it, None, *platform);
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

/// An asset's labels as a JSON object, for [`diff::json`].
pub fn labels_json(a: &Asset) -> Value {
    Value::Object(
        a.labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
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

/// A field name that says it holds a credential.
fn credential_name(key: &str) -> bool {
    const WORDS: [&str; 14] = [
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "authorization",
        "cookie",
        "secret",
        "token",
        "credential",
        "privatekey",
        "apikey",
        "accesskey",
        "sourcecode",
        "signingkey",
    ];
    let key: String = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    WORDS.iter().any(|w| key.contains(w))
}

fn mask(it: &mut Item, old: Option<&Value>, platform: &dyn Platform) {
    let places: Vec<bool> = it
        .diff
        .iter()
        .map(|c| hidden(it, platform, &c.pointer))
        .collect();
    let mut hide = places.into_iter();
    let docs = [old, Some(it.asset.meta())];
    mask_places(&mut it.diff, docs, |_| hide.next().unwrap_or(true));
    mask_places(&mut it.label_diff, [None, None], |_| false);
}

/// Masks the values of every change at a place `hidden` names, at or below a field named like
/// a credential, or that is the value of a name–value pair naming a credential (a KIE item
/// `{"key": "db.password", "value": …}`, a header `{"name": "Authorization", "value": …}`) in
/// either document of `docs` (before, after); the password of every URL
/// (`scheme://user:password@host`); and, in pointers, every key below a credential-named
/// field (such a map may be keyed by the tokens themselves).
pub fn mask_places(
    changes: &mut [Change],
    docs: [Option<&Value>; 2],
    mut hidden: impl FnMut(&str) -> bool,
) {
    let mask = Value::String(crate::secrets::MASK.into());
    for c in changes {
        let hide = hidden(&c.pointer)
            || c.pointer.split('/').any(credential_name)
            || pair_value(&c.pointer, docs);
        for v in c.old.iter_mut().chain(&mut c.new) {
            if hide {
                *v = mask.clone();
            } else {
                mask_inside(v, &mask);
            }
        }
        if let Some(p) = masked_pointer(&c.pointer) {
            c.pointer = p;
        }
    }
}

/// The names a name–value pair gives its name under.
const PAIR_NAMES: [&str; 2] = ["key", "name"];
/// The name a name–value pair gives its value under.
const PAIR_VALUE: &str = "value";

/// Whether an object is a name–value pair whose name says it holds a credential.
fn credential_pair(map: &serde_json::Map<String, Value>) -> bool {
    map.contains_key(PAIR_VALUE)
        && PAIR_NAMES.iter().any(|n| {
            map.get(*n)
                .and_then(Value::as_str)
                .is_some_and(credential_name)
        })
}

/// Whether `pointer` is at or below the value of a credential pair in one of `docs`.
fn pair_value(pointer: &str, docs: [Option<&Value>; 2]) -> bool {
    let mut at = 0;
    while let Some(i) = pointer[at..].find("/value").map(|i| at + i) {
        let end = i + "/value".len();
        if pointer.len() == end || pointer[end..].starts_with('/') {
            let parent = &pointer[..i];
            let pair = |d: Option<&Value>| {
                d.and_then(|d| d.pointer(parent))
                    .and_then(Value::as_object)
                    .is_some_and(credential_pair)
            };
            if docs.into_iter().any(pair) {
                return true;
            }
        }
        at = end;
    }
    false
}

/// `pointer` with every key below a credential-named one shown as the mask, when it has any.
fn masked_pointer(pointer: &str) -> Option<String> {
    let mut parts = pointer.split('/');
    let mut out = Vec::new();
    let mut below = false;
    let mut masked = false;
    for p in parts.by_ref() {
        if below {
            out.push(crate::secrets::MASK);
            masked = true;
        } else {
            out.push(p);
            below = credential_name(p);
        }
    }
    masked.then(|| out.join("/"))
}

/// Masks, at any depth inside `v`, the value of every key named like a credential (a whole
/// object added, removed or replaced carries its credentials inside it), the value of every
/// credential pair, and the password of every URL.
fn mask_inside(v: &mut Value, mask: &Value) {
    match v {
        Value::Object(map) => {
            let pair = credential_pair(map);
            for (k, x) in map.iter_mut() {
                if credential_name(k) || (pair && k == PAIR_VALUE) {
                    *x = mask.clone();
                } else {
                    mask_inside(x, mask);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| mask_inside(x, mask)),
        Value::String(s) => {
            if let Some(m) = mask_url_passwords(s) {
                *s = m;
            }
        }
        _ => {}
    }
}

/// `text` with the password of every URL in it (`scheme://user:password@host`) masked, when
/// it has any.
pub fn mask_url_passwords(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    let mut masked = false;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@').and_then(|at| {
            let user = &authority[..at];
            user.find(':').map(|colon| (colon, at))
        }) {
            Some((colon, at)) => {
                out.push_str(&authority[..=colon]);
                out.push_str(crate::secrets::MASK);
                out.push_str(&authority[at..]);
                masked = true;
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    masked.then_some(out)
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
    // A text that names a credential anywhere is not shown line by line: its values may be
    // the target's secrets, which no spec declares.
    let words = |t: &str| t.split(|c: char| !c.is_alphanumeric()).any(credential_name);
    if words(&ta) || words(&tb) {
        return None;
    }
    if ta.lines().count() > TEXT_LINES_MAX_LINES || tb.lines().count() > TEXT_LINES_MAX_LINES {
        return None;
    }
    let lines = diff::lines(&ta, &tb, 2);
    Some(
        lines
            .lines()
            .map(|l| mask_url_passwords(l).unwrap_or_else(|| l.to_string()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::{
        TEXT_LINES_MAX_LINES, credential_name, mask_places, mask_url_passwords, text_diff,
    };
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
        assert_eq!(
            mask_url_passwords("x https://u:p4ss@h/p?q and ftp://v:w@k").as_deref(),
            Some("x https://u:***@h/p?q and ftp://v:***@k")
        );
        assert_eq!(mask_url_passwords("https://u@h:80/x"), None);
        assert_eq!(mask_url_passwords("no url: a@b"), None);
        let c = masked(
            json!({"u": "jdbc:mysql://a:b1@db/x"}),
            json!({"u": "jdbc:mysql://a:b2@db/x"}),
        );
        assert_eq!(c[0].new, Some(json!("jdbc:mysql://a:***@db/x")));
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

    #[test]
    fn credential_names() {
        for k in [
            "password",
            "db_pwd",
            "Authorization",
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
