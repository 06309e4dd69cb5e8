//! The asset model: what a package holds, independent of its layout.

#[cfg(test)]
mod arbitrary;
pub mod json;
pub mod kinds;
mod labels;
pub mod patch;
pub mod pointer;
pub mod pretty;
pub mod scan;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::archive::Source;
pub use labels::Labels;

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

/// An asset's JSON document: its text, or its parsed tree while a stage works on it (or when
/// it could not be parked). Text is what a plan over many assets keeps: parsed trees take
/// about ten times the bytes of the text.
#[derive(Debug, Clone)]
struct Doc {
    /// JSON text of the document as it is now, unless the tree has changed since. Each of
    /// its objects gives every key once ([`patch::Checked`]): it is a text the reader accepted
    /// (which refuses a key given twice), hoist's serialisation of a tree, or a patch of one
    /// of them.
    text: Option<Arc<[u8]>>,
    /// The parsed document (boxed: most documents are parked, without one).
    tree: Option<Box<Value>>,
    /// The tree differs from the text (or there is no text).
    dirty: bool,
    /// The text is hoist's own: its compact serialisation of the tree, or the text read
    /// patched ([`patch`]); either way without whitespace between tokens, and written through
    /// [`pretty::from_compact`].
    compact: bool,
}

/// The deepest nesting a parked document may have: it must parse again, and the parser
/// stops at 128 levels.
const PARK_DEPTH: usize = 120;

impl Doc {
    fn tree(value: Value) -> Doc {
        Doc {
            text: None,
            tree: Some(Box::new(value)),
            dirty: true,
            compact: false,
        }
    }

    fn value(&self) -> Cow<'_, Value> {
        match (&self.tree, &self.text) {
            (Some(t), _) => Cow::Borrowed(t),
            (None, Some(text)) => Cow::Owned(parse_parked(text)),
            (None, None) => Cow::Owned(Value::Null),
        }
    }

    fn tree_mut_clean(&mut self) -> &mut Value {
        if self.tree.is_none() {
            self.tree = Some(Box::new(match &self.text {
                Some(text) => parse_parked(text),
                None => Value::Null,
            }));
        }
        self.tree.as_mut().expect("just set")
    }

    fn tree_mut(&mut self) -> &mut Value {
        self.dirty = true;
        self.tree_mut_clean()
    }

    fn park(&mut self) {
        let Some(tree) = &self.tree else {
            return;
        };
        if self.dirty || self.text.is_none() {
            let mut out = Vec::new();
            let deepest = std::cell::Cell::new(0);
            let formatter = Depth {
                depth: 0,
                deepest: &deepest,
            };
            let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
            tree.serialize(&mut ser).expect("JSON values serialise");
            if deepest.get() > PARK_DEPTH {
                return;
            }
            // A tree edited from a text is written over that text, as a patch would be: what
            // did not change keeps the spelling it was read with. Only a text with an escape
            // or an exponent can be spelled otherwise than serde_json writes it; any other is
            // written from the tree (no second parse).
            if let Some(old) = &self.text
                && may_spell_otherwise(old)
                && let Ok(source) = std::str::from_utf8(old)
                && let Some(kept) = crate::jsontext::rewrite(source, &parse_parked(old), tree)
            {
                out = kept.into_bytes();
            }
            self.text = Some(out.into());
            self.dirty = false;
            self.compact = true;
        }
        self.tree = None;
    }
}

/// Whether JSON text `text` holds a string escape or a number with an exponent: the only
/// spellings (besides whitespace and key order) in which it may differ from what serde_json
/// writes for the value it holds.
fn may_spell_otherwise(text: &[u8]) -> bool {
    let mut at = 0;
    // Outside strings, from one quote or exponent letter to the next; a string whole.
    while let Some(n) = memchr::memchr3(b'"', b'e', b'E', &text[at..]) {
        let i = at + n;
        if text[i] != b'"' {
            if i > 0 && text[i - 1].is_ascii_digit() {
                return true;
            }
            at = i + 1;
            continue;
        }
        match json::string_end(text, i) {
            Some((_, true)) => return true,
            Some((end, false)) => at = end,
            // A string the text ends in: an escape in what is left of it.
            None => return text[i..].contains(&b'\\'),
        }
    }
    false
}

