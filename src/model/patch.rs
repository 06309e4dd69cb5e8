//! A parked document edited as text: the value at a pointer read, replaced, removed or added
//! to without building the document's tree.
//!
//! A parked document's text has no whitespace between its tokens (it is what was read, through
//! [`super::json::without_whitespace`], or hoist's compact serialisation). An edit keeps every
//! byte it does not touch, so the strings and numbers of the rest of the document keep the
//! spelling they were read with (escapes included); a value written is `serde_json`'s compact
//! serialisation of it (an object or array written over one, merged into its text as
//! [`crate::jsontext`] merges: what both hold keeps its bytes). A member
//! added goes after the object's last member (where a tree puts a new key); a member or element
//! removed takes the comma before it with it (after it, when it was the first).
//!
//! Each function answers [`Unsure`] when the text alone cannot say what the tree would: an
//! object on the way holds a key twice (the tree keeps the last of them), the pointer is the
//! whole document or is not well-formed, or the text is not what a parked document holds. The
//! caller then works on the tree, which gives the answer the text could not.

use std::ops::Range;

use serde_json::{Map, Value};

use super::pointer::{self, AddError};

/// The text cannot tell; ask the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsure;

/// A member of an object or an element of an array, found in the text.
#[derive(Debug, Clone)]
struct Member {
    /// Where the member starts: its key's opening quote, or the element's first byte.
    start: usize,
    /// Where its value lies.
    value: Range<usize>,
}

/// A text each of whose objects gives every key once: a document hoist read and checked (the
/// reader refuses a key given twice, escapes decoded), or wrote itself (its serialisation of a
/// tree, or a patch of such a text: an edit never adds a key an object holds). What only the
/// whole of every object on the way could tell of another text, that a key is given twice,
/// cannot be, so a member is taken at its place and the walk stops there: the rest of the
/// object (the large parameter list after an API's backend, say) is not walked. The answers
/// are those of the functions of the same names for any other text.
#[derive(Debug, Clone, Copy)]
pub struct Checked<'a>(pub &'a [u8]);

impl Checked<'_> {
    /// [`get`].
    pub fn get(self, pointer: &str) -> Result<Option<Value>, Unsure> {
        get_in(self.0, pointer, Walk::ToThePlace)
    }

    /// [`top_fields`].
    pub fn top_fields(self, names: &[&str]) -> Result<Vec<Option<Value>>, Unsure> {
        top_fields_in(self.0, names, Walk::ToThePlace)
    }

    /// [`replace`].
    pub fn replace(self, pointer: &str, value: &Value) -> Result<Option<Vec<u8>>, Unsure> {
        replace_in(self.0, pointer, value, Walk::ToThePlace)
    }

    /// [`remove`].
    pub fn remove(self, pointer: &str) -> Result<Option<(Vec<u8>, bool)>, Unsure> {
        remove_in(self.0, pointer, Walk::ToThePlace)
    }

    /// [`add`].
    pub fn add(self, pointer: &str, value: &Value) -> Result<Result<Vec<u8>, AddError>, Unsure> {
        add_in(self.0, pointer, value, Walk::ToThePlace)
    }
}

/// How far a walk goes through each object and array on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// To its end, to see a key given twice.
    Whole,
    /// To the member wanted ([`Checked`] texts).
    ToThePlace,
}

/// The value at `pointer` in `text`, `None` when the path does not exist.
pub fn get(text: &[u8], pointer: &str) -> Result<Option<Value>, Unsure> {
    get_in(text, pointer, Walk::Whole)
}

fn get_in(text: &[u8], pointer: &str, walk: Walk) -> Result<Option<Value>, Unsure> {
    let toks = tokens(pointer)?;
    Ok(match find(text, &toks, walk)? {
        Some((_, m)) => Some(parse(&text[m.value])?),
        None => None,
    })
}

/// The values of the root object's members `names`, in the order of `names` (`None` for a
/// member it lacks; of a key given twice, the last, as the tree keeps it), reading only those
/// members' values.
pub fn top_fields(text: &[u8], names: &[&str]) -> Result<Vec<Option<Value>>, Unsure> {
    top_fields_in(text, names, Walk::Whole)
}

