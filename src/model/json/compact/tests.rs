use super::super::{parse_pruned_nested, parse_unique, without_whitespace};
use super::*;
use proptest::prelude::*;
use serde_json::json;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        crate::model::arbitrary::scalar("[ab0\"\\\\\n\u{1}\u{e9}\u{1F600}/ ]{0,5}"),
        Just(json!(1e300)),
        Just(json!(-0.5)),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            // Plain keys mostly; now and then one the writer escapes (left to the parser).
            prop::collection::btree_map(
                prop_oneof![9 => "[ab01~/ ]{0,2}", 1 => "[a\"\\\\]{1,2}"],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "0", "1", "*", "~1", "~0", "a b"]),
        0..4,
    )
    .prop_map(|t| t.iter().map(|t| format!("/{t}")).collect())
}

/// Text of `v` with whitespace put between tokens as `space` says (each of its bytes: where
/// the next token boundary gets a space, a newline, a tab, or nothing).
fn spaced(v: &Value, space: &[u8]) -> Vec<u8> {
    let compact = serde_json::to_vec(v).unwrap();
    let mut out = Vec::new();
    let mut n = 0;
    let mut at = 0;
    while at < compact.len() {
        let end = if compact[at] == b'"' {
            super::super::string_end(&compact, at).unwrap().0
        } else if compact[at].is_ascii_alphanumeric() || compact[at] == b'-' {
            // A number or a literal, whole.
            at + compact[at..]
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || b"+-.".contains(b)))
                .unwrap_or(compact.len() - at)
        } else {
            at + 1
        };
        let pick = space.get(n % space.len().max(1)).copied().unwrap_or(0);
        n += 1;
        out.extend_from_slice(match pick % 5 {
            0 => b"",
            1 => b" ",
            2 => b"\n  ",
            3 => b"\t",
            _ => b"\r\n",
        });
        out.extend_from_slice(&compact[at..end]);
        at = end;
    }
    out
}

proptest! {
    /// Whatever this pass accepts, the validating parse accepts as the same document; its text
    /// is the squeezed text, its members the root's; and it accepts every document of plain
    /// keys.
    #[test]
    fn it_reads_as_the_validating_parse_and_the_squeeze(
        v in value(),
        space in prop::collection::vec(any::<u8>(), 0..16),
        paths in prop::collection::vec(path(), 0..4),
    ) {
        let text = spaced(&v, &space);
        let parsed = parse_unique(&text);
        prop_assert_eq!(parsed.as_ref(), Some(&v));
        let Some(sq) = squeeze(&text) else {
            // Only a key holding an escape is left to the parser here.
            prop_assert!(has_escaped_key(&v));
            return Ok(());
        };
        prop_assert_eq!(&sq.text, &without_whitespace(&text));
        let members: Vec<(String, Value)> = sq.top.iter().map(|(k, r)| {
            (String::from_utf8(sq.text[k.clone()].to_vec()).unwrap(),
             serde_json::from_slice(&sq.text[r.clone()]).unwrap())
        }).collect();
        let expected: Vec<(String, Value)> = match &v {
            Value::Object(m) => m.iter().map(|(k, x)| (k.clone(), x.clone())).collect(),
            _ => Vec::new(),
        };
        prop_assert_eq!(members, expected);
        // And the members of each object that is a root member's value.
        for (n, (_, x)) in sq.top.iter().enumerate() {
            let inner: Vec<(String, Value)> = sq.members_of(n).iter().map(|m| {
                (String::from_utf8(sq.text[m.key.clone()].to_vec()).unwrap(),
                 serde_json::from_slice(&sq.text[m.value.clone()]).unwrap())
            }).collect();
            let whole: Value = serde_json::from_slice(&sq.text[x.clone()]).unwrap();
            let expected: Vec<(String, Value)> = match whole {
                Value::Object(m) => m.into_iter().collect(),
                _ => Vec::new(),
            };
            prop_assert_eq!(inner, expected);
        }
        prop_assert_eq!(sq.inner.len(), (0..sq.top.len()).map(|n| sq.members_of(n).len()).sum::<usize>());
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        prop_assert_eq!(pruned(&sq.text, &refs), parse_pruned_nested(&text, 1, &refs));
    }

    /// A document damaged anywhere: accepted only when the validating parse accepts it too, and
    /// then as the same document.
    #[test]
    fn it_never_accepts_what_the_parse_refuses(
        v in value(),
        cuts in prop::collection::vec((any::<prop::sample::Index>(), 0usize..12), 1..3),
    ) {
        let mut text = serde_json::to_vec_pretty(&v).unwrap();
        let junk: &[&[u8]] = &[b"\"", b"\\", b",", b":", b"{", b"}", b"[", b"]", b"0", b"-",
            b"e", b"\x01", b"\\ud800", b"\xff"];
        for (at, what) in &cuts {
            let at = at.index(text.len() + 1);
            match what {
                0 => { if at < text.len() { text.remove(at); } }
                n => { let j = junk[(n - 1) % junk.len()]; text.splice(at..at, j.iter().copied()); }
            }
        }
        if let Some(sq) = squeeze(&text) {
            let whole = parse_unique(&text);
            prop_assert!(whole.is_some(), "accepted {:?}", String::from_utf8_lossy(&text));
            prop_assert_eq!(parse_unique(&sq.text), whole);
            prop_assert_eq!(sq.text, without_whitespace(&text));
        }
    }
}

