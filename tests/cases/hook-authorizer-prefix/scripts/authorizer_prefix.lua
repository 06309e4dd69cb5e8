-- Authorizer prefix per team.
--
-- Custom authorizer names are unique across a whole instance, so every team prefixes its
-- own: `orders-auth` becomes `orders-orders-auth`... unless the name already starts with
-- the team. Use it as a rename rule:
--
--   rename:
--     - {kind: authorizer, hook: ../scripts/authorizer_prefix.lua}
--   environments:
--     prod: {vars: {team: orders}}
--
-- Every API that uses a renamed authorizer follows it.

---@type HoistHooks
return {
  rename = function(asset, ctx)
    local team = ctx.vars.team
    if team == nil then
      error("set environments.<env>.vars.team to the team's prefix")
    end
    if asset.name:sub(1, #team + 1) == team .. "-" then
      return nil -- already prefixed: keep the name
    end
    return team .. "-" .. asset.name
  end,
}
