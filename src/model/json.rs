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
    let value: Value = serde_json::from_slice(bytes).map_err(value_not_shown)?;
    unique_keys(bytes)?;
    Ok(value)
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
struct Key<'de>(std::borrow::Cow<'de, str>);

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
