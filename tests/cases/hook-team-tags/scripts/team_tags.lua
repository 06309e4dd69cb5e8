-- Tagging by team.
--
-- Labels every asset with the environment's team and, where the document has a `tags`
-- list, adds `team:<name>` to it once. Use it as a hook:
--
--   hooks:
--     - {script: ../scripts/team_tags.lua, kinds: [api, api_group]}

---@type HoistHooks
return {
  transform = function(asset, ctx)
    local team = ctx.vars.team or asset.labels.team
    if team == nil then
      return asset
    end
    asset.labels.team = team
    local tags = asset.meta.tags
    if type(tags) == "table" then
      local tag = "team:" .. team
      for _, t in ipairs(tags) do
        if t == tag then return asset end
      end
      tags[#tags + 1] = tag
    end
    return asset
  end,
}
