//! The hoist layout: `hoist.json` at the root and one folder per asset,
//! `assets/<kind>/<name>/[<version>/]asset.json` with payloads under `files/`.
//!
//! `asset.json` holds `{"labels": {…}, "meta": {…}}`: labels for selection and the
//! platform's document. A directory kept in Git may leave out `hoist.json`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::archive::error::PackageError;
use crate::archive::manifest::MANIFEST_NAME;
use crate::archive::source::Source;
use crate::archive::write::OutEntry;
use crate::model::json::compact::Squeezed;
use crate::model::{
    Asset, AssetKey, EntryRef, Labels, Payload, Reference, Version, kinds, pointer,
};
use crate::package::{AssetFailure, Layout, LayoutIo, Package, payload_entry};

/// File name of an asset's document.
pub const DOC: &str = "asset.json";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetDoc {
    #[serde(default)]
    labels: Labels,
    /// Kept as written: the asset keeps this text once its tree is parked.
    meta: Box<serde_json::value::RawValue>,
}

/// `asset.json` read in one pass ([`crate::model::json::compact::squeeze`]), or `None` when
/// that pass cannot say, for [`read_doc`] to read it with the passes that name what is wrong.
/// Whatever it reads, it reads as they do: the labels, the text of `meta` without whitespace
/// (what the asset keeps), and of `meta` only the fields [`check_meta`] reads of a document of
/// `kind` (its name and references), each as in the whole document.
fn read_doc_fast(bytes: &[u8], kind: &str) -> Option<(Labels, Arc<[u8]>, Value)> {
    let (squeezed, labels, meta) = one_pass(bytes)?;
    let meta = &squeezed.text[squeezed.top[meta].1.clone()];
    let fields = crate::model::json::compact::pruned(meta, &checked_fields(kind))?;
    Some((labels, meta.into(), fields))
}

/// `asset.json` read in one pass (see [`read_doc_fast`]): the file squeezed, its labels,
/// and which of the root's members is `meta`; `None` when that pass cannot say.
fn one_pass(bytes: &[u8]) -> Option<(Squeezed, Labels, usize)> {
    let squeezed = crate::model::json::compact::squeeze(bytes)?;
    let text = &squeezed.text;
    // `labels` at most and `meta`, as `AssetDoc` takes them (each once: the pass refuses a
    // key twice; a root that is no object has no members, so no `meta`).
    let (mut labels, mut meta) = (None, None);
    for (n, (key, value)) in squeezed.top.iter().enumerate() {
        match &text[key.clone()] {
            b"labels" => labels = Some(&text[value.clone()]),
            b"meta" => meta = Some(n),
            _ => return None,
        }
    }
    let meta = meta?;
    // The pass has checked the labels' text (each key once): they are read straight from it.
    let labels = match labels {
        Some(text) => serde_json::from_slice(text).ok()?,
        None => Labels::new(),
    };
    Some((squeezed, labels, meta))
}

/// What [`read_checked`] reads of `asset.json`: its labels, the text of `meta` without
/// whitespace, and the references it makes.
type Checked = (Labels, Arc<[u8]>, Vec<Reference>);

/// `asset.json` of the asset `key` read and checked as [`check_meta`] checks it: its labels,
/// the text of `meta` without whitespace, and the references it makes; or the code and
/// message of what is wrong.
///
/// The references are read straight from the text when it is plain there
/// ([`references_in_text`]); else (seldom) the file is read again by [`read_doc`], as far as
/// the checks read it.
fn read_checked(
    bytes: &[u8],
    key: &AssetKey,
    doc_name: &str,
) -> Result<Checked, (&'static str, String)> {
    if let Some((squeezed, labels, meta)) = one_pass(bytes)
        && let Some(refs) = references_in_text(key, &squeezed, meta)
    {
        let text = squeezed.text[squeezed.top[meta].1.clone()].into();
        return Ok((labels, text, refs));
    }
    let (labels, text, meta) =
        read_doc(bytes, &key.kind, doc_name).map_err(|e| ("asset.bad_json", e))?;
    check_meta(key, &meta).map_err(|m| ("asset.bad_doc", format!("{doc_name}: {m}")))?;
    let refs = crate::model::references_of(kinds::Kinds::builtin(), &key.kind, &meta)
        .map_err(|m| ("asset.bad_doc", format!("{doc_name}: {m}")))?;
    Ok((labels, text, refs))
}

