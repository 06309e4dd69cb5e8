use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde_json::json;

use super::*;
use crate::model::AssetKey;

fn host_with(scripts: &[(&str, &str)], budget: LuaBudget) -> (tempfile::TempDir, HookHost) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in scripts {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let names: Vec<String> = scripts
        .iter()
        .filter(|(n, _)| !n.contains("lib/"))
        .map(|(n, _)| n.to_string())
        .collect();
    let ctx = Context {
        env: Some("prod".into()),
        seed: "s".into(),
        vars: BTreeMap::from([("team".into(), "orders".into())]),
        ..Context::default()
    };
    let host = HookHost::new(dir.path(), &names, budget, ctx).unwrap();
    (dir, host)
}

fn host(scripts: &[(&str, &str)]) -> (tempfile::TempDir, HookHost) {
    host_with(
        scripts,
        LuaBudget {
            memory: 16 << 20,
            instructions: 5_000_000,
            timeout_ms: 5_000,
        },
    )
}

fn api(meta: Value) -> Asset {
    Asset::new(
        AssetKey::new("api", "orders-list", Version::None),
        meta,
        None,
    )
}

#[test]
fn a_no_op_hook_keeps_the_document_byte_for_byte() {
    let (_d, h) = host(&[(
        "scripts/noop.lua",
        "return { transform = function(asset, ctx) return asset end }",
    )]);
    let text = r#"{"name":"orders-list","int":42,"neg":-7,"big":9007199254740993,"float":1.5,"whole_float":2.0,"tiny":1e-7,"empty_array":[],"empty_object":{},"null":null,"nested":{"z":1,"a":[{"b":[]},null,true]},"unicode":"注文 ✓ \u0000 é","t":true,"f":false}"#;
    let meta: Value = serde_json::from_str(text).unwrap();
    let out = h
        .transform("scripts/noop.lua", api(meta.clone()))
        .unwrap()
        .value
        .unwrap();
    assert!(!out.is_edited(), "a no-op hook leaves the asset unedited");
    assert_eq!(
        serde_json::to_string(out.meta()).unwrap(),
        serde_json::to_string(&meta).unwrap()
    );
}

#[test]
fn edits_keep_key_order_and_add_new_keys_sorted() {
    let (_d, h) = host(&[(
        "scripts/edit.lua",
        "return { transform = function(a, ctx) a.meta.zeta = 1; a.meta.alpha = ctx.json.array(); a.meta.b = nil; a.labels.team = ctx.vars.team; return a end }",
    )]);
    let out = h
        .transform(
            "scripts/edit.lua",
            api(json!({"name": "orders-list", "c": 3, "b": 2, "a": {}})),
        )
        .unwrap()
        .value
        .unwrap();
    assert_eq!(
        serde_json::to_string(out.meta()).unwrap(),
        r#"{"name":"orders-list","c":3,"a":{},"alpha":[],"zeta":1}"#
    );
    assert_eq!(out.labels["team"], "orders");
    assert!(out.is_edited());
}

#[test]
fn only_what_a_script_changed_is_rebuilt_and_the_rest_keeps_its_order() {
    let (_d, h) = host(&[(
        "scripts/deep.lua",
        "return { transform = function(a, ctx)
            local m = a.meta
            m.keep.list[2].v = 'two'       -- a value deep inside
            m.grow[#m.grow + 1] = 4        -- an array grows
            m.shrink[#m.shrink] = nil      -- an array shrinks
            m.int = 1.0                    -- same number, now a float
            m.obj = { 'x', 'y' }           -- an object becomes a sequence
            m.flag = m.flag                -- the same value again
            return a
        end }",
    )]);
    let before = json!({
        "name": "orders-list",
        "keep": {"z": 0, "list": [{"v": 1}, {"v": 2, "w": [true]}], "a": null},
        "grow": [1, 2, 3],
        "shrink": [1, 2, 3],
        "int": 1,
        "obj": {"k": 1},
        "flag": false,
        "untouched": {"y": [1.5, {"q": "r"}], "b": {}}
    });
    let out = h
        .transform("scripts/deep.lua", api(before))
        .unwrap()
        .value
        .unwrap();
    assert!(out.is_edited());
    assert_eq!(
        serde_json::to_string(out.meta()).unwrap(),
        concat!(
            r#"{"name":"orders-list","keep":{"z":0,"list":[{"v":1},{"v":"two","w":[true]}],"a":null},"#,
            r#""grow":[1,2,3,4],"shrink":[1,2],"int":1.0,"obj":["x","y"],"flag":false,"#,
            r#""untouched":{"y":[1.5,{"q":"r"}],"b":{}}}"#
        )
    );

    // Setting every field to what it was is no edit at all.
    let (_d, h) = host(&[(
        "scripts/same.lua",
        "return { transform = function(a, ctx)
            a.meta.n = 2; a.meta.f = 0.5; a.meta.s = 'x'; a.meta.e = ctx.json.array()
            return a
        end }",
    )]);
    let out = h
        .transform(
            "scripts/same.lua",
            api(json!({"name": "orders-list", "n": 2, "f": 0.5, "s": "x", "e": []})),
        )
        .unwrap()
        .value
        .unwrap();
    assert!(!out.is_edited());
}

