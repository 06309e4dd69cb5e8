//! JSON ↔ Lua, faithfully: integers stay integers, floats stay floats, arrays stay arrays
//! (empty ones too: they carry a marker metatable), `null` is a sentinel, and the key order of
//! objects is the original one, new keys following in sorted order.

use mlua::{Lua, Table, Value as LuaValue};
use serde_json::{Map, Number, Value};

/// Registry name of the metatable that marks a table as a JSON array.
pub const ARRAY_MT: &str = "hoist.json.array";
/// Deepest nesting converted either way.
pub const MAX_DEPTH: usize = 128;

/// The marker metatable of arrays.
pub fn array_mt(lua: &Lua) -> mlua::Result<Table> {
    lua.named_registry_value(ARRAY_MT)
}

/// A JSON value as a Lua value.
pub fn to_lua(lua: &Lua, v: &Value) -> mlua::Result<LuaValue> {
    to_lua_at(lua, v, 0)
}

fn to_lua_at(lua: &Lua, v: &Value, depth: usize) -> mlua::Result<LuaValue> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime(format!(
            "the document nests deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(match v {
        Value::Null => LuaValue::NULL,
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => LuaValue::Integer(i),
            (None, Some(f)) if n.is_f64() => LuaValue::Number(f),
            _ => {
                return Err(mlua::Error::runtime(format!(
                    "the number {n} does not fit a Lua integer"
                )));
            }
        },
        Value::String(s) => LuaValue::String(lua.create_string(s)?),
        Value::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua_at(lua, item, depth + 1)?)?;
            }
            t.set_metatable(Some(array_mt(lua)?))?;
            LuaValue::Table(t)
        }
        Value::Object(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, item) in map {
                t.raw_set(k.as_str(), to_lua_at(lua, item, depth + 1)?)?;
            }
            LuaValue::Table(t)
        }
    })
}

/// A Lua value as JSON. `original` is the value this one came from, if any: its key order
/// is kept.
pub fn from_lua(lua: &Lua, v: &LuaValue, original: Option<&Value>) -> mlua::Result<Value> {
    from_lua_at(lua, v, original, 0)
}

fn from_lua_at(
    lua: &Lua,
    v: &LuaValue,
    original: Option<&Value>,
    depth: usize,
) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime(format!(
            "the value nests deeper than {MAX_DEPTH} levels (a table that contains itself?)"
        )));
    }
    Ok(match v {
        LuaValue::Nil => Value::Null,
        LuaValue::LightUserData(p) if p.0.is_null() => Value::Null,
        LuaValue::Boolean(b) => Value::Bool(*b),
        LuaValue::Integer(i) => Value::Number((*i).into()),
        LuaValue::Number(f) => match Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None => {
                return Err(mlua::Error::runtime(format!(
                    "{f} cannot be written as JSON"
                )));
            }
        },
        LuaValue::String(s) => match s.to_str() {
            Ok(text) => Value::String(text.to_string()),
            Err(_) => {
                return Err(mlua::Error::runtime(
                    "a string is not valid UTF-8 and cannot be written as JSON",
                ));
            }
        },
        LuaValue::Table(t) => table_to_json(lua, t, original, depth)?,
        other => {
            return Err(mlua::Error::runtime(format!(
                "a {} cannot be written as JSON",
                other.type_name()
            )));
        }
    })
}

/// What became of `original` in the script's hands: `None` when `v` is the same JSON value,
/// otherwise the new value (built like [`from_lua`], unchanged parts cloned from `original`).
/// Unchanged documents, the common case, are compared without building anything.
pub fn changes(lua: &Lua, v: &LuaValue, original: &Value) -> mlua::Result<Option<Value>> {
    changes_at(lua, v, original, 0)
}

fn changes_at(
    lua: &Lua,
    v: &LuaValue,
    original: &Value,
    depth: usize,
) -> mlua::Result<Option<Value>> {
    let same = match (v, original) {
        (LuaValue::Nil, Value::Null) => true,
        (LuaValue::LightUserData(p), Value::Null) => p.0.is_null(),
        (LuaValue::Boolean(b), Value::Bool(o)) => b == o,
        (LuaValue::Integer(i), Value::Number(n)) => !n.is_f64() && n.as_i64() == Some(*i),
        (LuaValue::Number(f), Value::Number(n)) => {
            n.is_f64() && n.as_f64().map(f64::to_bits) == Some(f.to_bits())
        }
        (LuaValue::String(s), Value::String(o)) => s.as_bytes() == o.as_bytes(),
        (LuaValue::Table(t), Value::Array(items))
            if depth < MAX_DEPTH && is_array(lua, t, Some(original))? =>
        {
            return array_changes(lua, t, items, depth);
        }
        (LuaValue::Table(t), Value::Object(map)) if depth < MAX_DEPTH && !marked_array(lua, t)? => {
            return object_changes(lua, t, map, depth);
        }
        _ => false,
    };
    if same {
        Ok(None)
    } else {
        from_lua_at(lua, v, Some(original), depth).map(Some)
    }
}

