//! Reading asset documents: JSON whose objects hold each key once.
//!
//! JSON does not say which value of a repeated key counts (RFC 8259, section 4: names
//! "SHOULD be unique"); `serde_json` keeps the last, a platform may keep the first. A document
//! with a repeated key could then look unchanged to hoist while the platform holds another
//! value, so such a document is refused, naming the key and where it is.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Parses `bytes` as JSON, refusing an object that holds a key twice.
pub fn parse(bytes: &[u8]) -> Result<Value, String> {
    if let Some(value) = parse_unique(bytes) {
        return Ok(value);
    }
    // The message, from the two passes that name what is wrong and where.
    let value: Value = serde_json::from_slice(bytes).map_err(value_not_shown)?;
    unique_keys(bytes)?;
    Ok(value)
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

/// Parses `bytes` as JSON into `T`, refusing an object that holds a key twice.
pub fn parse_as<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let value: T = serde_json::from_slice(bytes).map_err(value_not_shown)?;
    unique_keys(bytes)?;
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
