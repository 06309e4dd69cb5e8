-- Dropping debug APIs.
--
-- Debug endpoints never leave development: an API labelled `debug: "true"`, or whose name
-- ends in `-debug`, is dropped from the promotion (the plan shows it as skipped, dropped by
-- this script). Use it as a hook:
--
--   hooks:
--     - {script: ../scripts/drop_debug_apis.lua, kinds: [api]}

---@type HoistHooks
return {
  transform = function(asset, ctx)
    if asset.labels.debug == "true" or asset.name:match("%-debug$") then
      ctx.log("dropping debug API " .. asset.name)
      return nil
    end
    return asset
  end,
}
