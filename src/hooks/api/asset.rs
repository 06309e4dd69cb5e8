//! The `asset` a hook receives (`kind`, `name`, `version`, `labels`, `meta`, `read`,
//! `write`), and what the host takes back from a hook: the asset a transform returns, the
//! policy `on_conflict` chooses.

use super::super::*;

/// `asset:read(file)`: the asset's payload file (as written so far in this call, if it was),
/// or with `existing`, the target asset's.
pub(crate) fn read_function(
    lua: &Lua,
    call: Rc<RefCell<Call>>,
    existing: bool,
    limit: usize,
) -> mlua::Result<Function> {
    lua.create_function(move |lua, (_this, file): (LuaValue, String)| {
        let call = call.borrow();
        if !existing && let Some(bytes) = call.writes.as_ref().and_then(|w| w.get(&file)) {
            return lua.create_string(bytes).map(LuaValue::String);
        }
        let files = if existing {
            &call.existing
        } else {
            &call.files
        };
        let Some(payload) = files.get(&file) else {
            return Ok(LuaValue::Nil);
        };
        writes::readable(&file, payload, limit).map_err(|m| script_error(lua, m))?;
        match payload {
            Payload::Bytes(b) => lua.create_string(&b[..]).map(LuaValue::String),
            Payload::Entry(e) => {
                let entry = e
                    .source
                    .find(&e.name)
                    .ok_or_else(|| mlua::Error::runtime(format!("{file}: entry is gone")))?;
                let bytes = e
                    .source
                    .read(entry)
                    .map_err(|err| mlua::Error::runtime(err.to_string()))?;
                lua.create_string(&bytes).map(LuaValue::String)
            }
        }
    })
}

/// The `asset` table a hook receives: a fresh table per call, its methods shared.
pub(crate) fn asset_table(
    st: &State,
    asset: &Asset,
    read: &Function,
    writable: bool,
) -> mlua::Result<Table> {
    let lua = &st.lua;
    let t = lua.create_table_with_capacity(0, 8)?;
    t.raw_set("kind", asset.key.kind.as_str())?;
    t.raw_set("name", asset.key.name.as_str())?;
    match asset.key.version {
        Version::None => {}
        Version::Master => t.raw_set("version", "master")?,
        Version::Number(n) => t.raw_set("version", n)?,
    }
    let labels = lua.create_table_with_capacity(0, asset.labels.len())?;
    for (k, v) in &asset.labels {
        labels.raw_set(k.as_str(), v.as_str())?;
    }
    t.raw_set("labels", labels)?;
    t.raw_set("meta", convert::to_lua(lua, &asset.meta())?)?;
    t.raw_set("read", read)?;
    if writable {
        t.raw_set("write", &st.write)?;
    }
    Ok(t)
}

/// Labels and document of the asset a transform returned (the document only when it changed);
/// `None` when it returned nil. Fields are read raw: no metamethod of the script runs, and
/// what is copied out counts against `limit`.
#[allow(clippy::type_complexity)]
pub(crate) fn asset_back(
    lua: &Lua,
    v: LuaValue,
    before: &Asset,
    limit: usize,
    prelude: &Prelude,
) -> Result<Option<(crate::model::Labels, Option<Value>)>, HookError> {
    let t = match v {
        LuaValue::Nil => return Ok(None),
        LuaValue::Table(t) => t,
        other => {
            return Err(HookError::new(
                HookFailure::BadReturn,
                format!(
                    "transform must return the asset (or nil to drop it), not {}",
                    a_type(other.type_name())
                ),
            ));
        }
    };
    let shown = prelude.shown_table();
    let mut meter = Meter::new(limit, Some(&shown));
    let over = |e: mlua::Error| match e {
        mlua::Error::MemoryError(m) => HookError::new(HookFailure::Memory, m),
        e => HookError::new(HookFailure::BadReturn, clean(&e.to_string())),
    };
    let text = |field: &str| -> Result<Option<String>, HookError> {
        match t.raw_get::<LuaValue>(field) {
            Ok(LuaValue::String(s)) => Ok(Some(s.to_string_lossy())),
            Ok(LuaValue::Nil) => Ok(None),
            Ok(other) => Err(HookError::new(
                HookFailure::BadReturn,
                format!(
                    "asset.{field} must be a string, not {}",
                    a_type(other.type_name())
                ),
            )),
            Err(e) => Err(HookError::new(HookFailure::BadReturn, e.to_string())),
        }
    };
    if text("kind")?.as_deref() != Some(before.key.kind.as_str()) {
        return Err(HookError::new(
            HookFailure::KindChanged,
            format!("transform may not change the kind of {}", before.key),
        ));
    }
    if text("name")?.as_deref() != Some(before.key.name.as_str()) {
        return Err(HookError::new(
            HookFailure::NameChanged,
            format!(
                "transform may not rename {}; return the new name from rename(asset, ctx)",
                before.key
            ),
        ));
    }
    let mut labels = crate::model::Labels::new();
    match t.raw_get::<LuaValue>("labels") {
        Ok(LuaValue::Table(l)) => {
            let mut bad = false;
            let mut copied = Ok(());
            l.for_each::<LuaValue, LuaValue>(|k, v| {
                match (k, v) {
                    (LuaValue::String(k), LuaValue::String(v)) if copied.is_ok() => {
                        copied = meter
                            .charge(k.as_bytes().len() + v.as_bytes().len())
                            .map_err(over);
                        labels.insert(k.to_string_lossy(), v.to_string_lossy());
                    }
                    (LuaValue::String(_), LuaValue::String(_)) => {}
                    _ => bad = true,
                }
                Ok(())
            })
            .map_err(|e| HookError::new(HookFailure::BadReturn, e.to_string()))?;
            copied?;
            if bad {
                return Err(HookError::new(
                    HookFailure::BadReturn,
                    "asset.labels must map strings to strings",
                ));
            }
            // Written into the document, such a key would make it refused when read again.
            if let Some((k, _)) = labels
                .iter()
                .find(|(k, _)| crate::model::json::is_reserved(k))
            {
                return Err(HookError::new(
                    HookFailure::BadReturn,
                    format!(
                        "the label key {:?} is one the JSON reader gives a meaning of its own, so a script may not write it",
                        crate::text::escape_controls(k)
                    ),
                ));
            }
        }
        Ok(LuaValue::Nil) => {}
        _ => {
            return Err(HookError::new(
                HookFailure::BadReturn,
                "asset.labels must be a table",
            ));
        }
    }
    let meta: LuaValue = t
        .raw_get("meta")
        .map_err(|e| HookError::new(HookFailure::BadReturn, e.to_string()))?;
    let meta = convert::changes(lua, &meta, &before.meta(), &mut meter).map_err(|e| match e {
        mlua::Error::MemoryError(m) => {
            HookError::new(HookFailure::Memory, format!("asset.meta: {m}"))
        }
        e => HookError::new(
            HookFailure::BadReturn,
            format!("asset.meta: {}", clean(&e.to_string())),
        ),
    })?;
    if meta.as_ref().is_some_and(|m| !m.is_object()) {
        return Err(HookError::new(
            HookFailure::BadReturn,
            "asset.meta must stay a table of fields",
        ));
    }
    Ok(Some((labels, meta)))
}