/// The references a document of `key`'s kind makes, read from the text of its `meta` (the
/// root's member `meta` of `squeezed`, with the members the pass noted:
/// [`crate::model::json::compact::each_at`]), when [`check_meta`] finds nothing wrong with it
/// and every value it reads is plain: each reference `null` or a string without an escape,
/// the name field no such string or the asset's name. The same references, in the same
/// order, as [`crate::model::references_of`] finds in the parsed document. `None` otherwise,
/// for the parsed document to say.
fn references_in_text(key: &AssetKey, squeezed: &Squeezed, meta: usize) -> Option<Vec<Reference>> {
    let value = squeezed.top.get(meta)?.1.clone();
    if squeezed.text.get(value.start) != Some(&b'{') {
        return None;
    }
    let Some(rules) = kinds::rules(&key.kind) else {
        return Some(Vec::new());
    };
    let mut paths: Vec<&str> = rules.refs.iter().map(|d| d.pointer.as_ref()).collect();
    let name_at = rules.name_field.as_deref().map(|field| {
        paths.push(field);
        paths.len() - 1
    });
    let mut found: Vec<(usize, Reference)> = Vec::new();
    let mut plain = true;
    let members = squeezed.members_of(meta);
    crate::model::json::compact::each_at(
        &squeezed.text,
        value,
        Some(members),
        &paths,
        &mut |n, at, value| {
            if Some(n) == name_at {
                // Only a string is compared, as the check compares it.
                if value.first() == Some(&b'"') {
                    plain &= plain_string(value) == Some(key.name.as_str());
                }
                return;
            }
            if value == b"null" {
                return;
            }
            match plain_string(value) {
                Some(name) if !name.is_empty() => {
                    let decl = &rules.refs[n];
                    found.push((
                        n,
                        Reference {
                            pointer: if at == decl.pointer {
                                decl.pointer.clone()
                            } else {
                                Cow::Owned(at.to_string())
                            },
                            kind: decl.target.clone(),
                            name: name.to_string(),
                            owner: decl.owner,
                        },
                    ));
                }
                _ => plain = false,
            }
        },
    )?;
    if !plain {
        return None;
    }
    // In the kind table's order, each declaration's in document order (the sort is stable).
    found.sort_by_key(|(n, _)| *n);
    // Kept with the asset while it is parked: made to its length.
    let mut refs = Vec::with_capacity(found.len());
    refs.extend(found.into_iter().map(|(_, r)| r));
    Some(refs)
}

/// The string `value` (a JSON string's text) holds, when it holds no escape.
fn plain_string(value: &[u8]) -> Option<&str> {
    match crate::model::json::string_end(value, 0)? {
        (end, false) if end == value.len() => std::str::from_utf8(&value[1..end - 1]).ok(),
        _ => None,
    }
}

/// `asset.json` read: its labels, the text of `meta` without whitespace, and `meta` as far as
/// [`check_meta`] reads it; or why it is no such document.
fn read_doc(
    bytes: &[u8],
    kind: &str,
    doc_name: &str,
) -> Result<(Labels, Arc<[u8]>, Value), String> {
    if let Some(read) = read_doc_fast(bytes, kind) {
        return Ok(read);
    }
    // The message, from the passes that name what is wrong and where.
    let doc: AssetDoc =
        crate::model::json::parse_as(bytes).map_err(|e| format!("{doc_name}: {e}"))?;
    let meta: Value = serde_json::from_str(doc.meta.get())
        .map_err(|e| format!("{doc_name}: {}", crate::model::json::value_not_shown(e)))?;
    let text = crate::model::json::without_whitespace(doc.meta.get().as_bytes());
    Ok((doc.labels, text.into(), meta))
}

