//! Writing JSON values as YAML, deterministically.

use serde_json::Value;

/// `v` as a YAML document: block style, keys in the value's order, strings in double quotes
/// (JSON escapes are valid YAML), so every scalar reads back as what it was.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    yaml_value(&mut out, v, 0, false);
    out
}

/// A deterministic YAML emitter for JSON values: block style, strings in double quotes
/// (JSON escapes are valid YAML), so every scalar reads back as what it was.
fn yaml_value(out: &mut String, v: &Value, indent: usize, inline_first: bool) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (i, (k, item)) in map.iter().enumerate() {
                if !(i == 0 && inline_first) {
                    out.push_str(&pad);
                }
                out.push_str(&serde_json::to_string(k).expect("strings serialise"));
                out.push(':');
                yaml_child(out, item, indent);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                if !(i == 0 && inline_first) {
                    out.push_str(&pad);
                }
                out.push_str("- ");
                match item {
                    Value::Object(m) if !m.is_empty() => yaml_value(out, item, indent + 2, true),
                    Value::Array(a) if !a.is_empty() => {
                        out.push('\n');
                        yaml_value(out, item, indent + 2, false);
                    }
                    scalar => {
                        out.push_str(&scalar_text(scalar));
                        out.push('\n');
                    }
                }
            }
        }
        scalar => {
            out.push_str(&pad);
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn yaml_child(out: &mut String, item: &Value, indent: usize) {
    match item {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            yaml_value(out, item, indent + 2, false);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            yaml_value(out, item, indent + 2, false);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => serde_json::to_string(other).expect("JSON values serialise"),
    }
}
