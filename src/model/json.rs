//! Reading asset documents: JSON whose objects hold each key once.
//!
//! JSON does not say which value of a repeated key counts (RFC 8259, section 4: names
//! "SHOULD be unique"); `serde_json` keeps the last, a platform may keep the first. A document
//! with a repeated key could then look unchanged to hoist while the platform holds another
//! value, so such a document is refused, naming the key and where it is.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

pub mod compact;

/// Parses `bytes` as JSON, refusing an object that holds a key twice, or a key the parser
/// reserves ([`reserved_key`]).
pub fn parse(bytes: &[u8]) -> Result<Value, String> {
    if let Some(value) = parse_unique(bytes) {
        refuse_reserved(bytes)?;
        return Ok(value);
    }
    // The message, from the two passes that name what is wrong and where.
    let value: Value = serde_json::from_slice(bytes).map_err(value_not_shown)?;
    unique_keys(bytes)?;
    refuse_reserved(bytes)?;
    Ok(value)
}

/// How the keys `serde_json` gives a meaning of its own begin: an object whose first key is
/// `$serde_json::private::Number` is read as a number, one whose first key is
/// `$serde_json::private::RawValue` as the text it holds. A document holding such an object
/// would be one thing as written and another once parsed (in the plan, in a diff), or would
/// not parse again at all; no platform document needs such a key, so it is refused wherever
/// a document or a value comes in.
pub const RESERVED_PREFIX: &str = "$serde_json::private::";

/// Whether `key` is one [`RESERVED_PREFIX`] reserves.
pub fn is_reserved(key: &str) -> bool {
    key.starts_with(RESERVED_PREFIX)
}

/// The first key of the JSON text `bytes` (a text a parse accepted) that [`is_reserved`],
/// escapes decoded.
pub fn reserved_key(bytes: &[u8]) -> Option<String> {
    // Every such key holds a `$`, written as it is or as `\u0024`.
    if memchr::memchr(b'$', bytes).is_none() && memchr::memmem::find(bytes, b"\\u0024").is_none() {
        return None;
    }
    let mut found = None;
    any_text(bytes, true, &mut |key| {
        let hit = is_reserved(key);
        if hit {
            found = Some(key.to_string());
        }
        hit
    });
    found
}

/// Whether `f` returns true for some key (`keys`) or some string value (not `keys`) of the
/// JSON text `bytes`, a document a parse accepted. One pass from quote to quote: a string
/// followed by `:` is a key; a string is handed over as it is unless it holds an escape (then
/// decoded).
pub(crate) fn any_text(bytes: &[u8], keys: bool, f: &mut dyn FnMut(&str) -> bool) -> bool {
    let mut at = 0;
    while let Some(n) = memchr::memchr(b'"', &bytes[at..]) {
        let start = at + n;
        let Some((end, escaped)) = string_end(bytes, start) else {
            return false;
        };
        at = end;
        let next = bytes[end..]
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        if (next == Some(&b':')) != keys {
            continue;
        }
        let hit = if escaped {
            serde_json::from_slice::<String>(&bytes[start..end]).is_ok_and(|s| f(&s))
        } else {
            std::str::from_utf8(&bytes[start + 1..end - 1]).is_ok_and(&mut *f)
        };
        if hit {
            return true;
        }
    }
    false
}

/// [`reserved_key`] as the error that refuses the document.
pub fn refuse_reserved(bytes: &[u8]) -> Result<(), String> {
    match reserved_key(bytes) {
        Some(key) => Err(reserved_message(&key)),
        None => Ok(()),
    }
}

/// Why a document or value holding the reserved `key` is refused.
fn reserved_message(key: &str) -> String {
    format!(
        "the key {:?} is one the JSON reader gives a meaning of its own (it would read the object as something other than what is written), so the document is refused",
        crate::text::escape_controls(key)
    )
}

/// Parses `bytes` as JSON in one pass, or `None` when it is not JSON or an object holds a key
/// twice (for [`parse`] to say which). Accepts exactly the documents [`parse`] accepts.
pub fn parse_unique(bytes: &[u8]) -> Option<Value> {
    parse_unique_within(bytes, usize::MAX)
}