#[derive(Serialize)]
struct AssetDocOut<'a> {
    #[serde(skip_serializing_if = "Labels::is_empty")]
    labels: &'a Labels,
    meta: &'a Value,
}

/// Where an entry sits in the layout.
enum Place<'a> {
    Doc {
        kind: &'a str,
        name: &'a str,
        version: Version,
    },
    File {
        kind: &'a str,
        name: &'a str,
        version: Version,
        rel: String,
    },
    Stray {
        asset: String,
        why: String,
    },
    Extra,
}

fn place(entry: &str) -> Place<'_> {
    let Some(rest) = entry.strip_prefix("assets/") else {
        return Place::Extra;
    };
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.len() < 3 {
        return Place::Stray {
            asset: entry.to_string(),
            why: "expected assets/<kind>/<name>/asset.json or a version folder".into(),
        };
    }
    let (kind, name) = (segs[0], segs[1]);
    let label = format!("{kind}/{name}");
    match (segs[2], segs.len()) {
        (DOC, 3) => Place::Doc {
            kind,
            name,
            version: Version::None,
        },
        ("files", n) if n >= 4 => Place::File {
            kind,
            name,
            version: Version::None,
            rel: segs[3..].join("/"),
        },
        (folder, n) => match Version::parse_folder(folder) {
            Some(version) if n == 4 && segs[3] == DOC => Place::Doc {
                kind,
                name,
                version,
            },
            Some(version) if n >= 5 && segs[3] == "files" => Place::File {
                kind,
                name,
                version,
                rel: segs[4..].join("/"),
            },
            Some(version) => Place::Stray {
                asset: AssetKey::new(kind, name, version).to_string(),
                why: format!(
                    "unexpected entry {entry} (a version folder holds asset.json and files/)"
                ),
            },
            None if n == 3 => Place::Stray {
                asset: label,
                why: format!(
                    "unexpected entry {entry} (an asset folder holds asset.json, files/ or version folders)"
                ),
            },
            None => Place::Stray {
                asset: label,
                why: format!(
                    "version folder {folder:?} must be master or a positive integer ({entry})"
                ),
            },
        },
    }
}

/// The asset an entry of this layout belongs to.
pub fn asset_of_entry(entry: &str) -> Option<String> {
    match place(entry) {
        Place::Doc {
            kind,
            name,
            version,
        }
        | Place::File {
            kind,
            name,
            version,
            ..
        } => Some(AssetKey::new(kind, name, version).to_string()),
        Place::Stray { asset, .. } => Some(asset),
        Place::Extra => None,
    }
}

#[derive(Default)]
struct Group {
    doc: Option<String>,
    files: BTreeMap<String, (String, u64)>,
}

/// Reads a source in the hoist layout.
pub fn read(io: &'static dyn LayoutIo, source: &Arc<Source>) -> Result<Package, PackageError> {
    let mut groups: BTreeMap<AssetKey, Group> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut extras = Vec::new();
    for e in source.entries() {
        match place(&e.name) {
            Place::Doc {
                kind,
                name,
                version,
            } => {
                groups
                    .entry(AssetKey::new(kind, name, version))
                    .or_default()
                    .doc = Some(e.name.clone());
            }
            Place::File {
                kind,
                name,
                version,
                rel,
            } => {
                groups
                    .entry(AssetKey::new(kind, name, version))
                    .or_default()
                    .files
                    .insert(rel, (e.name.clone(), e.size));
            }
            Place::Stray { asset, why } => {
                failures.push(AssetFailure::new(asset, "layout.unexpected_entry", why))
            }
            Place::Extra if e.name == MANIFEST_NAME => {}
            Place::Extra => extras.push(EntryRef {
                source: Arc::clone(source),
                name: e.name.clone(),
                size: e.size,
            }),
        }
    }
    let mut pkg = Package {
        source: Arc::clone(source),
        layout: Layout::Hoist,
        io,
        manifest: None,
        assets: Vec::new(),
        extras,
        failures: Vec::new(),
        project: None,
        data: None,
    };
    pkg.assets.reserve_exact(groups.len());
    for (key, group) in groups {
        match load_asset(&mut pkg, &key, group) {
            Ok(asset) => pkg.assets.push(asset),
            Err((code, message)) => {
                failures.push(AssetFailure::new(key.to_string(), code, message))
            }
        }
    }
    // An asset a failure names is not read (most packages have none: no name is made then).
    if !failures.is_empty() {
        let failed: Vec<String> = failures.iter().map(|f| f.asset.clone()).collect();
        pkg.assets.retain(|a| !failed.contains(&a.key.to_string()));
    }
    failures.sort();
    failures.dedup();
    pkg.failures = failures;
    Ok(pkg)
}

