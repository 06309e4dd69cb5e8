return {
  transform = function(asset, ctx)
    if asset.name == "c1" then
      asset.meta.headers[1].name = "X-Trace"
      asset.meta.headers[1].value = "on"
    end
    return asset
  end,
}
