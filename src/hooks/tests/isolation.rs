//! Isolation: nothing carries from one call to the next, ctx is read only, scripts cannot
//! reach the host through metamethods, finalizers or addresses, and what a call copies out is
//! budgeted.

use super::*;

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
        assert_eq!(*out.meta(), want, "call {round}");
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
        *out.meta(),
        json!({"name": "orders-list", "keys": "env,json,log,seed,sha256,suffix,target,vars",
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
    assert_eq!(*out.meta(), json!({}));
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
        *out.value.unwrap().meta(),
        json!({"name": "orders-list", "t": "table: 1", "again": "table: 1", "u": "table: 2",
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

/// The state scripts run in is made with the safe libraries only: no `io`, `os`, `package`,
/// `debug` or `coroutine` exists in it even before the sandbox's environments hide the rest.
#[test]
fn a_new_state_has_only_the_safe_libraries() {
    let lua = crate::hooks::sandbox::new_state().unwrap();
    for name in ["io", "os", "package", "debug", "coroutine", "require"] {
        let v: mlua::Value = lua.globals().get(name).unwrap();
        assert!(v.is_nil(), "{name} is reachable");
    }
    for name in ["string", "table", "math", "utf8"] {
        let v: mlua::Value = lua.globals().get(name).unwrap();
        assert!(v.is_table(), "{name} is missing");
    }
}