/// [`parse_unique`] of a value that sits `outer` containers deep in its file: it may nest
/// only as deep as the parser allows the whole file to (127 containers), so a document read
/// apart from its file is refused exactly when the file would be.
pub fn parse_unique_nested(bytes: &[u8], outer: usize) -> Option<Value> {
    parse_unique_within(bytes, FILE_DEPTH.checked_sub(outer)?)
}

/// How many containers deep `serde_json` reads a file (its recursion limit is 128 levels).
const FILE_DEPTH: usize = 127;

fn parse_unique_within(bytes: &[u8], depth: usize) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = de::DeserializeSeed::deserialize(Unique { left: depth }, &mut de).ok()?;
    de.end().ok()?;
    Some(value)
}

/// The key `serde_json` gives a number read with `arbitrary_precision` that is not an `i64`
/// or `u64`: such a "map" is a number, its one value the number's text.
pub(crate) const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Builds a value as [`Value`]'s own deserialisation does, failing on a repeated key or on
/// more than `left` containers nested.
#[derive(Clone, Copy)]
struct Unique {
    left: usize,
}

impl Unique {
    /// The seed for what a container holds, or an error when it may not open.
    fn inner<E: de::Error>(&self) -> Result<Unique, E> {
        match self.left.checked_sub(1) {
            Some(left) => Ok(Unique { left }),
            None => Err(E::custom("nested too deep")),
        }
    }
}

impl<'de> de::DeserializeSeed<'de> for Unique {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.inner()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(inner)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // A number read with `arbitrary_precision` arrives as a one-key map and is no
        // container: the depth is checked once the map is known to be an object.
        let mut out = serde_json::Map::new();
        let mut inner = None;
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            if inner.is_none() && k == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                let n: serde_json::Number = text.parse().map_err(de::Error::custom)?;
                return Ok(Value::Number(n));
            }
            let seed = match inner {
                Some(seed) => seed,
                None => *inner.insert(self.inner()?),
            };
            let v = map.next_value_seed(seed)?;
            if out.insert(k.into_owned(), v).is_some() {
                return Err(de::Error::custom("repeated key"));
            }
        }
        if inner.is_none() {
            self.inner::<A::Error>()?;
        }
        Ok(Value::Object(out))
    }
}