fn array_changes(
    lua: &Lua,
    t: &Table,
    items: &[Value],
    depth: usize,
) -> mlua::Result<Option<Value>> {
    let len = t.raw_len();
    let mut out: Option<Vec<Value>> = None;
    for i in 0..len {
        let got: LuaValue = t.raw_get(i + 1)?;
        let changed = match items.get(i) {
            Some(item) => changes_at(lua, &got, item, depth + 1)?,
            None => Some(from_lua_at(lua, &got, None, depth + 1)?),
        };
        if let Some(value) = changed {
            out.get_or_insert_with(|| items[..i.min(items.len())].to_vec())
                .push(value);
        } else if let Some(out) = &mut out {
            out.push(items[i].clone());
        }
    }
    Ok(match out {
        Some(out) => Some(Value::Array(out)),
        None if len == items.len() => None,
        None => Some(Value::Array(items[..len].to_vec())),
    })
}

fn object_changes(
    lua: &Lua,
    t: &Table,
    map: &Map<String, Value>,
    depth: usize,
) -> mlua::Result<Option<Value>> {
    // (key, what changed; `None` when it is the original's value).
    let mut entries: Vec<(mlua::LuaString, Option<Value>)> = Vec::with_capacity(map.len());
    let mut changed = false;
    let mut kept = 0usize;
    let mut other_keys = false;
    t.for_each::<LuaValue, LuaValue>(|k, item| {
        let LuaValue::String(k) = k else {
            other_keys = true;
            return Ok(());
        };
        if other_keys {
            return Ok(());
        }
        let old = std::str::from_utf8(&k.as_bytes())
            .ok()
            .and_then(|key| map.get(key));
        let value = match old {
            Some(o) => {
                kept += 1;
                changes_at(lua, &item, o, depth + 1)?
            }
            None => Some(from_lua_at(lua, &item, None, depth + 1)?),
        };
        changed |= value.is_some();
        entries.push((k, value));
        Ok(())
    })?;
    if other_keys {
        // Not an object any more (a sequence, or keys that are not strings): converted whole,
        // which also gives the error to show.
        let v = LuaValue::Table(t.clone());
        return from_lua_at(lua, &v, Some(&Value::Object(map.clone())), depth).map(Some);
    }
    if !changed && kept == map.len() {
        return Ok(None);
    }
    let mut built = Vec::with_capacity(entries.len());
    for (k, value) in entries {
        let key = k
            .to_str()
            .map_err(|_| mlua::Error::runtime("an object key is not valid UTF-8"))?
            .to_string();
        let value = match value {
            Some(v) => v,
            None => map[key.as_str()].clone(),
        };
        built.push((key, value));
    }
    Ok(Some(Value::Object(in_order(built, Some(map)))))
}

/// Whether a script marked the table as an array (`ctx.json.array`).
fn marked_array(lua: &Lua, t: &Table) -> mlua::Result<bool> {
    Ok(match t.metatable() {
        Some(mt) => mt == array_mt(lua)?,
        None => false,
    })
}

/// The entries as an object: the original's keys in its order, then new keys sorted.
fn in_order(
    mut entries: Vec<(String, Value)>,
    old: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let ranks: std::collections::HashMap<&str, usize> = old
        .map(|o| o.keys().enumerate().map(|(i, k)| (k.as_str(), i)).collect())
        .unwrap_or_default();
    let rank = |k: &str| ranks.get(k).copied().unwrap_or(usize::MAX);
    entries.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then_with(|| a.0.cmp(&b.0)));
    entries.into_iter().collect()
}

fn is_array(lua: &Lua, t: &Table, original: Option<&Value>) -> mlua::Result<bool> {
    if let Some(mt) = t.metatable()
        && mt == array_mt(lua)?
    {
        return Ok(true);
    }
    let len = t.raw_len();
    if len == 0 {
        // No sequence part: an object, unless it is an empty table the script made in place
        // of an array.
        let empty = t.clone().pairs::<LuaValue, LuaValue>().next().is_none();
        return Ok(empty && matches!(original, Some(Value::Array(_))));
    }
    // A sequence the script built: an array when it has no other keys.
    let mut count = 0usize;
    t.for_each::<LuaValue, LuaValue>(|_, _| {
        count += 1;
        Ok(())
    })?;
    Ok(count == len)
}

fn table_to_json(
    lua: &Lua,
    t: &Table,
    original: Option<&Value>,
    depth: usize,
) -> mlua::Result<Value> {
    if is_array(lua, t, original)? {
        let len = t.raw_len();
        let old = original.and_then(Value::as_array);
        let mut out = Vec::with_capacity(len);
        for i in 1..=len {
            let item: LuaValue = t.raw_get(i)?;
            out.push(from_lua_at(
                lua,
                &item,
                old.and_then(|o| o.get(i - 1)),
                depth + 1,
            )?);
        }
        return Ok(Value::Array(out));
    }
    let mut entries: Vec<(String, LuaValue)> = Vec::new();
    let mut pairs = Vec::new();
    t.for_each::<LuaValue, LuaValue>(|k, v| {
        pairs.push((k, v));
        Ok(())
    })?;
    for (k, v) in pairs {
        let key = match k {
            LuaValue::String(s) => s
                .to_str()
                .map_err(|_| mlua::Error::runtime("an object key is not valid UTF-8"))?
                .to_string(),
            other => {
                return Err(mlua::Error::runtime(format!(
                    "object keys must be strings, found a {} key",
                    other.type_name()
                )));
            }
        };
        entries.push((key, v));
    }
    let old = original.and_then(Value::as_object);
    let mut built = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let value = from_lua_at(lua, &v, old.and_then(|o| o.get(&k)), depth + 1)?;
        built.push((k, value));
    }
    Ok(Value::Object(in_order(built, old)))
}
