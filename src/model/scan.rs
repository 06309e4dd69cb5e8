//! Reading what a stage needs from a parked document's JSON text without building its tree:
//! whether some string value is wanted, and the values of a few top-level fields. Each is
//! one pass over the text that allocates only for what it returns (and for a string that
//! holds escapes).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::json::Key;

/// Whether `f` returns true for some string value (not key) of the JSON text `bytes`, a
/// document a parse accepted. One pass from quote to quote: a string followed by `:` is a
/// key; a value is handed over as it is unless it holds an escape (then decoded).
pub fn any_string(bytes: &[u8], f: &mut dyn FnMut(&str) -> bool) -> bool {
    super::json::any_text(bytes, false, f)
}

/// The values of the top-level fields `names` of the JSON object text `bytes`, in the order
/// of `names` (`None` for a field it lacks, or when the text is not an object).
pub fn top_fields(bytes: &[u8], names: &[&str]) -> Vec<Option<Value>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Fields { names }
        .deserialize(&mut de)
        .unwrap_or_else(|_| vec![None; names.len()])
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
        // A key is a key before whitespace too; quotes, colons and backslashes inside strings
        // end nothing.
        let text = br#"{"k" : "v:", "l":["\"q\":", "\\"] , "m":{"n":"o"}}"#;
        let mut seen = Vec::new();
        any_string(text, &mut |s| {
            seen.push(s.to_string());
            false
        });
        assert_eq!(seen, ["v:", "\"q\":", "\\", "o"]);
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