/// [`parse_unique_nested`] that builds only what lies on `paths` (JSON pointers whose tokens
/// may be `*`, as the kinds declare references): everything else is checked as that parse
/// checks it (syntax, UTF-8, each key once, nesting) but not kept. An object keeps only the
/// members a path goes through; an array keeps every element, those no path reaches as
/// `null`, so that indices stay. The value at the end of a path is kept whole, and the
/// root is always a container of its type (an empty one when no path enters it).
///
/// Every path reaches in the result exactly what it reaches in the whole document (the
/// walks of [`crate::model::pointer`] follow the same tokens), and the result is `None`
/// exactly when [`parse_unique_nested`]'s is: so a document can be judged by its name and
/// references without building its tree, which is most of the cost of reading it.
pub fn parse_pruned_nested(bytes: &[u8], outer: usize, paths: &[&str]) -> Option<Value> {
    let left = FILE_DEPTH.checked_sub(outer)?;
    let toks: Vec<Vec<std::borrow::Cow<'_, str>>> = paths
        .iter()
        .map(|p| super::pointer::cheap_tokens(p))
        .collect::<Option<_>>()?;
    let at: Vec<&[std::borrow::Cow<'_, str>]> = toks.iter().map(Vec::as_slice).collect();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let root = Pruned { left, paths: &at };
    // The root is read as a container even when no path enters it, so that its type stays.
    let value = if at.iter().any(|p| p.is_empty()) {
        de::DeserializeSeed::deserialize(root, &mut de)
    } else {
        de.deserialize_any(root)
    }
    .ok()?;
    de.end().ok()?;
    Some(value)
}

/// The rest of each path still to walk from the value being read.
type Rests<'p, 't> = &'p [&'p [std::borrow::Cow<'t, str>]];

/// Builds the parts of a value on `paths`; see [`parse_pruned_nested`].
#[derive(Clone, Copy)]
struct Pruned<'p, 't> {
    left: usize,
    paths: Rests<'p, 't>,
}

impl<'de> de::DeserializeSeed<'de> for Pruned<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.paths.is_empty() {
            de::DeserializeSeed::deserialize(Skip { left: self.left }, d)?;
            Ok(Value::Null)
        } else if self.paths.iter().any(|p| p.is_empty()) {
            de::DeserializeSeed::deserialize(Unique { left: self.left }, d)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'p, 't> Pruned<'p, 't> {
    /// The rests of the paths that go through the member `key`, or the element `index`.
    fn through(&self, key: &str, index: Option<usize>) -> Vec<&'p [std::borrow::Cow<'t, str>]> {
        self.paths
            .iter()
            .filter_map(|p: &&'p [std::borrow::Cow<'t, str>]| {
                let (first, rest) = p.split_first()?;
                let hit = first == "*"
                    || match index {
                        Some(i) => super::pointer::index(first) == Some(i),
                        None => first == key,
                    };
                hit.then_some(rest)
            })
            .collect()
    }
}

impl<'de> Visitor<'de> for Pruned<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Unique { left: self.left }.visit_bool(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Unique { left: self.left }.visit_i64(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Unique { left: self.left }.visit_u64(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Unique { left: self.left }.visit_f64(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Unique { left: self.left }.visit_str(v)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Unique { left: self.left }.visit_string(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Unique { left: self.left }.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let left = Unique { left: self.left }.inner()?.left;
        let mut items = Vec::new();
        loop {
            let rests = self.through("", Some(items.len()));
            match seq.next_element_seed(Pruned {
                left,
                paths: &rests,
            })? {
                Some(v) => items.push(v),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // As [`Unique::visit_map`]: a number may arrive as a one-key map.
        let mut out = serde_json::Map::new();
        let mut keys = KeySet::default();
        let mut left = None;
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            if left.is_none() && k == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                let n: serde_json::Number = text.parse().map_err(de::Error::custom)?;
                return Ok(Value::Number(n));
            }
            let inner = match left {
                Some(left) => left,
                None => *left.insert(Unique { left: self.left }.inner()?.left),
            };
            let rests = self.through(&k, None);
            let v = map.next_value_seed(Pruned {
                left: inner,
                paths: &rests,
            })?;
            if !keys.insert(k.clone()) {
                return Err(de::Error::custom("repeated key"));
            }
            if !rests.is_empty() {
                out.insert(k.into_owned(), v);
            }
        }
        if left.is_none() {
            Unique { left: self.left }.inner::<A::Error>()?;
        }
        Ok(Value::Object(out))
    }
}

/// The keys of one object so far: a list while it is short, a set when it grows (an object
/// may hold very many keys).
#[derive(Default)]
struct KeySet<'de> {
    few: Vec<std::borrow::Cow<'de, str>>,
    many: std::collections::BTreeSet<std::borrow::Cow<'de, str>>,
}

impl<'de> KeySet<'de> {
    /// Adds `k`; false when it was there.
    fn insert(&mut self, k: std::borrow::Cow<'de, str>) -> bool {
        if self.few.len() < 16 {
            if self.few.contains(&k) {
                return false;
            }
            self.few.push(k);
            return true;
        }
        if self.many.is_empty() {
            self.many.extend(self.few.iter().cloned());
        }
        self.many.insert(k)
    }
}

/// The scalar methods of a visitor that checks a value without building it: every scalar is
/// accepted as it is (the parser has already checked its syntax).
macro_rules! accept_scalars {
    () => {
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

/// Checks a value as [`Unique`] does (each key once, no deeper than `left` containers, strings
/// valid UTF-8) and keeps nothing.
#[derive(Clone, Copy)]
struct Skip {
    left: usize,
}

impl<'de> de::DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    accept_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = Skip {
            left: Unique { left: self.left }.inner()?.left,
        };
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = KeySet::default();
        let mut inner = None;
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            if inner.is_none() && k == NUMBER_TOKEN {
                let text: std::borrow::Cow<'de, str> = map.next_value::<Key<'de>>()?.0;
                text.parse::<serde_json::Number>()
                    .map_err(de::Error::custom)?;
                return Ok(());
            }
            let seed = match inner {
                Some(seed) => seed,
                None => *inner.insert(Skip {
                    left: Unique { left: self.left }.inner()?.left,
                }),
            };
            map.next_value_seed(seed)?;
            if !keys.insert(k) {
                return Err(de::Error::custom("repeated key"));
            }
        }
        if inner.is_none() {
            Unique { left: self.left }.inner::<A::Error>()?;
        }
        Ok(())
    }
}

/// Where the JSON string whose opening quote is at `at` ends (just after its closing quote,
/// the first one no backslash escapes), and whether it holds an escape; `None` when the text
/// ends first.
pub(crate) fn string_end(text: &[u8], at: usize) -> Option<(usize, bool)> {
    let mut i = at + 1;
    let mut escaped = false;
    loop {
        let rest = text.get(i..)?;
        match quote_or_backslash(rest) {
            Some(n) if rest[n] == b'\\' => {
                escaped = true;
                i += n + 2;
            }
            Some(n) => return Some((i + n + 1, escaped)),
            None => return None,
        }
    }
}

/// Where the first quote or backslash of `bytes` lies. Most strings of a document are short
/// (keys, names), so the first sixteen bytes are looked at a word at a time ([`run_ends`]);
/// the rest, the tail of a long string, by `memchr`.
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    for (k, word) in (&mut words).take(2).enumerate() {
        let flags = run_ends(
            u64::from_le_bytes(word.try_into().expect("eight bytes")),
            false,
        );
        if flags != 0 {
            return Some(k * 8 + flags.trailing_zeros() as usize / 8);
        }
    }
    let from = (bytes.len() / 8).min(2) * 8;
    memchr::memchr2(b'"', b'\\', &bytes[from..]).map(|n| from + n)
}