proptest! {
    /// Every path reaches through the text what it reaches in the parsed document, in the
    /// same order and at the same pointers; the walk is unsure only of a path holding an
    /// escape or a key holding one.
    #[test]
    fn each_at_reaches_what_the_pointers_reach(
        v in value(),
        paths in prop::collection::vec(path(), 0..4),
    ) {
        let Some(sq) = squeeze(&serde_json::to_vec(&v).unwrap()) else {
            return Ok(());
        };
        let at: Vec<&str> = paths.iter().map(String::as_str).collect();
        let mut seen: Vec<(usize, String, Value)> = Vec::new();
        let read = each_at(&sq.text, 0..sq.text.len(), None, &at, &mut |n, pointer, text| {
            seen.push((n, pointer.to_string(), serde_json::from_slice(text).unwrap()));
        });
        // The same value as a root member's, its members noted by the pass: the same.
        let mut doc = br#"{"x":[],"m":"#.to_vec();
        doc.extend_from_slice(&sq.text);
        doc.push(b'}');
        let held = squeeze(&doc).unwrap();
        let mut seen_held: Vec<(usize, String, Value)> = Vec::new();
        let members = v.is_object().then(|| held.members_of(1));
        let read_held = each_at(&held.text, held.top[1].1.clone(), members, &at, &mut |n, pointer, text| {
            seen_held.push((n, pointer.to_string(), serde_json::from_slice(text).unwrap()));
        });
        prop_assert_eq!(read_held, read);
        prop_assert_eq!(&seen_held, &seen);
        if read.is_none() {
            prop_assert!(paths.iter().any(|p| p.contains('~')) || has_escaped_key(&v));
            return Ok(());
        }
        for (n, p) in at.iter().enumerate() {
            let want: Vec<(String, Value)> = crate::model::pointer::expand_values(&v, p)
                .into_iter()
                .map(|(pointer, value)| (pointer, value.clone()))
                .collect();
            let got: Vec<(String, Value)> = seen
                .iter()
                .filter(|(m, _, _)| *m == n)
                .map(|(_, pointer, value)| (pointer.clone(), value.clone()))
                .collect();
            prop_assert_eq!(got, want, "path {}", p);
        }
    }
}

