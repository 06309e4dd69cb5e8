//! JSON pointers (RFC 6901) over asset documents, plus `*` for "every element" in the
//! reference declarations of known kinds.

use std::borrow::Cow;

use serde_json::Value;

/// Splits a pointer into unescaped tokens. `""` is the whole document.
pub fn tokens(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!("JSON pointer {pointer:?} must start with '/'"));
    };
    rest.split('/')
        .map(|t| {
            if t.contains('~') {
                let mut out = String::with_capacity(t.len());
                let mut chars = t.chars();
                while let Some(c) = chars.next() {
                    if c == '~' {
                        match chars.next() {
                            Some('0') => out.push('~'),
                            Some('1') => out.push('/'),
                            _ => {
                                return Err(format!(
                                    "JSON pointer {pointer:?} has a bad '~' escape"
                                ));
                            }
                        }
                    } else {
                        out.push(c);
                    }
                }
                Ok(out)
            } else {
                Ok(t.to_string())
            }
        })
        .collect()
}

/// Escapes one token for use in a pointer.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn step<'a>(value: &'a Value, token: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map.get(token),
        Value::Array(items) => index(token).and_then(|i| items.get(i)),
        _ => None,
    }
}

fn step_mut<'a>(value: &'a mut Value, token: &str) -> Option<&'a mut Value> {
    match value {
        Value::Object(map) => map.get_mut(token),
        Value::Array(items) => index(token).and_then(move |i| items.get_mut(i)),
        _ => None,
    }
}

pub(crate) fn index(token: &str) -> Option<usize> {
    if token == "0" || (!token.starts_with('0') && token.bytes().all(|b| b.is_ascii_digit())) {
        token.parse().ok()
    } else {
        None
    }
}

/// The tokens of a pointer without copying those that need no unescaping; `None` for a
/// malformed pointer.
pub(crate) fn cheap_tokens(pointer: &str) -> Option<Vec<Cow<'_, str>>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    rest.split('/')
        .map(|t| {
            if t.contains('~') {
                tokens(&format!("/{t}"))
                    .ok()
                    .and_then(|mut v| v.pop())
                    .map(Cow::Owned)
            } else {
                Some(Cow::Borrowed(t))
            }
        })
        .collect()
}

/// Whether the pointers `decl` (whose tokens may be `*`, each standing for any one) and
/// `place` part at some step both have: a token of `decl` that is no `*` differs from the
/// token of `place` at the same step. `false` when either is malformed. The tokens are
/// compared as written, without copying: RFC 6901 spells each token one way only.
pub(crate) fn part(decl: &str, place: &str) -> bool {
    let well_formed = |p: &str| {
        (p.is_empty() || p.starts_with('/'))
            && p.match_indices('~')
                .all(|(i, _)| matches!(p.as_bytes().get(i + 1), Some(b'0' | b'1')))
    };
    if !well_formed(decl) || !well_formed(place) || decl.is_empty() || place.is_empty() {
        return false;
    }
    decl[1..]
        .split('/')
        .zip(place[1..].split('/'))
        .any(|(d, p)| d != "*" && d != p)
}

/// The value at `pointer`, if the path exists.
pub fn get<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut cur = doc;
    for t in cheap_tokens(pointer)? {
        cur = step(cur, &t)?;
    }
    Some(cur)
}

/// The value at `pointer`, mutable, if the path exists.
pub fn get_mut<'a>(doc: &'a mut Value, pointer: &str) -> Option<&'a mut Value> {
    let mut cur = doc;
    for t in cheap_tokens(pointer)? {
        cur = step_mut(cur, &t)?;
    }
    Some(cur)
}

/// Calls `f` on every value `pattern` (a pointer whose tokens may be `*`) reaches in `doc`,
/// in document order, until `f` returns true; returns whether it did. Nothing is copied.
pub fn any_at(doc: &Value, pattern: &str, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match cheap_tokens(pattern) {
        Some(toks) => any_walk(doc, &toks, f),
        None => false,
    }
}

