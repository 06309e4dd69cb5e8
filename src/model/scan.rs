//! Reading what a stage needs from a parked document's JSON text without building its tree:
//! whether some string value is wanted, and the values of a few top-level fields. Each is
//! one pass over the text that allocates only for what it returns (and for a string that
//! holds escapes).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

// A number's "map" holds the number's text, not a string value of the document.
use super::json::{Key, NUMBER_TOKEN};

/// Whether `f` returns true for some string value (not key) of the JSON text `bytes`. Text
/// that does not parse holds none.
pub fn any_string(bytes: &[u8], f: &mut dyn FnMut(&str) -> bool) -> bool {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    matches!(Strings { f }.deserialize(&mut de), Ok(true))
}

/// The values of the top-level fields `names` of the JSON object text `bytes`, in the order
/// of `names` (`None` for a field it lacks, or when the text is not an object).
pub fn top_fields(bytes: &[u8], names: &[&str]) -> Vec<Option<Value>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Fields { names }
        .deserialize(&mut de)
        .unwrap_or_else(|_| vec![None; names.len()])
}

struct Strings<'f, 'g> {
    f: &'f mut (dyn FnMut(&str) -> bool + 'g),
}

impl<'de> DeserializeSeed<'de> for Strings<'_, '_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strings<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok((self.f)(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut hit = false;
        while let Some(h) = seq.next_element_seed(Strings { f: &mut *self.f })? {
            hit |= h;
            if hit {
                // The rest is still read, so that the text is checked to its end.
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                break;
            }
        }
        Ok(hit)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut hit = false;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if hit || key.0 == NUMBER_TOKEN {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            hit = map.next_value_seed(Strings { f: &mut *self.f })?;
        }
        Ok(hit)
    }
}

struct Fields<'n> {
    names: &'n [&'n str],
}

impl<'de> DeserializeSeed<'de> for Fields<'_> {
    type Value = Vec<Option<Value>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = Vec<Option<Value>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = vec![None; self.names.len()];
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match self.names.iter().position(|n| *n == key.0) {
                // The last value of a key counts, as when the tree is built.
                Some(i) => out[i] = Some(map.next_value::<Value>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings_of(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| strings_of(x, out)),
            Value::Object(m) => m.values().for_each(|x| strings_of(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_string_value_is_seen_and_no_key_or_number() {
        let doc = json!({"a": "x", "key": [1, 2.50, "y\n\u{e9}", {"b": null, "c": "z"}],
            "n": 12345678901234567890123_u128, "t": true, "e": {}, "f": []});
        let text = serde_json::to_vec(&doc).unwrap();
        let mut seen = Vec::new();
        assert!(!any_string(&text, &mut |s| {
            seen.push(s.to_string());
            false
        }));
        let mut want = Vec::new();
        strings_of(&doc, &mut want);
        assert_eq!(seen, want);
        assert!(any_string(&text, &mut |s| s == "y\n\u{e9}"));
        assert!(!any_string(&text, &mut |s| s == "key" || s == "a"));
        assert!(!any_string(&text, &mut |s| s.starts_with("1234")));
        // Escapes are read as the strings they spell.
        assert!(any_string(br#"{"a": ["\u0078"]}"#, &mut |s| s == "x"));
    }

    #[test]
    fn top_fields_are_read_alone() {
        let text = br#"{"group": "g", "deep": {"group": "no"}, "req_uri": "/a", "n": 1.50}"#;
        let got = top_fields(text, &["req_uri", "group", "missing", "n"]);
        assert_eq!(
            got,
            vec![
                Some(json!("/a")),
                Some(json!("g")),
                None,
                Some(serde_json::from_str("1.50").unwrap())
            ]
        );
        assert_eq!(top_fields(b"[1]", &["a"]), vec![None]);
    }
}
