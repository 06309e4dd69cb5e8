//! Lua hooks from the command line: the watchdog, determinism, stale plans after a script
//! edit, broken scripts, and the authoring commands.

mod common;

use std::fs;

use common::{hoist_in, repo, tmp, tree, workspace};

#[test]
fn a_hook_stuck_in_a_c_function_ends_the_run_and_writes_nothing() {
    let ws = workspace();
    fs::write(
        ws.path().join("scripts/slow.lua"),
        r#"return { transform = function(a) string.find(("a"):rep(200), ".-.-.-.-b$") return a end }"#,
    )
    .unwrap();
    fs::write(
        ws.path().join("specs/slow.yaml"),
        "version: 1\nsources: [../examples/packages/payments-dev]\noutput: {dir: ../out/slow}\nhooks:\n  - {script: ../scripts/slow.lua, kinds: [app]}\nlua: {timeout_ms: 100}\n",
    )
    .unwrap();
    let run = hoist_in(ws.path(), &["apply", "specs/slow.yaml"]).expect_code(1);
    assert!(run.stderr.contains("error[hook.timeout]"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("../scripts/slow.lua (transform) on app/payments"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert!(!ws.path().join("out").exists(), "nothing is written");
    let leftovers: Vec<_> = fs::read_dir(ws.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".hoist"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn hooks_give_the_same_bytes_at_any_thread_count() {
    let ws = workspace();
    let run = |jobs: &str, keep: &str| {
        hoist_in(
            ws.path(),
            &[
                "--jobs",
                jobs,
                "apply",
                "specs/orders-with-hooks.yaml",
                "--env",
                "prod",
                "--out",
                "out",
            ],
        )
        .expect_code(0);
        fs::rename(ws.path().join("out"), ws.path().join(keep)).unwrap();
        tree(&ws.path().join(keep))
    };
    let one = run("1", "one");
    let two = run("2", "two");
    assert!(one.len() >= 3);
    assert_eq!(one, two);
}

#[test]
fn editing_a_script_or_a_module_makes_a_saved_plan_stale() {
    for edited in ["scripts/team_tags.lua", "scripts/lib/extra.lua"] {
        let ws = workspace();
        fs::create_dir_all(ws.path().join("scripts/lib")).unwrap();
        fs::write(ws.path().join("scripts/lib/extra.lua"), "return {}\n").unwrap();
        hoist_in(
            ws.path(),
            &[
                "plan",
                "specs/orders-with-hooks.yaml",
                "--env",
                "prod",
                "-o",
                "plan.json",
            ],
        )
        .expect_code(0);
        let plan = fs::read_to_string(ws.path().join("plan.json")).unwrap();
        assert!(
            plan.contains("../scripts/lib/extra.lua"),
            "modules beside the scripts are digested"
        );
        let path = ws.path().join(edited);
        let text = fs::read_to_string(&path).unwrap() + "\n-- edited\n";
        fs::write(&path, text).unwrap();
        let run = hoist_in(ws.path(), &["apply", "plan.json"]).expect_code(2);
        assert!(
            run.stderr.contains("error[plan.stale]") && run.stderr.contains("was modified"),
            "{edited}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_broken_or_missing_script_is_an_error_at_its_place_in_the_spec() {
    let ws = workspace();
    fs::write(
        ws.path().join("scripts/broken.lua"),
        "return {\n  transform = function(a) return a.name .. end\n}\n",
    )
    .unwrap();
    let spec = "version: 1\nsources: [../examples/packages/payments-dev]\nhooks:\n  - {script: ../scripts/broken.lua}\n";
    fs::write(ws.path().join("specs/broken.yaml"), spec).unwrap();
    let run = hoist_in(ws.path(), &["plan", "specs/broken.yaml"]).expect_code(2);
    assert!(
        run.stderr
            .contains("error[hook.script]: specs/broken.yaml:4:14"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("../scripts/broken.lua:2:"),
        "the script's own line: {}",
        run.stderr
    );
    fs::write(
        ws.path().join("specs/missing.yaml"),
        spec.replace("broken.lua", "nope.lua"),
    )
    .unwrap();
    let run = hoist_in(ws.path(), &["plan", "specs/missing.yaml"]).expect_code(2);
    assert!(
        run.stderr
            .contains("error[hook.script]: specs/missing.yaml:4:14")
            && run.stderr.contains("nope.lua"),
        "{}",
        run.stderr
    );
}

#[test]
fn hook_test_shows_what_a_script_does_to_one_asset() {
    let run = common::hoist(&[
        "hook",
        "test",
        "scripts/team_tags.lua",
        "--package",
        "examples/packages/orders-dev",
        "--asset",
        "api/orders-list",
        "--var",
        "team=orders",
    ])
    .expect_code(0);
    assert_eq!(
        run.stdout,
        "scripts/team_tags.lua on api/orders-list from examples/packages/orders-dev\n\
         rename: (name kept)\n\
         transform:\n  ...\n      },\n      \"tags\": [\n-       \"public\"\n+       \"public\",\n\
         +       \"team:orders\"\n      ]\n    },\n  ...\n"
    );
    let run = common::hoist(&[
        "hook",
        "test",
        "scripts/authorizer_prefix.lua",
        "--package",
        "examples/packages/payments-dev",
        "--asset",
        "authorizer/payments-auth",
    ])
    .expect_code(1);
    assert_eq!(
        run.stdout,
        "scripts/authorizer_prefix.lua on authorizer/payments-auth from examples/packages/payments-dev\n\
         rename failed [hook.error]: scripts/authorizer_prefix.lua:19: set environments.<env>.vars.team to the team's prefix\n\
         transform: no change\n"
    );
    let run = common::hoist(&[
        "hook",
        "test",
        "scripts/authorizer_on_conflict.lua",
        "--package",
        "examples/packages/orders-dev",
        "--asset",
        "authorizer/orders-auth",
        "--target",
        "examples/targets/prod",
    ])
    .expect_code(0);
    assert_eq!(
        run.stdout,
        "scripts/authorizer_on_conflict.lua on authorizer/orders-auth from examples/packages/orders-dev\n\
         rename: (name kept)\n\
         transform: no change\n\
         on_conflict against the target's asset: rename (random)\n"
    );
    let run = common::hoist(&[
        "hook",
        "test",
        "scripts/team_tags.lua",
        "--package",
        "examples/packages/orders-dev",
        "--asset",
        "api/nope",
    ])
    .expect_code(2);
    assert!(run.stderr.contains("no asset api/nope"), "{}", run.stderr);
}

#[test]
fn hook_types_writes_the_annotations_the_examples_use() {
    let dir = tmp();
    hoist_in(dir.path(), &["hook", "types", "-o", "."]).expect_code(0);
    let stubs = fs::read_to_string(dir.path().join("hoist.d.lua")).unwrap();
    for class in [
        "---@class HoistHooks",
        "---@class HoistAsset",
        "---@class HoistCtx",
        "function HoistAsset:read",
        "function HoistCtx.suffix",
    ] {
        assert!(stubs.contains(class), "{class}");
    }
    for script in fs::read_dir(repo().join("scripts")).unwrap() {
        let text = fs::read_to_string(script.unwrap().path()).unwrap();
        assert!(
            text.contains("---@type HoistHooks"),
            "every example is annotated"
        );
    }
}

#[test]
fn a_stateful_script_gives_the_same_bytes_on_every_run_at_any_thread_count() {
    let ws = workspace();
    fs::create_dir_all(ws.path().join("scripts/lib")).unwrap();
    fs::write(
        ws.path().join("scripts/lib/tally.lua"),
        "return { seen = {} }\n",
    )
    .unwrap();
    fs::write(
        ws.path().join("scripts/stateful.lua"),
        r#"-- Everything here would differ with the order assets reach a worker, if it carried.
local n = 0
local tally = require("lib.tally")
return {
  transform = function(asset, ctx)
    n = n + 1
    calls = (calls or 0) + 1
    tally.seen[#tally.seen + 1] = asset.name
    asset.meta.hook = {
      n = n, calls = calls, seen = #tally.seen,
      table = tostring({}), fn = tostring(print), fmt = string.format("%s", asset),
    }
    asset.labels.order = table.concat(tally.seen, ",")
    return asset
  end,
}
"#,
    )
    .unwrap();
    fs::write(
        ws.path().join("specs/stateful.yaml"),
        "version: 1\nsources: [../examples/packages/orders-dev, ../examples/packages/payments-dev]\n\
         output: {dir: ../out, format: dir}\nhooks:\n  - {script: ../scripts/stateful.lua}\n",
    )
    .unwrap();
    let mut runs = Vec::new();
    for (i, jobs) in ["1", "2", "1", "2", "2"].into_iter().enumerate() {
        hoist_in(ws.path(), &["--jobs", jobs, "apply", "specs/stateful.yaml"]).expect_code(0);
        let keep = format!("run{i}");
        fs::rename(ws.path().join("out"), ws.path().join(&keep)).unwrap();
        runs.push((jobs, tree(&ws.path().join(&keep))));
    }
    let (_, first) = &runs[0];
    let doc = first
        .iter()
        .find(|(k, _)| k.ends_with("orders-list/asset.json"))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .expect("the asset is written");
    assert!(
        doc.contains("\"n\": 1") && doc.contains("\"table\": \"table: "),
        "{doc}"
    );
    assert!(!doc.contains("0x"), "{doc}");
    for (jobs, run) in &runs[1..] {
        assert_eq!(
            run.keys().collect::<Vec<_>>(),
            first.keys().collect::<Vec<_>>()
        );
        for (name, bytes) in run {
            assert!(
                first[name] == *bytes,
                "--jobs {jobs}: {name} differs:\n{}\n---\n{}",
                String::from_utf8_lossy(&first[name]),
                String::from_utf8_lossy(bytes)
            );
        }
    }
}

#[test]
fn a_hook_writing_a_file_that_cannot_be_written_fails_that_asset_only() {
    let ws = workspace();
    fs::write(
        ws.path().join("scripts/writes.lua"),
        r#"local writes = {
  ["payments-auth"] = { "Read.me", "read.me" },
  ["payments-svc"] = { "a", "a/b" },
  ["payments-charge"] = { "docs/x", "docs" },
}
return {
  transform = function(asset, ctx)
    for _, file in ipairs(writes[asset.name] or {}) do asset:write(file, "x") end
    return asset
  end,
}
"#,
    )
    .unwrap();
    for format in ["dir", "zip"] {
        let spec = format!(
            "version: 1\nsources: [../examples/packages/payments-dev]\n\
             output: {{dir: ../out-{format}, format: {format}}}\nhooks:\n  - {{script: ../scripts/writes.lua}}\n"
        );
        fs::write(ws.path().join(format!("specs/{format}.yaml")), spec).unwrap();
        let run = hoist_in(ws.path(), &["apply", &format!("specs/{format}.yaml")]).expect_code(1);
        for (asset, file) in [
            ("authorizer/payments-auth", "\"read.me\""),
            ("backend/payments-svc", "\"a/b\""),
            ("api/payments-charge", "\"docs\""),
        ] {
            let line = run
                .stdout
                .lines()
                .find(|l| l.contains(asset))
                .unwrap_or_else(|| panic!("{format}: no line for {asset}:\n{}", run.stdout));
            assert!(
                line.contains("[hook.bad_write]")
                    && line.contains("../scripts/writes.lua:8:")
                    && line.contains(file),
                "{format}: {line}"
            );
        }
        assert!(run.stdout.contains("2 create"), "{format}: {}", run.stdout);
        let out = tree(&ws.path().join(format!("out-{format}")));
        assert!(
            out.len() >= 2,
            "{format}: the other assets are written: {out:?}"
        );
    }
}

#[test]
fn a_hook_cannot_write_over_an_enebular_assets_settings() {
    let ws = workspace();
    fs::write(
        ws.path().join("scripts/settings.lua"),
        r#"local names = { ["line-config"] = "settings.json", ["line-monitor"] = "Settings.json" }
return {
  transform = function(asset)
    if names[asset.name] then asset:write(names[asset.name], "{}") end
    return asset
  end,
}
"#,
    )
    .unwrap();
    fs::write(
        ws.path().join("specs/enebular-write.yaml"),
        "version: 1\nsources: [../examples/packages/enebular-dev]\noutput: {dir: ../out, format: dir}\n\
         hooks:\n  - {script: ../scripts/settings.lua, kinds: [file, flow]}\n",
    )
    .unwrap();
    let run = hoist_in(ws.path(), &["apply", "specs/enebular-write.yaml"]).expect_code(1);
    for (asset, file) in [
        ("file/line-config", "\"settings.json\""),
        ("flow/line-monitor", "\"Settings.json\""),
    ] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(asset))
            .unwrap_or_else(|| panic!("no line for {asset}:\n{}", run.stdout));
        assert!(
            line.contains("[hook.bad_write]") && line.contains(file),
            "{line}"
        );
    }
    assert!(
        ws.path().join("out").exists(),
        "the other assets are written"
    );
}

/// The LuaLS annotations hoist ships (`hoist hook types`) declare exactly what a hook gets:
/// every field and function of `ctx`, `ctx.json`, `ctx.target` and the asset, no more and no
/// fewer. A registration added without its annotation, or an annotation of something gone,
/// fails here.
#[test]
fn the_lua_annotations_declare_exactly_what_is_registered() {
    let ws = common::workspace();
    let dir = ws.path();
    hoist_in(dir, &["hook", "types", "-o", "types"]).expect_code(0);
    let stubs = fs::read_to_string(dir.join("types/hoist.d.lua")).unwrap();
    // What each class declares: `---@field name` under `---@class Name`, and
    // `function Name.f` / `function Name:f`.
    let mut declared: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    let mut class = String::new();
    for line in stubs.lines() {
        if let Some(c) = line.strip_prefix("---@class ") {
            class = c.split_whitespace().next().unwrap().to_string();
        } else if let Some(f) = line.strip_prefix("---@field ") {
            let name = f.split_whitespace().next().unwrap().trim_end_matches('?');
            declared
                .entry(class.clone())
                .or_default()
                .insert(name.to_string());
        } else if let Some(f) = line.strip_prefix("function ") {
            let (owner, rest) = f.split_once(['.', ':']).unwrap();
            let name = rest.split('(').next().unwrap();
            declared
                .entry(owner.to_string())
                .or_default()
                .insert(name.to_string());
        }
    }
    // What a transform hook really gets, listed by the hook itself.
    fs::write(
        dir.join("scripts/keys.lua"),
        r#"local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return table.concat(out, ",")
end
return { transform = function(asset, ctx)
  ctx.log("HoistCtx=" .. keys(ctx))
  ctx.log("HoistJson=" .. keys(ctx.json))
  ctx.log("HoistTarget=" .. keys(ctx.target))
  ctx.log("HoistAsset=" .. keys(asset))
  return asset
end }
"#,
    )
    .unwrap();
    let run = hoist_in(
        dir,
        &[
            "hook",
            "test",
            "scripts/keys.lua",
            "--package",
            "examples/packages/enebular-dev",
            "--asset",
            "flow/temperature-alert@master",
            "--env",
            "prod",
        ],
    )
    .expect_code(0);
    let mut registered: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for line in run.stdout.lines() {
        if let Some((class, keys)) = line.strip_prefix("log: ").and_then(|l| l.split_once('=')) {
            registered.insert(
                class.to_string(),
                keys.split(',')
                    .filter(|k| !k.is_empty())
                    .map(String::from)
                    .collect(),
            );
        }
    }
    assert_eq!(registered.len(), 4, "{}", run.stdout);
    for (class, keys) in &registered {
        assert_eq!(
            declared.get(class),
            Some(keys),
            "{class}: hoist.d.lua declares {:?}, a hook gets {keys:?}",
            declared.get(class)
        );
    }
}

/// Whether a hook runs out of memory or instructions depends on the call alone: not on
/// another team's script compiled into the same worker's state, not on the call before it,
/// so not on `--jobs`.
#[test]
fn a_hooks_budgets_do_not_depend_on_what_ran_before_it_on_the_worker() {
    let ws = common::tmp();
    let dir = ws.path();
    common::copy_tree(
        &repo().join("tests/cases/plan-masks-secrets/in"),
        &dir.join("in"),
    );
    fs::create_dir_all(dir.join("scripts")).unwrap();
    // Another team's large script, and one that allocates half its memory budget.
    fs::write(
        dir.join("scripts/big.lua"),
        format!(
            "local blob = \"{}\"\nreturn {{ transform = function(a) return a end }}\n",
            "z".repeat(1_000_000)
        ),
    )
    .unwrap();
    fs::write(
        dir.join("scripts/probe.lua"),
        "return { transform = function(a) local s = string.rep('x', 4000000) return a end }\n",
    )
    .unwrap();
    // A loop at the edge of its instruction budget, after a call that left the count mid-way:
    // the two data sources do the same work, so they fare the same.
    fs::write(
        dir.join("scripts/count.lua"),
        "return { transform = function(a) local n = (a.kind == 'backend') and 4321 or 1006000; for i = 1, n do end return a end }\n",
    )
    .unwrap();
    for (hooks, lua) in [
        (
            "  - {script: scripts/big.lua, kinds: [backend]}\n  - {script: scripts/probe.lua, kinds: [data_source]}\n",
            "{memory_mib: 8}",
        ),
        (
            "  - {script: scripts/count.lua}\n",
            "{instructions_millions: 1}",
        ),
    ] {
        fs::write(
            dir.join("spec.yaml"),
            format!("version: 1\nname: budgets\nsources: [in/shop]\noutput: {{dir: out}}\nselect: [{{kind: [backend, data_source]}}]\nlua: {lua}\nhooks:\n{hooks}"),
        )
        .unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for jobs in ["1", "2", "1", "2"] {
            let run = hoist_in(dir, &["--jobs", jobs, "plan", "spec.yaml"]);
            let outcome: Vec<&str> = run
                .stdout
                .lines()
                .filter(|l| l.contains("shop-d") && l.trim_start().starts_with(['+', '!']))
                .collect();
            let action = |l: &str| l.rsplit('(').next().unwrap_or_default().to_string();
            assert_eq!(outcome.len(), 2, "{}", run.stdout);
            assert_eq!(
                action(outcome[0]),
                action(outcome[1]),
                "jobs {jobs}: the same work fares the same\n{}",
                run.stdout
            );
            if lua.contains("memory") {
                assert!(
                    outcome.iter().all(|l| l.contains("(create)")),
                    "jobs {jobs}: every call fits its budget alone\n{}",
                    run.stdout
                );
            }
            seen.insert(outcome.join("\n"));
        }
        assert_eq!(seen.len(), 1, "{seen:?}");
    }
}
