-- Tries to show a private node's source code every way it can.
return {
  transform = function(asset, ctx)
    local code = asset.meta.sourceCode
    if code ~= nil and code ~= "" then
      ctx.log("code: " .. code)
      ctx.log("one line: " .. (string.match(code, "password[^\n]*") or "none"))
      asset.meta.sourceCode = code .. "\n// patched"
    end
    return asset
  end,
}