#[test]
fn escapes_fail_the_call_with_the_scripts_place() {
    let cases = [
        (
            "io",
            "return { transform = function(a) return io.open('/etc/passwd') end }",
            "io",
        ),
        (
            "os",
            "return { transform = function(a) os.execute('true') return a end }",
            "os",
        ),
        (
            "require_os",
            "return { transform = function(a) require('os') return a end }",
            "no module",
        ),
        (
            "require_up",
            "return { transform = function(a) require('..secret') return a end }",
            "module names",
        ),
        (
            "dofile",
            "return { transform = function(a) dofile('/etc/passwd') return a end }",
            "dofile",
        ),
        (
            "binary",
            "return { transform = function(a) local f, err = load('\\27Lua\\84\\0') assert(f, err) return a end }",
            "binary chunk",
        ),
        (
            "dump",
            "return { transform = function(a) return string.dump(function() end) end }",
            "dump",
        ),
        (
            "random",
            "return { transform = function(a) return math.random() end }",
            "random",
        ),
        (
            "debug",
            "return { transform = function(a) return debug.getinfo(1) end }",
            "debug",
        ),
    ];
    for (name, text, want) in cases {
        let file = format!("scripts/{name}.lua");
        let (_d, h) = host(&[(file.as_str(), text)]);
        let e = h
            .transform(&file, api(json!({"name": "orders-list"})))
            .unwrap_err();
        assert_eq!(e.code(), "hook.error", "{name}: {e:?}");
        assert!(
            e.message.contains(&format!("{file}:1")),
            "{name}: {}",
            e.message
        );
        assert!(e.message.contains(want), "{name}: {}", e.message);
    }
}

#[test]
fn budgets_stop_bombs_loops_and_recursion() {
    let cases = [
        (
            "memory",
            "return { transform = function(a) local s = string.rep('x', 1 << 30) return a end }",
            "hook.memory",
        ),
        (
            "too_large",
            "return { transform = function(a) local s = string.rep('x', 1 << 62) return a end }",
            "hook.error",
        ),
        (
            "grow",
            "return { transform = function(a) local t = {} for i = 1, 1e9 do t[i] = i end return a end }",
            "hook.memory",
        ),
        (
            "loop",
            "return { transform = function(a) while true do end end }",
            "hook.budget",
        ),
        (
            "recursion",
            "local function f(n) return f(n + 1) + 1 end return { transform = function(a) return f(1) end }",
            "hook.stack|hook.memory",
        ),
        (
            "garbage",
            "return { transform = function(a) return 42 end }",
            "hook.bad_return",
        ),
        (
            "kind",
            "return { transform = function(a) a.kind = 'app' return a end }",
            "hook.kind_changed",
        ),
        (
            "name",
            "return { transform = function(a) a.name = 'x' return a end }",
            "hook.name_changed",
        ),
        (
            "nan",
            "return { transform = function(a) a.meta.x = 0/0 return a end }",
            "hook.bad_return",
        ),
    ];
    for (name, text, code) in cases {
        let file = format!("scripts/{name}.lua");
        let (_d, h) = host(&[(file.as_str(), text)]);
        let e = h
            .transform(&file, api(json!({"name": "orders-list"})))
            .unwrap_err();
        assert!(code.split('|').any(|c| c == e.code()), "{name}: {e:?}");
        // The state stays healthy: the next call on this thread works.
        let (_d2, ok) = host(&[(
            "scripts/ok.lua",
            "return { transform = function(a) return a end }",
        )]);
        assert!(
            ok.transform("scripts/ok.lua", api(json!({"name": "orders-list"})))
                .is_ok()
        );
    }
}