fn top_fields_in(text: &[u8], names: &[&str], walk: Walk) -> Result<Vec<Option<Value>>, Unsure> {
    if text.first() != Some(&b'{') {
        return Err(Unsure);
    }
    let mut out = vec![None; names.len()];
    // Distinct names still to find (a name asked twice is found once).
    let mut left = names
        .iter()
        .enumerate()
        .filter(|(i, n)| !names[..*i].contains(n))
        .count();
    let mut end = 2;
    for member in members(text, 0) {
        let (key, value) = member?;
        end = value.end + 1;
        // A name asked twice gets the value in its first place only.
        for (slot, name) in out.iter_mut().zip(names) {
            if key_is(text, key.clone(), name)? {
                if slot.is_none() {
                    left -= 1;
                }
                *slot = Some(parse(&text[value.clone()])?);
                break;
            }
        }
        if walk == Walk::ToThePlace && left == 0 {
            return Ok(out);
        }
    }
    if end != text.len() {
        return Err(Unsure);
    }
    Ok(out)
}

/// `text` with the value at `pointer` replaced by `value`; `None` when the path does not exist.
/// An object or array written over one is written over its text as [`crate::jsontext`] does
/// (what is the same in both keeps its bytes), as the tree's edit would be when parked.
pub fn replace(text: &[u8], pointer: &str, value: &Value) -> Result<Option<Vec<u8>>, Unsure> {
    replace_in(text, pointer, value, Walk::Whole)
}

fn replace_in(
    text: &[u8],
    pointer: &str,
    value: &Value,
    walk: Walk,
) -> Result<Option<Vec<u8>>, Unsure> {
    let toks = tokens(pointer)?;
    too_deep(&toks, value)?;
    let Some((_, m)) = find(text, &toks, walk)? else {
        return Ok(None);
    };
    let old = &text[m.value.clone()];
    let merged = match (old[0], value) {
        (b'{', Value::Object(_)) | (b'[', Value::Array(_)) => std::str::from_utf8(old)
            .ok()
            .and_then(|o| crate::jsontext::rewrite(o, &parse(old).ok()?, value)),
        _ => None,
    };
    let new = match merged {
        Some(m) => m.into_bytes(),
        None => serde_json::to_vec(value).map_err(|_| Unsure)?,
    };
    Ok(Some(splice(text, m.value, &new)))
}

