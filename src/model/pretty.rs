//! Writing a parked document in the layout's pretty form without parsing it again.
//!
//! A document hoist edited is parked as its compact serialisation (no whitespace outside
//! strings, as `serde_json::to_vec` writes it). Its pretty form (`serde_json::to_vec_pretty`:
//! two-space indent, `": "` after keys, `{}` and `[]` for empty containers) differs only in
//! whitespace outside strings, so it is made by one pass over the bytes that adds that
//! whitespace: strings and numbers are copied as they are.

/// Appends to `out` the pretty form of `compact`, the compact serialisation of a JSON value,
/// as it is written nested `level` containers deep (its first line is not indented; the lines
/// inside it are, by `level + 1` steps).
pub fn from_compact(compact: &[u8], level: usize, out: &mut Vec<u8>) {
    out.reserve(compact.len() + compact.len() / 2);
    let mut depth = level;
    let mut i = 0;
    while i < compact.len() {
        let b = compact[i];
        match b {
            b'"' => {
                let end =
                    crate::model::json::string_end(compact, i).map_or(compact.len(), |(e, _)| e);
                out.extend_from_slice(&compact[i..end]);
                i = end;
                continue;
            }
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                if compact.get(i + 1) == Some(&close) {
                    out.extend_from_slice(&[b, close]);
                    i += 2;
                    continue;
                }
                out.push(b);
                depth += 1;
                newline(out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b',');
                newline(out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
        i += 1;
    }
}

fn newline(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    out.resize(out.len() + 2 * depth, b' ');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn value() -> impl Strategy<Value = Value> {
        // Quotes, backslashes, brackets, separators and control characters in strings.
        let leaf =
            crate::model::arbitrary::scalar("[a-z\"\\\\{}\\[\\]:, \n\t\u{1}\u{e9}\u{1f600}]{0,12}");
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\":{\\[,]{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_pretty_form_is_serde_jsons(v in value()) {
            let mut got = Vec::new();
            from_compact(&serde_json::to_vec(&v).unwrap(), 0, &mut got);
            prop_assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(serde_json::to_vec_pretty(&v).unwrap()).unwrap()
            );
        }

        #[test]
        fn a_nested_value_is_indented_as_inside_its_parent(v in value()) {
            let mut got = b"{\n  \"meta\": ".to_vec();
            from_compact(&serde_json::to_vec(&v).unwrap(), 1, &mut got);
            got.extend_from_slice(b"\n}");
            let want = serde_json::to_vec_pretty(&json!({"meta": v})).unwrap();
            prop_assert_eq!(String::from_utf8(got).unwrap(), String::from_utf8(want).unwrap());
        }
    }

    #[test]
    fn empty_containers_stay_on_one_line() {
        let mut got = Vec::new();
        from_compact(br#"{"a":{},"b":[],"c":[{}],"d":"{}[],:"}"#, 0, &mut got);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "{\n  \"a\": {},\n  \"b\": [],\n  \"c\": [\n    {}\n  ],\n  \"d\": \"{}[],:\"\n}"
        );
    }
}
