use super::super::{YamlLimits, parse};
use super::*;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct T {
    name: Option<Spanned<String>>,
    count: Option<u32>,
    on: Option<bool>,
    tags: Option<OneOrMany<Spanned<String>>>,
    any: Option<serde_json::Value>,
}

fn de<X: for<'d> Deserialize<'d>>(text: &str) -> Result<X, DeError> {
    let root = parse(text, &YamlLimits::default()).unwrap();
    X::deserialize(De::new(&root, &BTreeSet::new()))
}

#[test]
fn reads_values_with_spans() {
    let t: T = de(
        "name: orders\ncount: 0x10\non: true\ntags: solo\nany: {a: [1, -2, 2.5, x, null, '3']}\n",
    )
    .unwrap();
    let name = t.name.unwrap();
    assert_eq!(
        (
            name.value.as_str(),
            name.span.start.line,
            name.span.start.col,
            name.span.len
        ),
        ("orders", 1, 7, 6)
    );
    assert_eq!(t.count, Some(16));
    assert_eq!(t.on, Some(true));
    let tags = t.tags.unwrap().0;
    assert_eq!(tags[0].value, "solo");
    assert_eq!(tags[0].span.start.line, 4);
    assert_eq!(
        t.any.unwrap(),
        serde_json::json!({"a": [1, -2, 2.5, "x", null, "3"]})
    );
}

#[test]
fn errors_name_their_node_and_suggest() {
    let e = de::<T>("name: a\ncuont: 3\n").unwrap_err();
    assert_eq!(e.code, "spec.unknown_field");
    assert_eq!(e.span.unwrap().start.line, 2);
    assert_eq!(e.help.as_deref(), Some("did you mean `count`?"));
    let e = de::<T>("count: lots\n").unwrap_err();
    assert_eq!((e.code, e.span.unwrap().start.col), ("spec.type", 8));
    let e = de::<T>("on: yes\n").unwrap_err();
    assert!(e.message.contains("true or false"), "{}", e.message);
}

#[test]
fn closest_word() {
    assert_eq!(
        closest("renmae", ["rename", "skip", "fail"]),
        Some("rename")
    );
    assert_eq!(closest("zzzzzz", ["rename", "skip"]), None);
}
