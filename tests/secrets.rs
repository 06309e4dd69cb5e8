//! Secrets never show: a value read from the process environment (or marked secret) is masked
//! in every human and JSON output, saved plan, report, message, log and hook error, whole or
//! inside a longer value, while the packages written for the platform carry it.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{copy_tree, repo, tmp, tree};

const PASSWORD: &str = "pr0d-Pa55word";
const FN_URN: &str = "urn:fss:r1:p:function:prod:pricing-secret";

/// The shop package of the function-backend case, with a database password and URL to
/// override, and a hook that tries every way of showing what it reads.
fn workspace() -> tempfile::TempDir {
    let ws = tmp();
    let case = repo().join("tests/cases/roma-function-backend");
    copy_tree(&case.join("in"), &ws.path().join("in"));
    copy_tree(&case.join("target"), &ws.path().join("target"));
    fs::write(
        ws.path()
            .join("in/shop/assets/data_source/shop-db/asset.json"),
        r#"{"labels": {"team": "t"}, "meta": {"name": "shop-db", "type": "MYSQL",
            "config": {"host": "db.dev", "password": "dev", "url": "jdbc://dev"}}}"#,
    )
    .unwrap();
    fs::write(
        ws.path()
            .join("in/shop/assets/data_source/shop-dw/asset.json"),
        r#"{"labels": {"team": "t"}, "meta": {"name": "shop-dw", "type": "MYSQL",
            "config": {"host": "dw.dev", "password": "dev", "url": "jdbc://dev"}}}"#,
    )
    .unwrap();
    fs::create_dir_all(ws.path().join("scripts")).unwrap();
    fs::write(
        ws.path().join("scripts/echo.lua"),
        r#"return { transform = function(asset, ctx)
  local c = asset.meta.config
  ctx.log("password is " .. c.password)
  print("url", c.url)
  asset.meta.note = "copied " .. c.password
  if asset.name == "shop-dw" then error("refusing " .. c.url) end
  return asset
end }
"#,
    )
    .unwrap();
    fs::write(
        ws.path().join("spec.yaml"),
        r#"version: 1
name: secrets
seed: case-seed
sources: [in/shop]
target: target
output: {dir: out}
select:
  - {kind: [backend, data_source]}
env_vars:
  secret: [SHOP_*]
  plain: [SHOP_REGION]
hooks:
  - {script: scripts/echo.lua, kinds: [data_source]}
environments:
  prod:
    overrides:
      - kind: data_source
        set:
          /config/password: "${env:SHOP_DB_PASSWORD}"
          /config/url: "jdbc://shop:${env:SHOP_DB_PASSWORD}@db.${env:SHOP_REGION}.internal"
      - kind: backend
        names: [price-fn]
        set: {/function_urn: "${env:SHOP_FN_URN}"}
"#,
    )
    .unwrap();
    ws
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> common::Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const ENV: &[(&str, &str)] = &[
    ("SHOP_DB_PASSWORD", PASSWORD),
    ("SHOP_FN_URN", FN_URN),
    ("SHOP_REGION", "eu-west-7"),
];

fn assert_masked(what: &str, text: &str) {
    for secret in [PASSWORD, FN_URN] {
        assert!(
            !text.contains(secret),
            "{what} shows the secret {secret}:\n{text}"
        );
    }
}

#[test]
fn no_output_a_reviewer_or_a_ci_job_reads_shows_a_secret() {
    let ws = workspace();
    let dir = ws.path();
    let plan = run(dir, &["plan", "spec.yaml", "--env", "prod"], ENV).expect_code(1);
    assert_masked("plan", &(plan.stdout.clone() + &plan.stderr));
    // Whole values, parts of longer ones, hook logs, print, hook errors, a platform check's
    // message: each is there, masked.
    for want in [
        "set /config/password = \"***\"",
        "set /config/url = \"jdbc://shop:***@db.eu-west-7.internal\"",
        "password is ***",
        "url\tjdbc://shop:***@db.eu-west-7.internal",
        "refusing jdbc://shop:***@db.eu-west-7.internal",
        "function *** does not exist in the target",
        "set /function_urn = \"***\"",
    ] {
        assert!(plan.stdout.contains(want), "{want}:\n{}", plan.stdout);
    }
    let json = run(dir, &["plan", "spec.yaml", "--env", "prod", "--json"], ENV);
    assert_masked("plan --json", &(json.stdout.clone() + &json.stderr));
    assert!(
        json.stdout
            .contains("jdbc://shop:***@db.eu-west-7.internal")
    );
    run(
        dir,
        &["plan", "spec.yaml", "--env", "prod", "-o", "plan.json"],
        ENV,
    );
    let saved = fs::read_to_string(dir.join("plan.json")).unwrap();
    assert_masked("the saved plan", &saved);
    // The plan names what it read, never the values.
    assert!(saved.contains("\"SHOP_DB_PASSWORD\""), "{saved}");
    let apply = run(dir, &["apply", "plan.json"], ENV).expect_code(1);
    assert_masked("apply", &(apply.stdout.clone() + &apply.stderr));
    let report = fs::read_to_string(dir.join("out/report.json")).unwrap();
    assert_masked("report.json", &report);
    // The package for the platform carries the real value.
    let out = tree(&dir.join("out"));
    let zip = &out["shop.zip"];
    let mut ar = zip::ZipArchive::new(std::io::Cursor::new(zip.clone())).unwrap();
    let mut text = String::new();
    for i in 0..ar.len() {
        let mut f = ar.by_index(i).unwrap();
        std::io::Read::read_to_string(&mut f, &mut text).unwrap();
    }
    assert!(text.contains(&format!("copied {PASSWORD}")), "{text}");
}

