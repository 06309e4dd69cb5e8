//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod corpus;
pub mod craft;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An example package or target in the repository.
pub fn example(rel: &str) -> PathBuf {
    repo().join("examples").join(rel)
}

/// The result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with the whole output unless the exit code is `want`.
    pub fn expect_code(self, want: i32) -> Run {
        assert_eq!(
            self.code, want,
            "exit code {} (wanted {want})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Runs `hoist ARGS` in `dir`.
pub fn hoist_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_hoist"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the hoist binary runs");
    Run::from(out)
}

/// Runs `hoist ARGS` in the repository root.
pub fn hoist(args: &[&str]) -> Run {
    hoist_in(&repo(), args)
}

/// Every file under `root`, by relative path, with its bytes.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for item in fs::read_dir(&dir).unwrap() {
            let path = item.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in tree(from) {
        let dest = to.join(rel);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::write(dest, bytes).unwrap();
    }
}

/// A copy of the repository's examples, specs and scripts in a fresh folder, so runs can
/// write and inputs can be edited freely.
pub fn workspace() -> tempfile::TempDir {
    let dir = tmp();
    for part in ["examples", "specs", "scripts"] {
        copy_tree(&repo().join(part), &dir.path().join(part));
    }
    dir
}

/// Whether the slowest tests run: set `HOIST_SLOW_TESTS=1` (CI does). They are left out of
/// the everyday loop, each saying so on stderr.
pub fn slow_tests(name: &str) -> bool {
    let on = std::env::var_os("HOIST_SLOW_TESTS").is_some_and(|v| v == "1");
    if !on {
        eprintln!("{name}: a slow test, run with HOIST_SLOW_TESTS=1 (CI does)");
    }
    on
}

/// A fresh temporary folder.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Path as a `&str` for arguments.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A YAML document starting with `head` whose aliases expand to 10^10 nodes.
pub fn yaml_alias_bomb(head: &str) -> String {
    let mut bomb = format!("{head}a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..9 {
        let p = if i == 0 {
            "a".to_string()
        } else {
            format!("b{}", i - 1)
        };
        bomb.push_str(&format!(
            "b{i}: &b{i} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        ));
    }
    bomb
}
