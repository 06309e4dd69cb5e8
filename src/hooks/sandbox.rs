//! The Lua sandbox: which parts of Lua a hook script may use, and the replacements that keep
//! what a script does repeatable.
//!
//! Scripts get string, table, math (without random), utf8 and the safe base functions. Every
//! call runs the script in a fresh environment with its own copies of the library tables (see
//! [`Prelude::run`]), so nothing a script sets survives the call. There is no io, os,
//! debug, package, dofile, loadfile, string.dump, collectgarbage or next; `load` takes text
//! only; `require` loads only modules inside the requiring script's folder.
//!
//! Replacements, each because the original would let an output depend on something other than
//! the inputs:
//!
//! - `pairs` visits keys in sorted order (Lua seeds its string hashes per state) and refuses
//!   tables with two or more keys that are not strings, numbers or booleans (tables,
//!   functions), whose only order is their place in memory.
//! - `tostring` of a table, function or userdata gives `table: 1`, `function: 2`…: a number
//!   counted from 1 in each call, in the order values are first shown, never a heap address.
//!   `string.format` shows such values the same way and refuses `%p`; `print`, `ctx.log` and
//!   error objects go through the same `tostring`.
//! - `table.sort` keeps elements that compare equal in their order (Lua's own picks random
//!   pivots in long arrays, so their order could change from run to run).
//! - `setmetatable` refuses `__gc` (a finalizer runs whenever memory is collected, outside any
//!   call's budget), `__mode` (what a weak table holds depends on when memory is collected)
//!   and `__close`, and gives the table a private copy of the metatable, so none of them can
//!   be added to it afterwards.
//! - `ctx` and everything in it are read-only proxies: assignment, `rawset` and
//!   `setmetatable` on them raise an error naming the field.

use std::sync::OnceLock;

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};

/// Lua run once per state, with the full base library still at hand, to build the sandbox's
/// replacements. It receives host functions and returns the table [`Prelude`] wraps.
const PRELUDE: &str = r##"
local emit, refuse, raw_metatable, raw_setmetatable, array_mt, null = ...
local type, tostring, select, error, pcall = type, tostring, select, error, pcall
local rawget, rawset, rawlen, rawnext = rawget, rawset, rawlen, next
local setmetatable, getmetatable = setmetatable, getmetatable
local sort, concat, pack, unpack = table.sort, table.concat, table.pack, table.unpack
local find, gsub, raw_format = string.find, string.gsub, string.format
local raw_load = load

-- Read-only proxies (ctx and what it holds): proxy -> the table it shows.
local shown = {}

-- Numbers that stand for tables, functions and userdata in text, counted per call.
local ids, last_id = nil, 0
local function id_of(v)
  if ids == nil then ids = {} end
  local id = ids[v]
  if id == nil then
    last_id = last_id + 1
    id = last_id
    ids[v] = id
  end
  return id
end

local function show(v)
  local tv = type(v)
  if tv == "string" then return v end
  if tv == "number" or tv == "boolean" or tv == "nil" then return tostring(v) end
  if tv == "table" then
    if getmetatable(v) ~= nil then
      local mt = raw_metatable(v)
      if rawget(mt, "__tostring") ~= nil then return tostring(v) end
      local name = rawget(mt, "__name")
      if type(name) == "string" then return name .. ": " .. id_of(v) end
    end
    return "table: " .. id_of(v)
  end
  if tv == "userdata" then
    if v == null then return "null" end
    -- Errors raised by the host are userdata that describe themselves.
    local s = tostring(v)
    if not find(s, ": 0x%x+$") and not find(s, ": %(nil%)$") then return s end
  end
  return tv .. ": " .. id_of(v)
end

