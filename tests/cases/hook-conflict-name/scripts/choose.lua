-- Chooses the name of an authorizer the target already holds: a free one, one the target
-- holds, one that is not a valid name, and names of 255 and 256 bytes.
return {
  on_conflict = function(asset, existing, ctx)
    local names = {
      a1 = "a1-new",
      a2 = "taken-name",
      a3 = "bad/name",
      a4 = string.rep("x", 255),
      a5 = string.rep("y", 256),
    }
    return { name = names[asset.name] }
  end,
}
