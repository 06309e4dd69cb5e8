//! What a user looks up: every error code explained (docs/errors.md against the codes in the
//! source, and `hoist explain`), shell completions and man pages from the command-line
//! definitions, the version line, usage errors with a code, and `-q` / `-v`.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::{hoist, hoist_in, repo, tmp};

/// Families of codes: the part before the dot.
const FAMILIES: &[&str] = &[
    "apig",
    "asset",
    "conflict",
    "enebular",
    "export",
    "hook",
    "integrity",
    "kie",
    "layout",
    "name",
    "output",
    "override",
    "package",
    "plan",
    "ref",
    "rename",
    "roma",
    "secret",
    "select",
    "spec",
    "strip",
    "target",
    "zip",
];

/// Every code the source gives a note, diagnostic or error: the string literals shaped
/// `family.code` (file names aside), and the codes made otherwise.
fn codes_in_source() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![repo().join("src")];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = fs::read_to_string(&path).unwrap();
            // Quotes that open or close no string: escaped in one (after its escaped
            // backslashes go), or a character literal.
            let text = text
                .replace("\\\\", "")
                .replace("\\\"", "")
                .replace("'\"'", "");
            for literal in text.split('"').skip(1).step_by(2) {
                let Some((family, rest)) = literal.split_once('.') else {
                    continue;
                };
                let shaped = !rest.is_empty()
                    && rest.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    && FAMILIES.contains(&family);
                let file_name = ["json", "yaml", "yml", "zip", "lua", "txt", "csv"].contains(&rest);
                if shaped && !file_name {
                    out.insert(literal.to_string());
                }
            }
        }
    }
    // Made without a literal of their own: the usage and I/O errors (src/error.rs), the
    // export warning (printed in src/cli/export.rs), the instance-data step
    // (`{platform}.instance_data`, src/plan/after_import.rs; only ROMA's kinds have one),
    // the hook watchdog's message (src/hooks/watchdog.rs).
    out.extend(
        [
            "usage",
            "io",
            "export.unresolved_ref",
            "roma.instance_data",
            "hook.timeout",
        ]
        .map(String::from),
    );
    out
}

fn documented() -> Vec<String> {
    let text = fs::read_to_string(repo().join("docs/errors.md")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("## `")?.strip_suffix('`'))
        .map(String::from)
        .collect()
}

#[test]
fn every_code_in_the_source_is_explained_and_no_other() {
    let source = codes_in_source();
    let docs: BTreeSet<String> = documented().into_iter().collect();
    let missing: Vec<&String> = source.difference(&docs).collect();
    let stale: Vec<&String> = docs.difference(&source).collect();
    assert!(
        missing.is_empty(),
        "docs/errors.md has no entry for {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "docs/errors.md explains codes nothing gives: {stale:?}"
    );
    let text = fs::read_to_string(repo().join("docs/errors.md")).unwrap();
    for code in &docs {
        let entry = text.split(&format!("## `{code}`\n")).nth(1).unwrap();
        let entry = entry.split("\n## ").next().unwrap();
        for part in ["**Means:**", "**Typical cause:**", "**Fix:**"] {
            assert!(entry.contains(part), "{code}: no {part}");
        }
    }
}