#[test]
fn each_at_reads_through_arrays_and_objects_and_past_what_no_path_reaches() {
    let text = br#"{"a":[{"b":"x"},{"c":1},{"b":null}],"d":{"e~f":"y","g/h":[1,[2]]},"i":"}"}"#;
    let mut seen = Vec::new();
    let paths = ["/a/*/b", "/d/*", "/a/1", "/i", "/nowhere/x", ""];
    let read = each_at(text, 0..text.len(), None, &paths, &mut |n, at, value| {
        seen.push(format!("{n} {at} {}", String::from_utf8_lossy(value)));
    });
    assert_eq!(read, Some(()));
    let root = format!("5  {}", String::from_utf8_lossy(text));
    assert_eq!(
        seen,
        [
            root.as_str(),
            "0 /a/0/b \"x\"",
            "2 /a/1 {\"c\":1}",
            "0 /a/2/b null",
            "1 /d/e~0f \"y\"",
            "1 /d/g~1h [1,[2]]",
            "3 /i \"}\"",
        ]
    );
    // A path holding an escape, and a text that is not one value, are left to the parse.
    assert_eq!(
        each_at(text, 0..text.len(), None, &["/d/e~0f"], &mut |_, _, _| {}),
        None
    );
    assert_eq!(
        each_at(b"{}{}", 0..4, None, &["/a"], &mut |_, _, _| {}),
        None
    );
    assert_eq!(each_at(b"", 0..0, None, &["/a"], &mut |_, _, _| {}), None);
}

proptest! {
    /// The word-at-a-time search finds the first quote, backslash or control character, as
    /// a byte-by-byte search does, wherever it lies in the word and whatever lies around it.
    #[test]
    fn special_bytes_are_found_as_one_at_a_time(
        bytes in prop::collection::vec(
            prop_oneof![
                6 => 0x20u8..0x7f,
                1 => Just(b'"'),
                1 => Just(b'\\'),
                1 => 0u8..0x20,
                2 => 0x80u8..=0xff,
                1 => prop::sample::select(vec![0x21u8, 0x5d, 0x1f, 0x7f, 0xa2, 0xdc, 0x01]),
            ],
            0..80,
        ),
        plain_before in 0usize..40,
    ) {
        let mut text = vec![b'a'; plain_before];
        text.extend_from_slice(&bytes);
        let want = text.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        prop_assert_eq!(special(&text), want);
    }
}

fn has_escaped_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| {
            k.contains(['"', '\\']) || k.chars().any(char::is_control) || has_escaped_key(x)
        }),
        Value::Array(items) => items.iter().any(has_escaped_key),
        _ => false,
    }
}

#[test]
fn what_the_parse_refuses_is_refused() {
    let deep = format!("{}1{}", "[".repeat(DEEPEST + 1), "]".repeat(DEEPEST + 1));
    let many = |dup: &str| {
        let mut keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        keys.push(format!("\"{dup}\":0"));
        format!("{{{}}}", keys.join(","))
    };
    for bad in [
        r#"{"a":1,"a":2}"#.to_string(),
        r#"{"x":{"a":1,"b":{},"a":2}}"#.to_string(),
        many("k7"),
        many("k39"),
        "{\"a\":\"x\u{1}\"}".to_string(),
        r#"{"a":"\x"}"#.to_string(),
        r#"{"a":"\u12"}"#.to_string(),
        r#"{"a":"\ud800"}"#.to_string(),
        r#"{"a":"\udc00x"}"#.to_string(),
        r#"{"a":01}"#.to_string(),
        r#"{"a":1.}"#.to_string(),
        r#"{"a":.5}"#.to_string(),
        r#"{"a":-}"#.to_string(),
        r#"{"a":1e}"#.to_string(),
        r#"{"a":+1}"#.to_string(),
        r#"{"a":tru}"#.to_string(),
        r#"{"a":nulll}"#.to_string(),
        r#"{"a":1,}"#.to_string(),
        r#"[1,]"#.to_string(),
        r#"{"a" 1}"#.to_string(),
        r#"{"a":1} x"#.to_string(),
        r#"{"a":1}{}"#.to_string(),
        r#"{"a":[}"#.to_string(),
        r#"{"a":1"#.to_string(),
        "\u{c}{}".to_string(),
        "".to_string(),
        "  ".to_string(),
        deep,
    ] {
        assert_eq!(squeeze(bad.as_bytes()), None, "{bad}");
    }
    assert_eq!(squeeze(b"{\"a\":\"\xff\"}"), None);
    // Left to the parser, which reads them: an escaped key, the number marker as a key.
    for unsure in [
        r#"{"\u0061":1}"#,
        r#"{"$serde_json::private::Number":"1"}"#,
        r#"{"a":{"b":1,"$serde_json::private::RawValue":"1"}}"#,
    ] {
        assert_eq!(squeeze(unsure.as_bytes()), None, "{unsure}");
        assert!(parse_unique(unsure.as_bytes()).is_some(), "{unsure}");
    }
}