fn any_walk(value: &Value, toks: &[Cow<'_, str>], f: &mut dyn FnMut(&Value) -> bool) -> bool {
    let Some((first, rest)) = toks.split_first() else {
        return f(value);
    };
    if first == "*" {
        match value {
            Value::Array(items) => items.iter().any(|item| any_walk(item, rest, f)),
            Value::Object(map) => map.values().any(|item| any_walk(item, rest, f)),
            _ => false,
        }
    } else {
        step(value, first).is_some_and(|next| any_walk(next, rest, f))
    }
}

/// An element selector step of an override's pointer, `[FIELD=VALUE]`: it picks, in an
/// array, the one element that is an object whose `FIELD` is `VALUE` (a string, or a number
/// or boolean written as JSON). `None` for any other step.
pub fn selector(token: &str) -> Option<(&str, &str)> {
    token
        .strip_prefix('[')?
        .strip_suffix(']')?
        .split_once('=')
        .filter(|(field, _)| !field.is_empty())
}

/// `pattern` with each element selector step replaced by the index of the element it picks
/// in `doc`: the concrete pointer an override writes. A selector that picks no element, or
/// several, or stands where `doc` has no array, is an error naming the place.
pub fn select(doc: &Value, pattern: &str) -> Result<String, String> {
    let toks = tokens(pattern)?;
    let mut out = String::new();
    let mut cur = Some(doc);
    for t in &toks {
        let here = if out.is_empty() {
            "the document".to_string()
        } else {
            out.clone()
        };
        let Some((field, wanted)) = selector(t) else {
            out.push('/');
            out.push_str(&escape(t));
            cur = cur.and_then(|c| step(c, t));
            continue;
        };
        let Some(Value::Array(items)) = cur else {
            return Err(format!(
                "{here} is not an array, so [{field}={wanted}] selects nothing in it"
            ));
        };
        let matches = |item: &Value| match item.get(field) {
            Some(Value::String(s)) => s == wanted,
            Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                serde_json::to_string(v).is_ok_and(|t| t == wanted)
            }
            _ => false,
        };
        let hits: Vec<usize> = (0..items.len()).filter(|&i| matches(&items[i])).collect();
        match hits[..] {
            [i] => {
                out.push('/');
                out.push_str(&i.to_string());
                cur = items.get(i);
            }
            [] => {
                return Err(format!("no element of {here} has {field} = {wanted:?}"));
            }
            _ => {
                return Err(format!(
                    "{} elements of {here} have {field} = {wanted:?}; a selector picks exactly one",
                    hits.len()
                ));
            }
        }
    }
    Ok(out)
}

/// A document holding only `value`, at `pointer` (objects made on the way; a pointer that is
/// not well-formed gives the value itself).
pub fn document_with(pointer: &str, value: Value) -> Value {
    let Ok(steps) = tokens(pointer) else {
        return value;
    };
    steps.into_iter().rev().fold(value, |inner, step| {
        let mut map = serde_json::Map::new();
        map.insert(step, inner);
        Value::Object(map)
    })
}

/// Why [`add`] could not add a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddError {
    /// The field is there already.
    Exists,
    /// The pointer's parent is not an object of the document (or the pointer is malformed
    /// or the root).
    NoParent(String),
}

/// Adds `value` as a new member at `pointer`: its parent must be an object and the member
/// must not be there yet.
pub fn add(doc: &mut Value, pointer: &str, value: Value) -> Result<(), AddError> {
    if get(doc, pointer).is_some() {
        return Err(AddError::Exists);
    }
    let no_parent = || {
        let parent = pointer.rsplit_once('/').map_or("", |(p, _)| p);
        AddError::NoParent(if parent.is_empty() {
            "/".into()
        } else {
            parent.into()
        })
    };
    let mut toks = tokens(pointer).map_err(|_| no_parent())?;
    let last = toks.pop().ok_or_else(no_parent)?;
    let mut cur = &mut *doc;
    for t in &toks {
        cur = step_mut(cur, t).ok_or_else(no_parent)?;
    }
    match cur {
        Value::Object(map) => {
            map.insert(last, value);
            Ok(())
        }
        _ => Err(no_parent()),
    }
}