#[test]
fn pairs_visits_keys_in_order_and_scripts_do_not_share_globals() {
    let (_d, h) = host(&[
        (
            "scripts/a.lua",
            "shared = 'a' string.upper = nil return { rename = function(asset) local k = {} for key in pairs(asset.meta) do k[#k+1] = key end return table.concat(k, '-') end }",
        ),
        (
            "scripts/b.lua",
            "return { rename = function(asset) return tostring(shared) .. '-' .. string.upper('x') end }",
        ),
    ]);
    let a = api(json!({"name": "orders-list", "zz": 1, "b": 2, "aa": 3, "m": 4}));
    assert_eq!(
        h.rename("scripts/a.lua", &a).unwrap().value.as_deref(),
        Some("aa-b-m-name-zz")
    );
    assert_eq!(
        h.rename("scripts/b.lua", &a).unwrap().value.as_deref(),
        Some("nil-X")
    );
}

#[test]
fn require_loads_modules_from_the_scripts_folder_only() {
    let (_d, h) = host(&[
        (
            "scripts/main.lua",
            "local util = require('lib.util') return { rename = function(a, ctx) return util.prefix(ctx.vars.team, a.name) end }",
        ),
        (
            "scripts/lib/util.lua",
            "return { prefix = function(p, n) return p .. '-' .. n end }",
        ),
    ]);
    assert_eq!(
        h.rename("scripts/main.lua", &api(json!({})))
            .unwrap()
            .value
            .as_deref(),
        Some("orders-orders-list")
    );
    assert!(
        h.digests().contains_key("scripts/lib/util.lua"),
        "modules are digested too"
    );
}

#[test]
fn ctx_helpers_are_repeatable() {
    let (_d, h) = host(&[(
        "scripts/ctx.lua",
        r#"return { rename = function(a, ctx)
            ctx.log("renaming " .. a.name)
            local back = ctx.json.decode(ctx.json.encode({n = 1, list = ctx.json.array()}))
            assert(math.type(back.n) == "integer" and #back.list == 0)
            assert(ctx.target:has("api", "x") == false)
            return a.name .. "-" .. ctx.suffix(a.name, 4) .. "-" .. ctx.sha256("abc"):sub(1, 6)
        end }"#,
    )]);
    let one = h.rename("scripts/ctx.lua", &api(json!({}))).unwrap();
    let two = h.rename("scripts/ctx.lua", &api(json!({}))).unwrap();
    assert_eq!(one.value, two.value);
    assert!(
        one.value.as_deref().unwrap().ends_with("-ba7816"),
        "{:?}",
        one.value
    );
    assert_eq!(one.logs, vec!["renaming orders-list"]);
}

#[test]
fn secrets_are_masked_in_logs_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("s")).unwrap();
    std::fs::write(dir.path().join("s/leak.lua"), "return { transform = function(a, ctx) ctx.log('pw=' .. a.meta.pw) error('bad ' .. a.meta.pw) end }").unwrap();
    let ctx = Context {
        secrets: {
            let mut s = crate::secrets::Secrets::new();
            s.add("hunter22");
            s
        },
        ..Context::default()
    };
    let h = HookHost::new(
        dir.path(),
        &["s/leak.lua".to_string()],
        LuaBudget::default(),
        ctx,
    )
    .unwrap();
    let e = h
        .transform("s/leak.lua", api(json!({"pw": "hunter22"})))
        .unwrap_err();
    assert!(
        !e.message.contains("hunter22") && e.message.contains("***"),
        "{}",
        e.message
    );
}

#[test]
fn syntax_errors_are_found_when_the_host_is_made() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.lua"),
        "return {\n  rename = function(a) return a.name .. end\n}",
    )
    .unwrap();
    let (script, msg) = HookHost::new(
        dir.path(),
        &["bad.lua".to_string()],
        LuaBudget::default(),
        Context::default(),
    )
    .unwrap_err();
    assert_eq!(script, "bad.lua");
    assert!(msg.contains("bad.lua:2:"), "{msg}");
}