/// A value written at the end of `toks` would nest deeper than a parked document may (its
/// text must parse again): left to the tree, which stays unparked then.
fn too_deep(toks: &[String], value: &Value) -> Result<(), Unsure> {
    fn depth(v: &Value) -> usize {
        match v {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    // The document itself is one level; each token steps into one more.
    if 1 + toks.len() + depth(value) > super::PARK_DEPTH {
        return Err(Unsure);
    }
    Ok(())
}

/// `text` without the member or element at `pointer`, and whether it was an element (the
/// elements after it move up); `None` when the path does not exist.
pub fn remove(text: &[u8], pointer: &str) -> Result<Option<(Vec<u8>, bool)>, Unsure> {
    remove_in(text, pointer, Walk::Whole)
}

fn remove_in(text: &[u8], pointer: &str, walk: Walk) -> Result<Option<(Vec<u8>, bool)>, Unsure> {
    let toks = tokens(pointer)?;
    let Some((container, m)) = find(text, &toks, walk)? else {
        return Ok(None);
    };
    // With the comma before it, or (the first of several) the one after it.
    let cut = if text[m.start - 1] == b',' {
        m.start - 1..m.value.end
    } else if text[m.value.end] == b',' {
        m.start..m.value.end + 1
    } else {
        m.start..m.value.end
    };
    debug_assert!(container.start < cut.start && cut.end < container.end);
    Ok(Some((
        splice(text, cut, b""),
        text[container.start] == b'[',
    )))
}

/// `text` with `value` added as the new member at `pointer`, whose parent must be an object
/// without that member.
pub fn add(text: &[u8], pointer: &str, value: &Value) -> Result<Result<Vec<u8>, AddError>, Unsure> {
    add_in(text, pointer, value, Walk::Whole)
}

fn add_in(
    text: &[u8],
    pointer: &str,
    value: &Value,
    walk: Walk,
) -> Result<Result<Vec<u8>, AddError>, Unsure> {
    let mut toks = tokens(pointer)?;
    too_deep(&toks, value)?;
    if find(text, &toks, walk)?.is_some() {
        return Ok(Err(AddError::Exists));
    }
    let key = toks.pop().expect("tokens gives at least one");
    let parent = if toks.is_empty() {
        0..text.len()
    } else {
        match find(text, &toks, walk)? {
            Some((_, m)) => m.value,
            None => return Ok(Err(no_parent(pointer))),
        }
    };
    if text.get(parent.start) != Some(&b'{') {
        return Ok(Err(no_parent(pointer)));
    }
    if text[parent.end - 1] != b'}' {
        return Err(Unsure);
    }
    let mut member = Vec::new();
    if parent.end - parent.start > 2 {
        member.push(b',');
    }
    serde_json::to_writer(&mut member, &key).map_err(|_| Unsure)?;
    member.push(b':');
    serde_json::to_writer(&mut member, value).map_err(|_| Unsure)?;
    let close = parent.end - 1;
    Ok(Ok(splice(text, close..close, &member)))
}

/// The document as far as a check of the place `pointer` reads it: the whole value there,
/// and on the way to it every object and array with all their members, each scalar member
/// as it is and each other object or array as `null`. Whether a place is a credential is
/// judged on this as on the whole tree (by the names and string values of the members beside
/// it, at every level from the root), and so is whether it exists and what its parent is.
pub fn view(text: &[u8], pointer: &str) -> Result<Value, Unsure> {
    let toks = tokens(pointer)?;
    if !matches!(text.first(), Some(b'{' | b'[')) {
        return Err(Unsure);
    }
    pruned(text, 0..text.len(), &toks)
}

fn pruned(text: &[u8], at: Range<usize>, toks: &[String]) -> Result<Value, Unsure> {
    let Some((first, rest)) = toks.split_first() else {
        return parse(&text[at]);
    };
    let shallow = |r: Range<usize>| -> Result<Value, Unsure> {
        match text[r.start] {
            b'{' | b'[' => Ok(Value::Null),
            _ => parse(&text[r]),
        }
    };
    match text[at.start] {
        b'{' => {
            let mut map = Map::new();
            for member in members(text, at.start) {
                let (key, value) = member?;
                let key = key_text(text, key)?;
                let v = if key == *first {
                    pruned(text, value, rest)?
                } else {
                    shallow(value)?
                };
                if map.insert(key, v).is_some() {
                    return Err(Unsure);
                }
            }
            Ok(Value::Object(map))
        }
        b'[' => {
            let wanted = pointer::index(first);
            let items = elements(text, at.start)
                .enumerate()
                .map(|(i, r)| {
                    let r = r?;
                    if Some(i) == wanted {
                        pruned(text, r, rest)
                    } else {
                        shallow(r)
                    }
                })
                .collect::<Result<_, _>>()?;
            Ok(Value::Array(items))
        }
        _ => parse(&text[at]),
    }
}

/// The unescaped tokens of a pointer to a member (not the whole document, which the tree
/// handles).
fn tokens(pointer: &str) -> Result<Vec<String>, Unsure> {
    match pointer::tokens(pointer) {
        Ok(t) if !t.is_empty() => Ok(t),
        _ => Err(Unsure),
    }
}

fn no_parent(pointer: &str) -> AddError {
    let parent = pointer.rsplit_once('/').map_or("", |(p, _)| p);
    AddError::NoParent(if parent.is_empty() {
        "/".into()
    } else {
        parent.into()
    })
}

fn parse(bytes: &[u8]) -> Result<Value, Unsure> {
    serde_json::from_slice(bytes).map_err(|_| Unsure)
}

fn splice(text: &[u8], cut: Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() - cut.len() + with.len());
    out.extend_from_slice(&text[..cut.start]);
    out.extend_from_slice(with);
    out.extend_from_slice(&text[cut.end..]);
    out
}

/// The member `toks` names, with the range of the object or array holding it; `None` when
/// the path does not exist.
fn find(
    text: &[u8],
    toks: &[String],
    walk: Walk,
) -> Result<Option<(Range<usize>, Member)>, Unsure> {
    // The whole document is not scanned first: each object or array on the way is, to its
    // end (a key given twice anywhere on the way is seen), or to the member wanted.
    let mut here = 0..text.len();
    let mut found = None;
    for t in toks {
        let Some(m) = member(text, here.start, t, walk)? else {
            return Ok(None);
        };
        found = Some((here, m.clone()));
        here = m.value;
    }
    Ok(found)
}

/// Member `token` of the object or array starting at `at`; `None` for a scalar or when it
/// has no such member.
fn member(text: &[u8], at: usize, token: &str, walk: Walk) -> Result<Option<Member>, Unsure> {
    match *text.get(at).ok_or(Unsure)? {
        b'{' => {
            let mut found = None;
            for member in members(text, at) {
                let (key, value) = member?;
                if key_is(text, key.clone(), token)? {
                    if found.is_some() {
                        // The tree keeps the last of the two; leave it to the tree.
                        return Err(Unsure);
                    }
                    found = Some(Member {
                        start: key.start,
                        value,
                    });
                    if walk == Walk::ToThePlace {
                        break;
                    }
                }
            }
            Ok(found)
        }
        b'[' => {
            let Some(i) = pointer::index(token) else {
                return Ok(None);
            };
            // Every element is walked, as far as the array's end (or to the one wanted).
            let mut found = None;
            for (n, value) in elements(text, at).enumerate() {
                let value = value?;
                if n == i {
                    found = Some(Member {
                        start: value.start,
                        value,
                    });
                    if walk == Walk::ToThePlace {
                        break;
                    }
                }
            }
            Ok(found)
        }
        _ => Ok(None),
    }
}

/// Each member of the object starting at `at`: its key's range in the text (quotes
/// included) and its value's; an error ends the walk.
pub(super) fn members(text: &[u8], at: usize) -> Items<'_> {
    Items {
        text,
        at: at + 1,
        object: true,
        started: false,
        done: false,
    }
}

