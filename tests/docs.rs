//! Documentation generated from the code stays equal to it: the kind table of docs/spec.md
//! is the kind tables' own rendering. `HOIST_BLESS=1` rewrites it.

use std::fs;

const BEGIN: &str = "<!-- kinds:begin";
const END: &str = "<!-- kinds:end -->";

#[test]
fn the_kind_table_in_the_spec_docs_is_the_kind_tables() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/spec.md");
    let text = fs::read_to_string(path).unwrap();
    let start = text
        .find(BEGIN)
        .expect("docs/spec.md has the kinds:begin marker");
    let body = start + text[start..].find('\n').unwrap() + 1;
    let end = text
        .find(END)
        .expect("docs/spec.md has the kinds:end marker");
    let table = hoist::model::kinds::markdown_table();
    if std::env::var_os("HOIST_BLESS").is_some() {
        let new = format!("{}{table}{}", &text[..body], &text[end..]);
        fs::write(path, new).unwrap();
        return;
    }
    assert_eq!(
        &text[body..end],
        table,
        "docs/spec.md's kind table differs from the kind tables; run HOIST_BLESS=1 cargo test --test docs"
    );
}