/// Flags, by the high bit of each of its bytes, the bytes of `word` (eight bytes of text,
/// little-endian) that end a string's plain run: a quote or a backslash, and with `control` a
/// control character too. A borrow can flag a byte only above one that truly is one, so the
/// lowest flag always is.
pub(crate) fn run_ends(word: u64, control: bool) -> u64 {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let zero = |v: u64| v.wrapping_sub(ONES) & !v;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    let below = if control {
        word.wrapping_sub(ONES * 0x20) & !word
    } else {
        0
    };
    (quote | backslash | below) & HIGH
}

/// The JSON text `text` without the whitespace between its tokens: the same document (every
/// string, number and key keeps its bytes), about a third shorter when `text` is indented.
/// `text` must be JSON a parse accepted; what lies outside strings is copied as it is.
pub fn without_whitespace(text: &[u8]) -> Vec<u8> {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        let end = if is_space(&text[at]) {
            at += 1;
            continue;
        } else if text[at] == b'"' {
            // A string, whole, to its closing quote (one not escaped).
            string_end(text, at).map_or(text.len(), |(end, _)| end)
        } else {
            // Up to the next whitespace or string.
            text[at..]
                .iter()
                .position(|b| is_space(b) || *b == b'"')
                .map_or(text.len(), |i| at + i)
        };
        out.extend_from_slice(&text[at..end]);
        at = end;
    }
    out
}

/// Parses `bytes` as JSON into `T`, refusing an object that holds a key twice, or a key the
/// parser reserves ([`reserved_key`]).
pub fn parse_as<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let value: T = serde_json::from_slice(bytes).map_err(value_not_shown)?;
    unique_keys(bytes)?;
    refuse_reserved(bytes)?;
    Ok(value)
}

