use super::*;
use crate::secrets::credentials::secret_depth;
use proptest::prelude::*;
use serde_json::json;

fn value() -> impl Strategy<Value = Value> {
    // Quotes, backslashes, brackets, separators and credential words in strings.
    let leaf = prop_oneof![
        crate::model::arbitrary::scalar("[a-z\"\\\\{}\\[\\]:,/~ \n\u{1}\u{e9}]{0,8}"),
        prop::sample::select(vec!["password", "value", "name", "key", "x"])
            .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(vec!["name", "value", "password", "token", "a"])
                        .prop_map(String::from),
                    "[a-z\"\\\\/~:{\\[,]{0,5}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A document (an object, as every parked document is) and a pointer into it: to one of its
/// places, or one step past one (a place that may not exist).
fn doc_and_pointer() -> impl Strategy<Value = (Value, String)> {
    prop::collection::btree_map("[a-z/~]{0,3}", value(), 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
        .prop_flat_map(|doc| {
            let mut places = Vec::new();
            every_place(&doc, &mut String::new(), &mut places);
            let n = places.len();
            (
                Just(doc),
                Just(places),
                0..n,
                prop_oneof![Just(None), "[a-z0-9/~]{0,2}".prop_map(Some)],
            )
        })
        .prop_map(|(doc, places, i, extra)| {
            let mut p = places[i].clone();
            if let Some(t) = extra {
                p.push('/');
                p.push_str(&pointer::escape(&t));
            }
            (doc, p)
        })
}

fn every_place(v: &Value, here: &mut String, out: &mut Vec<String>) {
    if !here.is_empty() {
        out.push(here.clone());
    }
    let len = here.len();
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                here.push('/');
                here.push_str(&pointer::escape(k));
                every_place(x, here, out);
                here.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                here.push_str(&format!("/{i}"));
                every_place(x, here, out);
                here.truncate(len);
            }
        }
        _ => {}
    }
    if out.is_empty() {
        out.push("/none".into());
    }
}