#[test]
fn a_saved_plan_is_refused_when_a_variable_it_read_is_unset() {
    let ws = workspace();
    let dir = ws.path();
    run(
        dir,
        &["plan", "spec.yaml", "--env", "prod", "-o", "plan.json"],
        ENV,
    );
    let env: Vec<(&str, &str)> = ENV
        .iter()
        .copied()
        .filter(|(k, _)| *k != "SHOP_FN_URN")
        .collect();
    let apply = run(dir, &["apply", "plan.json"], &env).expect_code(2);
    assert!(
        apply.stderr.contains(
            "the plan was made with the environment variable SHOP_FN_URN set, and it is unset now"
        ),
        "{}",
        apply.stderr
    );
    assert!(!dir.join("out").exists());
}

#[test]
fn undeclared_short_and_identifying_secrets_are_spec_errors_at_their_line() {
    let ws = workspace();
    let dir = ws.path();
    let spec = fs::read_to_string(dir.join("spec.yaml")).unwrap();
    let write = |text: String| fs::write(dir.join("spec.yaml"), text).unwrap();
    // Not declared: no variable is read that the spec does not name.
    write(spec.replace("secret: [SHOP_*]", "secret: [SHOP_DB_*]"));
    let r = run(dir, &["plan", "spec.yaml", "--env", "prod"], ENV).expect_code(2);
    assert!(
        r.stderr.contains("error[spec.undeclared_env]")
            && r.stderr.contains(
                "`${env:SHOP_FN_URN}` reads an environment variable the spec does not declare"
            ),
        "{}",
        r.stderr
    );
    // Too short to mask.
    write(spec.clone());
    let mut short = ENV.to_vec();
    short[0] = ("SHOP_DB_PASSWORD", "abc");
    let r = run(dir, &["plan", "spec.yaml", "--env", "prod"], &short).expect_code(2);
    assert!(
        r.stderr.contains("error[spec.short_secret]")
            && r.stderr.contains("spec.yaml:19:")
            && !r.stderr.contains("abc"),
        "{}",
        r.stderr
    );
    // Part of an identity: a name, a reference, a KIE label.
    for (pointer, kind) in [
        ("/name", "backend"),
        ("/backend", "api"),
        ("/labels/env", "config"),
    ] {
        write(spec.replace(
            "- kind: backend\n        names: [price-fn]\n        set: {/function_urn:",
            &format!("- kind: {kind}\n        set: {{{pointer}:"),
        ));
        let r = run(dir, &["plan", "spec.yaml", "--env", "prod"], ENV).expect_code(2);
        assert!(
            r.stderr.contains("error[spec.secret_identity]"),
            "{pointer}: {}",
            r.stderr
        );
    }
    // A value marked secret is masked though it reads no variable; a plain variable shows.
    write(spec.replace(
        "        set: {/function_urn: \"${env:SHOP_FN_URN}\"}",
        "        secret: true\n        set: {/function_urn: \"urn:fss:literal-but-secret\"}",
    ));
    let r = run(dir, &["plan", "spec.yaml", "--env", "prod"], ENV);
    assert!(!r.stdout.contains("literal-but-secret"), "{}", r.stdout);
    assert!(r.stdout.contains("eu-west-7"), "{}", r.stdout);
}

