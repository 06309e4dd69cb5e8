-- Authorizer rename on conflict.
--
-- When the target already holds an authorizer of the same name: if it belongs to the same
-- team (label `team`), overwrite it; otherwise keep theirs and import ours under a name with
-- repeatable random characters, derived from the spec's seed. Use it as a conflict policy:
--
--   conflicts:
--     authorizer: {hook: ../scripts/authorizer_on_conflict.lua}

---@type HoistHooks
return {
  on_conflict = function(asset, existing, ctx)
    if existing ~= nil and existing.labels.team == asset.labels.team then
      ctx.log("same team owns " .. asset.name .. ": overwriting")
      return "overwrite"
    end
    return { rename = "random", length = 6 }
  end,
}
