//! Cost of one hook call, in process: `cargo bench --bench hook_calls`.
//!
//! Calls each hook below on one API document of about 60 values, on one thread, and prints
//! the best of five rounds in microseconds per call. It measures the host (building the asset
//! table, running the script's chunk in a fresh environment, reading the result back), not
//! the package pipeline around it; `benches/run.py --only hooks` measures whole runs.
//!
//! On a busy machine, count instructions instead of timing: `HOOK_CALLS=N` runs N calls of
//! each hook once (`HOOK_ONLY=edit` runs one hook), so under
//! `valgrind --tool=callgrind` the difference between two values of N, divided by it, is
//! the instructions per call.

use std::collections::BTreeMap;
use std::time::Instant;

use hoist::hooks::{Context, HookHost};
use hoist::model::{Asset, AssetKey, Version};
use hoist::spec::LuaBudget;
use serde_json::json;

const HOOKS: &[(&str, &str)] = &[
    (
        "trivial",
        "return { transform = function(asset, ctx) return asset end }\n",
    ),
    (
        "edit",
        "return { transform = function(asset, ctx)\n\
         \x20 asset.meta.remark = 'promoted: ' .. tostring(asset.meta.remark)\n\
         \x20 asset.labels.promoted = ctx.seed\n\
         \x20 return asset\nend }\n",
    ),
    (
        "module",
        "local util = require('lib.util')\nlocal seen = 0\n\
         return { transform = function(asset, ctx)\n\
         \x20 seen = seen + 1\n\
         \x20 asset.labels.team = util.prefix(ctx.vars.team, asset.name)\n\
         \x20 return asset\nend }\n",
    ),
    (
        "rename",
        "return { rename = function(asset, ctx) return ctx.vars.team .. '-' .. asset.name end }\n",
    ),
    (
        "failing",
        "return { transform = function(asset, ctx) error('refused') end }\n",
    ),
];

const UTIL: &str = "local M = {}\nfunction M.prefix(p, n) return p .. '-' .. n end\nreturn M\n";

fn document() -> serde_json::Value {
    let parameters: Vec<_> = (0..6)
        .map(|i| {
            json!({"name": format!("p{i}"), "location": "QUERY", "required": i % 2 == 0,
                   "remark": "a parameter with a few words of remark"})
        })
        .collect();
    json!({
        "name": "orders-list", "remark": "lists orders of a customer with paging and filters",
        "group": "p001-grp-03", "type": 1, "req_protocol": "HTTPS", "req_method": "GET",
        "req_uri": "/v1/orders/orders-list", "auth_type": "AUTHORIZER",
        "authorizer": "p001-auth-02", "backend": "p001-be-007", "match_mode": "NORMAL",
        "throttling": {"name": "default", "api_call_limits": 500},
        "parameters": parameters,
    })
}

fn main() {
    // `cargo bench` passes --bench; anything else (a test run of all targets) gets a short run.
    let full = std::env::args().any(|a| a == "--bench");
    let (calls, rounds) = match std::env::var("HOOK_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        Some(n) => (n, 1),
        None if full => (20_000, 5),
        None => (200, 1),
    };
    let only = std::env::var("HOOK_ONLY").ok();
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir_all(dir.path().join("lib")).expect("a folder");
    std::fs::write(dir.path().join("lib/util.lua"), UTIL).expect("a module");
    let names: Vec<String> = HOOKS.iter().map(|(n, _)| format!("{n}.lua")).collect();
    for ((_, text), name) in HOOKS.iter().zip(&names) {
        std::fs::write(dir.path().join(name), text).expect("a script");
    }
    let ctx = Context {
        vars: BTreeMap::from([("team".into(), "orders".into())]),
        seed: "bench".into(),
        ..Context::default()
    };
    let host = HookHost::new(dir.path(), &names, LuaBudget::default(), ctx).expect("a host");
    let asset = Asset::new(
        AssetKey::new("api", "orders-list", Version::None),
        document(),
        None,
    );
    println!("hook       µs/call (best of {rounds} rounds of {calls} calls)");
    for ((label, _), name) in HOOKS.iter().zip(&names) {
        if only.as_deref().is_some_and(|o| o != *label) {
            continue;
        }
        let mut best = f64::MAX;
        for _ in 0..rounds {
            let started = Instant::now();
            for _ in 0..calls {
                match *label {
                    "rename" => drop(host.rename(name, &asset).expect("the hook runs")),
                    "failing" => drop(host.transform(name, asset.clone()).expect_err("it fails")),
                    _ => drop(host.transform(name, asset.clone()).expect("the hook runs")),
                }
            }
            best = best.min(started.elapsed().as_secs_f64() * 1e6 / calls as f64);
        }
        println!("{label:<10} {best:>7.2}");
    }
}
