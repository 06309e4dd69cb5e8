//! The asset model: what a package holds, independent of its layout.

pub mod json;
pub mod kinds;
pub mod pointer;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::archive::Source;

/// An asset's version: `master`, a positive integer, or none (unversioned platforms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// The asset has no versions.
    None,
    /// The working version (enebular).
    Master,
    /// A numbered version.
    Number(u64),
}

impl Version {
    /// Parses a version folder name: `master` or a positive integer without leading zeros.
    pub fn parse_folder(text: &str) -> Option<Version> {
        if text == "master" {
            return Some(Version::Master);
        }
        if text.is_empty() || text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().map(Version::Number)
    }

    /// The folder name of this version, or `None` when unversioned.
    pub fn folder(&self) -> Option<String> {
        match self {
            Version::None => None,
            Version::Master => Some("master".into()),
            Version::Number(n) => Some(n.to_string()),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::None => f.write_str("-"),
            Version::Master => f.write_str("master"),
            Version::Number(n) => write!(f, "{n}"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match <Option<Value> as Deserialize>::deserialize(d)? {
            None | Some(Value::Null) => Ok(Version::None),
            Some(Value::String(s)) if s == "master" => Ok(Version::Master),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n > 0) => {
                Ok(Version::Number(n.as_u64().unwrap_or(1)))
            }
            Some(other) => Err(serde::de::Error::custom(format!("not a version: {other}"))),
        }
    }
}

impl schemars::JsonSchema for Version {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Version".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An asset's version: none (null), the working version (\"master\"), or a number from 1.",
            "anyOf": [
                {"type": "null"},
                {"const": "master"},
                {"type": "integer", "minimum": 1}
            ]
        })
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Version::None => s.serialize_none(),
            Version::Master => s.serialize_str("master"),
            Version::Number(n) => s.serialize_u64(*n),
        }
    }
}

/// Identifies an asset inside a package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AssetKey {
    /// The kind, e.g. `api`.
    pub kind: String,
    /// The name, unique per kind.
    pub name: String,
    /// The version.
    pub version: Version,
}

impl AssetKey {
    /// A key from its parts.
    pub fn new(kind: impl Into<String>, name: impl Into<String>, version: Version) -> Self {
        AssetKey {
            kind: kind.into(),
            name: name.into(),
            version,
        }
    }
}

impl fmt::Display for AssetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)?;
        if self.version != Version::None {
            write!(f, "@{}", self.version)?;
        }
        Ok(())
    }
}

/// An entry of a package source: read, hashed or raw-copied on demand.
#[derive(Clone)]
pub struct EntryRef {
    /// The source holding it.
    pub source: Arc<Source>,
    /// Entry name in the source.
    pub name: String,
    /// Inflated size.
    pub size: u64,
}

impl fmt::Debug for EntryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}!{}", self.source.path().display(), self.name)
    }
}

/// Where a payload's bytes are.
#[derive(Debug, Clone)]
pub enum Payload {
    /// An entry of a source, unchanged.
    Entry(EntryRef),
    /// Bytes produced by hoist (a transform or a hook).
    Bytes(Arc<Vec<u8>>),
}

impl Payload {
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Payload::Entry(e) => e.size,
            Payload::Bytes(b) => b.len() as u64,
        }
    }
}

/// One asset: kind, name, version, labels, its JSON document and its payload files.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Kind, name and version.
    pub key: AssetKey,
    /// Labels, for selection.
    pub labels: BTreeMap<String, String>,
    meta: Value,
    edited: bool,
    /// The entry the document was read from, kept so that an unchanged document is
    /// copied byte for byte; `None` for assets hoist created.
    pub origin: Option<EntryRef>,
    /// Payload files by path relative to the asset.
    pub files: BTreeMap<String, Payload>,
    /// What a platform read from the asset's files to judge it by (enebular: a private
    /// node's package name); never written.
    pub facts: BTreeMap<&'static str, String>,
    /// References a platform found in payload files rather than in the document (an
    /// enebular flow's private nodes, found by node type in `flow.json`), each `pointer` a
    /// file and a JSON pointer into it (`flow.json#/3/type`). Selection follows them like the
    /// document's (`with_dependencies`, the unresolved-reference warning); nothing rewrites
    /// them, as they hold no asset name.
    pub links: Vec<Reference>,
}

impl Asset {
    /// An asset read from a package.
    pub fn new(key: AssetKey, meta: Value, origin: Option<EntryRef>) -> Self {
        Asset {
            key,
            labels: BTreeMap::new(),
            meta,
            edited: false,
            origin,
            files: BTreeMap::new(),
            facts: BTreeMap::new(),
            links: Vec::new(),
        }
    }