-- Copies of the library tables, one per environment. Each copier is a table constructor made
-- for its library, so a copy is built at its full size at once.
local function copier(lib)
  local keys = {}
  for k in rawnext, lib do keys[#keys + 1] = k end
  sort(keys)
  local fields = {}
  for i, k in ipairs(keys) do fields[i] = raw_format("[%q] = lib[%q]", k, k) end
  local make = raw_load("local lib = ... return function() return { "
    .. concat(fields, ", ") .. " } end", "=hoist prelude", "t")
  return make(lib)
end

-- An environment gets its copy of a library when the script first uses it: most calls use
-- few or none, and copying all four in every call was most of what running the chunk afresh
-- cost. `LAZY` is the environment's metatable until then; a script sees no metatable.
local libs = {}
local LAZY = { __metatable = false }
local function materialize(env)
  for k, make in rawnext, libs do
    if rawget(env, k) == nil then rawset(env, k, make()) end
  end
  raw_setmetatable(env, nil)
end
LAZY.__index = function(env, k)
  local make = libs[k]
  if make == nil then return nil end
  local lib = make()
  rawset(env, k, lib)
  return lib
end
LAZY.__newindex = function(env, k, v)
  if libs[k] ~= nil then materialize(env) end
  rawset(env, k, v)
end
local function lazy(t)
  return type(t) == "table" and getmetatable(t) == false and raw_metatable(t) == LAZY
end
-- Lua 5.4 seeds its string hashes per state: plain `pairs` would visit keys in an order that
-- changes from run to run. This `pairs` visits them sorted.
local order = { boolean = 1, number = 2, string = 3 }
local function before(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (order[ta] or 9) < (order[tb] or 9) end
  if ta == "boolean" then return (not a) and b end
  return a < b
end
local function sorted_pairs(t)
  if lazy(t) then materialize(t) end
  local src = shown[t] or t
  if type(src) ~= "table" then
    error("bad argument #1 to 'pairs' (table expected, got " .. type(t) .. ")", 2)
  end
  local keys, n, odd = {}, 0, 0
  for k in rawnext, src do
    n = n + 1
    keys[n] = k
    if order[type(k)] == nil then odd = odd + 1 end
  end
  if odd > 1 then
    error("pairs: the table has " .. odd .. " keys that are not strings, numbers or booleans "
      .. "(tables, functions); their only order is where they sit in memory, which changes "
      .. "from run to run (keep such values in a list and use ipairs)", 2)
  end
  sort(keys, before)
  local i = 0
  return function()
    i = i + 1
    local k = keys[i]
    if k == nil then return nil end
    return k, src[k]
  end, t, nil
end

-- A table's metatable is a private copy of the one the script gave, made when it gave it: the
-- copy is out of the script's reach, so a key added to the script's table later (`__close`,
-- `__gc`, `__mode`) never takes effect. `getmetatable` still returns the script's table.
local SOURCE = {}  -- key, in a copy, of the table it copies
local reserved = {
  __gc = "finalizers would run whenever memory is collected, outside the call and its budget",
  __close = "to-be-closed values are not available to hooks",
  __mode = "what a weak table holds would depend on when memory is collected",
}
-- Raises Lua's own error when the metatable of `t` may not be replaced.
local function check_replaceable(t, what)
  if shown[t] then return refuse(t, nil) end
  if getmetatable(t) == nil then return end
  local current = raw_metatable(t)
  if current == LAZY then return materialize(t) end
  local source = rawget(current, SOURCE)
  local locked
  if source ~= nil then
    locked = rawget(current, "__metatable") ~= source
  else
    locked = current ~= array_mt and rawget(current, "__metatable") ~= nil
  end
  if locked then error(what .. ": cannot change a protected metatable", 3) end
end
local function safe_setmetatable(t, mt)
  local tm = type(mt)
  if type(t) ~= "table" or (tm ~= "nil" and tm ~= "table") then return setmetatable(t, mt) end
  check_replaceable(t, "setmetatable")
  if mt == nil then
    raw_setmetatable(t, nil)
    return t
  end
  for key, why in rawnext, reserved do
    if rawget(mt, key) ~= nil then error("setmetatable: " .. key .. ": " .. why, 2) end
  end
  local copy = {}
  for k, v in rawnext, mt do copy[k] = v end
  if rawget(copy, "__metatable") == nil then copy.__metatable = mt end
  copy[SOURCE] = mt
  raw_setmetatable(t, copy)
  return t
end
-- `ctx.json.array`: marks a table as a JSON array.
local function array(t)
  if t == nil then t = {} end
  if type(t) ~= "table" then
    error("bad argument #1 to 'array' (table expected, got " .. type(t) .. ")", 2)
  end
  check_replaceable(t, "json.array")
  raw_setmetatable(t, array_mt)
  return t
end
local function safe_rawset(t, k, v)
  if shown[t] then return refuse(t, k) end
  if libs[k] ~= nil and lazy(t) then materialize(t) end
  return rawset(t, k, v)
end
local function safe_rawget(t, k)
  if libs[k] ~= nil and lazy(t) then materialize(t) end
  return rawget(shown[t] or t, k)
end
local function safe_getmetatable(v)
  local m = getmetatable(v)
  if m == false and lazy(v) then return nil end
  return m
end
local function safe_rawlen(t) return rawlen(shown[t] or t) end

local function readonly(t, name)
  local inner = {}
  for k, v in rawnext, t do
    if type(v) == "table" and getmetatable(v) == nil then v = readonly(v, name .. "." .. k) end
    inner[k] = v
  end
  local proxy = {}
  shown[proxy] = inner
  return setmetatable(proxy, {
    __index = inner,
    __newindex = refuse,
    __len = function() return #inner end,
    __tostring = function() return name end,
    __name = name,
    __metatable = name,
  })
end

-- Text chunks only: binary chunks can crash the interpreter.
local function text_load(chunk, name, mode, env)
  if type(chunk) ~= "string" then
    return nil, "load accepts source text only"
  end
  return raw_load(chunk, name or "=(load)", "t", env)
end

-- %p prints an address; tables, functions and userdata are shown as `tostring` shows them.
local function safe_format(fmt, ...)
  if type(fmt) == "string" and find(gsub(fmt, "%%%%", ""), "%%[-+ #0]*%d*%.?%d*p") then
    error("string.format: %p would print a memory address, which changes from run to run", 2)
  end
  local n = select("#", ...)
  for i = 1, n do
    local tv = type((select(i, ...)))
    if tv == "table" or tv == "function" or tv == "userdata" or tv == "thread" then
      local args = pack(...)
      for j = i, n do
        local tw = type(args[j])
        if tw == "table" or tw == "function" or tw == "userdata" or tw == "thread" then
          args[j] = show(args[j])
        end
      end
      return raw_format(fmt, unpack(args, 1, n))
    end
  end
  return raw_format(fmt, ...)
end
-- The string metatable indexes this table, so method calls ("%s"):format(t) see it too.
string.format = safe_format
string.dump = nil
-- The string metatable is shared by every script: lock it.
getmetatable("").__metatable = false

local function print(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = show((select(i, ...))) end
  emit(concat(parts, "\t"))
end
local function log(message) emit(show(message)) end

-- Calls a hook; an error object that is not a string becomes one, as `tostring` shows it.
local function finish(ok, ...)
  if ok then return ... end
  local e = ...
  local te = type(e)
  if te == "string" or (te == "userdata" and e ~= null) then error(e, 0) end
  error(show(e), 0)
end
local function invoke(f, ...) return finish(pcall(f, ...)) end

local math_safe = {}
for k, v in rawnext, math do
  if k ~= "random" and k ~= "randomseed" then math_safe[k] = v end
end
-- table.sort picks its pivots at random (from the clock) in long arrays, so elements that
-- compare equal could end up in another order on every run. This sort keeps them in the
-- order they had: its result depends on the array and the comparison only.
local function stable_sort(t, lt)
  if lt ~= nil and type(lt) ~= "function" then
    error("bad argument #2 to 'sort' (function expected, got " .. type(lt) .. ")", 2)
  end
  local n = #t
  if n < 2 then return end
  lt = lt or function(a, b) return a < b end
  local order = {}
  for i = 1, n do order[i] = i end
  sort(order, function(i, j)
    local a, b = t[i], t[j]
    if lt(a, b) then return true end
    if lt(b, a) then return false end
    return i < j
  end)
  local sorted = {}
  for k = 1, n do sorted[k] = t[order[k]] end
  for k = 1, n do t[k] = sorted[k] end
end
local table_safe = {}
for k, v in rawnext, table do table_safe[k] = v end
table_safe.sort = stable_sort
libs.string, libs.table, libs.math, libs.utf8 =
  copier(string), copier(table_safe), copier(math_safe), copier(utf8)
local version, assert, ipairs, xpcall, tonumber, rawequal =
  _VERSION, assert, ipairs, xpcall, tonumber, rawequal

-- A fresh environment for one run of a script or module.
local function environment(require)
  local env = {
    assert = assert, error = error, ipairs = ipairs, pairs = sorted_pairs, pcall = pcall,
    xpcall = xpcall, select = select, tonumber = tonumber, tostring = show, type = type,
    rawequal = rawequal, rawget = safe_rawget, rawset = safe_rawset, rawlen = safe_rawlen,
    setmetatable = safe_setmetatable, getmetatable = safe_getmetatable, load = text_load,
    _VERSION = version, print = print, require = require, _G = false,
  }
  env._G = env
  return setmetatable(env, LAZY)
end

-- Runs a compiled script or module (its source begins `local _ENV = ...;`) in a fresh
-- environment. `first`: the script a call starts with, so numbering for `tostring` starts
-- again.
local function run(chunk, require, first)
  if first then ids, last_id = nil, 0 end
  return invoke(chunk, environment(require))
end

-- The marker's own metatable is read-only, and the same for every script.
array_mt.__metatable = readonly({ __name = "json.array" }, "json.array's metatable")

return {
  run = run, invoke = invoke, readonly = readonly, shown = shown, log = log, array = array,
}
"##;

/// What a script's source is compiled with, on its first line so that line numbers stay: the
/// chunk takes its environment as its argument, and every run gets a fresh one.
pub const ENV_PREFIX: &str = "local _ENV = ...; ";

/// The sandbox's functions of one state.
pub struct Prelude {
    run: Function,
    invoke: Function,
    readonly: Function,
    /// Read-only proxy → the table it shows.
    shown: Table,
    /// `ctx.log`: shows its argument like `tostring` and passes it to the host's log.
    pub log: Function,
    /// `ctx.json.array`.
    pub array: Function,
    /// A table `ctx.json.decode` returned → the text it was decoded from (weak keys), so
    /// that `ctx.json.encode` of it keeps that text where values did not change.
    pub decoded: Table,
}

impl Prelude {
    /// Runs a compiled script or module (see [`ENV_PREFIX`]) in a fresh environment with
    /// its own `require`; returns what it returns. `first`: the script a call starts with,
    /// for which `tostring`'s numbering starts again, so that it depends on nothing an
    /// earlier call did.
    pub fn run(&self, chunk: &Function, require: Function, first: bool) -> mlua::Result<Value> {
        let out: MultiValue = self.run.call((chunk, require, first))?;
        Ok(out.into_iter().next().unwrap_or(Value::Nil))
    }

    /// Calls `f(args)` through the sandbox's error handling: an error object that is not a
    /// string is turned into one as `tostring` shows it, so no address reaches a message.
    /// Returns the first value `f` returns.
    pub fn invoke(&self, f: &Function, args: MultiValue) -> mlua::Result<Value> {
        let mut all = args;
        all.push_front(Value::Function(f.clone()));
        let out: MultiValue = self.invoke.call(all)?;
        Ok(out.into_iter().next().unwrap_or(Value::Nil))
    }

    /// A read-only view of `t` (and of every table in it), named `name` in errors.
    pub fn readonly(&self, t: Table, name: &str) -> mlua::Result<Table> {
        self.readonly.call((t, name))
    }

    /// Read-only proxy → the table it shows, for readers that see through proxies.
    pub fn shown_table(&self) -> Table {
        self.shown.clone()
    }
}

/// A new Lua state with only the safe libraries. Its memory cap is applied while script code
/// runs (see `capped` in the host).
pub fn new_state() -> mlua::Result<Lua> {
    Lua::new_with(
        StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8,
        LuaOptions::default(),
    )
}

/// Builds the sandbox of a state made by [`new_state`]. `emit` receives each line `print` and
/// `ctx.log` produce; `refuse(proxy, key)` raises the error for a write to a read-only proxy;
/// `array_mt` is the marker metatable of JSON arrays. Afterwards nothing outside the
/// environments the prelude makes is reachable from scripts.
pub fn prelude(
    lua: &Lua,
    emit: Function,
    refuse: Function,
    array_mt: Table,
) -> mlua::Result<Prelude> {
    let raw_metatable = lua.create_function(|_, t: Table| Ok(t.metatable()))?;
    let raw_setmetatable =
        lua.create_function(|_, (t, mt): (Table, Option<Table>)| t.set_metatable(mt))?;
    // Compiled once per process: parsing it took most of the time a new state takes.
    static COMPILED: OnceLock<Vec<u8>> = OnceLock::new();
    let compiled = match COMPILED.get() {
        Some(bytes) => bytes,
        None => {
            let f = lua
                .load(PRELUDE)
                .set_name("=hoist prelude")
                .set_mode(ChunkMode::Text)
                .into_function()?;
            COMPILED.get_or_init(|| f.dump(false))
        }
    };
    let t: Table = lua
        .load(&compiled[..])
        .set_name("=hoist prelude")
        .set_mode(ChunkMode::Binary)
        .call((
            emit,
            refuse,
            raw_metatable,
            raw_setmetatable,
            array_mt,
            Value::NULL,
        ))?;
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
    Ok(Prelude {
        run: t.raw_get("run")?,
        invoke: t.raw_get("invoke")?,
        readonly: t.raw_get("readonly")?,
        shown: t.raw_get("shown")?,
        log: t.raw_get("log")?,
        array: t.raw_get("array")?,
        decoded: {
            let decoded = lua.create_table()?;
            let weak = lua.create_table()?;
            weak.raw_set("__mode", "k")?;
            decoded.set_metatable(Some(weak))?;
            decoded
        },
    })
}