/// The pointer of the object or array holding `pointer`'s place (`""` is the document).
fn parent_pointer(pointer: &str) -> &str {
    pointer.rsplit_once('/').map_or("", |(p, _)| p)
}

/// Text hoist wrote or already parsed once parses again.
fn parse_parked(text: &[u8]) -> Value {
    // Parked text is what a parse accepted (the source's, no deeper than the file allowed) or
    // what hoist serialised (no deeper than PARK_DEPTH): it parses again.
    serde_json::from_slice(text).expect("parked JSON text parses again")
}

/// The compact formatter, measuring how deep the document nests.
struct Depth<'a> {
    depth: usize,
    deepest: &'a std::cell::Cell<usize>,
}

impl Depth<'_> {
    fn open(&mut self) {
        self.depth += 1;
        self.deepest.set(self.deepest.get().max(self.depth));
    }
}

impl serde_json::ser::Formatter for Depth<'_> {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open();
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth -= 1;
        w.write_all(b"]")
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open();
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth -= 1;
        w.write_all(b"}")
    }
}

/// One asset: kind, name, version, labels, its JSON document and its payload files.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Kind, name and version.
    pub key: AssetKey,
    /// Labels, for selection.
    pub labels: Labels,
    doc: Doc,
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
    /// The document's references as [`Asset::park`] found them with the plan's kinds, kept
    /// while the document is parked (and dropped by any edit).
    refs: Option<Result<Vec<Reference>, String>>,
    /// `refs` were found by the reader, with the platforms' kinds rather than the plan's.
    refs_builtin: bool,
}

// Every asset of a run is held at once: a tree is boxed (most documents are parked, without
// one), and labels are a short list rather than a map.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Asset>() <= 272);

impl Asset {
    /// An asset read from a package.
    pub fn new(key: AssetKey, meta: Value, origin: Option<EntryRef>) -> Self {
        Asset {
            key,
            labels: Labels::new(),
            doc: Doc::tree(meta),
            edited: false,
            origin,
            files: BTreeMap::new(),
            facts: BTreeMap::new(),
            links: Vec::new(),
            refs: None,
            refs_builtin: false,
        }
    }

    /// [`Asset::from_compact`] of any JSON text a test writes, its whitespace taken out.
    #[cfg(test)]
    pub(crate) fn from_text(key: AssetKey, text: &[u8], origin: Option<EntryRef>) -> Self {
        Asset::from_compact(key, json::without_whitespace(text).into(), origin)
    }

    /// An asset read from a package whose document is kept as the JSON `text` it was read
    /// from, parked from the start: no tree is built until a stage asks for one. The text
    /// must be a JSON document the reader accepted (so no object in it gives a key twice, and
    /// it is well formed to its end: the document's edits and reads rely on both and walk it
    /// only as far as what they want, [`patch::Checked`]), without the whitespace between its
    /// tokens ([`json::compact::squeeze`]'s, or [`json::without_whitespace`]'s): a third of an
    /// indented document, every string and number keeping its bytes. An unchanged document
    /// is written from its entry, not from this text. Only the crate's readers make one.
    pub(crate) fn from_compact(key: AssetKey, text: Arc<[u8]>, origin: Option<EntryRef>) -> Self {
        let mut asset = Asset::new(key, Value::Null, origin);
        asset.doc = Doc {
            text: Some(text),
            tree: None,
            dirty: false,
            compact: false,
        };
        asset
    }

    /// Keeps `refs` as the document's references under the platforms' kinds
    /// ([`kinds::Kinds::builtin`]), found by the reader from what it parsed: [`Asset::park`]
    /// keeps them when the plan's kinds give the asset's kind the same rules.
    pub fn with_builtin_references(mut self, refs: Vec<Reference>) -> Self {
        self.refs = Some(Ok(refs));
        self.refs_builtin = true;
        self
    }

    /// The references kept, if they were found under `kinds`' rules for this kind.
    fn kept_refs(&self, kinds: &kinds::Kinds) -> Option<&Result<Vec<Reference>, String>> {
        let refs = self.refs.as_ref()?;
        let kind = self.key.kind.as_str();
        if self.refs_builtin && kinds.get(kind) != kinds::Kinds::builtin().get(kind) {
            return None;
        }
        Some(refs)
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

    /// The JSON document: borrowed while the asset is [unparked](Asset::unpark), else parsed
    /// from its text for the caller alone (nothing is kept).
    pub fn meta(&self) -> Cow<'_, Value> {
        self.doc.value()
    }

