return {
  on_conflict = function(asset, existing, ctx)
    ctx.log("target pw " .. existing.meta.password)
    error("refusing: target holds " .. existing.meta.headers[1].value)
  end,
}
