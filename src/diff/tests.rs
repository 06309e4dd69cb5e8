use serde_json::json;

use super::*;

fn shown(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| {
            let v = |v: &Option<Value>| v.as_ref().map_or("_".into(), Value::to_string);
            format!("{} {} {} {}", c.op.sign(), c.pointer, v(&c.old), v(&c.new))
        })
        .collect()
}

#[test]
fn objects_are_compared_key_by_key_and_key_order_is_no_change() {
    let old = json!({"a": 1, "b": {"c": "x", "d": [1]}, "gone": true});
    let new = json!({"b": {"d": [1], "c": "y"}, "a": 1, "new/key~": null});
    assert_eq!(
        shown(&json(&old, &new)),
        [
            "~ /b/c \"x\" \"y\"",
            "- /gone true _",
            "+ /new~1key~0 _ null",
        ]
    );
    assert!(json(&old, &old).is_empty());
}

#[test]
fn arrays_are_compared_element_by_element() {
    let old = json!({"p": [{"name": "a", "v": 1}, {"name": "b", "v": 2}, {"name": "c", "v": 3}]});
    // One element inserted at the start, one changed inside: not the whole array.
    let new = json!({"p": [{"name": "z"}, {"name": "a", "v": 1}, {"name": "b", "v": 20}, {"name": "c", "v": 3}]});
    assert_eq!(
        shown(&json(&old, &new)),
        ["+ /p/0 _ {\"name\":\"z\"}", "~ /p/2/v 2 20"]
    );
    let removed = json!({"p": [{"name": "a", "v": 1}, {"name": "c", "v": 3}]});
    assert_eq!(
        shown(&json(&old, &removed)),
        ["- /p/1 {\"name\":\"b\",\"v\":2} _"]
    );
}

#[test]
fn a_type_change_is_one_change_of_the_whole_value() {
    assert_eq!(
        shown(&json(&json!({"a": [1]}), &json!({"a": {"0": 1}}))),
        ["~ /a [1] {\"0\":1}"]
    );
    assert_eq!(shown(&json(&json!(1), &json!(1.0))), ["~  1 1.0"]);
}

#[test]
fn huge_arrays_are_compared_position_by_position() {
    let n = MATCHED_ELEMENTS + 10;
    let old: Vec<Value> = (0..n).map(|i| json!(i)).collect();
    let mut new = old.clone();
    new[0] = json!("first");
    new[n - 1] = json!("last");
    new.push(json!("more"));
    let changes = json(&Value::Array(old), &Value::Array(new));
    assert_eq!(
        shown(&changes),
        [
            "~ /0 0 \"first\"".to_string(),
            format!("~ /{} {} \"last\"", n - 1, n - 1),
            format!("+ /{n} _ \"more\""),
        ]
    );
}

#[test]
fn a_document_of_100000_fields_diffs_field_by_field() {
    let mut old = serde_json::Map::new();
    for i in 0..100_000 {
        old.insert(format!("k{i}"), json!(i));
    }
    let mut new = old.clone();
    new.insert("k500".into(), json!("changed"));
    new.remove("k99999");
    let changes = json(&Value::Object(old), &Value::Object(new));
    assert_eq!(
        shown(&changes),
        ["~ /k500 500 \"changed\"", "- /k99999 99999 _"]
    );
}

#[test]
fn touches_is_the_place_its_parents_and_children() {
    assert!(touches("/a/b", "/a"));
    assert!(touches("/a", "/a/b"));
    assert!(touches("/a", "/a"));
    assert!(!touches("/ab", "/a"));
    assert!(!touches("/b", "/a"));
}

#[test]
fn lines_shows_changes_with_context() {
    let a = "1\n2\n3\n4\n5\n6\n7\n8\n";
    let b = "1\n2\n3\n4\nfive\n6\n7\n8\n";
    assert_eq!(
        lines(a, b, 2),
        "  ...\n  3\n  4\n- 5\n+ five\n  6\n  7\n  ...\n"
    );
    assert_eq!(lines(a, a, 2), "");
    assert_eq!(lines("a\n", "b\n", 2), "- a\n+ b\n");
}

#[test]
fn lines_of_a_30000_line_document_are_diffed_in_linear_memory() {
    let old: String = (0..30_000).map(|i| format!("line {i}\n")).collect();
    let new = old.replace("line 15000\n", "line fifteen thousand\n");
    assert_eq!(
        lines(&old, &new, 1),
        "  ...\n  line 14999\n- line 15000\n+ line fifteen thousand\n  line 15001\n  ...\n"
    );
}