    /// The JSON document, for editing; the asset counts as edited from now on. Keeps the tree
    /// until [`Asset::park`].
    pub fn meta_mut(&mut self) -> &mut Value {
        self.edited = true;
        self.refs = None;
        self.doc.tree_mut()
    }

    /// Replaces the document; the asset counts as edited only if it differs.
    pub fn set_meta(&mut self, meta: Value) {
        if *self.meta() != meta {
            self.doc = Doc::tree(meta);
            self.edited = true;
            self.refs = None;
        }
    }

    /// The document's text when it is parked as hoist's own text of it (its compact
    /// serialisation, or the text read and then patched: the form [`pretty::from_compact`]
    /// reformats), so that it is written without a parse.
    pub fn compact_text(&self) -> Option<&[u8]> {
        match (&self.doc.tree, &self.doc.text) {
            (None, Some(text)) if self.doc.compact => Some(text),
            _ => None,
        }
    }

    /// The document's text while it is parked (no tree held): what [`patch`] edits.
    fn parked_text(&self) -> Option<&[u8]> {
        match (&self.doc.tree, &self.doc.text) {
            (None, Some(text)) => Some(text),
            _ => None,
        }
    }

    /// Takes `text`, the parked text patched at `place`, as the document: edited and
    /// whitespace free (written through [`pretty::from_compact`]). The references kept stay
    /// when no reference field of the kind under `kinds` can lie at, above or below `place`
    /// (nor, when the patch moved the elements after `place` up, below its array): each is
    /// then where it was, naming what it named.
    fn take_patched(&mut self, kinds: &kinds::Kinds, text: Vec<u8>, place: &str, moved: bool) {
        self.doc.text = Some(text.into());
        self.doc.compact = true;
        self.doc.dirty = false;
        self.edited = true;
        let place = if moved { parent_pointer(place) } else { place };
        let apart = |decl: &str| pointer::part(decl, place);
        let clear = match kinds.get(&self.key.kind) {
            Some(rules) => !rules.refs.iter().all(|d| apart(&d.pointer)),
            None => false,
        };
        if clear || self.kept_refs(kinds).is_none() {
            self.refs = None;
        }
    }

