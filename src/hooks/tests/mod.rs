use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde_json::json;

use super::*;
use crate::model::AssetKey;

mod isolation;

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
        serde_json::to_string(&out.meta()).unwrap(),
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
        serde_json::to_string(&out.meta()).unwrap(),
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
        serde_json::to_string(&out.meta()).unwrap(),
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
fn encode_keeps_the_text_a_table_was_decoded_from() {
    let (_d, h) = host(&[(
        "scripts/json.lua",
        r#"return { rename = function(a, ctx)
            local text = '{ "b" : 1.50,\r\n  "a": [1, 2] }'
            local same = ctx.json.encode(ctx.json.decode(text))
            assert(same == text, same)
            local t = ctx.json.decode(text)
            t.a[3] = 3
            t.c = "new"
            local edited = ctx.json.encode(t)
            assert(edited == '{ "b" : 1.50,\r\n  "a": [1, 2, 3],\r\n  "c": "new" }', edited)
            -- A part of a decoded table, or a table the script built, is compact.
            assert(ctx.json.encode(t.a) == "[1,2,3]")
            assert(ctx.json.encode({x = 1.50}) == '{"x":1.5}')
            return "ok"
        end }"#,
    )]);
    let out = h.rename("scripts/json.lua", &api(json!({}))).unwrap();
    assert_eq!(out.value.as_deref(), Some("ok"));
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

/// A key the JSON reader gives a meaning of its own cannot come out of a script: not in the
/// document (new, or added to an object it had), nor among the labels; the call fails, the
/// run goes on.
#[test]
fn a_script_cannot_write_a_key_the_json_reader_reserves() {
    for (name, body) in [
        (
            "meta",
            r#"a.meta.x = { ["$serde_json::private::Number"] = "abc" }"#,
        ),
        ("added", r#"a.meta["$serde_json::private::RawValue"] = 5"#),
        (
            "labels",
            r#"a.labels["$serde_json::private::Number"] = "7""#,
        ),
    ] {
        let script = format!("scripts/{name}.lua");
        let (_d, h) = host(&[(
            script.as_str(),
            &format!("return {{ transform = function(a, ctx) {body}; return a end }}"),
        )]);
        let Err(e) = h.transform(&script, api(json!({"name": "orders-list"}))) else {
            panic!("{name}: the script's result was taken");
        };
        assert!(
            e.message.contains("$serde_json::private::"),
            "{name}: {e:?}"
        );
    }
}