/// The message of a JSON error without the value it quotes: a document whose field has the
/// wrong type gets `invalid type: string "…", expected a map`, and that string may be a
/// credential (`"labels": "Bearer …"`). The type, what was expected and where stay.
pub fn value_not_shown(e: serde_json::Error) -> String {
    let text = e.to_string();
    if e.classify() != serde_json::error::Category::Data {
        return text;
    }
    for prefix in ["invalid type: ", "invalid value: ", "unknown variant "] {
        if let Some(rest) = text.strip_prefix(prefix) {
            let kind = rest[..rest.find(['"', '`', ',']).unwrap_or(rest.len())].trim_end();
            let tail = rest.rfind(", expected").map_or("", |i| &rest[i..]);
            let shown = if kind.is_empty() {
                "(value not shown)"
            } else {
                kind
            };
            return format!("{prefix}{shown}{tail}");
        }
    }
    text
}

/// Checks that no object of the JSON text `bytes` holds a key twice.
pub fn unique_keys(bytes: &[u8]) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut at = String::new();
    let found = de::DeserializeSeed::deserialize(Check { at: &mut at }, &mut de);
    found.map_err(|e| e.to_string())
}

/// Walks one value, keeping the pointer of where it is in `at`.
struct Check<'a> {
    at: &'a mut String,
}

