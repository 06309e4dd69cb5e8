return {
  transform = function(asset, ctx)
    asset.meta.password = asset.meta.password .. "-x"
    asset.meta.headers[1].value = "Bearer NEWTOKEN123"
    asset.meta.url = "https://u:LEAKHT3@h"
    return asset
  end,
}