    /// The labels as a JSON object, for the diff engine.
    pub fn labels_json(&self) -> Value {
        Value::Object(
            self.labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    }

    /// The JSON document.
    pub fn meta(&self) -> &Value {
        &self.meta
    }

    /// The JSON document, for editing; the asset counts as edited from now on.
    pub fn meta_mut(&mut self) -> &mut Value {
        self.edited = true;
        &mut self.meta
    }

    /// Replaces the document; the asset counts as edited only if it differs.
    pub fn set_meta(&mut self, meta: Value) {
        if meta != self.meta {
            self.meta = meta;
            self.edited = true;
        }
    }

    /// Whether the document or labels changed since reading.
    pub fn is_edited(&self) -> bool {
        self.edited
    }

    /// Marks the labels (or anything else stored with the document) as changed.
    pub fn mark_edited(&mut self) {
        self.edited = true;
    }

    /// Bytes of the document and every payload.
    pub fn size(&self) -> u64 {
        self.origin.as_ref().map_or(0, |o| o.size)
            + self.files.values().map(Payload::size).sum::<u64>()
    }

    /// Every reference this asset's document makes to another asset, in declaration then
    /// document order.
    pub fn references(&self, kinds: &kinds::Kinds) -> Result<Vec<Reference>, String> {
        references_of(kinds, &self.key.kind, &self.meta)
    }

    /// [`Asset::references`], then the [`Asset::links`] found in payload files.
    pub fn all_references(&self, kinds: &kinds::Kinds) -> Result<Vec<Reference>, String> {
        let mut out = self.references(kinds)?;
        out.extend(self.links.iter().cloned());
        Ok(out)
    }
}

/// A field of one asset naming another asset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Reference {
    /// Concrete JSON pointer of the field.
    pub pointer: String,
    /// Kind of the asset referred to.
    pub kind: String,
    /// Name of the asset referred to.
    pub name: String,
    /// Whether the asset referred to owns this one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub owner: bool,
}

/// The references a document of `kind` makes. A missing or null field is no reference;
/// a field of another type is an error naming the field.
pub fn references_of(
    kinds: &kinds::Kinds,
    kind: &str,
    meta: &Value,
) -> Result<Vec<Reference>, String> {
    let Some(rules) = kinds.get(kind) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for decl in rules.refs.iter() {
        for ptr in pointer::expand(meta, &decl.pointer) {
            match pointer::get(meta, &ptr) {
                Some(Value::String(name)) if !name.is_empty() => out.push(Reference {
                    pointer: ptr,
                    kind: decl.target.to_string(),
                    name: name.clone(),
                    owner: decl.owner,
                }),
                Some(Value::Null) | None => {}
                Some(Value::String(_)) => {
                    return Err(format!(
                        "reference {ptr} is an empty string; use null for no {}",
                        decl.target
                    ));
                }
                Some(other) => {
                    return Err(format!(
                        "reference {ptr} must name a {} as a string, found {}",
                        decl.target,
                        json_type(other)
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Calls `f(target kind, name)` for every reference a document of `kind` makes, until it
/// returns true; returns whether it did. A malformed reference (an empty string or not a
/// string) is passed as `None`, so a caller can fall back to [`references_of`] for the error.
/// Copies nothing: the fast path of checks over many documents.
pub fn any_reference(
    kinds: &kinds::Kinds,
    kind: &str,
    meta: &Value,
    mut f: impl FnMut(&str, Option<&str>) -> bool,
) -> bool {
    let Some(rules) = kinds.get(kind) else {
        return false;
    };
    rules.refs.iter().any(|decl| {
        pointer::any_at(meta, &decl.pointer, &mut |v| match v {
            Value::Null => false,
            Value::String(name) if !name.is_empty() => f(&decl.target, Some(name)),
            _ => f(&decl.target, None),
        })
    })
}

/// The JSON type of a value, for messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(Version::parse_folder("master"), Some(Version::Master));
        assert_eq!(Version::parse_folder("12"), Some(Version::Number(12)));
        for bad in ["0", "01", "-1", "v2", "", "Master"] {
            assert_eq!(Version::parse_folder(bad), None, "{bad}");
        }
        assert!(Version::None < Version::Master && Version::Master < Version::Number(1));
        assert!(Version::Number(2) < Version::Number(10));
    }

    #[test]
    fn key_display() {
        assert_eq!(
            AssetKey::new("flow", "a", Version::Number(3)).to_string(),
            "flow/a@3"
        );
        assert_eq!(
            AssetKey::new("api", "b", Version::None).to_string(),
            "api/b"
        );
    }

    #[test]
    fn references_follow_declarations() {
        let meta = json!({"name": "x", "group": "g", "authorizer": null, "backend": "b"});
        let refs = references_of(kinds::Kinds::builtin(), "api", &meta).unwrap();
        let got: Vec<_> = refs
            .iter()
            .map(|r| (r.pointer.as_str(), r.kind.as_str(), r.name.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![("/group", "api_group", "g"), ("/backend", "backend", "b")]
        );
        assert!(
            references_of(kinds::Kinds::builtin(), "api", &json!({"group": 3}))
                .unwrap_err()
                .contains("/group")
        );
        assert!(
            references_of(
                kinds::Kinds::builtin(),
                "unknown_kind",
                &json!({"group": 3})
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn editing_is_tracked() {
        let mut a = Asset::new(
            AssetKey::new("app", "a", Version::None),
            json!({"x": 1}),
            None,
        );
        a.set_meta(json!({"x": 1}));
        assert!(!a.is_edited());
        a.set_meta(json!({"x": 2}));
        assert!(a.is_edited());
    }
}