#[test]
fn the_watchdog_stops_a_call_stuck_in_a_c_function() {
    let fired = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&fired);
    let (_d, h) = host_with(
        &[(
            "scripts/slow.lua",
            r#"return { rename = function(a) return tostring(string.find(("a"):rep(60), ".-.-.-.-.-b$")) end }"#,
        )],
        LuaBudget {
            memory: 16 << 20,
            instructions: 5_000_000,
            timeout_ms: 50,
        },
    );
    let h = h.on_timeout(Arc::new(move |what: &str| {
        assert!(
            what.contains("scripts/slow.lua (rename) on api/orders-list"),
            "{what}"
        );
        f.store(true, Ordering::SeqCst);
    }));
    let started = Instant::now();
    let _ = h.rename("scripts/slow.lua", &api(json!({})));
    if started.elapsed() > Duration::from_millis(50 + 500 + 200) {
        assert!(
            fired.load(Ordering::SeqCst),
            "a call past its deadline must trip the watchdog"
        );
    }
}

/// Runs one transform script on a small document.
fn transform_with(text: &str) -> Result<Outcome<Option<Asset>>, HookError> {
    let (_d, h) = host(&[("scripts/t.lua", text)]);
    h.transform("scripts/t.lua", api(json!({"name": "orders-list"})))
}

#[test]
fn nothing_a_script_keeps_carries_from_one_call_to_the_next() {
    let (_d, h) = host(&[
        (
            "scripts/stateful.lua",
            r#"
            local n = 0                          -- an upvalue of the hook
            local cache = require("lib.cache")   -- a module's table
            local mt = { __index = function() return "from an earlier call" end }
            return { transform = function(a, ctx)
                n = n + 1
                counter = (counter or 0) + 1     -- a global
                cache.calls = (cache.calls or 0) + 1
                a.meta.n, a.meta.global, a.meta.module = n, counter, cache.calls
                a.meta.string_upper = tostring(string.upper ~= nil)
                string.upper = nil                -- a library table
                a.meta.leaked = tostring(rawget(_G, "leak"))
                setmetatable(_G, mt)              -- the environment's metatable
                leak = true
                return a
            end }"#,
        ),
        ("scripts/lib/cache.lua", "return {}"),
    ]);
    let want = json!({"name": "orders-list", "n": 1, "global": 1, "module": 1,
        "string_upper": "true", "leaked": "nil"});
    for round in 0..3 {
        let out = h
            .transform("scripts/stateful.lua", api(json!({"name": "orders-list"})))
            .unwrap()
            .value
            .unwrap();
        assert_eq!(out.meta(), &want, "call {round}");
    }
}

