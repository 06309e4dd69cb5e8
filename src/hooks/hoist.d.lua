---@meta
-- LuaLS annotations for hoist hook scripts. Put this file where your editor's Lua language
-- server looks (e.g. list its folder in `workspace.library`), then annotate a script's
-- returned table with `---@type HoistHooks`.

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

---Writes (or replaces) a payload file of the asset. Transform only.
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

---@param value any
---@return string text compact JSON
function HoistJson.encode(value) end

---@param text string
---@return any value
function HoistJson.decode(text) end

---Marks a table as a JSON array (so that an empty one stays `[]`).
---@param t table|nil
---@return table
function HoistJson.array(t) end

---@class HoistCtx
---@field env string|nil the environment chosen with --env
---@field vars table<string, string> the environment's vars
---@field seed string the spec's seed
---@field target HoistTarget what the destination holds
---@field json HoistJson
local HoistCtx = {}

---Adds a line to the plan's hook logs (values from the process environment are masked).
---@param message string
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
