-- Fails with the source code in its message.
return {
  transform = function(asset, ctx)
    error("cannot patch " .. asset.meta.sourceCode)
  end,
}