fn compact(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn shown(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

proptest! {
    // Each edit of the text is the same edit of the tree, byte for byte: its compact
    // serialisation (the text being the tree's own serialisation), or for a replaced value
    // the tree written over the text as parking writes it.
    #[test]
    fn edits_of_the_text_are_edits_of_the_tree((doc, p) in doc_and_pointer(), new in value()) {
        let text = compact(&doc);
        prop_assert_eq!(get(&text, &p).unwrap(), pointer::get(&doc, &p).cloned());

        let mut tree = doc.clone();
        let replaced = replace(&text, &p, &new).unwrap();
        match pointer::get_mut(&mut tree, &p) {
            Some(slot) => {
                *slot = new.clone();
                // The value of the tree's edit, in the bytes of that edit written over the
                // text (as a tree edited from a text is parked): an object written over an
                // object keeps the old keys' order.
                let replaced = replaced.unwrap();
                let text_str = std::str::from_utf8(&text).unwrap();
                let over = crate::jsontext::rewrite(text_str, &doc, &tree).unwrap();
                prop_assert_eq!(shown(&replaced), over);
                prop_assert_eq!(serde_json::from_slice::<Value>(&replaced).unwrap(), tree);
            }
            None => prop_assert!(replaced.is_none()),
        }

        let mut tree = doc.clone();
        let removed = remove(&text, &p).unwrap();
        match pointer::remove(&mut tree, &p) {
            Some(_) => prop_assert_eq!(shown(&removed.unwrap().0), shown(&compact(&tree))),
            None => prop_assert!(removed.is_none()),
        }

        let mut tree = doc.clone();
        let added = add(&text, &p, &new).unwrap();
        match pointer::add(&mut tree, &p, new.clone()) {
            Ok(()) => prop_assert_eq!(shown(&added.unwrap()), shown(&compact(&tree))),
            Err(e) => prop_assert_eq!(added.unwrap_err(), e),
        }
    }

    // What a check of a place reads from the view is what it reads from the whole tree:
    // whether the place is a credential (and how deep), the value there, and its parent's kind.
    #[test]
    fn a_view_answers_as_the_tree((doc, p) in doc_and_pointer()) {
        let seen = view(&compact(&doc), &p).unwrap();
        prop_assert_eq!(secret_depth(&p, [Some(&seen), None]), secret_depth(&p, [Some(&doc), None]));
        prop_assert_eq!(pointer::get(&seen, &p), pointer::get(&doc, &p));
        let parent = p.rsplit_once('/').map_or("", |(a, _)| a);
        prop_assert_eq!(
            pointer::get(&seen, parent).map(Value::is_object),
            pointer::get(&doc, parent).map(Value::is_object)
        );
    }
}

#[test]
fn the_rest_of_the_text_keeps_its_spelling() {
    let text = br#"{"caf\u00e9":"a\/b","n":1.50,"x":{"y":[1,2,3]},"z":"\u0041"}"#;
    let got = replace(text, "/x/y/1", &json!("two")).unwrap().unwrap();
    assert_eq!(
        shown(&got),
        r#"{"caf\u00e9":"a\/b","n":1.50,"x":{"y":[1,"two",3]},"z":"\u0041"}"#
    );
    // Keys are matched by what they say, escaped or not.
    let got = remove(text, "/café").unwrap().unwrap().0;
    assert_eq!(shown(&got), r#"{"n":1.50,"x":{"y":[1,2,3]},"z":"\u0041"}"#);
    let got = remove(text, "/z").unwrap().unwrap().0;
    assert_eq!(
        shown(&got),
        r#"{"caf\u00e9":"a\/b","n":1.50,"x":{"y":[1,2,3]}}"#
    );
    let got = add(br#"{"a":{}}"#, "/a/b~1c", &json!({"k": [true]}))
        .unwrap()
        .unwrap();
    assert_eq!(shown(&got), r#"{"a":{"b/c":{"k":[true]}}}"#);
    // Numbers keep their text (as in a tree read from it).
    assert_eq!(
        get(text, "/n").unwrap(),
        Some(serde_json::from_str::<Value>("1.50").unwrap())
    );
}

#[test]
fn what_only_the_tree_can_answer_is_left_to_it() {
    // A key given twice (the tree keeps the last), the whole document, a malformed pointer,
    // text with whitespace between tokens.
    let twice = br#"{"a":1,"a":2}"#;
    assert_eq!(get(twice, "/a"), Err(Unsure));
    assert_eq!(replace(twice, "/a", &json!(3)), Err(Unsure));
    assert_eq!(view(twice, "/b"), Err(Unsure));
    assert_eq!(get(br#"{"a":1}"#, ""), Err(Unsure));
    assert_eq!(get(br#"{"a":1}"#, "a"), Err(Unsure));
    assert_eq!(get(br#"{"a":~}"#, "/a~2"), Err(Unsure));
    assert_eq!(get(br#"{"a": 1}"#, "/a"), Err(Unsure));
}

#[test]
fn a_view_keeps_the_members_beside_the_path_and_not_below_them() {
    let text = br#"{"name":"password","value":{"deep":1},"other":[1,{"x":2}],"k":true}"#;
    assert_eq!(
        view(text, "/value").unwrap(),
        json!({"name": "password", "value": {"deep": 1}, "other": null, "k": true})
    );
    assert_eq!(
        view(text, "/other/1/x").unwrap(),
        json!({"name": "password", "value": null, "other": [1, {"x": 2}], "k": true})
    );
}

#[test]
fn an_object_written_over_one_keeps_what_both_hold() {
    let text = br#"{"a":{"s":"caf\u00e9","n":1},"b":["\/",2]}"#;
    let got = replace(text, "/a", &json!({"s": "café", "n": 2, "t": true}))
        .unwrap()
        .unwrap();
    assert_eq!(
        shown(&got),
        r#"{"a":{"s":"caf\u00e9","n":2,"t":true},"b":["\/",2]}"#
    );
    let got = replace(text, "/b", &json!(["/", 3])).unwrap().unwrap();
    assert_eq!(shown(&got), r#"{"a":{"s":"caf\u00e9","n":1},"b":["\/",3]}"#);
}

#[test]
fn no_text_and_too_deep_values_are_left_to_the_tree() {
    assert_eq!(get(b"", "/a"), Err(Unsure));
    assert_eq!(replace(b"", "/a", &json!(1)), Err(Unsure));
    assert_eq!(remove(b"", "/a"), Err(Unsure));
    assert_eq!(add(b"", "/a", &json!(1)), Err(Unsure));
    // A value that would take the document past the depth a parked text may have.
    let deep = (0..130).fold(json!(1), |v, _| json!([v]));
    assert_eq!(replace(br#"{"a":1}"#, "/a", &deep), Err(Unsure));
    assert_eq!(add(br#"{"a":1}"#, "/b", &deep), Err(Unsure));
    assert!(
        replace(br#"{"a":1}"#, "/a", &json!([[1]]))
            .unwrap()
            .is_some()
    );
}

proptest! {
    /// The root's members read from the text are what the whole parse reads, for names the
    /// document has and names it lacks; an empty object and a key given twice included.
    #[test]
    fn top_fields_of_the_text_are_those_of_the_parse(
        (doc, _) in doc_and_pointer(),
        extra in prop::sample::select(vec!["name", "value", "zz", ""]),
        twice in any::<bool>(),
    ) {
        let mut text = serde_json::to_vec(&doc).unwrap();
        if twice && text.len() > 2 {
            // The same key again at the end, with another value: the last counts.
            text.pop();
            text.extend_from_slice(br#","name":"again"}"#);
        }
        let names: Vec<String> = match &doc {
            Value::Object(m) => m.keys().cloned().chain([extra.to_string()]).collect(),
            _ => vec![extra.to_string()],
        };
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let by_parse = crate::model::scan::top_fields(&text, &names);
        match top_fields(&text, &names) {
            Ok(read) => prop_assert_eq!(read, by_parse),
            // Only a key with an escape (as the writer spells it) is left to the parse.
            Err(Unsure) => prop_assert!(text.contains(&b'\\')),
        }
    }
}

#[test]
fn top_fields_leave_what_is_no_parked_object_to_the_parse() {
    for text in [
        &b"[1]"[..],
        b"{\"a\":1} ",
        b"{\"a\":1}x",
        b"",
        b"{\"a\" :1}",
        b"\"s\"",
    ] {
        assert_eq!(top_fields(text, &["a"]), Err(Unsure), "{text:?}");
    }
    assert_eq!(top_fields(b"{}", &["a"]), Ok(vec![None]));
    assert_eq!(
        top_fields(br#"{"a":1,"b":{"a":2},"a":[3]}"#, &["a", "b", "c"]),
        Ok(vec![Some(json!([3])), Some(json!({"a": 2})), None])
    );
}

proptest! {
    /// A checked text (each key once in every object: here the tree's own serialisation)
    /// answers every question as any text does, though its walks stop at the member wanted;
    /// names asked twice, and names the document lacks, included.
    #[test]
    fn a_checked_text_answers_as_any_text(
        (doc, p) in doc_and_pointer(),
        new in value(),
        extra in prop::sample::select(vec!["name", "value", "zz", ""]),
        pick in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let text = compact(&doc);
        let checked = Checked(&text);
        prop_assert_eq!(checked.get(&p), get(&text, &p));
        prop_assert_eq!(checked.replace(&p, &new), replace(&text, &p, &new));
        prop_assert_eq!(checked.remove(&p), remove(&text, &p));
        prop_assert_eq!(checked.add(&p, &new), add(&text, &p, &new));
        let keys: Vec<String> = match &doc {
            Value::Object(m) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let mut names: Vec<&str> = pick
            .iter()
            .filter(|_| !keys.is_empty())
            .map(|i| keys[i.index(keys.len())].as_str())
            .collect();
        names.push(extra);
        prop_assert_eq!(checked.top_fields(&names), top_fields(&text, &names));
    }
}

#[test]
fn a_checked_walk_stops_at_the_member_it_wants() {
    // Past the member wanted the text is not read: damage there goes unseen by a checked
    // walk, and is seen by a whole one.
    let text = br#"{"a":{"b":1,"c":[1,2,3]},"z":"never closed}"#;
    assert_eq!(Checked(text).get("/a/b"), Ok(Some(json!(1))));
    assert_eq!(get(text, "/a/b"), Err(Unsure));
    assert_eq!(Checked(text).get("/a/c/1"), Ok(Some(json!(2))));
    assert_eq!(
        Checked(text).top_fields(&["a", "a"]),
        Ok(vec![Some(json!({"b": 1, "c": [1, 2, 3]})), None])
    );
    assert_eq!(top_fields(text, &["a"]), Err(Unsure));
    let array = br#"[10,20,"never closed]"#;
    assert_eq!(Checked(array).get("/1"), Ok(Some(json!(20))));
    assert_eq!(get(array, "/1"), Err(Unsure));
}
