-- Each app tries one way out of the sandbox or one way to exhaust the machine.
local attempts = {
  ["io"] = function() return io.open("/etc/passwd") end,
  ["os"] = function() return os.execute("id") end,
  ["require-os"] = function() return require("os") end,
  ["require-outside"] = function() return require("secrets") end,
  ["binary-chunk"] = function() return assert(load("\27Lua\84\0\25\147\13\10\26\10")) end,
  ["dofile"] = function() return dofile("/etc/passwd") end,
  ["too-large"] = function() return string.rep("x", 1 << 33) .. "y" end,
  ["memory-bomb"] = function() return string.rep("x", 1 << 30) .. "y" end,
  ["table-bomb"] = function() local t = {} for i = 1, 1e9 do t[i] = {i} end end,
  ["endless-loop"] = function() while true do end end,
  ["endless-recursion"] = function() local function f(n) return f(n + 1) + 1 end return f(1) end,
}
return {
  transform = function(asset, ctx)
    local attempt = attempts[asset.name]
    if attempt then attempt() end
    if asset.name == "garbage" then return 42 end
    if asset.name == "kind-change" then asset.kind = "api" end
    return asset
  end,
}