fn load_asset(
    pkg: &mut Package,
    key: &AssetKey,
    group: Group,
) -> Result<Asset, (&'static str, String)> {
    if !kinds::is_valid_kind(&key.kind) {
        return Err((
            "asset.bad_kind",
            format!(
                "kind folder {:?} must be lowercase letters, digits and '_', starting with a letter",
                key.kind
            ),
        ));
    }
    let Some(doc_name) = group.doc else {
        return Err((
            "asset.missing_doc",
            format!("{key} has files but no asset.json"),
        ));
    };
    let source = std::sync::Arc::clone(&pkg.source);
    let entry = source.find(&doc_name).expect("grouped from the listing");
    let bytes = source.read(entry).map_err(|e| (e.code(), e.to_string()))?;
    source.remember_digest(entry, &bytes);
    // The references are found now, so that no stage reads the text again for them.
    let (labels, text, refs) = read_checked(&bytes, key, &doc_name)?;
    let origin = EntryRef {
        source: Arc::clone(&source),
        name: doc_name,
        size: entry.size,
    };
    let mut asset =
        Asset::from_compact(key.clone(), text, Some(origin)).with_builtin_references(refs);
    asset.labels = labels;
    for (rel, (name, size)) in group.files {
        asset.files.insert(
            rel,
            Payload::Entry(EntryRef {
                source: Arc::clone(&source),
                name,
                size,
            }),
        );
    }
    Ok(asset)
}

/// The fields of a document of `kind` that [`check_meta`] reads.
fn checked_fields(kind: &str) -> Vec<&'static str> {
    let Some(rules) = kinds::rules(kind) else {
        return Vec::new();
    };
    let refs = rules.refs.iter().map(|d| d.pointer.as_ref());
    rules
        .name_field
        .as_deref()
        .into_iter()
        .chain(refs)
        .collect()
}

/// Checks what every layout requires of a document: an object, a name field agreeing with
/// the folder, and references of the right type.
pub fn check_meta(key: &AssetKey, meta: &Value) -> Result<(), String> {
    if !meta.is_object() {
        return Err(format!(
            "meta must be a JSON object, found {}",
            crate::model::json_type(meta)
        ));
    }
    if let Some(field) = kinds::rules(&key.kind).and_then(|r| r.name_field.as_deref())
        && let Some(Value::String(name)) = pointer::get(meta, field)
        && name != &key.name
    {
        return Err(format!(
            "meta{field} says {name:?} but the folder says {:?}",
            key.name
        ));
    }
    // Every reference well formed, checked without copying any; the message comes from the
    // walk that collects them.
    let builtin = kinds::Kinds::builtin();
    if crate::model::any_reference(builtin, &key.kind, meta, |_, name| name.is_none()) {
        crate::model::references_of(builtin, &key.kind, meta).map(|_| ())
    } else {
        Ok(())
    }
}

