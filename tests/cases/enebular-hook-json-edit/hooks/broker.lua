-- Points the flow's MQTT broker at production and turns TLS on: only those fields change in
-- flow.json; every other byte stays as the export had it.
return {
  transform = function(asset, ctx)
    local text = asset:read("flow.json")
    if text == nil then return asset end
    local flow = ctx.json.decode(text)
    for _, node in ipairs(flow) do
      if node.type == "mqtt-broker" then
        node.broker = "mqtt.prod.example.com"
        node.usetls = true
      end
    end
    asset:write("flow.json", ctx.json.encode(flow))
    return asset
  end,
}
