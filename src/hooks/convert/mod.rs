//! JSON ↔ Lua, faithfully: integers stay integers, floats stay floats, arrays stay arrays
//! (empty ones too: they carry a marker metatable), `null` is a sentinel, and the key order of
//! objects is the original one, new keys following in sorted order.
//!
//! What the host builds from a script's values is metered ([`Meter`]): a table that holds one
//! long string many times is small inside Lua but not as JSON, so building stops at the
//! memory budget. Tables are read raw, so no metamethod of the script runs while the host
//! reads; read-only proxies (`ctx.vars`) are read through to the table they show.

use std::cell::RefCell;

use mlua::{Lua, Table, Value as LuaValue};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::model::json::NUMBER_TOKEN;

/// How much the host may still build from a script's values, in bytes (roughly: each value
/// counts its text and a fixed overhead), and the read-only proxies to read through.
pub struct Meter<'a> {
    left: usize,
    limit: usize,
    shown: Option<&'a Table>,
}

/// Bytes a value counts besides its text.
const OVERHEAD: usize = 16;

impl<'a> Meter<'a> {
    /// A meter of `limit` bytes; `shown` maps read-only proxies to the tables they show.
    pub fn new(limit: usize, shown: Option<&'a Table>) -> Self {
        Meter {
            left: limit,
            limit,
            shown,
        }
    }

    /// Counts `n` bytes built.
    pub fn charge(&mut self, n: usize) -> mlua::Result<()> {
        let n = n.saturating_add(OVERHEAD);
        if n > self.left {
            return Err(mlua::Error::MemoryError(format!(
                "the value is larger than the memory budget ({} MiB) once copied out of Lua",
                self.limit >> 20
            )));
        }
        self.left -= n;
        Ok(())
    }

    /// The table to read for `t`: the one a read-only proxy shows, or `t` itself.
    fn resolve(&self, t: &Table) -> Table {
        if let Some(shown) = self.shown
            && t.metatable().is_some()
            && let Ok(Some(inner)) = shown.raw_get::<Option<Table>>(t)
        {
            return inner;
        }
        t.clone()
    }
}

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
pub fn from_lua(
    lua: &Lua,
    v: &LuaValue,
    original: Option<&Value>,
    meter: &mut Meter,
) -> mlua::Result<Value> {
    from_lua_at(lua, v, original, 0, meter)
}

fn from_lua_at(
    lua: &Lua,
    v: &LuaValue,
    original: Option<&Value>,
    depth: usize,
    meter: &mut Meter,
) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime(format!(
            "the value nests deeper than {MAX_DEPTH} levels (a table that contains itself?)"
        )));
    }
    meter.charge(match v {
        LuaValue::String(s) => s.as_bytes().len(),
        _ => 0,
    })?;
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
        LuaValue::Table(t) => table_to_json(lua, &meter.resolve(t), original, depth, meter)?,
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
pub fn changes(
    lua: &Lua,
    v: &LuaValue,
    original: &Value,
    meter: &mut Meter,
) -> mlua::Result<Option<Value>> {
    changes_at(lua, v, original, 0, meter)
}

fn changes_at(
    lua: &Lua,
    v: &LuaValue,
    original: &Value,
    depth: usize,
    meter: &mut Meter,
) -> mlua::Result<Option<Value>> {
    let resolved;
    let v = match v {
        LuaValue::Table(t) => {
            resolved = LuaValue::Table(meter.resolve(t));
            &resolved
        }
        other => other,
    };
    let same = match (v, original) {
        (LuaValue::Nil, Value::Null) => true,
        (LuaValue::LightUserData(p), Value::Null) => p.0.is_null(),
        (LuaValue::Boolean(b), Value::Bool(o)) => b == o,
        (LuaValue::Integer(i), Value::Number(n)) => !n.is_f64() && n.as_i64() == Some(*i),
        (LuaValue::Number(f), Value::Number(n)) => {
            n.is_f64() && n.as_f64().map(f64::to_bits) == Some(f.to_bits())
        }
        (LuaValue::String(s), Value::String(o)) => s.as_bytes() == o.as_bytes(),
        // Comparing recurses only as deep as `original` nests, which its parser bounds;
        // what is new below it is built by `from_lua_at`, which counts the depth.
        (LuaValue::Table(t), Value::Array(items)) if is_array(lua, t, Some(original))? => {
            return array_changes(lua, t, items, depth, meter);
        }
        (LuaValue::Table(t), Value::Object(map)) if !marked_array(lua, t)? => {
            return object_changes(lua, t, map, depth, meter);
        }
        _ => false,
    };
    if same {
        Ok(None)
    } else {
        from_lua_at(lua, v, Some(original), depth, meter).map(Some)
    }
}

fn array_changes(
    lua: &Lua,
    t: &Table,
    items: &[Value],
    depth: usize,
    meter: &mut Meter,
) -> mlua::Result<Option<Value>> {
    let len = t.raw_len();
    let mut out: Option<Vec<Value>> = None;
    for i in 0..len {
        let got: LuaValue = t.raw_get(i + 1)?;
        let changed = match items.get(i) {
            Some(item) => changes_at(lua, &got, item, depth + 1, meter)?,
            None => Some(from_lua_at(lua, &got, None, depth + 1, meter)?),
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
    meter: &mut Meter,
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
                changes_at(lua, &item, o, depth + 1, meter)?
            }
            None => {
                meter.charge(k.as_bytes().len())?;
                Some(from_lua_at(lua, &item, None, depth + 1, meter)?)
            }
        };
        changed |= value.is_some();
        entries.push((k, value));
        Ok(())
    })?;
    if other_keys {
        // Not an object any more (a sequence, or keys that are not strings): converted whole,
        // which also gives the error to show.
        let v = LuaValue::Table(t.clone());
        return from_lua_at(lua, &v, Some(&Value::Object(map.clone())), depth, meter).map(Some);
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
        refuse_reserved(&key)?;
        let value = match value {
            Some(v) => v,
            None => map[key.as_str()].clone(),
        };
        built.push((key, value));
    }
    Ok(Some(Value::Object(in_order(built, Some(map)))))
}