#[test]
fn what_the_parse_reads_is_read_and_kept_as_spelled() {
    let at_limit = format!("{}1{}", "[".repeat(DEEPEST), "]".repeat(DEEPEST));
    for good in [
        "{\n  \"a\" : [ 1 , -0.5e+3, 1E999 , 0 ] ,\t\"b\":\"x \\\" \\u00e9 \\/ \\ud83d\\ude00\"\r\n}",
        r#"{"a":{},"b":[],"c":[{}],"d":null,"e":true,"f":false,"g":""}"#,
        "\"s\"",
        " 12 ",
        &at_limit,
    ] {
        let sq = squeeze(good.as_bytes()).unwrap_or_else(|| panic!("{good}"));
        assert_eq!(sq.text, without_whitespace(good.as_bytes()), "{good}");
        assert!(parse_unique(good.as_bytes()).is_some(), "{good}");
    }
    let sq = squeeze(br#" { "labels" : { "x" : "y" } , "meta" : [ 1 ] } "#).unwrap();
    let top: Vec<(&[u8], &[u8])> = sq
        .top
        .iter()
        .map(|(k, v)| (&sq.text[k.clone()], &sq.text[v.clone()]))
        .collect();
    assert_eq!(
        top,
        vec![
            (&b"labels"[..], &br#"{"x":"y"}"#[..]),
            (&b"meta"[..], &b"[1]"[..])
        ]
    );
}

#[test]
fn what_no_path_reaches_is_null_in_an_array_and_absent_in_an_object() {
    for (text, paths) in [
        (r#"[false,{"a":1,"b":[2]}]"#, vec!["/1/a"]),
        (r#"[false]"#, vec![]),
        (r#"{"a":[1,{"x":"y"}],"b":2}"#, vec!["/a/*/x"]),
        (r#"{"a":"s"}"#, vec![""]),
        (r#"7"#, vec!["/a"]),
    ] {
        let sq = squeeze(text.as_bytes()).unwrap();
        assert_eq!(
            pruned(&sq.text, &paths),
            parse_pruned_nested(text.as_bytes(), 1, &paths),
            "{text} {paths:?}"
        );
    }
    assert_eq!(
        pruned(br#"[false,{"a":1,"b":[2]}]"#, &["/1/a"]),
        Some(json!([null, {"a": 1}]))
    );
}

#[test]
fn reserved_keys_are_found_as_keys_escaped_or_not_and_only_as_keys() {
    use super::super::reserved_key;
    // The YAML reader, a layer below, refuses the same keys.
    assert_eq!(
        super::super::RESERVED_PREFIX,
        crate::yaml::de::RESERVED_PREFIX
    );
    for (text, found) in [
        (r#"{"a":{"$serde_json::private::Number" :"1"}}"#, true),
        (
            r#"{"a":[{"b":1,"\u0024serde_json::private::RawValue":2}]}"#,
            true,
        ),
        (r#"{"a":"$serde_json::private::Number"}"#, false),
        (r#"["$serde_json::private::Number",{"x":"$"}]"#, false),
        (
            r#"{"$serde_json::privat":1,"a\"$serde_json::private::Number":2}"#,
            false,
        ),
        (r#"{"a":1}"#, false),
    ] {
        assert_eq!(reserved_key(text.as_bytes()).is_some(), found, "{text}");
    }
}