/// The folder of an asset inside the package.
pub fn asset_dir(key: &AssetKey) -> String {
    match key.version.folder() {
        Some(v) => format!("assets/{}/{}/{v}", key.kind, key.name),
        None => format!("assets/{}/{}", key.kind, key.name),
    }
}

/// The bytes of `asset.json` for an asset.
pub fn doc_bytes(asset: &Asset) -> Vec<u8> {
    if let Some(meta) = asset.compact_text() {
        // Pretty JSON as the serialisation below writes it, made from the parked text without
        // parsing it: its strings and numbers keep the spelling they were read with.
        let mut out = b"{\n".to_vec();
        if !asset.labels.is_empty() {
            out.extend_from_slice(b"  \"labels\": ");
            let labels = serde_json::to_vec(&asset.labels).expect("labels serialise");
            crate::model::pretty::from_compact(&labels, 1, &mut out);
            out.extend_from_slice(b",\n");
        }
        out.extend_from_slice(b"  \"meta\": ");
        crate::model::pretty::from_compact(meta, 1, &mut out);
        out.extend_from_slice(b"\n}\n");
        return out;
    }
    let mut out = serde_json::to_vec_pretty(&AssetDocOut {
        labels: &asset.labels,
        meta: &asset.meta(),
    })
    .expect("JSON values always serialise");
    out.push(b'\n');
    out
}