/// A secret holding quotes, a backslash and a trailing line break is masked in the forms text
/// takes on the way out (JSON, Lua's `%q`, a trimmed error message), also when a log line is
/// long enough to be cut across it; a secret that equals one of the plan's own words (`skip`)
/// neither breaks the plan nor changes what it says; a numeric value an override marks
/// secret is not shown.
#[test]
fn escaped_cut_and_word_like_secrets_never_show() {
    let ws = common::tmp();
    let dir = ws.path();
    copy_tree(
        &repo().join("tests/cases/plan-masks-secrets/in"),
        &dir.join("in"),
    );
    fs::create_dir_all(dir.join("scripts")).unwrap();
    fs::write(
        dir.join("scripts/leak.lua"),
        r#"return { transform = function(a, ctx)
  local pw = a.meta.config.password
  ctx.log("doc " .. ctx.json.encode(a.meta))
  ctx.log(string.format("q %q", pw))
  ctx.log(string.rep(".", 2001 - #pw + 3) .. pw)
  error("too short: " .. pw)
end }
"#,
    )
    .unwrap();
    let spec = r#"version: 1
name: escaped
sources: [in/shop]
output: {dir: out}
select: [{kind: data_source}]
env_vars: {secret: [PW]}
hooks: [{script: scripts/leak.lua}]
environments:
  prod:
    overrides:
      - {kind: data_source, names: [shop-db], set: {/config/password: "${env:PW}"}}
      - {kind: data_source, names: [shop-dw], secret: true, set: {/config/host: 48213977}}
"#;
    fs::write(dir.join("spec.yaml"), spec).unwrap();
    let pw = "Tr0\"ub4\\dor&3\n";
    let env = [("PW", pw)];
    for args in [
        &["plan", "spec.yaml", "--env", "prod"][..],
        &["plan", "spec.yaml", "--env", "prod", "--json"],
    ] {
        let run = run(dir, args, &env);
        let all = run.stdout.clone() + &run.stderr;
        for part in ["Tr0", "ub4", "dor&3", "48213977"] {
            assert!(!all.contains(part), "{args:?} shows {part}:\n{all}");
        }
        assert!(all.contains("***"), "{all}");
    }
    // A secret that is a word of the plan's own.
    let plain = spec.replace("hooks: [{script: scripts/leak.lua}]\n", "");
    fs::write(dir.join("spec.yaml"), plain).unwrap();
    let word = [("PW", "skip")];
    let run1 = run(
        dir,
        &["plan", "spec.yaml", "--env", "prod", "-o", "plan.json"],
        &word,
    );
    assert!(!run1.stderr.contains("panicked"), "{}", run1.stderr);
    assert_eq!(run1.code, 0, "{}{}", run1.stdout, run1.stderr);
    assert!(run1.stdout.contains("(create)"), "{}", run1.stdout);
    run(dir, &["apply", "plan.json"], &word).expect_code(0);
}

#[test]
fn diffs_against_the_target_show_no_secret_and_no_credential_of_the_target() {
    let ws = workspace();
    let dir = ws.path();
    let target_password = "tArget-only-Pa55";
    fs::create_dir_all(dir.join("target/assets/data_source/shop-db")).unwrap();
    fs::write(
        dir.join("target/assets/data_source/shop-db/asset.json"),
        format!(
            r#"{{"labels": {{"team": "t"}}, "meta": {{"name": "shop-db", "type": "MYSQL",
            "auth": {{"mode": "basic", "password": "{target_password}"}},
            "config": {{"host": "db.prod", "password": "{target_password}", "url": "jdbc://old"}}}}}}"#
        ),
    )
    .unwrap();
    let spec = fs::read_to_string(dir.join("spec.yaml")).unwrap();
    fs::write(
        dir.join("spec.yaml"),
        spec.replace(
            "output: {dir: out}",
            "output: {dir: out}\nconflicts: {default: overwrite}",
        ),
    )
    .unwrap();
    for args in [
        &["plan", "spec.yaml", "--env", "prod"][..],
        &["plan", "spec.yaml", "--env", "prod", "--json"],
    ] {
        let plan = run(dir, args, ENV);
        let all = plan.stdout.clone() + &plan.stderr;
        assert_masked("a plan's diff", &all);
        assert!(
            !all.contains(target_password),
            "the target's password shows:\n{all}"
        );
        assert!(
            !all.contains("\"dev\""),
            "the source's password shows:\n{all}"
        );
    }
    let plan = run(dir, &["plan", "spec.yaml", "--env", "prod"], ENV);
    for want in [
        "~ /config/password: \"***\" → \"***\"",
        "~ /config/url: \"jdbc://old\" → \"jdbc://shop:***@db.eu-west-7.internal\"  (override at spec.yaml:",
        "+ /note: \"copied ***\"  (hook scripts/echo.lua)",
    ] {
        assert!(plan.stdout.contains(want), "{want}:\n{}", plan.stdout);
    }
}