#[test]
fn ctx_is_read_only_and_one_script_cannot_change_what_another_sees() {
    let attempts = [
        ("vars", "ctx.vars.team = 'evil'"),
        ("new_key", "ctx.x = 1"),
        ("replace", "ctx.vars = { team = 'evil' }"),
        ("encode", "ctx.json.encode = function() return '{}' end"),
        ("log", "ctx.log = nil"),
        ("target", "ctx.target.has = function() return true end"),
        ("rawset", "rawset(ctx.vars, 'team', 'evil')"),
        ("rawset_ctx", "rawset(ctx, 'seed', 'evil')"),
        ("setmetatable", "setmetatable(ctx.vars, nil)"),
        ("insert", "table.insert(ctx.vars, 'evil')"),
        ("array", "ctx.json.array(ctx.vars)"),
        (
            "array_mt",
            "local mt = getmetatable(ctx.json.array()); mt.__index = function() return 'evil' end",
        ),
    ];
    for (name, attempt) in attempts {
        let a_file = format!("scripts/{name}.lua");
        let a_text =
            format!("return {{ rename = function(a, ctx)\n  {attempt}\n  return 'x' end }}");
        let (_d, h) = host(&[
            (a_file.as_str(), a_text.as_str()),
            (
                "scripts/b.lua",
                r#"return { rename = function(a, ctx)
                    local t = {}
                    for k, v in pairs(ctx.vars) do t[#t + 1] = k .. "=" .. v end
                    local arr = ctx.json.array()
                    return table.concat(t, ",") .. " " .. ctx.json.encode({ v = ctx.vars, a = arr })
                        .. " " .. ctx.seed .. " " .. tostring(ctx.target:has("api", "x"))
                        .. " " .. tostring(arr[1]) .. " " .. tostring(ctx.x)
                end }"#,
            ),
        ]);
        let e = h
            .rename(&a_file, &api(json!({})))
            .map(|o| o.value)
            .expect_err("the assignment must fail");
        assert_eq!(e.code(), "hook.error", "{name}: {e:?}");
        assert!(
            e.message.contains(&format!("{a_file}:2:")) && e.message.contains("read-only"),
            "{name}: {}",
            e.message
        );
        let seen = h.rename("scripts/b.lua", &api(json!({}))).unwrap().value;
        assert_eq!(
            seen.as_deref(),
            Some(r#"team=orders {"a":[],"v":{"team":"orders"}} s false nil nil"#),
            "{name}"
        );
    }
    ctx_reads_like_a_table();
}

fn ctx_reads_like_a_table() {
    let out = transform_with(
        r#"return { transform = function(a, ctx)
            local keys = {}
            for k in pairs(ctx) do keys[#keys + 1] = k end
            a.meta.keys = table.concat(keys, ",")
            a.meta.vars = ctx.vars
            a.meta.team = ctx.vars["team"]
            a.meta.same = rawequal(ctx.vars, ctx.vars)
            return a
        end }"#,
    )
    .unwrap()
    .value
    .unwrap();
    assert_eq!(
        out.meta(),
        &json!({"name": "orders-list", "keys": "env,json,log,seed,sha256,suffix,target,vars",
            "same": true, "team": "orders", "vars": {"team": "orders"}})
    );
}

#[test]
fn finalizers_and_weak_tables_are_refused() {
    for (name, text, want) in [
        ("gc", "setmetatable({}, {__gc = function() end})", "__gc"),
        (
            "close",
            "setmetatable({}, {__close = function() end})",
            "__close",
        ),
        ("mode", "setmetatable({}, {__mode = 'k'})", "__mode"),
        // A metatable changed after setmetatable: the table keeps what it was given.
        (
            "added_later",
            "local mt = {} local t = setmetatable({}, mt) mt.__close = print local x <close> = t",
            "non-closable",
        ),
    ] {
        let e = transform_with(&format!(
            "return {{ transform = function(a)\n {text}\n return a end }}"
        ))
        .map(|o| o.value.map(|a| a.meta().to_string().len()))
        .expect_err("the call must fail");
        assert_eq!(e.code(), "hook.error", "{name}: {e:?}");
        assert!(
            e.message.contains("scripts/t.lua:2:") && e.message.contains(want),
            "{name}: {}",
            e.message
        );
    }
}

#[test]
fn a_script_that_catches_the_budget_error_still_fails_its_asset() {
    for (name, text) in [
        (
            "loop",
            "for i = 1, 2000 do pcall(function() while true do end end) end return a",
        ),
        ("tail", "return pcall(function() while true do end end)"),
        (
            "xpcall",
            "for i = 1, 2000 do xpcall(function() while true do end end, function(e) return e end) end return a",
        ),
    ] {
        let e = transform_with(&format!(
            "return {{ transform = function(a)\n {text}\n end }}"
        ))
        .map(|o| o.value.map(|a| a.meta().to_string().len()))
        .expect_err("the call must fail");
        assert_eq!(e.code(), "hook.budget", "{name}: {e:?}");
        assert!(
            e.message.contains("instruction budget"),
            "{name}: {}",
            e.message
        );
    }
}

#[test]
fn the_host_reads_what_a_script_returns_without_running_its_metamethods() {
    // Every read of the returned table would run this __index without the memory cap; read
    // raw, the table has no kind.
    let e = transform_with(
        r#"return { transform = function(a)
            local real = a
            return setmetatable({}, { __index = function(_, k)
                local waste = string.rep("x", 64 << 20)
                return real[k]
            end })
        end }"#,
    )
    .map(|o| o.value.map(|a| a.meta().to_string().len()))
    .expect_err("the call must fail");
    assert_eq!(e.code(), "hook.kind_changed", "{e:?}");
    // Labels and document are read raw too: none of these metamethods runs.
    let out = transform_with(
        r#"return { transform = function(a)
            a.labels = setmetatable({}, { __index = function() return "x" end,
                __pairs = function() error("pairs ran") end })
            a.meta = setmetatable({}, { __len = function() error("len ran") end,
                __index = function() error("index ran") end })
            return a
        end }"#,
    )
    .unwrap()
    .value
    .unwrap();
    assert_eq!(out.meta(), &json!({}));
    assert!(out.labels.is_empty());
    let (_d, h) = host(&[(
        "scripts/c.lua",
        r#"return { on_conflict = function(a)
            return setmetatable({}, { __index = function() return "x" end })
        end }"#,
    )]);
    let asset = api(json!({}));
    let e = h
        .on_conflict("scripts/c.lua", &asset, None)
        .map(|o| o.value)
        .expect_err("the choice must come from raw fields");
    assert_eq!(e.code(), "hook.bad_return", "{e:?}");
}