/// Each element's range of the array starting at `at`; an error ends the walk.
pub(super) fn elements(
    text: &[u8],
    at: usize,
) -> impl Iterator<Item = Result<Range<usize>, Unsure>> {
    Items {
        text,
        at: at + 1,
        object: false,
        started: false,
        done: false,
    }
    .map(|item| item.map(|(_, value)| value))
}

/// Where a member's key (quotes included; empty for an element) and its value lie.
pub(super) type Spans = (Range<usize>, Range<usize>);

/// The walk of [`members`] and [`elements`] over a container's text, without collecting it.
pub(super) struct Items<'t> {
    text: &'t [u8],
    /// Where the next item (or the container's close) starts.
    at: usize,
    object: bool,
    /// Whether an item was read: the container may close before the first only.
    started: bool,
    done: bool,
}

impl Items<'_> {
    fn next_item(&mut self) -> Result<Option<Spans>, Unsure> {
        let (text, i) = (self.text, self.at);
        let close = if self.object { b'}' } else { b']' };
        if self.done {
            return Ok(None);
        }
        if !self.started && text.get(i) == Some(&close) {
            self.done = true;
            return Ok(None);
        }
        let (key, from) = if self.object {
            if text.get(i) != Some(&b'"') {
                return Err(Unsure);
            }
            let key_end = string_end(text, i)?;
            if text.get(key_end) != Some(&b':') {
                return Err(Unsure);
            }
            (i..key_end, key_end + 1)
        } else {
            (i..i, i)
        };
        self.started = true;
        let end = value_end(text, from)?;
        match text.get(end) {
            Some(b',') => self.at = end + 1,
            Some(&b) if b == close => self.done = true,
            _ => return Err(Unsure),
        }
        Ok(Some((key, from..end)))
    }
}

impl Iterator for Items<'_> {
    type Item = Result<Spans, Unsure>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_item() {
            Ok(item) => item.map(Ok),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Whether the key at `key` (a string, quotes included) is `token`.
fn key_is(text: &[u8], key: Range<usize>, token: &str) -> Result<bool, Unsure> {
    let raw = &text[key.start + 1..key.end - 1];
    if !raw.contains(&b'\\') {
        return Ok(raw == token.as_bytes());
    }
    Ok(key_text(text, key)? == token)
}

fn key_text(text: &[u8], key: Range<usize>) -> Result<String, Unsure> {
    let raw = &text[key.start + 1..key.end - 1];
    if !raw.contains(&b'\\') {
        return String::from_utf8(raw.to_vec()).map_err(|_| Unsure);
    }
    serde_json::from_slice(&text[key]).map_err(|_| Unsure)
}

/// Where the string starting at `at` ends (after its closing quote).
fn string_end(text: &[u8], at: usize) -> Result<usize, Unsure> {
    super::json::string_end(text, at)
        .map(|(end, _)| end)
        .ok_or(Unsure)
}

/// Where the value starting at `at` ends.
pub(super) fn value_end(text: &[u8], at: usize) -> Result<usize, Unsure> {
    match text.get(at).ok_or(Unsure)? {
        b'"' => string_end(text, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            while let Some(&b) = text.get(i) {
                match b {
                    b'"' => {
                        i = string_end(text, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            Err(Unsure)
        }
        // A number or a literal runs to the next separator.
        b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => Ok(text[at..]
            .iter()
            .position(|b| matches!(b, b',' | b'}' | b']'))
            .map_or(text.len(), |n| at + n)),
        _ => Err(Unsure),
    }
}

#[cfg(test)]
mod tests;
