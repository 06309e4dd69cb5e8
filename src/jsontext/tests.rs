use proptest::prelude::*;
use serde_json::{Value, json};

use super::rewrite;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// `text` with `edit` applied to its value, rewritten.
fn edited(text: &str, edit: impl FnOnce(&mut Value)) -> String {
    let old = parse(text);
    let mut new = old.clone();
    edit(&mut new);
    let out = rewrite(text, &old, &new).expect("rewritable");
    assert_eq!(parse(&out), new, "the text must be the new value: {out}");
    out
}

#[test]
fn unchanged_text_is_kept_byte_for_byte() {
    let text = " {\"b\" :1.50,\r\n\t\"a\":[ 1e3 , \"\\u00e9\" ] }\n";
    assert_eq!(edited(text, |_| {}), text);
}

#[test]
fn a_changed_value_leaves_the_rest_as_it_was() {
    let text = "{\r\n    \"z\": 1.50,\r\n    \"name\": \"old\",\r\n    \"a\": \"\\u00e9\"\r\n}\r\n";
    let out = edited(text, |v| v["name"] = json!("new"));
    assert_eq!(
        out,
        "{\r\n    \"z\": 1.50,\r\n    \"name\": \"new\",\r\n    \"a\": \"\\u00e9\"\r\n}\r\n"
    );
}

#[test]
fn added_members_follow_the_last_one_in_its_layout() {
    let text = "{\n  \"b\": 1,\n  \"a\": 2\n}";
    let out = edited(text, |v| {
        v["c"] = json!({"x": [1]});
        v["0"] = json!(true);
    });
    assert_eq!(
        out,
        "{\n  \"b\": 1,\n  \"a\": 2,\n  \"c\": {\n    \"x\": [\n      1\n    ]\n  },\n  \"0\": true\n}"
    );
    let compact = edited("{\"b\":1}\n", |v| v["a"] = json!({"x": 1}));
    assert_eq!(compact, "{\"b\":1,\"a\":{\"x\":1}}\n");
}

#[test]
fn removed_members_take_their_separator_with_them() {
    let text = "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}";
    let drop = |key: &'static str| edited(text, |v| drop(v.as_object_mut().unwrap().remove(key)));
    assert_eq!(drop("a"), "{\n  \"b\": 2,\n  \"c\": 3\n}");
    assert_eq!(drop("b"), "{\n  \"a\": 1,\n  \"c\": 3\n}");
    assert_eq!(drop("c"), "{\n  \"a\": 1,\n  \"b\": 2\n}");
    let none = edited(text, |v| *v = json!({}));
    assert_eq!(none, "{}");
}

#[test]
fn arrays_grow_and_shrink_at_the_end() {
    let text = "[ 1, 2 ]";
    assert_eq!(
        edited(text, |v| v.as_array_mut().unwrap().push(json!(3))),
        "[ 1, 2, 3 ]"
    );
    assert_eq!(
        edited(text, |v| v.as_array_mut().unwrap().truncate(1)),
        "[ 1 ]"
    );
    assert_eq!(
        edited("[7]", |v| v.as_array_mut().unwrap().push(json!(8))),
        "[7,8]"
    );
    assert_eq!(edited(text, |v| *v = json!([])), "[]");
    let nested = "[\r\n\t{\"id\": 1}\r\n]";
    let out = edited(nested, |v| v.as_array_mut().unwrap().push(json!({"id": 2})));
    assert_eq!(
        out,
        "[\r\n\t{\"id\": 1},\r\n\t{\r\n\t\t\"id\": 2\r\n\t}\r\n]"
    );
}

#[test]
fn an_empty_container_filled_uses_the_document_style() {
    let out = edited("{\n  \"a\": {}\n}", |v| v["a"] = json!({"k": "v"}));
    assert_eq!(out, "{\n  \"a\": {\n    \"k\": \"v\"\n  }\n}");
}

#[test]
fn text_that_is_not_the_old_value_is_refused() {
    let dup = r#"{"a":1,"a":2}"#;
    let old = parse(dup);
    assert_eq!(rewrite(dup, &old, &json!({"a": 3})), None);
    assert_eq!(
        rewrite("{\"a\":1} x", &json!({"a": 1}), &json!({"a": 2})),
        None
    );
    assert_eq!(rewrite("[1]", &json!([1, 2]), &json!([3])), None);
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(|n| json!(n)),
        "[a-c\u{e9}\"\\\\]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-d]", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Whatever the two values and the layout, the text is the new value, and an unchanged
    /// value is the old text.
    #[test]
    fn the_result_is_always_the_new_value(old in value(), new in value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&old).unwrap().replace('\n', "\r\n")
        } else {
            serde_json::to_string(&old).unwrap()
        };
        let out = rewrite(&text, &old, &new).expect("text of the old value");
        prop_assert_eq!(parse(&out), new);
        prop_assert_eq!(rewrite(&text, &old, &old).unwrap(), text);
    }
}