#[test]
fn what_the_host_copies_out_of_a_call_counts_against_the_budgets() {
    // A document made of one string repeated: small inside Lua, 64 MiB as JSON.
    let e = transform_with(
        r#"return { transform = function(a)
            local s, list = string.rep("x", 1 << 20), {}
            for i = 1, 64 do list[i] = s end
            a.meta.big = list
            return a
        end }"#,
    )
    .map(|o| o.value.map(|a| a.meta().to_string().len()))
    .expect_err("the call must fail");
    assert_eq!(e.code(), "hook.memory", "{e:?}");
    let e = transform_with(
        r#"return { transform = function(a, ctx)
            local s, list = string.rep("x", 1 << 20), {}
            for i = 1, 64 do list[i] = s end
            a.meta.n = #ctx.json.encode(list)
            return a
        end }"#,
    )
    .map(|o| o.value.map(|a| a.meta().to_string().len()))
    .expect_err("the call must fail");
    assert_eq!(e.code(), "hook.memory", "{e:?}");
    // Files written: each within the cap, together far over it.
    let e = transform_with(
        r#"return { transform = function(a)
            local s = string.rep("x", 1 << 20)
            for i = 1, 64 do a:write("f" .. i, s) end
            return a
        end }"#,
    )
    .map(|o| o.value.map(|a| a.meta().to_string().len()))
    .expect_err("the call must fail");
    assert_eq!(e.code(), "hook.memory", "{e:?}");
    // print and ctx.log: short lines, one shared quota.
    let out = transform_with(
        r#"return { transform = function(a, ctx)
            print(string.rep("x", 1 << 20))
            ctx.log(string.rep("y", 1 << 20))
            for i = 1, 300 do print(i) ctx.log(i) end
            return a
        end }"#,
    )
    .unwrap();
    assert_eq!(out.logs.len(), 100);
    assert!(
        out.logs.iter().all(|l| l.len() <= 2000),
        "{:?}",
        out.logs[0].len()
    );
}

#[test]
fn a_write_that_would_not_fit_the_package_fails_the_asset() {
    let cases = [
        ("unsafe", "a:write('../x', 'x')", "\"../x\""),
        (
            "case",
            "a:write('Read.me', 'x') a:write('read.me', 'y')",
            "\"read.me\"",
        ),
        (
            "file_then_folder",
            "a:write('a', 'x') a:write('a/b', 'y')",
            "\"a/b\"",
        ),
        (
            "folder_then_file",
            "a:write('a/b', 'x') a:write('a', 'y')",
            "\"a\"",
        ),
        (
            "folder_case",
            "a:write('Dir/a', 'x') a:write('dir/b', 'y')",
            "\"dir/b\"",
        ),
        (
            "caught",
            "pcall(a.write, a, 'a', 'x') pcall(a.write, a, 'A', 'y')",
            "\"A\"",
        ),
    ];
    for (name, text, file) in cases {
        let e = transform_with(&format!(
            "return {{ transform = function(a)\n {text}\n return a end }}"
        ))
        .map(|o| o.value.map(|a| a.meta().to_string().len()))
        .expect_err("the call must fail");
        assert_eq!(e.code(), "hook.bad_write", "{name}: {e:?}");
        assert!(
            e.message.contains("scripts/t.lua:2:") && e.message.contains(file),
            "{name}: {}",
            e.message
        );
    }
    // Writing the same file twice replaces it.
    let out = transform_with(
        "return { transform = function(a) a:write('x/y', '1') a:write('x/y', '2') a:write('x/z', '3') return a end }",
    )
    .unwrap()
    .value
    .unwrap();
    assert_eq!(out.files.len(), 2);
}

