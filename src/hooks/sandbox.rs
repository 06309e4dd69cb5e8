//! The Lua sandbox: which parts of Lua a hook script may use.
//!
//! Scripts get string, table, math (without random), utf8 and the safe base functions, each
//! script in its own environment with its own copies of the library tables, so one script
//! cannot change what another sees. There is no io, os, debug, package, dofile, loadfile,
//! string.dump, collectgarbage or next; `load` takes text only; `require` loads only modules
//! inside the requiring script's folder; `pairs` visits keys in sorted order, so that no hash
//! order reaches an output.

use mlua::chunk::ChunkMode;
use mlua::{Lua, LuaOptions, StdLib, Table, Value};

/// Lua run once per state, with the full base library still at hand, to build the sandbox's
/// replacements. It returns the table of safe globals every script environment copies.
const PRELUDE: &str = r#"
local type, tostring, sort, rawnext, getmetatable = type, tostring, table.sort, next, getmetatable
local raw_load = load

-- Lua 5.4 seeds its string hashes per state: plain `pairs` would visit keys in an order that
-- changes from run to run. This `pairs` visits them sorted.
local order = { boolean = 1, number = 2, string = 3 }
local function before(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (order[ta] or 9) < (order[tb] or 9) end
  if ta == "number" or ta == "string" then return a < b end
  if ta == "boolean" then return (not a) and b end
  return tostring(a) < tostring(b)
end
local function sorted_pairs(t)
  local keys = {}
  for k in rawnext, t do keys[#keys + 1] = k end
  sort(keys, before)
  local i = 0
  return function()
    i = i + 1
    local k = keys[i]
    if k == nil then return nil end
    return k, t[k]
  end, t, nil
end

-- Text chunks only: binary chunks can crash the interpreter.
local function text_load(chunk, name, mode, env)
  if type(chunk) ~= "string" then
    return nil, "load accepts source text only"
  end
  return raw_load(chunk, name or "=(load)", "t", env)
end

-- The string metatable is shared by every script: lock it.
getmetatable("").__metatable = false

local math_safe = {}
for k, v in rawnext, math do
  if k ~= "random" and k ~= "randomseed" then math_safe[k] = v end
end

return {
  assert = assert, error = error, ipairs = ipairs, pairs = sorted_pairs, pcall = pcall,
  xpcall = xpcall, select = select, tonumber = tonumber, tostring = tostring, type = type,
  rawequal = rawequal, rawget = rawget, rawset = rawset, rawlen = rawlen,
  setmetatable = setmetatable, getmetatable = getmetatable, load = text_load,
  _VERSION = _VERSION,
  string = string, table = table, math = math_safe, utf8 = utf8,
}
"#;

/// Registry name of the safe globals table.
pub const SAFE_GLOBALS: &str = "hoist.safe_globals";

/// A new Lua state with only the safe libraries. Its memory cap is applied while script code
/// runs (see `capped` in the host).
pub fn new_state() -> mlua::Result<Lua> {
    let lua = Lua::new_with(
        StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8,
        LuaOptions::default(),
    )?;
    let safe: Table = lua
        .load(PRELUDE)
        .set_name("=hoist prelude")
        .set_mode(ChunkMode::Text)
        .eval()?;
    lua.set_named_registry_value(SAFE_GLOBALS, safe)?;
    let array_mt = lua.create_table()?;
    array_mt.set("__name", "json.array")?;
    lua.set_named_registry_value(super::convert::ARRAY_MT, array_mt)?;
    // Nothing outside the environments below remains reachable from scripts.
    let globals = lua.globals();
    for name in [
        "dofile",
        "loadfile",
        "load",
        "require",
        "collectgarbage",
        "next",
        "print",
        "io",
        "os",
        "debug",
        "package",
    ] {
        globals.raw_set(name, Value::Nil)?;
    }
    if let Some(string) = globals.raw_get::<Option<Table>>("string")? {
        string.raw_set("dump", Value::Nil)?;
    }
    Ok(lua)
}

/// A fresh environment for one script: its own copies of the safe globals and library
/// tables, with `require` and `print` bound to this script.
pub fn environment(
    lua: &Lua,
    require: mlua::Function,
    print: mlua::Function,
) -> mlua::Result<Table> {
    let safe: Table = lua.named_registry_value(SAFE_GLOBALS)?;
    let env = lua.create_table()?;
    for pair in safe.pairs::<String, Value>() {
        let (k, v) = pair?;
        let v = match v {
            Value::Table(lib) => {
                let copy = lua.create_table()?;
                for item in lib.pairs::<Value, Value>() {
                    let (a, b) = item?;
                    copy.raw_set(a, b)?;
                }
                Value::Table(copy)
            }
            other => other,
        };
        env.raw_set(k, v)?;
    }
    env.raw_set("require", require)?;
    env.raw_set("print", print)?;
    env.raw_set("_G", env.clone())?;
    Ok(env)
}
