return {
  transform = function(asset, ctx)
    ctx.log("pw=" .. tostring(asset.meta.password))
    if asset.meta.headers then print("hdr " .. asset.meta.headers[1].value) end
    asset.meta.remark = asset.meta.password
    asset.meta.copy = asset.meta.headers and asset.meta.headers[1].value
    asset.labels.note = asset.meta.password
    if asset.name == "h2" then error("bad value " .. asset.meta.password) end
    return asset
  end,
}
