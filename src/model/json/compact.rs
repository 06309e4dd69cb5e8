//! One pass over a document file as the reader needs it: checked as the validating parse
//! checks it ([`super::parse_unique`]: syntax, UTF-8, each key once, nesting) and written
//! without whitespace between tokens (as [`super::without_whitespace`] writes it), with the
//! root object's members found on the way. What lies on the reference and name paths is then
//! read from that text ([`pruned`]) without parsing the rest again.
//!
//! Each answers `None` whenever it cannot be sure, and never accepts what the validating parse
//! refuses: a key holding an escape or one the parser reserves ([`super::RESERVED_PREFIX`]), an escaped
//! surrogate, more than [`DEEPEST`] containers nested. The caller then takes the slower
//! passes, which accept or refuse and name what is wrong and where.

use std::borrow::Cow;
use std::ops::Range;

use serde_json::Value;

use super::{Pruned, Rests};

/// The most containers nested that this pass follows: fewer than the parser allows a file
/// (127), so that nothing it accepts is refused by the parser for its depth.
pub const DEEPEST: usize = 120;

/// A document file without whitespace, and where its root object's members lie in it.
#[derive(Debug, PartialEq, Eq)]
pub struct Squeezed {
    /// The file's text without whitespace between tokens.
    pub text: Vec<u8>,
    /// Each member of the root object, in order: its key's range in `text` (inside the
    /// quotes; a key holds no escape) and its value's. Empty when the root is no object.
    pub top: Vec<(Range<usize>, Range<usize>)>,
    /// Each member of an object that is the value of a root member, in order.
    pub inner: Vec<Member>,
}

/// A member of an object that is the value of a member of the root object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Which member of the root holds the object (its index in [`Squeezed::top`]).
    pub of: usize,
    /// The member's key's range in the text (inside the quotes; a key holds no escape).
    pub key: Range<usize>,
    /// The member's value's range in the text.
    pub value: Range<usize>,
}

impl Squeezed {
    /// The members of the object that is the value of the root's member `of`, in order;
    /// none when that value is no object or an empty one.
    pub fn members_of(&self, of: usize) -> &[Member] {
        let from = self.inner.partition_point(|m| m.of < of);
        let to = self.inner.partition_point(|m| m.of <= of);
        &self.inner[from..to]
    }
}

/// An open container: an object with the index of its first key in the key list, or an array.
enum Open {
    Object { keys_from: usize },
    Array,
}

/// `bytes` checked and squeezed; see the module.
pub fn squeeze(bytes: &[u8]) -> Option<Squeezed> {
    // Outside strings a byte that is not ASCII is no JSON at all, so checking the whole text
    // is checking its strings, as the parser does.
    std::str::from_utf8(bytes).ok()?;
    let mut out = Vec::with_capacity(bytes.len());
    let mut open: Vec<Open> = Vec::new();
    // The keys of every open object, innermost last (ranges in `out`, inside the quotes).
    let mut keys: Vec<Range<usize>> = Vec::new();
    let mut top = Vec::new();
    let mut inner = Vec::new();
    // The key of the member being read of the root object, and of an object that is the
    // value of one of its members, and where its value starts.
    let mut pending: [Option<(Range<usize>, usize)>; 2] = [None, None];
    let mut i = skip_space(bytes, 0);
    'value: loop {
        // A value starts at `i`.
        match *bytes.get(i)? {
            b'{' | b'[' => {
                if open.len() >= DEEPEST {
                    return None;
                }
                let object = bytes[i] == b'{';
                out.push(bytes[i]);
                i = skip_space(bytes, i + 1);
                let close = if object { b'}' } else { b']' };
                if bytes.get(i) == Some(&close) {
                    out.push(close);
                    i += 1;
                } else if object {
                    open.push(Open::Object {
                        keys_from: keys.len(),
                    });
                    i = key(bytes, i, &mut out, &mut keys, &open, &mut pending)?;
                    continue 'value;
                } else {
                    open.push(Open::Array);
                    continue 'value;
                }
            }
            b'"' => {
                let end = string(bytes, i)?.0;
                out.extend_from_slice(&bytes[i..end]);
                i = end;
            }
            b't' | b'f' | b'n' => {
                let word: &[u8] = match bytes[i] {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                if !bytes[i..].starts_with(word) {
                    return None;
                }
                out.extend_from_slice(word);
                i += word.len();
            }
            b'-' | b'0'..=b'9' => {
                let end = number(bytes, i)?;
                out.extend_from_slice(&bytes[i..end]);
                i = end;
            }
            _ => return None,
        }
        // A value ended at `i`: what follows it in its container, or the end of the text.
        loop {
            match open.len() {
                1 => {
                    if let Some((k, from)) = pending[0].take() {
                        top.push((k, from..out.len()));
                    }
                }
                2 => {
                    if let Some((key, from)) = pending[1].take() {
                        inner.push(Member {
                            of: top.len(),
                            key,
                            value: from..out.len(),
                        });
                    }
                }
                _ => {}
            }
            i = skip_space(bytes, i);
            let Some(inner) = open.last() else {
                return (i == bytes.len()).then_some(Squeezed {
                    text: out,
                    top,
                    inner,
                });
            };
            let object = matches!(inner, Open::Object { .. });
            match bytes.get(i)? {
                b',' => {
                    out.push(b',');
                    i = skip_space(bytes, i + 1);
                    if object {
                        i = key(bytes, i, &mut out, &mut keys, &open, &mut pending)?;
                    }
                    continue 'value;
                }
                b'}' if object => {
                    let Some(Open::Object { keys_from }) = open.pop() else {
                        unreachable!("the innermost container is an object");
                    };
                    if keys.len() - keys_from > FEW && repeated(&out, &keys[keys_from..]) {
                        return None;
                    }
                    keys.truncate(keys_from);
                    out.push(b'}');
                    i += 1;
                }
                b']' if !object => {
                    open.pop();
                    out.push(b']');
                    i += 1;
                }
                _ => return None,
            }
        }
    }
}

