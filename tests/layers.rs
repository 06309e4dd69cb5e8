//! The crate's layers point down only (docs/architecture.md): every `crate::…` path in a file
//! of one layer names a layer below it, or its own. A new arrow that points up — a lower layer
//! reaching for a higher one, the start of an import circle — fails here with the file and the
//! line.

mod common;

use std::fs;
use std::path::Path;

/// Each layer and its rank; a layer may use layers of lower rank, and itself.
const LAYERS: &[(&str, u32)] = &[
    ("digest", 0),
    ("text", 0),
    ("yaml", 0),
    ("progress", 0),
    ("fsutil", 0),
    ("jsontext", 0),
    ("secrets", 1),
    ("diff", 2),
    ("archive", 2),
    ("model", 3),
    ("package", 4),
    ("spec", 5),
    ("error", 6),
    ("hooks", 6),
    ("plan", 7),
    ("platform", 8),
    ("report", 8),
    ("engine", 9),
    ("fuzzing", 9),
    ("cli", 10),
];

fn rank(layer: &str) -> Option<u32> {
    LAYERS.iter().find(|(l, _)| *l == layer).map(|(_, r)| *r)
}

/// The layer a source file belongs to: its first folder under `src/`, or its file stem.
fn layer_of(rel: &str) -> &str {
    let first = rel.split('/').next().unwrap_or(rel);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// Every `crate::name` in `text`, with its line, outside `#[cfg(test)]` modules.
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                out.push((n + 1, name));
            }
            rest = after;
        }
    }
    out
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_import_points_down() {
    let src = common::repo().join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    all.sort();
    let mut wrong = Vec::new();
    for path in &all {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "lib.rs" || rel == "main.rs" {
            continue;
        }
        let layer = layer_of(&rel);
        let Some(mine) = rank(layer) else {
            wrong.push(format!(
                "src/{rel}: layer {layer} is not in the table of layers"
            ));
            continue;
        };
        for (line, used) in uses(&fs::read_to_string(path).unwrap()) {
            if used == layer {
                continue;
            }
            match rank(&used) {
                Some(theirs) if theirs < mine => {}
                Some(_) => wrong.push(format!(
                    "src/{rel}:{line}: {layer} uses crate::{used}, which is not below it"
                )),
                None => wrong.push(format!(
                    "src/{rel}:{line}: crate::{used} is not in the table of layers"
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The check itself finds an arrow that points up.
#[test]
fn an_upward_import_is_found() {
    let text = "use crate::model::Asset;\nfn f() { crate::cli::run(); }\n#[cfg(test)]\nmod t { use crate::engine; }\n";
    let found = uses(text);
    assert_eq!(
        found,
        vec![(1, "model".to_string()), (2, "cli".to_string())]
    );
    assert!(rank("cli").unwrap() > rank("model").unwrap());
    assert_eq!(layer_of("plan/compute.rs"), "plan");
    assert_eq!(layer_of("secrets.rs"), "secrets");
}