impl<'de> de::DeserializeSeed<'de> for Check<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A key as written; borrowed unless it holds escapes.
pub(crate) struct Key<'de>(pub(crate) std::borrow::Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(v.to_string().into()))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Visitor<'de> for Check<'_> {
    type Value = ();

    accept_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let len = self.at.len();
            self.at.push('/');
            self.at.push_str(&i.to_string());
            let more = seq.next_element_seed(Check { at: self.at })?;
            self.at.truncate(len);
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // A set, not a list: an object may hold very many keys.
        let mut keys: std::collections::BTreeSet<std::borrow::Cow<'de, str>> = Default::default();
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            // With `arbitrary_precision`, a number arrives as a one-key map: nothing to check.
            if keys.contains(&k) {
                let place = format!("{}/{}", self.at, super::pointer::escape(&k));
                return Err(de::Error::custom(format!(
                    "the key {:?} is written twice in one object (at {}); the platform may read either value, so the document is refused",
                    crate::text::escape_controls(&k),
                    place
                )));
            }
            let len = self.at.len();
            self.at.push('/');
            self.at.push_str(&super::pointer::escape(&k));
            map.next_value_seed(Check { at: self.at })?;
            self.at.truncate(len);
            keys.insert(k);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// The end of a string is found as a byte-by-byte search finds its first quote or
        /// backslash, wherever it lies: in the first two words or after them, in a word
        /// among bytes of every kind.
        #[test]
        fn a_strings_end_is_the_first_quote_or_backslash(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => 0x20u8..0x7f,
                    1 => proptest::strategy::Just(b'"'),
                    1 => proptest::strategy::Just(b'\\'),
                    1 => 0u8..0x20,
                    2 => 0x80u8..=0xff,
                ],
                0..48,
            ),
            plain_before in 0usize..40,
        ) {
            let mut text = vec![b'a'; plain_before];
            text.extend_from_slice(&bytes);
            let want = text.iter().position(|&b| b == b'"' || b == b'\\');
            proptest::prop_assert_eq!(super::quote_or_backslash(&text), want);
        }
    }

    #[test]
    fn the_one_pass_parse_builds_the_same_value_and_refuses_what_parse_refuses() {
        for text in [
            r#"{"a": [1, 2.50, -0, 1e400, 123456789012345678901234567890], "b": {"c": null}}"#,
            r#"[true, false, "x\u00e9\n", {}, []]"#,
            r#"{"$serde_json::private::Number": "1"}"#,
            r#"  7 "#,
        ] {
            let want: serde_json::Value = serde_json::from_str(text).unwrap();
            let got = super::parse_unique(text.as_bytes()).unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(
                serde_json::to_string(&got).unwrap(),
                serde_json::to_string(&want).unwrap()
            );
        }
        for bad in [
            r#"{"a": 1, "a": 2}"#,
            r#"[{"b": {"c": 1, "c": 1}}]"#,
            r#"{"a": 1} x"#,
            r#"{"a": "#,
        ] {
            assert!(super::parse_unique(bad.as_bytes()).is_none(), "{bad}");
            assert!(super::parse(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(
            super::parse(br#"{"x": {"k": 1, "k": 2}}"#)
                .unwrap_err()
                .contains("(at /x/k)")
        );
    }

    #[test]
    fn type_errors_do_not_quote_the_value() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Doc {
            labels: std::collections::BTreeMap<String, String>,
        }
        let e = super::parse_as::<Doc>(br#"{"labels": "Bearer s3cr3t-value"}"#).unwrap_err();
        assert_eq!(
            e,
            "invalid type: string, expected a map at line 1 column 32"
        );
        let e = super::parse_as::<Doc>(br#"{"labels": {"token": 12345678}}"#).unwrap_err();
        assert!(
            !e.contains("12345678") && e.starts_with("invalid type: integer, expected"),
            "{e}"
        );
        // Syntax errors quote nothing.
        let e = super::parse(b"{\"a\": }").unwrap_err();
        assert!(e.starts_with("expected value"), "{e}");
    }

    mod pruned {
        use super::super::{
            parse_pruned_nested, parse_unique, parse_unique_nested, without_whitespace,
        };
        use crate::model::pointer::expand_values;
        use proptest::prelude::*;
        use serde_json::{Value, json};

        fn value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                "[ab0\"\\\n\u{e9}]{0,4}".prop_map(Value::String),
            ];
            leaf.prop_recursive(5, 48, 5, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map("[ab01~/]{0,2}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        fn path() -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop::sample::select(vec!["a", "b", "0", "1", "*", "~1", "~0"]),
                0..4,
            )
            .prop_map(|t| t.iter().map(|t| format!("/{t}")).collect())
        }

        proptest! {
            /// What every path reaches is what it reaches in the whole tree, pointers and
            /// values alike, whatever else the document holds.
            #[test]
            fn a_path_reaches_the_same_values_as_in_the_whole_tree(
                v in value(),
                paths in prop::collection::vec(path(), 0..4),
                pretty in any::<bool>(),
            ) {
                let text = if pretty { serde_json::to_vec_pretty(&v) } else { serde_json::to_vec(&v) }.unwrap();
                let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
                let whole = parse_unique_nested(&text, 1).unwrap();
                let pruned = parse_pruned_nested(&text, 1, &refs).unwrap();
                for p in &refs {
                    prop_assert_eq!(expand_values(&pruned, p), expand_values(&whole, p), "{}", p);
                }
                prop_assert_eq!(whole.is_object(), pruned.is_object());
            }
        }

        proptest! {
            /// Without its whitespace a document is the same document, and every string in it
            /// keeps its bytes (escapes, spaces and quotes inside included).
            #[test]
            fn whitespace_goes_and_the_document_stays(v in value(), pretty in any::<bool>()) {
                let text = if pretty { serde_json::to_vec_pretty(&v) } else { serde_json::to_vec(&v) }.unwrap();
                let squeezed = without_whitespace(&text);
                prop_assert_eq!(parse_unique(&squeezed), Some(v.clone()));
                prop_assert_eq!(squeezed, serde_json::to_vec(&v).unwrap());
            }
        }

        #[test]
        fn whitespace_inside_strings_and_escapes_stays() {
            let text = br#"{ "a b" :	[ "x \" y" , "\\" ,"\u0020 " ] ,
            "n" : -1.50e+3 }"#;
            assert_eq!(
                without_whitespace(text),
                br#"{"a b":["x \" y","\\","\u0020 "],"n":-1.50e+3}"#.to_vec()
            );
        }

        #[test]
        fn it_refuses_exactly_what_the_whole_parse_refuses() {
            let paths = ["/name", "/backend", "/items/*/ref"];
            let mut texts: Vec<Vec<u8>> = [
                r#"{"name": "a", "other": {"k": 1, "k": 2}}"#,
                r#"{"name": "a", "items": [{"ref": "x", "ref": "y"}]}"#,
                r#"{"name": "a", "name": "b"}"#,
                r#"{"x": [1, 2, {"a": 1, "b": [], "a": 3}]}"#,
                r#"{"x": "\q"}"#,
                r#"{"x": 1} trailing"#,
                r#"{"x": 1e400, "y": -0, "z": 12345678901234567890123}"#,
                r#"{"$serde_json::private::Number": "1"}"#,
                r#"{"x": {"$serde_json::private::Number": "1", "y": 2}}"#,
                r#"[]"#,
                r#"{"items": {"a": {"ref": 3}}}"#,
            ]
            .iter()
            .map(|t| t.as_bytes().to_vec())
            .collect();
            // A key of 17 or more in one object, the repeat past the short list.
            let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\": {i}")).collect();
            texts.push(format!("{{{}, \"k3\": 0}}", many.join(", ")).into_bytes());
            texts.push(format!("{{{}}}", many.join(", ")).into_bytes());
            // Invalid UTF-8 in a string nothing reads.
            texts.push(b"{\"x\": \"\xff\"}".to_vec());
            // Nesting at the parser's limit and past it, read and skipped.
            for depth in [124, 125, 126, 127, 128] {
                for (open, close) in [("[", "]"), ("{\"a\":", "}"), ("{\"q\":", "}")] {
                    let mut t = open.repeat(depth);
                    t.push('1');
                    t.push_str(&close.repeat(depth));
                    texts.push(t.into_bytes());
                }
            }
            for text in &texts {
                for outer in [0, 1, 3] {
                    let whole = parse_unique_nested(text, outer);
                    let pruned = parse_pruned_nested(text, outer, &paths);
                    assert_eq!(
                        whole.is_some(),
                        pruned.is_some(),
                        "{} at {outer}",
                        String::from_utf8_lossy(text)
                    );
                    let deep =
                        parse_pruned_nested(text, outer, &["/a/a/a/a/a/a/a/a/a/a", "/x", "/x/y"]);
                    assert_eq!(
                        whole.is_some(),
                        deep.is_some(),
                        "{}",
                        String::from_utf8_lossy(text)
                    );
                    if let (Some(w), Some(p)) = (&whole, &pruned) {
                        for path in paths {
                            assert_eq!(expand_values(p, path), expand_values(w, path));
                        }
                    }
                }
            }
        }

        #[test]
        fn only_the_paths_are_built() {
            let text =
                br#"{"name": "a", "big": {"x": [1, 2, 3]}, "items": [{"ref": "r", "n": 1}, 7]}"#;
            let got = parse_pruned_nested(text, 0, &["/name", "/items/*/ref"]).unwrap();
            assert_eq!(got, json!({"name": "a", "items": [{"ref": "r"}, 7]}));
            let got = parse_pruned_nested(text, 0, &["/items/1"]).unwrap();
            assert_eq!(got, json!({"items": [null, 7]}));
        }
    }

    use super::{parse, unique_keys};

    #[test]
    fn a_key_written_twice_is_refused_where_it_is() {
        let e = parse(br#"{"a": 1, "b": {"x": [{"k": 1, "k": 2}]}}"#).unwrap_err();
        assert!(e.contains(r#"the key "k" is written twice"#), "{e}");
        assert!(e.contains("(at /b/x/0/k)"), "{e}");
        let e = unique_keys(br#"{"a": 1, "a": 1}"#).unwrap_err();
        assert!(e.contains("(at /a)"), "{e}");
        // Escapes are compared as the keys they spell.
        assert!(unique_keys(br#"{"a": 1, "\u0061": 2}"#).is_err());
    }

    #[test]
    fn documents_with_unique_keys_read_as_json() {
        let v = parse(br#"{"a": 1.50, "b": [1, {"a": 2}], "c": {"a": null, "b": "x"}}"#).unwrap();
        assert_eq!(v["b"][1]["a"], 2);
        assert!(unique_keys(b"[1, 2, {\"x\": {}}, {\"x\": []}]").is_ok());
        assert!(parse(b"{\"a\": }").is_err());
    }
}