/// Removes the value at `pointer` and returns it, if the path exists.
pub fn remove(doc: &mut Value, pointer: &str) -> Option<Value> {
    let mut toks = tokens(pointer).ok()?;
    let last = toks.pop()?;
    let mut cur = doc;
    for t in &toks {
        cur = step_mut(cur, t)?;
    }
    match cur {
        Value::Object(map) => map.shift_remove(&last),
        Value::Array(items) => {
            let i = index(&last)?;
            (i < items.len()).then(|| items.remove(i))
        }
        _ => None,
    }
}

/// Expands a declaration pointer whose tokens may be `*` into the concrete pointers that
/// exist in `doc`, in document order.
pub fn expand(doc: &Value, pattern: &str) -> Vec<String> {
    expand_values(doc, pattern)
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

/// [`expand`], with the value each pointer reaches (so that no caller walks the path again).
pub fn expand_values<'v>(doc: &'v Value, pattern: &str) -> Vec<(String, &'v Value)> {
    let Some(toks) = cheap_tokens(pattern) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(doc, &toks, &mut String::new(), &mut out);
    out
}

/// Walks `toks` from `value`, `here` being the pointer of `value` (restored on return).
fn walk<'v>(
    value: &'v Value,
    toks: &[Cow<'_, str>],
    here: &mut String,
    out: &mut Vec<(String, &'v Value)>,
) {
    let Some((first, rest)) = toks.split_first() else {
        out.push((here.clone(), value));
        return;
    };
    let len = here.len();
    let push = |here: &mut String, token: &str| {
        here.push('/');
        if token.contains(['~', '/']) {
            here.push_str(&escape(token));
        } else {
            here.push_str(token);
        }
    };
    if first == "*" {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    here.push('/');
                    here.push_str(&i.to_string());
                    walk(item, rest, here, out);
                    here.truncate(len);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    push(here, k);
                    walk(item, rest, here, out);
                    here.truncate(len);
                }
            }
            _ => {}
        }
    } else if let Some(next) = step(value, first) {
        push(here, first);
        walk(next, rest, here, out);
        here.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_part_as_their_tokens_do() {
        let by_tokens = |d: &str, p: &str| match (cheap_tokens(d), cheap_tokens(p)) {
            (Some(d), Some(p)) => d.iter().zip(&p).any(|(d, p)| d != "*" && d != p),
            _ => false,
        };
        let all = [
            "", "/", "/a", "/a/b", "/b", "/*", "/*/b", "/a/*", "/a~1b", "/a~0b", "/a~2", "/a~",
            "a", "//", "/~1", "/0", "/00", "/a/b/c",
        ];
        for d in all {
            for p in all {
                assert_eq!(part(d, p), by_tokens(d, p), "{d:?} {p:?}");
            }
        }
        assert!(part("/group", "/name"));
        assert!(!part("/environments/*", "/environments/0"));
        assert!(!part("/a~1b", "/a~1b/c"));
    }

    #[test]
    fn selectors_pick_one_element_by_a_field() {
        let doc = serde_json::json!({
            "req_params": [
                {"name": "region", "location": "QUERY"},
                {"name": "zone", "location": "HEADER", "port": 8080},
                {"name": "dup"}, {"name": "dup"}
            ],
            "flat": {"name": "region"}
        });
        assert_eq!(
            select(&doc, "/req_params/[name=zone]/location").unwrap(),
            "/req_params/1/location"
        );
        assert_eq!(
            select(&doc, "/req_params/[port=8080]").unwrap(),
            "/req_params/1"
        );
        assert_eq!(select(&doc, "/flat/name").unwrap(), "/flat/name");
        let none = select(&doc, "/req_params/[name=city]/location").unwrap_err();
        assert_eq!(none, r#"no element of /req_params has name = "city""#);
        let two = select(&doc, "/req_params/[name=dup]").unwrap_err();
        assert!(two.starts_with("2 elements of /req_params"), "{two}");
        let flat = select(&doc, "/flat/[name=region]").unwrap_err();
        assert!(flat.contains("not an array"), "{flat}");
        assert_eq!(selector("[a=b=c]"), Some(("a", "b=c")));
        assert_eq!(selector("[=x]"), None);
        assert_eq!(selector("name"), None);
    }
    use serde_json::json;

    #[test]
    fn get_set_remove() {
        let mut doc = json!({"a": {"b/c": [1, {"d~e": 2}]}});
        assert_eq!(get(&doc, "/a/b~1c/1/d~0e"), Some(&json!(2)));
        assert_eq!(get(&doc, "/a/missing"), None);
        assert_eq!(get(&doc, "/a/b~1c/01"), None);
        *get_mut(&mut doc, "/a/b~1c/0").unwrap() = json!(9);
        assert_eq!(remove(&mut doc, "/a/b~1c/0"), Some(json!(9)));
        assert_eq!(doc, json!({"a": {"b/c": [{"d~e": 2}]}}));
        assert!(tokens("no-slash").is_err());
        assert!(tokens("/bad~2").is_err());
    }

    #[test]
    fn add_only_adds_under_an_object() {
        let mut doc = json!({"labels": {"app": "a"}, "list": [1]});
        assert_eq!(add(&mut doc, "/labels/tier", json!("gold")), Ok(()));
        assert_eq!(doc["labels"], json!({"app": "a", "tier": "gold"}));
        assert_eq!(
            add(&mut doc, "/labels/app", json!("b")),
            Err(AddError::Exists)
        );
        assert_eq!(
            add(&mut doc, "/missing/x", json!(1)),
            Err(AddError::NoParent("/missing".into()))
        );
        assert_eq!(
            add(&mut doc, "/list/1", json!(2)),
            Err(AddError::NoParent("/list".into()))
        );
        assert_eq!(add(&mut doc, "", json!(2)), Err(AddError::Exists));
        assert_eq!(add(&mut doc, "/top", json!(3)), Ok(()));
        assert_eq!(doc["top"], json!(3));
    }

    #[test]
    fn remove_out_of_range_is_none() {
        let mut doc = json!({"a": [1, 2]});
        assert_eq!(remove(&mut doc, "/a/2"), None);
        assert_eq!(remove(&mut doc, "/a/1"), Some(json!(2)));
        assert_eq!(remove(&mut doc, "/a/0/x"), None);
        assert_eq!(doc, json!({"a": [1]}));
    }

    #[test]
    fn any_at_visits_what_the_pattern_reaches_until_found() {
        let doc = json!({"apps": [{"id": "x"}, {"id": "y"}], "by": {"k": {"id": "z"}}});
        let mut seen = Vec::new();
        let found = any_at(&doc, "/apps/*/id", &mut |v| {
            seen.push(v.clone());
            v == "y"
        });
        assert!(found);
        assert_eq!(seen, [json!("x"), json!("y")]);
        assert!(any_at(&doc, "/by/*/id", &mut |v| v == "z"));
        assert!(!any_at(&doc, "/apps/*/id", &mut |v| v == "z"));
        assert!(
            !any_at(&doc, "/apps/0/id/*", &mut |_| true),
            "a string has no members"
        );
        assert!(!any_at(&doc, "/missing", &mut |_| true));
        assert!(!any_at(&doc, "no-slash", &mut |_| true));
        // A token that is not `*` is a plain step.
        assert!(any_at(&doc, "/apps/1/id", &mut |v| v == "y"));
    }

    #[test]
    fn a_document_holding_one_value() {
        assert_eq!(document_with("/a/b~1c", json!(1)), json!({"a": {"b/c": 1}}));
        assert_eq!(document_with("", json!(2)), json!(2));
        assert_eq!(document_with("no-slash", json!(3)), json!(3));
    }

    #[test]
    fn expand_wildcards_in_document_order() {
        let doc = json!({"apps": [{"id": "x"}, {"other": 1}, {"id": "y"}]});
        assert_eq!(expand(&doc, "/apps/*/id"), vec!["/apps/0/id", "/apps/2/id"]);
        assert_eq!(expand(&doc, "/nothing/*"), Vec::<String>::new());
        let doc = json!({"by": {"k/1": {"id": "z"}, "k2": {"no": 1}}});
        assert_eq!(expand(&doc, "/by/*/id"), vec!["/by/k~11/id"]);
    }
}