/// A key the JSON reader gives a meaning of its own ([`crate::model::json::RESERVED_PREFIX`]):
/// the document would not read back as the script wrote it.
fn refuse_reserved(key: &str) -> mlua::Result<()> {
    if crate::model::json::is_reserved(key) {
        return Err(mlua::Error::runtime(format!(
            "the object key {:?} is one the JSON reader gives a meaning of its own (it would read the object as something else), so a script may not write it",
            crate::text::escape_controls(key)
        )));
    }
    Ok(())
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
    meter: &mut Meter,
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
                meter,
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
        refuse_reserved(&key)?;
        meter.charge(key.len())?;
        entries.push((key, v));
    }
    let old = original.and_then(Value::as_object);
    let mut built = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let value = from_lua_at(lua, &v, old.and_then(|o| o.get(&k)), depth + 1, meter)?;
        built.push((k, value));
    }
    Ok(Value::Object(in_order(built, old)))
}

/// JSON text as a Lua value, built directly in Lua (like [`to_lua`] of the parsed document), so
/// that what it takes counts against the state's memory cap while a script runs.
pub fn decode(lua: &Lua, text: &[u8]) -> mlua::Result<LuaValue> {
    let failed = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(text);
    // Depth is bounded by serde_json's own recursion limit (128 nested arrays or objects
    // are refused), below `MAX_DEPTH`: what decodes also converts back.
    let seed = Build {
        lua,
        failed: &failed,
    };
    let result = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match result {
        Ok(v) => Ok(v),
        Err(e) => Err(failed
            .into_inner()
            .unwrap_or_else(|| mlua::Error::runtime(format!("json.decode: {e}")))),
    }
}

/// Builds one Lua value from JSON. An error from Lua (out of memory) is kept in `failed`, to
/// be returned as it is.
#[derive(Clone, Copy)]
struct Build<'a> {
    lua: &'a Lua,
    failed: &'a RefCell<Option<mlua::Error>>,
}

impl Build<'_> {
    fn lua<T, E: serde::de::Error>(&self, r: mlua::Result<T>) -> Result<T, E> {
        r.map_err(|e| {
            let text = e.to_string();
            self.failed.borrow_mut().get_or_insert(e);
            E::custom(text)
        })
    }

    fn fail<T, E: serde::de::Error>(&self, message: String) -> Result<T, E> {
        self.lua(Err(mlua::Error::runtime(message)))
    }

    /// A number serde_json kept as text: as [`to_lua`] reads it.
    fn number<E: serde::de::Error>(&self, n: &str) -> Result<LuaValue, E> {
        if let Ok(i) = n.parse::<i64>() {
            return Ok(LuaValue::Integer(i));
        }
        if n.contains(['.', 'e', 'E'])
            && let Ok(f) = n.parse::<f64>()
            && f.is_finite()
        {
            return Ok(LuaValue::Number(f));
        }
        self.fail(format!(
            "json.decode: the number {n} does not fit a Lua integer"
        ))
    }
}

impl<'de> DeserializeSeed<'de> for Build<'_> {
    type Value = LuaValue;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<LuaValue, D::Error> {
        d.deserialize_any(self)
    }
}

// With `arbitrary_precision`, serde_json gives integers that fit 64 bits to `visit_i64`
// (negative) or `visit_u64`, and every other number as its text (`visit_map` with
// `NUMBER_TOKEN`), so `visit_f64` is never called and keeps its erroring default.
impl<'de> Visitor<'de> for Build<'_> {
    type Value = LuaValue;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<LuaValue, E> {
        Ok(LuaValue::Boolean(b))
    }

    fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<LuaValue, E> {
        Ok(LuaValue::Integer(i))
    }

    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<LuaValue, E> {
        match i64::try_from(u) {
            Ok(i) => Ok(LuaValue::Integer(i)),
            Err(_) => self.fail(format!(
                "json.decode: the number {u} does not fit a Lua integer"
            )),
        }
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<LuaValue, E> {
        self.lua(self.lua.create_string(s).map(LuaValue::String))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<LuaValue, E> {
        Ok(LuaValue::NULL)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LuaValue, A::Error> {
        let inner = self;
        let t = self.lua(self.lua.create_table())?;
        let mut i = 0usize;
        while let Some(item) = seq.next_element_seed(inner)? {
            i += 1;
            self.lua(t.raw_set(i, item))?;
        }
        self.lua(array_mt(self.lua).and_then(|mt| t.set_metatable(Some(mt))))?;
        Ok(LuaValue::Table(t))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LuaValue, A::Error> {
        let inner = self;
        let t = self.lua(self.lua.create_table())?;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                return self.number(&text);
            }
            let value = map.next_value_seed(inner)?;
            let key = self.lua(self.lua.create_string(key.as_bytes()))?;
            self.lua(t.raw_set(key, value))?;
        }
        Ok(LuaValue::Table(t))
    }
}

#[cfg(test)]
mod tests;
