---@meta
-- LuaLS annotations for hoist hook scripts. Put this file where your editor's Lua language
-- server looks (e.g. list its folder in `workspace.library`), then annotate a script's
-- returned table with `---@type HoistHooks`.
--
-- What hoist guarantees (docs/hooks.md has the details):
-- * Every call runs the script afresh: its top-level code, the modules it requires and its
--   globals start anew for each asset, so nothing (a `local` counter, a cache table) carries
--   from one asset to the next.
-- * `ctx` and every table in it are read-only: assigning, `rawset` or `setmetatable` on them
--   raises an error.
-- * Results are repeatable: `pairs` visits keys sorted (and refuses a table with two or more
--   keys that are tables or functions); `tostring` of a table or function gives `table: 1`,
--   `function: 2`… numbered per call (also in `print`, `ctx.log`, `string.format` and error
--   objects; `%p` is refused); `table.sort` keeps equal elements in their order.
-- * `setmetatable` refuses `__gc`, `__mode` and `__close`, and keeps a copy of the metatable
--   as it is then: define a metatable's fields before passing it.
-- * The instruction budget counts everything a call causes; once spent, nothing runs on,
--   even under `pcall`. Returned tables are read raw (no metamethods).

---@class HoistAsset
---@field kind string the asset's kind, e.g. "api" (a transform may not change it)
---@field name string the asset's name (rename with the rename hook, not in transform)
---@field version "master"|integer|nil the version, for versioned platforms
---@field labels table<string, string> labels, used by selectors; transform may change them
---@field meta table the asset's JSON document; arrays carry ctx.json.array's marker
local HoistAsset = {}

---Reads a payload file of the asset, or nil when it has none by that name.
---@param file string path relative to the asset, e.g. "openapi.yaml"
---@return string|nil bytes
function HoistAsset:read(file) end

---Writes (or replaces) a payload file of the asset. Transform only. The asset fails
---(`hook.bad_write`), even if the error is caught, when the name is not a safe relative path,
---differs only in case from another file or folder of the asset, is a file where a folder is
---needed or the other way round (`a` and `a/b`), or is enebular's `settings.json`.
---@param file string safe relative path
---@param bytes string
function HoistAsset:write(file, bytes) end

---@class HoistTarget
local HoistTarget = {}

---Whether the target snapshot holds an asset of this kind and name.
---@param kind string
---@param name string
---@return boolean
function HoistTarget:has(kind, name) end

---@class HoistJson
---@field null lightuserdata the JSON null; compare with ==
local HoistJson = {}

---JSON text of a value. A table `decode` returned is written over the text it came from:
---every value that did not change keeps its bytes (key order, layout, number spelling), and
---a table that did not change at all gives that text back. Any other value is compact JSON.
---@param value any
---@return string text
function HoistJson.encode(value) end

---@param text string
---@return any value
function HoistJson.decode(text) end

---Marks a table as a JSON array (so that an empty one stays `[]`). Its metatable then shows
---as a read-only table whose `__name` is "json.array".
---@param t table|nil
---@return table
function HoistJson.array(t) end

---Read-only, like every table in it.
---@class HoistCtx
---@field env string|nil the environment chosen with --env
---@field vars table<string, string> the environment's vars
---@field seed string the spec's seed
---@field target HoistTarget what the destination holds
---@field json HoistJson
local HoistCtx = {}

---Adds a line to the plan's hook logs (values from the process environment are masked).
---`print` does the same. At most 100 lines per call, each cut to 2,000 characters.
---@param message any shown as `tostring` shows it
function HoistCtx.log(message) end

---SHA-256 of bytes, as 64 hex characters.
---@param bytes string
---@return string
function HoistCtx.sha256(bytes) end

---n characters (default 6, at most 32) derived from the seed and a name: the same on every run.
---@param name string
---@param n integer|nil
---@return string
function HoistCtx.suffix(name, n) end

---@alias HoistPolicy "skip"|"overwrite"|"fail"|"abort"|"rename"|{rename: "counter"|"random", length: integer?, alphabet: string?, separator: string?}|{name: string}

---@class HoistHooks
---@field rename? fun(asset: HoistAsset, ctx: HoistCtx): string|nil the new name, or nil to keep it
---@field transform? fun(asset: HoistAsset, ctx: HoistCtx): HoistAsset|nil the asset, or nil to drop it
---@field on_conflict? fun(asset: HoistAsset, existing: HoistAsset|nil, ctx: HoistCtx): HoistPolicy