#[test]
fn no_heap_address_reaches_an_output() {
    let out = transform_with(
        r#"return { transform = function(a, ctx)
            local t, u = {}, {}
            a.meta.t = tostring(t)
            a.meta.again = tostring(t)
            a.meta.u = tostring(u)
            a.meta.f = tostring(print)
            a.meta.named = tostring(setmetatable({}, { __name = "Point" }))
            a.meta.custom = tostring(setmetatable({}, { __tostring = function() return "custom" end }))
            a.meta.fmt = string.format("%s|%s", t, 1)
            a.meta.method = ("%s %5.1f"):format(u, 1.5)
            a.meta.null = tostring(ctx.json.null)
            local ok, e = pcall(error, {})
            a.meta.caught = tostring(e)
            print(t, u, nil, 1)
            ctx.log(t)
            return a
        end }"#,
    )
    .unwrap();
    assert_eq!(
        out.value.unwrap().meta(),
        &json!({"name": "orders-list", "t": "table: 1", "again": "table: 1", "u": "table: 2",
            "f": "function: 3", "named": "Point: 4", "custom": "custom",
            "fmt": "table: 1|1", "method": "table: 2   1.5", "null": "null", "caught": "table: 5"})
    );
    assert_eq!(out.logs, vec!["table: 1\ttable: 2\tnil\t1", "table: 1"]);
    // Numbering starts again with every call.
    let (_d, h) = host(&[(
        "scripts/n.lua",
        "return { rename = function(a) return tostring({}) .. ' ' .. tostring(print) end }",
    )]);
    for _ in 0..2 {
        let v = h.rename("scripts/n.lua", &api(json!({}))).unwrap().value;
        assert_eq!(v.as_deref(), Some("table: 1 function: 2"));
    }
    // Error objects and %p.
    for (name, text, want) in [
        ("error", "error({})", "table: 1"),
        (
            "error_named",
            "error(setmetatable({}, { __name = 'Oops' }))",
            "Oops: 1",
        ),
        ("pointer", "return ('%p'):format({})", "%p"),
        ("pointer_lib", "return string.format('%-5p', 'x')", "%p"),
        (
            "keys",
            "for k in pairs({[{}] = 1, [{}] = 2}) do end",
            "pairs",
        ),
    ] {
        let e = transform_with(&format!(
            "return {{ transform = function(a)\n {text}\n end }}"
        ))
        .map(|o| o.value.map(|a| a.meta().to_string().len()))
        .expect_err("the call must fail");
        assert!(
            e.message.contains(want) && !e.message.contains("0x"),
            "{name}: {}",
            e.message
        );
    }
    // One table key (or any number of string and number keys) is fine.
    let out = transform_with(
        "return { transform = function(a) local n = 0 for k in pairs({[{}] = 1, x = 2, [3] = 4}) do n = n + 1 end a.meta.n = n return a end }",
    )
    .unwrap()
    .value
    .unwrap();
    assert_eq!(out.meta()["n"], 3);
}

#[test]
fn table_sort_keeps_equal_elements_in_their_order() {
    let out = transform_with(
        r#"return { transform = function(a)
            local items = {}
            for i = 1, 300 do items[i] = { key = (i * 7) % 3, id = i } end
            table.sort(items, function(x, y) return x.key < y.key end)
            local ids = {}
            for i, item in ipairs(items) do ids[i] = item.id end
            a.meta.ids = table.concat(ids, ",")
            local words = { "b", "a", "c", "a" }
            table.sort(words)
            a.meta.words = table.concat(words, ",")
            return a
        end }"#,
    )
    .unwrap()
    .value
    .unwrap();
    let mut want: Vec<usize> = (1..=300).collect();
    want.sort_by_key(|i| (i * 7) % 3);
    let want: Vec<String> = want.iter().map(ToString::to_string).collect();
    assert_eq!(out.meta()["ids"], want.join(","));
    assert_eq!(out.meta()["words"], "a,a,b,c");
}
