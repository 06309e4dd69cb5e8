-- Points the alert flow's trigger at the production broker, in flow.json.
return {
  transform = function(asset, ctx)
    local flow = asset:read("flow.json")
    if flow ~= nil then
      asset:write("flow.json", (string.gsub(flow, "inject", "mqtt in")))
    end
    return asset
  end,
}
