-- Reads the tags (labels) of every asset; tries to add one to the paint line.
return {
  transform = function(asset, ctx)
    local tags = {}
    for k, _ in pairs(asset.labels) do tags[#tags + 1] = k end
    table.sort(tags)
    ctx.log(asset.name .. " is tagged " .. table.concat(tags, ","))
    if asset.name == "paint line" then
      ctx.log("password seen: " .. asset.meta.sourceCode.credentials.n1.password)
      ctx.log("node code: " .. asset.meta.sourceCode.flows[1].func)
      asset.labels["prod"] = ""
    end
    return asset
  end,
}
