//! README.md says what the command line is: every command and flag it names exists (as
//! `--help` shows it), every command and flag `--help` shows is in it, and so is every
//! environment variable hoist reads.

mod common;

use std::collections::BTreeSet;
use std::fs;

use common::{hoist, repo};

fn readme() -> String {
    fs::read_to_string(repo().join("README.md")).unwrap()
}

/// The commands table: (command words, first cell) per row.
fn rows(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("| `hoist "))
        .map(|rest| {
            let cell = rest.split("` |").next().unwrap().to_string();
            let words: Vec<&str> = cell
                .split_whitespace()
                .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase()))
                .collect();
            (words.join(" "), cell)
        })
        .collect()
}

/// The flags a text names: `--long` and `-s`.
fn flags(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let long = token
            .strip_prefix("--")
            .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        if let Some(l) = long {
            out.insert(format!("--{l}"));
        } else if token.len() == 2
            && token.starts_with('-')
            && token.chars().nth(1).is_some_and(|c| c.is_ascii_lowercase())
        {
            out.insert(token.to_string());
        }
    }
    out
}

/// The flags `hoist WORDS --help` lists, without the ones every command has.
fn help_flags(words: &str) -> BTreeSet<String> {
    let mut args: Vec<&str> = words.split(' ').collect();
    args.push("--help");
    let help = hoist(&args).expect_code(0).stdout;
    let options = help.split("Options:").nth(1).unwrap_or_default();
    let mut out = BTreeSet::new();
    for line in options.lines() {
        let t = line.trim_start();
        if !t.starts_with('-') {
            continue;
        }
        let head = t.split("  ").next().unwrap();
        out.extend(flags(head));
    }
    for global in [
        "--help",
        "-h",
        "--version",
        "-V",
        "--jobs",
        "--max-entries",
        "--max-total-size",
        "--max-ratio",
        "--quiet",
        "-q",
        "--verbose",
        "-v",
    ] {
        out.remove(global);
    }
    out
}

#[test]
fn every_command_and_flag_in_the_readme_exists_and_the_other_way_round() {
    let text = readme();
    let table = rows(&text);
    assert!(table.len() >= 15, "the commands table: {table:?}");
    for (words, cell) in &table {
        let known = help_flags(words);
        // Aliases of -o: the README may name them in the prose, not in every row.
        let named: BTreeSet<String> = flags(cell);
        for f in &named {
            assert!(
                known.contains(f),
                "README names {f} for `hoist {words}`, which --help does not list: {known:?}"
            );
        }
        for f in &known {
            if matches!(f.as_str(), "--output" | "--out") {
                assert!(
                    named.contains("-o"),
                    "`hoist {words}` writes with -o: the README says so"
                );
                continue;
            }
            assert!(
                named.contains(f),
                "`hoist {words} --help` lists {f}; the README's row does not"
            );
        }
    }
    // Every command of `hoist --help` has a row (hook's through its own commands).
    let help = hoist(&["--help"]).expect_code(0).stdout;
    let commands = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap();
    for line in commands.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if name == "help" {
            continue;
        }
        assert!(
            table
                .iter()
                .any(|(w, _)| w == name || w.starts_with(&format!("{name} "))),
            "`hoist {name}` has no row in the README's commands table"
        );
    }
    // The options every command takes are named in the README.
    for global in [
        "--jobs",
        "--max-entries",
        "--max-total-size",
        "--max-ratio",
        "--quiet",
        "--verbose",
    ] {
        assert!(
            text.contains(&format!("`{global}")),
            "README does not name {global}"
        );
    }
}

#[test]
fn every_environment_variable_hoist_reads_is_in_the_readme() {
    let text = readme();
    let mut read = BTreeSet::new();
    let mut stack = vec![repo().join("src"), repo().join("build.rs")];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for e in fs::read_dir(&path).unwrap() {
                stack.push(e.unwrap().path());
            }
            continue;
        }
        let code = fs::read_to_string(&path).unwrap_or_default();
        for part in code.split('"').skip(1).step_by(2) {
            if part.starts_with("HOIST_")
                && part.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            {
                read.insert(part.to_string());
            }
        }
    }
    assert!(read.contains("HOIST_NO_PROGRESS"), "{read:?}");
    for var in read {
        assert!(
            text.contains(&var),
            "hoist reads {var}; the README does not say so"
        );
    }
}