/// The entries of a package in this layout holding `assets` and the entries `extras`.
pub fn entries(assets: &[Asset], extras: &[EntryRef]) -> Vec<OutEntry> {
    let mut out = Vec::new();
    for asset in assets {
        let dir = asset_dir(&asset.key);
        let doc_name = format!("{dir}/{DOC}");
        match (&asset.origin, asset.is_edited()) {
            (Some(origin), false) => {
                out.push(OutEntry::copy(doc_name, &origin.source, &origin.name))
            }
            _ => out.push(OutEntry::bytes(doc_name, doc_bytes(asset))),
        }
        for (rel, payload) in &asset.files {
            out.push(payload_entry(format!("{dir}/files/{rel}"), payload));
        }
    }
    out.extend(
        extras
            .iter()
            .map(|e| OutEntry::copy(e.name.clone(), &e.source, e.name.clone())),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_that_are_not_a_map_are_refused_as_a_map_would_be() {
        for (labels, found) in [("\"x\"", "string"), ("[]", "sequence"), ("null", "null")] {
            let text = format!(r#"{{"labels": {labels}, "meta": {{"name": "a"}}}}"#);
            let Err(as_labels) = crate::model::json::parse_as::<AssetDoc>(text.as_bytes()) else {
                panic!("{text} was read");
            };
            #[derive(Deserialize)]
            #[allow(dead_code)]
            struct AsMap {
                labels: BTreeMap<String, String>,
                meta: Box<serde_json::value::RawValue>,
            }
            let Err(as_map) = crate::model::json::parse_as::<AsMap>(text.as_bytes()) else {
                panic!("{text} was read");
            };
            assert_eq!(as_labels, as_map);
            assert!(
                as_labels.contains(&format!("invalid type: {found}, expected a map")),
                "{as_labels}"
            );
        }
    }

    #[test]
    fn the_one_pass_read_reads_as_the_checked_read() {
        let checked = |t: &str| -> Option<(Labels, Value)> {
            let doc: AssetDoc = crate::model::json::parse_as(t.as_bytes()).ok()?;
            Some((doc.labels, serde_json::from_str(doc.meta.get()).ok()?))
        };
        for text in [
            r#"{"meta": {"name": "a", "n": 1.50}}"#,
            r#"{"meta": {"name": "a", "group": "g", "backend": 3, "x": {"group": 1}}}"#,
            r#"{"labels": {"t": "x"}, "meta": {"name": "a"}}"#,
            r#"{"labels": {}, "meta": []}"#,
            r#"{"labels": null, "meta": {}}"#,
            r#"{"labels": {"t": "x", "t": "y"}, "meta": {}}"#,
            r#"{"labels": {"t": 1}, "meta": {}}"#,
            r#"{"meta": {"a": {"b": 1, "b": 1}}}"#,
            r#"{"meta": {}, "meta": {}}"#,
            r#"{"meta": {}, "other": 1}"#,
            r#"{"labels": {"t": "x"}}"#,
            r#"{"meta": {}} {}"#,
            r#"[]"#,
        ]
        .into_iter()
        .map(str::to_string)
        // The file may nest 127 containers: the object, then 126 in `meta`, arrays or
        // objects, empty or not, numbers at the bottom or not.
        .chain([100, 119, 120, 125, 126, 127].into_iter().flat_map(|n| {
            [
                format!(r#"{{"meta": {}1.0{}}}"#, "[".repeat(n), "]".repeat(n)),
                format!(
                    r#"{{"meta": {}{{}}{}}}"#,
                    "[".repeat(n - 1),
                    "]".repeat(n - 1)
                ),
                format!(r#"{{"meta": {}{}}}"#, r#"{"a":"#.repeat(n), "}".repeat(n)),
            ]
        })) {
            let text = text.as_str();
            let want = checked(text);
            let read = read_doc(text.as_bytes(), "api", "asset.json");
            assert_eq!(read.is_ok(), want.is_some(), "{text}");
            // The one pass answers for every document read, but those that nest deeper than
            // it follows.
            let deepest = text.chars().filter(|c| matches!(c, '{' | '[')).count();
            let fast = read_doc_fast(text.as_bytes(), "api");
            if deepest <= crate::model::json::compact::DEEPEST {
                assert_eq!(fast.is_some(), want.is_some(), "{text}");
            }
            if let (Ok((labels, meta_text, meta)), Some((want_labels, whole))) = (read, want) {
                assert_eq!(labels, want_labels, "{text}");
                let doc: AssetDoc = crate::model::json::parse_as(text.as_bytes()).unwrap();
                assert_eq!(
                    &meta_text[..],
                    &crate::model::json::without_whitespace(doc.meta.get().as_bytes())[..]
                );
                // Only the fields the checks read are built, each as in the whole document.
                for field in checked_fields("api") {
                    assert_eq!(
                        pointer::expand_values(&meta, field),
                        pointer::expand_values(&whole, field),
                        "{text}"
                    );
                }
                assert_eq!(meta.is_object(), whole.is_object());
            }
        }
    }

    proptest::proptest! {
        /// What is read straight from the text is what the checks and the reference walk
        /// find in the parsed document; and every document whose name and references are
        /// plain (null, or strings without an escape) is read so.
        #[test]
        fn references_read_from_the_text_are_those_of_the_parsed_document(
            kind in proptest::sample::select(
                kinds::Kinds::builtin()
                    .names()
                    .chain(["api", "api", "x_unknown"])
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            ),
            fields in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "name", "group", "backend", "environments", "plugins", "app",
                        "source", "target", "authorizer", "authorizations", "destinations",
                        "product", "environment", "api", "other",
                    ]),
                    field_value(),
                ),
                1..8,
            ),
        ) {
            use proptest::prelude::*;
            let meta = Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
            let kind = kind.as_str();
            let key = AssetKey::new(kind, "a", Version::None);
            let text = crate::model::json::without_whitespace(&serde_json::to_vec(&meta).unwrap());
            let checked = check_meta(&key, &meta).and_then(|()| {
                crate::model::references_of(kinds::Kinds::builtin(), kind, &meta)
            });
            match refs_in(&key, &text) {
                Some(refs) => prop_assert_eq!(Ok(refs), checked),
                None => prop_assert!(
                    checked.is_err() || text.contains(&b'\\'),
                    "{} was left to the parse",
                    String::from_utf8_lossy(&text)
                ),
            }
        }
    }

    #[test]
    fn references_read_from_the_text_come_in_the_kind_tables_order() {
        let key = AssetKey::new("api", "a", Version::None);
        let meta = serde_json::json!({
            "plugins": ["p1", null, "p2"], "backend": "b", "name": "a", "group": "g"
        });
        let text = crate::model::json::without_whitespace(meta.to_string().as_bytes());
        let refs = refs_in(&key, &text).expect("plain");
        let found: Vec<(&str, &str)> = refs.iter().map(|r| (&*r.pointer, &*r.name)).collect();
        assert_eq!(
            found,
            [
                ("/group", "g"),
                ("/backend", "b"),
                ("/plugins/0", "p1"),
                ("/plugins/2", "p2")
            ]
        );
        assert_eq!(
            Ok(refs),
            crate::model::references_of(kinds::Kinds::builtin(), "api", &meta)
        );
    }

    /// [`references_in_text`] of a document whose `meta` has the text `meta`.
    fn refs_in(key: &AssetKey, meta: &[u8]) -> Option<Vec<Reference>> {
        let mut doc = br#"{"labels":{},"meta":"#.to_vec();
        doc.extend_from_slice(meta);
        doc.push(b'}');
        let squeezed = crate::model::json::compact::squeeze(&doc).unwrap();
        references_in_text(key, &squeezed, 1)
    }

    /// A value for a field of [`references_read_from_the_text_are_those_of_the_parsed_document`]:
    /// names plain or escaped, empty, of other types, in arrays and objects.
    fn field_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            6 => "(a|b|\u{e9}|a/b)".prop_map(Value::String),
            2 => "(c\"d|e\n|)".prop_map(Value::String),
            1 => Just(Value::Null),
            1 => any::<bool>().prop_map(Value::Bool),
            1 => (-2i64..3).prop_map(Value::from),
            1 => Just(Value::String("a".into())),
        ];
        let names = proptest::collection::vec(
            prop_oneof![4 => "(a|b)".prop_map(Value::String), 1 => Just(Value::Null)],
            0..4,
        )
        .prop_map(Value::Array);
        let nested = leaf.clone().prop_recursive(2, 12, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::btree_map(
                    "(datasource|api|environment|topic|x|0)",
                    inner,
                    0..3
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        prop_oneof![4 => leaf, 2 => names, 1 => nested]
    }

    #[test]
    fn a_parked_document_is_written_as_its_tree_is() {
        use crate::model::AssetKey;
        let kinds = crate::model::kinds::Kinds::builtin();
        for labels in [vec![], vec![("team", "a\"b"), ("tier", "1")]] {
            let meta = serde_json::json!({"name": "x", "e": {}, "l": [[], {"k": [1, "}"]}]});
            let mut a = Asset::new(AssetKey::new("app", "x", Version::None), meta, None);
            a.labels = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let from_tree = doc_bytes(&a);
            a.park(kinds);
            assert!(a.compact_text().is_some());
            assert_eq!(
                String::from_utf8(doc_bytes(&a)).unwrap(),
                String::from_utf8(from_tree).unwrap()
            );
        }
    }

    #[test]
    fn places() {
        assert_eq!(
            asset_of_entry("assets/api/x/asset.json").as_deref(),
            Some("api/x")
        );
        assert_eq!(
            asset_of_entry("assets/api/x/files/a/b.txt").as_deref(),
            Some("api/x")
        );
        assert_eq!(
            asset_of_entry("assets/flow/f/3/files/flow.json").as_deref(),
            Some("flow/f@3")
        );
        assert_eq!(
            asset_of_entry("assets/flow/f/master/asset.json").as_deref(),
            Some("flow/f@master")
        );
        assert_eq!(
            asset_of_entry("assets/flow/f/v3/asset.json").as_deref(),
            Some("flow/f")
        );
        assert_eq!(asset_of_entry("README.md"), None);
        assert!(matches!(
            place("assets/api/x/notes.txt"),
            Place::Stray { .. }
        ));
        assert!(matches!(
            place("assets/api/x/2/notes.txt"),
            Place::Stray { .. }
        ));
    }
}
