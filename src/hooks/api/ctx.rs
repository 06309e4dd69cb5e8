//! The `ctx` a hook receives: `env`, `vars`, `seed`, `target:has`, `log`, `sha256`, `suffix`
//! and `json` (`encode`, `decode`, `null`, `array`). Built once per state, read-only.

use super::super::*;

impl HookHost {
    /// `ctx`, built once per state and read-only: a script cannot change what another script,
    /// or its own next call, sees.
    pub(crate) fn ctx_table(&self, lua: &Lua, prelude: &Rc<Prelude>) -> mlua::Result<Table> {
        let ctx = lua.create_table()?;
        let c = &self.ctx;
        ctx.raw_set("env", c.env.clone())?;
        let vars = lua.create_table()?;
        for (k, v) in &c.vars {
            vars.raw_set(k.as_str(), v.as_str())?;
        }
        ctx.raw_set("vars", vars)?;
        ctx.raw_set("seed", c.seed.as_str())?;
        let target = lua.create_table()?;
        let names = Arc::clone(&self.ctx);
        target.raw_set(
            "has",
            lua.create_function(move |_, (_this, kind, name): (LuaValue, String, String)| {
                Ok(names.target.get(&kind).is_some_and(|n| n.contains(&name)))
            })?,
        )?;
        ctx.raw_set("target", target)?;
        ctx.raw_set("log", prelude.log.clone())?;
        ctx.raw_set(
            "sha256",
            lua.create_function(|_, bytes: LuaString| {
                Ok(Digest::of(&bytes.as_bytes()).to_string())
            })?,
        )?;
        let seed = c.seed.clone();
        ctx.raw_set(
            "suffix",
            lua.create_function(move |_, (name, n): (String, Option<usize>)| {
                let n = n.unwrap_or(6).clamp(1, 32);
                Ok(suffix(&seed, &name, n))
            })?,
        )?;
        let json = lua.create_table()?;
        let limit = self.budget.memory;
        let p = Rc::clone(prelude);
        json.raw_set(
            "encode",
            lua.create_function(move |lua, v: LuaValue| {
                let shown = p.shown_table();
                let mut meter = Meter::new(limit, Some(&shown));
                if let LuaValue::Table(t) = &v
                    && let Some(text) = p.decoded.raw_get::<Option<LuaString>>(t)?
                {
                    return encode_over(lua, &v, &text, &mut meter);
                }
                let value = convert::from_lua(lua, &v, None, &mut meter)?;
                Ok(serde_json::to_string(&value).expect("JSON values serialise"))
            })?,
        )?;
        let p = Rc::clone(prelude);
        json.raw_set(
            "decode",
            lua.create_function(move |lua, text: LuaString| {
                let v = convert::decode(lua, &text.as_bytes())?;
                if let LuaValue::Table(t) = &v {
                    p.decoded.raw_set(t, text)?;
                }
                Ok(v)
            })?,
        )?;
        json.raw_set("null", LuaValue::NULL)?;
        json.raw_set("array", prelude.array.clone())?;
        ctx.raw_set("json", json)?;
        prelude.readonly(ctx, "ctx")
    }
}

/// `v`, a table `ctx.json.decode` made from `text`, encoded over that text: the bytes of every
/// value that did not change stay as they were (key order, layout, number spelling; see
/// [`crate::jsontext`]). Text that cannot be kept is written compact, as any other value.
fn encode_over(
    lua: &Lua,
    v: &LuaValue,
    text: &LuaString,
    meter: &mut Meter,
) -> mlua::Result<String> {
    let bytes = text.as_bytes();
    // The old value is built outside Lua: it counts like the value built from the table, its
    // text and a share per value (every value but the first follows a `,` `:` `[` or `{`).
    let values = bytes
        .iter()
        .filter(|b| matches!(b, b',' | b':' | b'[' | b'{'))
        .count();
    meter.charge(bytes.len().saturating_add(values.saturating_mul(32)))?;
    let old: Option<(&str, serde_json::Value)> = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| Some((s, serde_json::from_str(s).ok()?)));
    let Some((source, old)) = old else {
        let value = convert::from_lua(lua, v, None, meter)?;
        return Ok(serde_json::to_string(&value).expect("JSON values serialise"));
    };
    let Some(new) = convert::changes(lua, v, &old, meter)? else {
        return Ok(source.to_string());
    };
    Ok(crate::jsontext::rewrite(source, &old, &new)
        .unwrap_or_else(|| serde_json::to_string(&new).expect("JSON values serialise")))
}