/// How many keys an object's new key is compared with one by one; past that, its keys are
/// sorted once the object closes.
const FEW: usize = 16;

/// Reads the key at `i` of the innermost open object, its colon and the whitespace after:
/// where its value starts. A key holding an escape, or the parser's number marker, is left
/// to the slower passes.
fn key(
    bytes: &[u8],
    i: usize,
    out: &mut Vec<u8>,
    keys: &mut Vec<Range<usize>>,
    open: &[Open],
    pending: &mut [Option<(Range<usize>, usize)>; 2],
) -> Option<usize> {
    if bytes.get(i) != Some(&b'"') {
        return None;
    }
    let (end, escaped) = string(bytes, i)?;
    let name = &bytes[i + 1..end - 1];
    if escaped || name.starts_with(super::RESERVED_PREFIX.as_bytes()) {
        return None;
    }
    let Some(Open::Object { keys_from }) = open.last() else {
        unreachable!("a key is read in an object");
    };
    let held = &keys[*keys_from..];
    if held.len() < FEW && held.iter().any(|k| &out[k.clone()] == name) {
        return None;
    }
    out.push(b'"');
    let at = out.len();
    out.extend_from_slice(name);
    let range = at..out.len();
    out.push(b'"');
    keys.push(range.clone());
    let i = skip_space(bytes, end);
    if bytes.get(i) != Some(&b':') {
        return None;
    }
    out.push(b':');
    // The root's members, and those of an object that is the value of one of them.
    match open {
        [_] => pending[0] = Some((range, out.len())),
        [Open::Object { .. }, _] => pending[1] = Some((range, out.len())),
        _ => {}
    }
    Some(skip_space(bytes, i + 1))
}

/// Whether two of an object's `keys` (ranges in `text`) are the same.
fn repeated(text: &[u8], keys: &[Range<usize>]) -> bool {
    let mut names: Vec<&[u8]> = keys.iter().map(|k| &text[k.clone()]).collect();
    names.sort_unstable();
    names.windows(2).any(|w| w[0] == w[1])
}

/// The JSON whitespace the parser skips.
fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
        i += 1;
    }
    i
}