    /// The document as a check of the place `pointer` reads it: the tree while one is held,
    /// else only the path to that place built from the text ([`patch::view`]: the members
    /// beside the path, and the whole value at its end).
    pub fn view_along(&self, pointer: &str) -> Cow<'_, Value> {
        if let Some(text) = self.parked_text()
            && let Ok(view) = patch::view(text, pointer)
        {
            return Cow::Owned(view);
        }
        self.meta()
    }

    /// The value at `pointer`, read from the text while the document is parked.
    pub fn value_at(&self, pointer: &str) -> Option<Value> {
        if let Some(text) = self.parked_text()
            && let Ok(found) = patch::Checked(text).get(pointer)
        {
            return found;
        }
        pointer::get(&self.meta(), pointer).cloned()
    }

    /// Writes `value` over the value at `pointer`, if there is one; whether there was. A parked
    /// document is patched (the rest of its text kept as it is), else its tree is edited.
    pub fn set_at(&mut self, kinds: &kinds::Kinds, pointer: &str, value: Value) -> bool {
        if let Some(text) = self.parked_text()
            && let Ok(patched) = patch::Checked(text).replace(pointer, &value)
        {
            return patched
                .map(|t| self.take_patched(kinds, t, pointer, false))
                .is_some();
        }
        self.unpark();
        if pointer::get(&self.meta(), pointer).is_none() {
            return false;
        }
        if let Some(slot) = pointer::get_mut(self.meta_mut(), pointer) {
            *slot = value;
        }
        true
    }

    /// Removes the value at `pointer`, if there is one; whether there was (patched or edited as
    /// [`Asset::set_at`]).
    pub fn remove_at(&mut self, kinds: &kinds::Kinds, pointer: &str) -> bool {
        if let Some(text) = self.parked_text()
            && let Ok(patched) = patch::Checked(text).remove(pointer)
        {
            return patched
                .map(|(t, moved)| self.take_patched(kinds, t, pointer, moved))
                .is_some();
        }
        self.unpark();
        if pointer::get(&self.meta(), pointer).is_none() {
            return false;
        }
        pointer::remove(self.meta_mut(), pointer);
        true
    }

    /// Adds `value` as the new member at `pointer` ([`pointer::add`]; patched or edited as
    /// [`Asset::set_at`]).
    pub fn add_at(
        &mut self,
        kinds: &kinds::Kinds,
        pointer: &str,
        value: Value,
    ) -> Result<(), pointer::AddError> {
        if let Some(text) = self.parked_text()
            && let Ok(patched) = patch::Checked(text).add(pointer, &value)
        {
            return patched.map(|t| self.take_patched(kinds, t, pointer, false));
        }
        self.unpark();
        pointer::add(self.meta_mut(), pointer, value)
    }

    /// Parses the document into a tree that stays until [`Asset::park`]: for a stage that
    /// reads or edits it several times.
    pub fn unpark(&mut self) {
        self.doc.tree_mut_clean();
    }

    /// Lets go of the references kept at parking, once no stage will ask for them again (an
    /// asset handed to the writer): a later [`Asset::references`] finds them in the text.
    pub fn forget_references(&mut self) {
        self.refs = None;
        self.refs_builtin = false;
    }

    /// Keeps the document as JSON text only (its tree, a dozen times larger, is dropped), so
    /// that a plan over many assets holds the trees only of those being worked on. A document
    /// nested too deep to be parsed again keeps its tree.
    ///
    /// The document's references under `kinds` are found first and kept, so that the stages
    /// after it (selection, resolution) read them without parsing the text again: every
    /// later [`Asset::references`] must pass the same `kinds`.
    pub fn park(&mut self, kinds: &kinds::Kinds) {
        if self.kept_refs(kinds).is_none() {
            self.refs = Some(self.find_references(kinds));
        }
        self.refs_builtin = false;
        self.doc.park();
    }

    /// The document's references under `kinds`, found in its tree if one is held, else in
    /// its text with only the reference fields built ([`json::parse_pruned_nested`]).
    fn find_references(&self, kinds: &kinds::Kinds) -> Result<Vec<Reference>, String> {
        if let (None, Some(text)) = (&self.doc.tree, &self.doc.text) {
            let paths: Vec<&str> = kinds
                .get(&self.key.kind)
                .map(|r| r.refs.iter().map(|d| d.pointer.as_ref()).collect())
                .unwrap_or_default();
            if let Some(fields) = json::parse_pruned_nested(text, 0, &paths) {
                return references_of(kinds, &self.key.kind, &fields);
            }
        }
        references_of(kinds, &self.key.kind, &self.meta())
    }

    /// The document's JSON text while it is current (the tree, if one is held, has not
    /// changed since): a stage may remember what it read from this text and reuse it while
    /// the asset still holds this very text ([`Arc::ptr_eq`]).
    pub(crate) fn current_text(&self) -> Option<&Arc<[u8]>> {
        if self.doc.dirty {
            None
        } else {
            self.doc.text.as_ref()
        }
    }

    /// Whether the document is held as a tree (not [parked](Asset::park)).
    pub fn holds_tree(&self) -> bool {
        self.doc.tree.is_some()
    }

    /// Whether the two documents are the same JSON value (key order aside): equal parked
    /// texts are, without a parse.
    pub fn same_meta(&self, other: &Asset) -> bool {
        match (&self.doc, &other.doc) {
            (
                Doc {
                    tree: None,
                    text: Some(a),
                    ..
                },
                Doc {
                    tree: None,
                    text: Some(b),
                    ..
                },
            ) if a == b => true,
            _ => self.meta() == other.meta(),
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

    /// [`Asset::references`], found now if none are kept, and kept from now on as
    /// [`Asset::park`] keeps them (the same `kinds` must be passed to every later call).
    pub fn kept_references(&mut self, kinds: &kinds::Kinds) -> &Result<Vec<Reference>, String> {
        if self.kept_refs(kinds).is_none() {
            self.refs = Some(self.find_references(kinds));
            self.refs_builtin = false;
        }
        self.refs.as_ref().expect("just kept")
    }

    /// Points reference `i` of [`Asset::kept_references`], read from the field at `pointer`, at
    /// the asset named `name`: writes the name there, and the kept references stay, that one
    /// renamed (a string written over a string leaves every other reference where it was).
    /// When another reference was read from the same field (two declarations reaching it), or
    /// none are kept, they are found again when next asked for.
    pub fn retarget_reference(
        &mut self,
        kinds: &kinds::Kinds,
        pointer: &str,
        i: usize,
        name: &str,
    ) {
        let kept = self.refs.take();
        self.set_at(kinds, pointer, Value::String(name.to_string()));
        if let Some(Ok(mut refs)) = kept
            && refs.get(i).is_some_and(|r| r.pointer == pointer)
            && refs.iter().filter(|r| r.pointer == pointer).count() == 1
        {
            refs[i].name = name.to_string();
            self.refs = Some(Ok(refs));
            self.refs_builtin = false;
        }
    }

    /// Every reference this asset's document makes to another asset, in declaration then
    /// document order.
    pub fn references(&self, kinds: &kinds::Kinds) -> Result<Vec<Reference>, String> {
        match self.kept_refs(kinds) {
            Some(found) => found.clone(),
            None => self.find_references(kinds),
        }
    }

    /// [`any_reference`] over this asset's document: read from the references kept while it is
    /// parked (a malformed one is passed as `None`), else from the document.
    pub fn any_reference(
        &self,
        kinds: &kinds::Kinds,
        mut f: impl FnMut(&str, Option<&str>) -> bool,
    ) -> bool {
        match self.kept_refs(kinds) {
            Some(Ok(refs)) => refs.iter().any(|r| f(&r.kind, Some(&r.name))),
            Some(Err(_)) => f("", None),
            // A parked document's references are found with only their fields built.
            None if self.parked_text().is_some() => match self.find_references(kinds) {
                Ok(refs) => refs.iter().any(|r| f(&r.kind, Some(&r.name))),
                Err(_) => f("", None),
            },
            None => any_reference(kinds, &self.key.kind, &self.meta(), f),
        }
    }

    /// Whether `f` returns true for some string value of the document, read from its text
    /// when parked (no tree is built).
    pub fn any_string(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        match (&self.doc.tree, &self.doc.text) {
            (Some(tree), _) => any_string_in(tree, f),
            (None, Some(text)) => scan::any_string(text, f),
            (None, None) => false,
        }
    }

    /// The values of the document's top-level fields `names`, in that order; read from its
    /// text when parked (only those values are built).
    pub fn top_fields(&self, names: &[&str]) -> Vec<Option<Value>> {
        match (&self.doc.tree, &self.doc.text) {
            (Some(tree), _) => names.iter().map(|n| tree.get(n).cloned()).collect(),
            (None, Some(text)) => patch::Checked(text)
                .top_fields(names)
                .unwrap_or_else(|_| scan::top_fields(text, names)),
            (None, None) => vec![None; names.len()],
        }
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
    /// Concrete JSON pointer of the field (the kind table's own text when it names one
    /// field, so that most references of a run share it rather than each holding a copy).
    pub pointer: Cow<'static, str>,
    /// Kind of the asset referred to (shared with the kind table likewise).
    pub kind: Cow<'static, str>,
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
        for (ptr, value) in pointer::expand_values(meta, &decl.pointer) {
            match value {
                Value::String(name) if !name.is_empty() => out.push(Reference {
                    pointer: if ptr == decl.pointer {
                        decl.pointer.clone()
                    } else {
                        Cow::Owned(ptr)
                    },
                    kind: decl.target.clone(),
                    name: name.clone(),
                    owner: decl.owner,
                }),
                Value::Null => {}
                Value::String(_) => {
                    return Err(format!(
                        "reference {ptr} is an empty string; use null for no {}",
                        decl.target
                    ));
                }
                other => {
                    return Err(format!(
                        "reference {ptr} must name a {} as a string, found {}",
                        decl.target,
                        json_type(other)
                    ));
                }
            }
        }
    }
    // Kept with the asset while it is parked: no room for more (pushes leave up to twice).
    out.shrink_to_fit();
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

fn any_string_in(v: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().any(|x| any_string_in(x, f)),
        Value::Object(map) => map.values().any(|x| any_string_in(x, f)),
        _ => false,
    }
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
            .map(|r| (r.pointer.as_ref(), r.kind.as_ref(), r.name.as_str()))
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
    fn a_parked_document_reads_and_edits_as_its_tree() {
        let kinds = kinds::Kinds::builtin();
        let doc = json!({"name": "x", "group": "g", "backend": "b", "n": 1.50, "s": "\u{e9}"});
        let mut a = Asset::new(AssetKey::new("api", "x", Version::None), doc.clone(), None);
        let refs = a.references(kinds).unwrap();
        a.park(kinds);
        assert!(!a.holds_tree());
        assert_eq!(*a.meta(), doc);
        assert!(!a.holds_tree(), "reading keeps nothing");
        assert_eq!(a.references(kinds).unwrap(), refs);
        assert!(a.any_reference(kinds, |k, n| k == "backend" && n == Some("b")));
        assert!(a.any_string(&mut |s| s == "\u{e9}"));
        assert_eq!(
            a.top_fields(&["group", "none"]),
            vec![Some(json!("g")), None]
        );
        // An edit drops the references found before it.
        a.meta_mut()["group"] = json!("h");
        assert!(a.holds_tree() && a.is_edited());
        a.park(kinds);
        assert!(!a.holds_tree());
        assert_eq!(a.meta()["group"], json!("h"));
        assert!(a.any_reference(kinds, |k, n| k == "api_group" && n == Some("h")));
        assert!(!a.any_reference(kinds, |_, n| n == Some("g")));
    }

    #[test]
    fn a_document_too_deep_to_parse_again_keeps_its_tree() {
        let mut deep = json!(1);
        for _ in 0..PARK_DEPTH + 1 {
            deep = json!([deep]);
        }
        let mut a = Asset::new(AssetKey::new("app", "a", Version::None), deep.clone(), None);
        a.park(kinds::Kinds::builtin());
        assert!(a.holds_tree());
        assert_eq!(*a.meta(), deep);
    }

    #[test]
    fn documents_compare_as_values_parked_or_not() {
        let kinds = kinds::Kinds::builtin();
        let asset = |text: &str| {
            Asset::from_text(
                AssetKey::new("app", "a", Version::None),
                text.as_bytes(),
                None,
            )
        };
        let (mut a, mut b) = (asset(r#"{"x":1,"y":[2]}"#), asset(r#"{"y": [2], "x": 1}"#));
        let mut c = asset(r#"{"x":1,"y":[3]}"#);
        assert!(a.same_meta(&b) && !a.same_meta(&c));
        for x in [&mut a, &mut b, &mut c] {
            x.park(kinds);
        }
        assert!(a.same_meta(&a.clone()) && a.same_meta(&b) && !a.same_meta(&c));
    }

    #[test]
    fn references_found_in_the_text_are_those_of_the_tree() {
        let kinds = kinds::Kinds::builtin();
        let text = r#"{"name": "x", "group": "g", "authorizer": null, "backend": "b",
            "other": {"group": "not a reference"}, "labels": {"k": "v"}}"#;
        let key = AssetKey::new("api", "x", Version::None);
        let tree = Asset::new(key.clone(), serde_json::from_str(text).unwrap(), None);
        let mut parked = Asset::from_text(key.clone(), text.as_bytes(), None);
        assert!(!parked.holds_tree());
        let want = tree.references(kinds).unwrap();
        assert!(want.len() >= 2, "{want:?}");
        assert_eq!(parked.references(kinds).unwrap(), want);
        parked.park(kinds);
        assert!(!parked.holds_tree());
        assert_eq!(parked.references(kinds).unwrap(), want);
        // A malformed reference is the same error either way.
        let bad = r#"{"name": "x", "group": 7}"#;
        let tree = Asset::new(key.clone(), serde_json::from_str(bad).unwrap(), None);
        let parked = Asset::from_text(key, bad.as_bytes(), None);
        assert_eq!(parked.references(kinds), tree.references(kinds));
        assert!(tree.references(kinds).is_err());
    }

    #[test]
    fn references_the_reader_found_are_kept_only_under_the_same_rules() {
        const REFS: &[kinds::RefDecl] = &[kinds::r("/owner", "app")];
        let declared = kinds::kind("spec", "widget", "", REFS, None);
        let plan_kinds = kinds::Kinds::with_declared(vec![declared]).unwrap();
        let text = br#"{"owner": "o"}"#;
        // The platforms know no `widget`: the reader finds no reference.
        let key = AssetKey::new("widget", "w", Version::None);
        let mut a = Asset::from_text(key, text, None).with_builtin_references(Vec::new());
        assert!(a.references(kinds::Kinds::builtin()).unwrap().is_empty());
        a.park(&plan_kinds);
        let found = a.references(&plan_kinds).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].kind.as_ref(), found[0].name.as_str()),
            ("app", "o")
        );
        // A built-in kind keeps what the reader found (nothing is read again).
        let key = AssetKey::new("api", "x", Version::None);
        let kept = vec![Reference {
            pointer: "/group".into(),
            kind: "group".into(),
            name: "as found".into(),
            owner: false,
        }];
        let mut a =
            Asset::from_text(key, br#"{"group": "g"}"#, None).with_builtin_references(kept.clone());
        a.park(&plan_kinds);
        assert_eq!(a.references(&plan_kinds).unwrap(), kept);
        // Forgotten, they are what the text holds.
        a.forget_references();
        let read = a.references(&plan_kinds).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].name, "g");
    }

    #[test]
    fn a_value_set_deep_in_a_deep_document_is_read_again() {
        // 100 levels read, 40 more written below them: past what a parked text may hold, so
        // the edit is made on the tree, which stays.
        let path = "/a".repeat(100);
        let text = format!("{}1{}", r#"{"a":"#.repeat(100), "}".repeat(100));
        let kinds = kinds::Kinds::builtin();
        let mut a = Asset::from_text(
            AssetKey::new("app", "x", Version::None),
            text.as_bytes(),
            None,
        );
        let deep = (0..40).fold(serde_json::json!(1), |v, _| serde_json::json!([v]));
        assert!(a.set_at(kinds, &path, deep.clone()));
        a.park(kinds);
        assert_eq!(pointer::get(&a.meta(), &path), Some(&deep));
    }

    #[test]
    fn a_field_two_declarations_read_is_read_again_once_renamed() {
        const REFS: &[kinds::RefDecl] = &[kinds::r("/x", "app"), kinds::r("/*", "widget")];
        let declared = kinds::kind("spec", "widget", "", REFS, None);
        let kinds = kinds::Kinds::with_declared(vec![declared]).unwrap();
        let mut a = Asset::from_text(
            AssetKey::new("widget", "w", Version::None),
            br#"{"x":"old"}"#,
            None,
        );
        let found = a.kept_references(&kinds).clone().unwrap();
        assert_eq!(found.len(), 2);
        let i = found.iter().position(|r| r.kind == "app").unwrap();
        a.retarget_reference(&kinds, "/x", i, "new");
        let now = a.references(&kinds).unwrap();
        assert!(now.iter().all(|r| r.name == "new"), "{now:?}");
        // A field only one declaration reads keeps the kept list, renamed.
        let mut b = Asset::from_text(
            AssetKey::new("api", "b", Version::None),
            br#"{"group":"g","backend":"s"}"#,
            None,
        );
        let builtin = kinds::Kinds::builtin();
        let found = b.kept_references(builtin).clone().unwrap();
        let i = found.iter().position(|r| r.pointer == "/group").unwrap();
        b.retarget_reference(builtin, "/group", i, "g2");
        assert!(b.refs.is_some());
        let now = b.references(builtin).unwrap();
        assert_eq!(now[i].name, "g2");
        assert_eq!(now, {
            b.forget_references();
            b.references(builtin).unwrap()
        });
    }

    #[test]
    fn only_escapes_and_exponents_are_spelled_otherwise() {
        for (text, may) in [
            (r#"{"a":true,"b":false,"e":"e1","n":[1.5,-2,null]}"#, false),
            (r#"{"a":"x\"y"}"#, true),
            (r#"{"a":"\u00e9"}"#, true),
            (r#"{"n":1e5}"#, true),
            (r#"{"n":[2.5E-3]}"#, true),
            (r#"{"s":"1e5"}"#, false),
        ] {
            assert_eq!(may_spell_otherwise(text.as_bytes()), may, "{text}");
        }
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