pub(crate) fn choice(v: LuaValue) -> Result<ConflictChoice, HookError> {
    let bad = |what: String| HookError::new(HookFailure::BadReturn, what);
    match v {
        LuaValue::String(s) => match s
            .to_str()
            .map(|s| s.to_string())
            .unwrap_or_default()
            .as_str()
        {
            "skip" => Ok(ConflictChoice::Skip),
            "overwrite" => Ok(ConflictChoice::Overwrite),
            "fail" => Ok(ConflictChoice::Fail),
            "abort" => Ok(ConflictChoice::Abort),
            "rename" => Ok(ConflictChoice::Rename(RenameStrategy::Counter {
                separator: "_".into(),
            })),
            other => Err(bad(format!(
                "on_conflict returned {other:?}; expected skip, overwrite, fail, abort, rename or a table"
            ))),
        },
        LuaValue::Table(t) => {
            if let Ok(Some(name)) = t.raw_get::<Option<String>>("name") {
                return Ok(ConflictChoice::Name(name));
            }
            let how: Option<String> = t.raw_get("rename").map_err(|e| bad(e.to_string()))?;
            let sep: Option<String> = t.raw_get("separator").map_err(|e| bad(e.to_string()))?;
            match how.as_deref() {
                Some("counter") => Ok(ConflictChoice::Rename(RenameStrategy::Counter { separator: sep.unwrap_or_else(|| "_".into()) })),
                Some("random") => {
                    let length: Option<i64> = t.raw_get("length").map_err(|e| bad(e.to_string()))?;
                    let alphabet: Option<String> = t.raw_get("alphabet").map_err(|e| bad(e.to_string()))?;
                    let alphabet: Vec<char> = alphabet.unwrap_or_else(|| "abcdefghijklmnopqrstuvwxyz0123456789".into()).chars().collect();
                    let length = length.unwrap_or(6);
                    if !(1..=32).contains(&length) || alphabet.len() < 2 {
                        return Err(bad("on_conflict: random names need a length of 1 to 32 and two or more characters".into()));
                    }
                    Ok(ConflictChoice::Rename(RenameStrategy::Random {
                        length: length as usize,
                        alphabet,
                        separator: sep.unwrap_or_else(|| "-".into()),
                    }))
                }
                _ => Err(bad("on_conflict returned a table without name = \"…\" or rename = \"counter\"|\"random\"".into())),
            }
        }
        LuaValue::Nil => Err(bad("on_conflict returned nothing; return a policy".into())),
        other => Err(bad(format!(
            "on_conflict must return a policy, not {}",
            a_type(other.type_name())
        ))),
    }
}

/// `asset:write`: records a transform's writes of `call`, or fails the asset with why a file
/// cannot be written; at most `limit` bytes in all.
pub(crate) fn write_function(
    lua: &Lua,
    c: Rc<RefCell<Call>>,
    limit: usize,
) -> mlua::Result<Function> {
    lua.create_function(
        move |lua, (_this, file, bytes): (LuaValue, LuaString, LuaString)| {
            let mut guard = c.borrow_mut();
            let call: &mut Call = &mut guard;
            if !call.transform {
                return Err(script_error(
                    lua,
                    "asset:write is available in transform only".into(),
                ));
            }
            let w = call
                .writes
                .get_or_insert_with(|| WriteSet::new(&call.files, call.reserved, limit));
            match w.add(&file.as_bytes(), &bytes.as_bytes()) {
                Ok(()) => Ok(()),
                Err((code, why)) => {
                    let e = script_error(lua, format!("asset:write: {why}"));
                    call.fault
                        .get_or_insert_with(|| HookError::new(code, clean(&e.to_string())));
                    Err(e)
                }
            }
        },
    )
}