/// The string whose opening quote is at `i`: where it ends (after its closing quote) and
/// whether it holds an escape. `None` for a control character, an unknown escape, or an
/// escaped surrogate that is not one of a pair.
fn string(bytes: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        let n = special(&bytes[j..])?;
        j += n;
        match bytes[j] {
            b'"' => return Some((j + 1, escaped)),
            b'\\' => {
                escaped = true;
                match *bytes.get(j + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                    b'u' => match unit(bytes, j)? {
                        // A leading surrogate must have its trailing one right after it.
                        0xD800..=0xDBFF => match unit(bytes, j + 6) {
                            Some(0xDC00..=0xDFFF) => j += 12,
                            _ => return None,
                        },
                        0xDC00..=0xDFFF => return None,
                        _ => j += 6,
                    },
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
}

/// Where the first byte of `bytes` that ends a string's plain run lies: a quote, a backslash
/// or a control character, looked for eight bytes at a time ([`super::run_ends`]).
fn special(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let flags = super::run_ends(
            u64::from_le_bytes(word.try_into().expect("eight bytes")),
            true,
        );
        if flags != 0 {
            return Some(at + flags.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|n| at + n)
}

/// The UTF-16 unit of the `\\uXXXX` escape at `j` (its backslash).
fn unit(bytes: &[u8], j: usize) -> Option<u16> {
    if bytes.get(j..j + 2)? != b"\\u" {
        return None;
    }
    let hex = bytes.get(j + 2..j + 6)?;
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}

/// Where the number starting at `i` ends: `-`, an integer part without a leading zero, a
/// fraction and an exponent, each with at least one digit.
fn number(bytes: &[u8], mut i: usize) -> Option<usize> {
    let digits = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    match bytes.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(i),
        _ => return None,
    }
    if bytes.get(i) == Some(&b'.') {
        let end = digits(i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
    }
    if let Some(b'e' | b'E') = bytes.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = bytes.get(i) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return None;
        }
        i = end;
    }
    Some(i)
}

/// What [`super::parse_pruned_nested`] builds of the document `text`, read from a text
/// [`squeeze`] wrote (no whitespace, no key with an escape): the same value, without parsing
/// what no path reaches. `None` when a path is no pointer, or the text is not such a text.
pub fn pruned(text: &[u8], paths: &[&str]) -> Option<Value> {
    let toks: Vec<Vec<Cow<'_, str>>> = paths
        .iter()
        .map(|p| super::super::pointer::cheap_tokens(p))
        .collect::<Option<_>>()?;
    let at: Vec<&[Cow<'_, str>]> = toks.iter().map(Vec::as_slice).collect();
    let (value, end) = walk(text, 0, &at, true)?;
    (end == text.len()).then_some(value)
}

/// The value at `at` as [`Pruned`] builds it, and where it ends. The root is always walked as
/// a container of its type, as the parse reads it.
fn walk(text: &[u8], at: usize, paths: Rests<'_, '_>, root: bool) -> Option<(Value, usize)> {
    let seed = Pruned { left: 0, paths };
    if paths.is_empty() && !root {
        let end = super::super::patch::value_end(text, at).ok()?;
        return Some((Value::Null, end));
    }
    let scalar = !matches!(text.get(at)?, b'{' | b'[');
    if paths.iter().any(|p| p.is_empty()) || scalar {
        let end = super::super::patch::value_end(text, at).ok()?;
        return Some((serde_json::from_slice(&text[at..end]).ok()?, end));
    }
    let mut i = at + 1;
    if text[at] == b'{' {
        let mut out = serde_json::Map::new();
        if text.get(i) == Some(&b'}') {
            return Some((Value::Object(out), i + 1));
        }
        loop {
            let (end, escaped) = super::string_end(text, i)?;
            if escaped || text.get(end) != Some(&b':') {
                return None;
            }
            let key = std::str::from_utf8(&text[i + 1..end - 1]).ok()?;
            let rests = seed.through(key, None);
            let (value, after) = walk(text, end + 1, &rests, false)?;
            if !rests.is_empty() {
                out.insert(key.to_string(), value);
            }
            match text.get(after)? {
                b',' => i = after + 1,
                b'}' => return Some((Value::Object(out), after + 1)),
                _ => return None,
            }
        }
    }
    let mut items = Vec::new();
    if text.get(i) == Some(&b']') {
        return Some((Value::Array(items), i + 1));
    }
    loop {
        let rests = seed.through("", Some(items.len()));
        let (value, after) = walk(text, i, &rests, false)?;
        items.push(value);
        match text.get(after)? {
            b',' => i = after + 1,
            b']' => return Some((Value::Array(items), after + 1)),
            _ => return None,
        }
    }
}

/// Calls `f(path, pointer, value)` for every value one of `paths` (pointers whose tokens may
/// be `*`, as in the kind table) reaches in the value `text[value]`, a text [`squeeze`] wrote
/// or a value in one: `path` is the index of the path in `paths`, `pointer` where the value
/// lies (each `*` replaced by the key or index it stood for, as
/// [`crate::model::pointer::expand_values`] writes it) and `value` its text. Values come in
/// document order, and each path reaches what it reaches in the parsed document. Nothing is
/// built or copied but the pointer of the value being read. `members` are the value's
/// members when they are known ([`Squeezed::members_of`]), so that they are not looked for.
///
/// `None` when unsure, and then `f` may have been called for some values: a path that is no
/// pointer or has a token holding `~` (an escape), a key holding an escape, or a text that is
/// no such text.
pub fn each_at<'t>(
    text: &'t [u8],
    value: Range<usize>,
    members: Option<&[Member]>,
    paths: &[&str],
    f: &mut dyn FnMut(usize, &str, &'t [u8]),
) -> Option<()> {
    let mut rests: Vec<Rest<'_>> = Vec::with_capacity(paths.len() * 2);
    for (n, p) in paths.iter().enumerate() {
        if !(p.is_empty() || p.starts_with('/')) || p.contains('~') {
            return None;
        }
        rests.push(Rest::of(n, p));
    }
    let mut here = String::new();
    let Some(members) = members else {
        let end = visit(text, value.start, 0, &mut rests, &mut here, f)?;
        return (end == value.end).then_some(());
    };
    if text.get(value.start) != Some(&b'{') {
        return None;
    }
    for rest in &rests {
        if rest.token.is_none() {
            f(rest.path, "", &text[value.clone()]);
        }
    }
    let to = rests.len();
    for m in members {
        let key = &text[m.key.clone()];
        enter(
            text,
            Some(key),
            0,
            m.value.clone(),
            0,
            to,
            &mut rests,
            &mut here,
            f,
        )?;
    }
    Some(())
}

/// What is left of one path of [`each_at`] at a value: its next token (`None` once the path
/// ends at the value) and the pointer after that token.
#[derive(Clone, Copy)]
struct Rest<'p> {
    path: usize,
    token: Option<&'p str>,
    tail: &'p str,
}

impl<'p> Rest<'p> {
    /// The rest `rest` (empty, or a pointer) of path `path`.
    fn of(path: usize, rest: &'p str) -> Self {
        let Some(rest) = rest.strip_prefix('/') else {
            return Rest {
                path,
                token: None,
                tail: "",
            };
        };
        let (token, tail) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, ""),
        };
        Rest {
            path,
            token: Some(token),
            tail,
        }
    }
}