#[test]
fn explain_prints_every_entry_and_suggests_for_a_typo() {
    for code in documented() {
        let run = hoist(&["explain", &code]).expect_code(0);
        assert!(
            run.stdout.starts_with(&format!("{code}\n")),
            "{code}: {}",
            run.stdout
        );
        assert!(run.stdout.contains("Fix:"), "{code}: {}", run.stdout);
    }
    for printed in [
        "error[spec.unknown_kind]",
        "[spec.unknown_kind]",
        "warning[spec.unknown_kind]",
    ] {
        let run = hoist(&["explain", printed]).expect_code(0);
        assert!(run.stdout.starts_with("spec.unknown_kind\n"), "{printed}");
    }
    let run = hoist(&["explain", "spec.unknwn_kind"]).expect_code(2);
    assert!(
        run.stderr.starts_with("error[usage]: no code"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("spec.unknown_kind"), "{}", run.stderr);
}

#[test]
fn a_command_line_clap_refuses_is_a_usage_error_with_its_code() {
    let run = hoist(&["plan", "--no-such-flag"]).expect_code(2);
    assert!(
        run.stderr
            .starts_with("error[usage]: unexpected argument '--no-such-flag'"),
        "{}",
        run.stderr
    );
    for json in [&["--json"][..], &["--format", "json"], &["--format=json"]] {
        let mut args = vec!["plan", "--no-such-flag"];
        args.extend_from_slice(json);
        let run = hoist(&args).expect_code(2);
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(v["errors"][0]["code"], "usage", "{json:?}");
    }
    // An argument that is not UTF-8 (a file name) is no reason to crash.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = std::ffi::OsStr::from_bytes(b"\xff.yaml");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hoist"))
            .arg("apply")
            .arg(odd)
            .arg("--bogus")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_version_names_the_commit() {
    let run = hoist(&["--version"]).expect_code(0);
    assert!(run.stdout.starts_with("hoist 0."), "{}", run.stdout);
    assert!(run.stdout.contains("(commit "), "{}", run.stdout);
}

#[test]
fn bash_completions_load_in_bash() {
    let dir = tmp();
    let script = dir.path().join("hoist.bash");
    fs::write(
        &script,
        hoist(&["completions", "bash"]).expect_code(0).stdout,
    )
    .unwrap();
    let out = std::process::Command::new("bash")
        .args([
            "-c",
            &format!("source {} && complete -p hoist", script.display()),
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("_hoist") && said.trim_end().ends_with("hoist"),
        "{said}"
    );
    for shell in ["zsh", "fish", "powershell"] {
        let run = hoist(&["completions", shell]).expect_code(0);
        assert!(
            run.stdout.contains("explain"),
            "{shell}: completes the commands"
        );
    }
}

#[test]
fn man_pages_come_from_the_command_line() {
    let run = hoist(&["man"]).expect_code(0);
    assert!(run.stdout.contains(".TH hoist 1"), "{}", &run.stdout[..200]);
    let dir = tmp();
    let out = dir.path().join("man");
    hoist(&["man", "-o", out.to_str().unwrap()]).expect_code(0);
    for page in [
        "hoist.1",
        "hoist-plan.1",
        "hoist-apply.1",
        "hoist-hook-test.1",
    ] {
        let text = fs::read_to_string(out.join(page)).unwrap();
        assert!(text.starts_with(".ie"), "{page}");
    }
    let plan = fs::read_to_string(out.join("hoist-plan.1")).unwrap();
    assert!(
        plan.contains("exit\\-code"),
        "the plan page documents its flags"
    );
}

/// A hoist-layout package of `n` APIs that each carry a field the ROMA rules strip (a
/// warning each).
fn stripped_apis(dir: &Path, n: usize) {
    for i in 0..n {
        let d = dir.join(format!("in/pkg/assets/api/api-{i:02}"));
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("asset.json"),
            format!(r#"{{"meta": {{"name": "api-{i:02}", "throttling": {{"limit": {i}}}}}}}"#),
        )
        .unwrap();
    }
    fs::write(
        dir.join("spec.yaml"),
        "version: 1\nname: quiet\nsources: [in/pkg]\noutput: {dir: out}\nroma: {mode: overwrite}\n",
    )
    .unwrap();
}

#[test]
fn quiet_prints_errors_and_the_summary_verbose_cuts_nothing() {
    let dir = tmp();
    let dir = dir.path();
    stripped_apis(dir, 23);
    let normal = hoist_in(dir, &["plan", "spec.yaml"]).expect_code(0);
    assert!(normal.stdout.contains("+ api-00"), "{}", normal.stdout);
    let quiet = hoist_in(dir, &["-q", "plan", "spec.yaml"]).expect_code(0);
    assert!(!quiet.stdout.contains("api-00"), "{}", quiet.stdout);
    assert!(
        quiet.stdout.contains("summary: 23 create"),
        "{}",
        quiet.stdout
    );
    let applied = hoist_in(dir, &["apply", "spec.yaml", "-o", "a"]).expect_code(0);
    assert!(
        applied.stdout.contains("… and 3 more in report.json"),
        "{}",
        applied.stdout
    );
    let verbose = hoist_in(dir, &["apply", "spec.yaml", "--out", "b", "-v"]).expect_code(0);
    assert!(
        !verbose.stdout.contains("more in report.json"),
        "{}",
        verbose.stdout
    );
    assert_eq!(verbose.stdout.matches("[strip.removed]").count(), 23);
    let quiet = hoist_in(dir, &["apply", "spec.yaml", "--output", "c", "--quiet"]).expect_code(0);
    assert!(!quiet.stdout.contains("strip.removed"), "{}", quiet.stdout);
    assert!(
        quiet.stdout.contains("summary: 23 create"),
        "{}",
        quiet.stdout
    );
    let both = hoist_in(dir, &["-q", "-v", "plan", "spec.yaml"]).expect_code(2);
    assert!(both.stderr.starts_with("error[usage]"), "{}", both.stderr);
}