/// [`each_at`] from the value at `at`, whose pointer is `here`, for the paths whose rest
/// lies in `rests[from..]`; where the value ends. A container's members and elements are
/// walked as the patches walk them ([`super::super::patch::members`]).
fn visit<'t>(
    text: &'t [u8],
    at: usize,
    from: usize,
    rests: &mut Vec<Rest<'_>>,
    here: &mut String,
    f: &mut dyn FnMut(usize, &str, &'t [u8]),
) -> Option<usize> {
    use super::super::patch::{elements, members, value_end};
    let to = rests.len();
    let mut end = None;
    for rest in &rests[from..to] {
        if rest.token.is_none() {
            let e = match end {
                Some(e) => e,
                None => *end.insert(value_end(text, at).ok()?),
            };
            f(rest.path, here, &text[at..e]);
        }
    }
    if rests[from..to].iter().all(|r| r.token.is_none())
        || !matches!(text.get(at), Some(b'{' | b'['))
    {
        return end.map_or_else(|| value_end(text, at).ok(), Some);
    }
    // Where the container ends: after its last item's value (a close the walk checked), or
    // after its open when it has none.
    let mut walked = at + 2;
    if text[at] == b'{' {
        for member in members(text, at) {
            let (key, value) = member.ok()?;
            walked = value.end + 1;
            // Inside its quotes; a key holding an escape is left to the parse.
            let key = &text[key.start + 1..key.end - 1];
            if key.contains(&b'\\') {
                return None;
            }
            enter(text, Some(key), 0, value, from, to, rests, here, f)?;
        }
    } else {
        for (index, value) in elements(text, at).enumerate() {
            let value = value.ok()?;
            walked = value.end + 1;
            enter(text, None, index, value, from, to, rests, here, f)?;
        }
    }
    end.map_or(Some(walked), |e| (e == walked).then_some(e))
}

/// Enters the member `key` (or the element `index`, without a key) of a container visited
/// for the paths in `rests[from..to]`, its value lying at `value`, when a path goes on
/// through it; `None` when unsure.
#[allow(clippy::too_many_arguments)]
fn enter<'t>(
    text: &'t [u8],
    key: Option<&[u8]>,
    index: usize,
    value: Range<usize>,
    from: usize,
    to: usize,
    rests: &mut Vec<Rest<'_>>,
    here: &mut String,
    f: &mut dyn FnMut(usize, &str, &'t [u8]),
) -> Option<()> {
    // `rests` grows while this loop reads below `to`.
    for k in from..to {
        let Rest {
            path,
            token: Some(token),
            tail,
        } = rests[k]
        else {
            continue;
        };
        let hit = token == "*"
            || match key {
                Some(key) => token.as_bytes() == key,
                None => crate::model::pointer::index(token) == Some(index),
            };
        if hit {
            rests.push(Rest::of(path, tail));
        }
    }
    if rests.len() == to {
        return Some(());
    }
    let len = here.len();
    here.push('/');
    match key {
        Some(key) => {
            let key = std::str::from_utf8(key).ok()?;
            if key.contains(['~', '/']) {
                here.push_str(&crate::model::pointer::escape(key));
            } else {
                here.push_str(key);
            }
        }
        None => {
            use std::fmt::Write;
            let _ = write!(here, "{index}");
        }
    }
    let end = visit(text, value.start, to, rests, here, f);
    here.truncate(len);
    rests.truncate(to);
    (end? == value.end).then_some(())
}

#[cfg(test)]
mod tests;
