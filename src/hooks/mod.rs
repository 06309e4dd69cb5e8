//! The Lua hook host: per-team scripts that rename, transform and decide conflicts, run in a
//! sandbox with a memory cap, an instruction budget and a wall-clock watchdog.
//!
//! One Lua state per worker thread, built on first use by [`sandbox::new_state`]; each script
//! is compiled once per state. Scripts and the modules they may `require` are read once, when
//! the host is made, so their digests describe exactly what runs.

pub mod convert;
pub mod sandbox;
mod watchdog;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mlua::chunk::ChunkMode;
use mlua::{
    Function, HookTriggers, Lua, LuaString, RegistryKey, Table, Value as LuaValue, VmState,
};
use serde_json::Value;

use crate::digest::Digest;
use crate::model::{Asset, Payload, Version};
use crate::spec::{LuaBudget, RenameStrategy};
pub use watchdog::Watchdog;

/// Instructions between two budget checks: checking on every one would double the cost of
/// tight loops.
const CHECK_EVERY: u32 = 10_000;
/// Most `.lua` files read from one scripts folder, and their largest size.
const MAX_MODULES: usize = 512;
const MAX_SCRIPT_BYTES: u64 = 1 << 20;

/// Why a hook call failed. The asset fails with this code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookError {
    /// Stable code: `hook.error`, `hook.budget`, `hook.memory`, `hook.bad_return`, …
    pub code: &'static str,
    /// What happened, with the script's `file:line` where Lua gives one.
    pub message: String,
}

impl HookError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        HookError {
            code,
            message: message.into(),
        }
    }
}

/// What a hook returned, and what it logged.
#[derive(Debug)]
pub struct Outcome<T> {
    /// The result.
    pub value: T,
    /// Lines passed to `ctx.log` (secrets masked).
    pub logs: Vec<String>,
}

/// What `on_conflict` decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictChoice {
    /// `skip`, `overwrite`, `fail` or `abort`.
    Keep(&'static str),
    /// A generated name.
    Rename(RenameStrategy),
    /// This exact name.
    Name(String),
}

/// What the run tells hooks through `ctx`.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `--env`.
    pub env: Option<String>,
    /// The environment's vars.
    pub vars: BTreeMap<String, String>,
    /// The spec's seed.
    pub seed: String,
    /// Kinds and names the target holds.
    pub target: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Values that must never appear in logs or messages.
    pub secrets: Vec<String>,
}

/// The scripts of one run and everything a call needs.
pub struct HookHost {
    id: u64,
    /// Script and module sources by path as shown (relative to the spec).
    sources: Arc<BTreeMap<String, Arc<str>>>,
    budget: LuaBudget,
    ctx: Arc<Context>,
    watchdog: Arc<Watchdog>,
}

impl std::fmt::Debug for HookHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookHost")
            .field("scripts", &self.sources.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Payload files a transform wrote, by path.
type Writes = Rc<RefCell<BTreeMap<String, Vec<u8>>>>;

static NEXT_HOST: AtomicU64 = AtomicU64::new(1);

struct State {
    host: u64,
    lua: Lua,
    scripts: HashMap<String, RegistryKey>,
    ctx: RegistryKey,
    log: Rc<RefCell<Vec<String>>>,
    counter: Rc<Cell<u64>>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// The folder part of a shown path (`scripts/x.lua` → `scripts`).
fn folder_of(shown: &str) -> &str {
    shown.rsplit_once('/').map_or("", |(d, _)| d)
}

impl HookHost {
    /// Reads `scripts` (shown paths, relative to `base`) and every `.lua` file beside them,
    /// and compiles each script once to find syntax errors now. Errors name the script.
    pub fn new(
        base: &Path,
        scripts: &[String],
        budget: LuaBudget,
        ctx: Context,
    ) -> Result<HookHost, (String, String)> {
        let sources = read_sources(base, scripts)?;
        let host = HookHost {
            id: NEXT_HOST.fetch_add(1, Ordering::Relaxed),
            sources: Arc::new(sources),
            budget,
            ctx: Arc::new(ctx),
            watchdog: Arc::new(Watchdog::new(Duration::from_millis(budget.timeout_ms))),
        };
        for shown in scripts {
            let lua = Lua::new_with(mlua::StdLib::NONE, mlua::LuaOptions::default())
                .map_err(|e| (shown.clone(), e.to_string()))?;
            lua.load(&*host.sources[shown])
                .set_name(format!("@{shown}"))
                .set_mode(ChunkMode::Text)
                .into_function()
                .map_err(|e| (shown.clone(), clean(&e.to_string())))?;
        }
        Ok(host)
    }

    /// Replaces what happens when a call outlives its deadline inside a C function
    /// (by default: a message on stderr, and the process ends with nothing written).
    pub fn on_timeout(mut self, action: Arc<dyn Fn(&str) + Send + Sync>) -> Self {
        self.watchdog = Arc::new(Watchdog::with_action(
            Duration::from_millis(self.budget.timeout_ms),
            action,
        ));
        self
    }

    /// SHA-256 of every script and module read.
    pub fn digests(&self) -> BTreeMap<String, Digest> {
        self.sources
            .iter()
            .map(|(k, v)| (k.clone(), Digest::of(v.as_bytes())))
            .collect()
    }

    /// Runs `rename(asset, ctx)`; `None` when the script has no such function or returns nil.
    pub fn rename(
        &self,
        script: &str,
        asset: &Asset,
    ) -> Result<Outcome<Option<String>>, HookError> {
        self.call(script, "rename", asset, |lua, f, a, ctx| {
            let v: LuaValue = capped(lua, || f.call((a, ctx)))?;
            Ok(match v {
                LuaValue::Nil => Ok(None),
                LuaValue::String(s) => match s.to_str() {
                    Ok(text) => Ok(Some(text.to_string())),
                    Err(_) => Err(HookError::new(
                        "hook.bad_return",
                        "rename returned a name that is not UTF-8",
                    )),
                },
                other => Err(HookError::new(
                    "hook.bad_return",
                    format!(
                        "rename must return the new name as a string (or nil), not {}",
                        a_type(other.type_name())
                    ),
                )),
            })
        })
        .map(|o| Outcome {
            value: o.value.flatten(),
            logs: o.logs,
        })
    }

    /// Runs `transform(asset, ctx)`: the asset as changed, or `None` when the script drops it.
    /// Without a `transform` function the asset comes back unchanged.
    pub fn transform(
        &self,
        script: &str,
        asset: Asset,
    ) -> Result<Outcome<Option<Asset>>, HookError> {
        let writes: Writes = Rc::default();
        let w = Rc::clone(&writes);
        let before = &asset;
        let out = self.call_with(script, "transform", before, Some(w), |lua, f, a, ctx| {
            let v: LuaValue = capped(lua, || f.call((a, ctx)))?;
            Ok(asset_back(lua, v, before))
        })?;
        let mut logs = out.logs;
        let value = match out.value {
            None => Some(asset),
            Some(None) => None,
            Some(Some((labels, meta))) => {
                let mut changed = asset;
                if labels != changed.labels {
                    changed.labels = labels;
                    changed.mark_edited();
                }
                if let Some(meta) = meta {
                    // `changes` gives a document only when it differs from the one read.
                    *changed.meta_mut() = meta;
                }
                for (file, bytes) in writes.take() {
                    changed.files.insert(file, Payload::Bytes(Arc::new(bytes)));
                }
                Some(changed)
            }
        };
        logs.iter_mut().for_each(|l| *l = self.mask(l));
        Ok(Outcome { value, logs })
    }

    /// Runs `on_conflict(asset, existing, ctx)`.
    pub fn on_conflict(
        &self,
        script: &str,
        asset: &Asset,
        existing: Option<&Asset>,
    ) -> Result<Outcome<ConflictChoice>, HookError> {
        let out = self.call(script, "on_conflict", asset, |lua, f, a, ctx| {
            let existing = match existing {
                Some(e) => LuaValue::Table(asset_table(lua, e, None)?),
                None => LuaValue::Nil,
            };
            let v: LuaValue = capped(lua, || f.call((a, existing, ctx)))?;
            Ok(choice(v))
        })?;
        match out.value {
            Some(c) => Ok(Outcome {
                value: c,
                logs: out.logs,
            }),
            None => Err(HookError::new(
                "hook.missing",
                format!("{script} has no on_conflict function"),
            )),
        }
    }

    fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.ctx.secrets {
            out = out.replace(s.as_str(), "***");
        }
        out
    }

    fn call<R>(
        &self,
        script: &str,
        func: &str,
        asset: &Asset,
        run: impl FnOnce(&Lua, Function, Table, Table) -> mlua::Result<Result<R, HookError>>,
    ) -> Result<Outcome<Option<R>>, HookError> {
        self.call_with(script, func, asset, None, run)
    }

    /// Runs `func` of `script` on this thread's state, within the budgets. `None` when the
    /// script does not define `func`.
    fn call_with<R>(
        &self,
        script: &str,
        func: &str,
        asset: &Asset,
        writes: Option<Writes>,
        run: impl FnOnce(&Lua, Function, Table, Table) -> mlua::Result<Result<R, HookError>>,
    ) -> Result<Outcome<Option<R>>, HookError> {
        STATE.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().is_none_or(|s| s.host != self.id) {
                *slot = None;
                *slot = Some(
                    self.new_state()
                        .map_err(|e| HookError::new("hook.error", clean(&e.to_string())))?,
                );
            }
            let st = slot.as_mut().expect("just made");
            st.counter.set(0);
            st.log.borrow_mut().clear();
            let what = format!("{script} ({func}) on {}", asset.key);
            let guard = self.watchdog.watch(what);
            let result = (|| -> mlua::Result<Option<Result<R, HookError>>> {
                let module = self.module(st, script)?;
                let Some(f) = module.get::<Option<Function>>(func)? else {
                    return Ok(None);
                };
                let a = asset_table(&st.lua, asset, writes)?;
                let ctx: Table = st.lua.registry_value(&st.ctx)?;
                run(&st.lua, f, a, ctx).map(Some)
            })();
            drop(guard);
            let logs: Vec<String> = st
                .log
                .borrow_mut()
                .drain(..)
                .map(|l| self.mask(&l))
                .collect();
            match result {
                Ok(None) => Ok(Outcome { value: None, logs }),
                Ok(Some(Ok(v))) => Ok(Outcome {
                    value: Some(v),
                    logs,
                }),
                Ok(Some(Err(e))) => Err(HookError {
                    message: self.mask(&e.message),
                    ..e
                }),
                Err(e) => {
                    let _ = st.lua.gc_collect();
                    Err(self.lua_error(&e))
                }
            }
        })
    }

    fn lua_error(&self, e: &mlua::Error) -> HookError {
        let text = clean(&e.to_string());
        let code = if matches!(e, mlua::Error::MemoryError(_)) || text.contains("not enough memory")
        {
            return HookError::new(
                "hook.memory",
                format!(
                    "ran out of its memory budget ({} MiB): {}",
                    self.budget.memory >> 20,
                    self.mask(&text)
                ),
            );
        } else if text.contains("instruction budget") || text.contains("time limit") {
            "hook.budget"
        } else if text.contains("stack overflow") {
            "hook.stack"
        } else {
            "hook.error"
        };
        HookError::new(code, self.mask(&text))
    }

    fn new_state(&self) -> mlua::Result<State> {
        let lua = sandbox::new_state()?;
        CAP.with(|c| c.set(self.budget.memory));
        let counter = Rc::new(Cell::new(0u64));
        let limit = self.budget.instructions;
        let c = Rc::clone(&counter);
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(CHECK_EVERY),
            move |_, debug| {
                c.set(c.get() + u64::from(CHECK_EVERY));
                // Only the instruction count stops a call here: it is the same on every
                // machine, so whether an asset fails never depends on timing. The watchdog
                // handles the wall clock by ending the whole run, which writes nothing.
                if c.get() <= limit {
                    return Ok(VmState::Continue);
                }
                let why = format!("instruction budget of {limit} instructions exceeded");
                let src = debug
                    .source()
                    .short_src
                    .map(|s| s.into_owned())
                    .unwrap_or_default();
                let place = debug
                    .current_line()
                    .map(|l| format!("{src}:{l}: "))
                    .unwrap_or_default();
                Err(mlua::Error::runtime(format!("{place}{why}")))
            },
        )?;
        let log: Rc<RefCell<Vec<String>>> = Rc::default();
        let ctx = self.ctx_table(&lua, Rc::clone(&log))?;
        let ctx = lua.create_registry_value(ctx)?;
        Ok(State {
            host: self.id,
            lua,
            scripts: HashMap::new(),
            ctx,
            log,
            counter,
        })
    }

    /// The table a script returns, compiled and run once per state.
    fn module(&self, st: &mut State, shown: &str) -> mlua::Result<Table> {
        if let Some(key) = st.scripts.get(shown) {
            return st.lua.registry_value(key);
        }
        let value = load_module(&st.lua, &self.sources, shown, Rc::clone(&st.log))?;
        let LuaValue::Table(t) = value else {
            return Err(mlua::Error::runtime(format!(
                "{shown} must return a table of hook functions (rename, transform, on_conflict), not a {}",
                value.type_name()
            )));
        };
        st.scripts
            .insert(shown.to_string(), st.lua.create_registry_value(t.clone())?);
        Ok(t)
    }

    fn ctx_table(&self, lua: &Lua, log: Rc<RefCell<Vec<String>>>) -> mlua::Result<Table> {
        let ctx = lua.create_table()?;
        let c = &self.ctx;
        ctx.set("env", c.env.clone())?;
        let vars = lua.create_table()?;
        for (k, v) in &c.vars {
            vars.set(k.as_str(), v.as_str())?;
        }
        ctx.set("vars", vars)?;
        ctx.set("seed", c.seed.as_str())?;
        let target = lua.create_table()?;
        let names = Arc::clone(&self.ctx);
        target.set(
            "has",
            lua.create_function(move |_, (_this, kind, name): (LuaValue, String, String)| {
                Ok(names.target.get(&kind).is_some_and(|n| n.contains(&name)))
            })?,
        )?;
        ctx.set("target", target)?;
        ctx.set(
            "log",
            lua.create_function(move |_, msg: LuaValue| {
                let text = match msg {
                    LuaValue::String(s) => s.to_string_lossy(),
                    other => format!("{other:?}"),
                };
                let mut l = log.borrow_mut();
                if l.len() < 100 {
                    l.push(text.chars().take(2000).collect());
                }
                Ok(())
            })?,
        )?;
        ctx.set(
            "sha256",
            lua.create_function(|_, bytes: LuaString| {
                Ok(Digest::of(&bytes.as_bytes()).to_string())
            })?,
        )?;
        let seed = c.seed.clone();
        ctx.set(
            "suffix",
            lua.create_function(move |_, (name, n): (String, Option<usize>)| {
                let n = n.unwrap_or(6).clamp(1, 32);
                Ok(suffix(&seed, &name, n))
            })?,
        )?;
        let json = lua.create_table()?;
        json.set(
            "encode",
            lua.create_function(|lua, v: LuaValue| {
                let value = convert::from_lua(lua, &v, None)?;
                Ok(serde_json::to_string(&value).expect("JSON values serialise"))
            })?,
        )?;
        json.set(
            "decode",
            lua.create_function(|lua, text: String| {
                let v: Value = serde_json::from_str(&text)
                    .map_err(|e| mlua::Error::runtime(format!("json.decode: {e}")))?;
                convert::to_lua(lua, &v)
            })?,
        )?;
        json.set("null", LuaValue::NULL)?;
        json.set(
            "array",
            lua.create_function(|lua, t: Option<Table>| {
                let t = match t {
                    Some(t) => t,
                    None => lua.create_table()?,
                };
                t.set_metatable(Some(convert::array_mt(lua)?))?;
                Ok(t)
            })?,
        )?;
        ctx.set("json", json)?;
        Ok(ctx)
    }
}

/// Reads `scripts` (relative to `base`) and every `.lua` file in their folders, which they
/// may `require`. Errors name the file.
pub fn read_sources(
    base: &Path,
    scripts: &[String],
) -> Result<BTreeMap<String, Arc<str>>, (String, String)> {
    let mut sources = BTreeMap::new();
    for shown in scripts {
        let text = read_script(&base.join(shown)).map_err(|m| (shown.clone(), m))?;
        sources.insert(shown.clone(), Arc::from(text.as_str()));
        let folder = folder_of(shown).to_string();
        for module in modules_under(&base.join(&folder)).map_err(|m| (shown.clone(), m))? {
            let shown_module = if folder.is_empty() {
                module.clone()
            } else {
                format!("{folder}/{module}")
            };
            if let std::collections::btree_map::Entry::Vacant(slot) =
                sources.entry(shown_module.clone())
            {
                let text = read_script(&base.join(&shown_module))
                    .map_err(|m| (shown_module.clone(), m))?;
                slot.insert(Arc::from(text.as_str()));
            }
        }
    }
    Ok(sources)
}

/// SHA-256 of every file [`read_sources`] reads.
pub fn source_digests(
    base: &Path,
    scripts: &[String],
) -> Result<BTreeMap<String, Digest>, (String, String)> {
    Ok(read_sources(base, scripts)?
        .iter()
        .map(|(k, v)| (k.clone(), Digest::of(v.as_bytes())))
        .collect())
}

/// `stage: script:line: message`, naming the script once whether or not Lua already did.
pub fn stage_message(stage: &str, script: &str, message: &str) -> String {
    if message.starts_with(script) {
        format!("{stage}: {message}")
    } else {
        format!("{stage}: {script}: {message}")
    }
}

/// `n` characters from the seed and a name: repeatable, and different per name.
pub fn suffix(seed: &str, name: &str, n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let d = Digest::of(format!("{seed}\0{name}").as_bytes());
    (0..n)
        .map(|i| ALPHABET[d.0[i % 32] as usize % ALPHABET.len()] as char)
        .collect()
}

fn read_script(path: &Path) -> Result<String, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > MAX_SCRIPT_BYTES {
        return Err(format!(
            "{} is larger than {MAX_SCRIPT_BYTES} bytes",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Every `.lua` file under `dir`, as paths relative to it, sorted.
fn modules_under(dir: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        let Ok(listing) = std::fs::read_dir(&d) else {
            continue;
        };
        for item in listing.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let kind = item.file_type().map_err(|e| e.to_string())?;
            if kind.is_dir() && !name.starts_with('.') && rel.matches('/').count() < 4 {
                stack.push((item.path(), child));
            } else if kind.is_file() && name.ends_with(".lua") {
                out.push(child);
                if out.len() > MAX_MODULES {
                    return Err(format!(
                        "{} holds more than {MAX_MODULES} Lua files",
                        dir.display()
                    ));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Loads and runs a script or module in its own environment; returns what it returns.
fn load_module(
    lua: &Lua,
    sources: &Arc<BTreeMap<String, Arc<str>>>,
    shown: &str,
    log: Rc<RefCell<Vec<String>>>,
) -> mlua::Result<LuaValue> {
    let source = sources
        .get(shown)
        .ok_or_else(|| mlua::Error::runtime(format!("{shown} was not read")))?;
    let folder = folder_of(shown).to_string();
    let loaded = lua.create_table()?;
    let (srcs, log2) = (Arc::clone(sources), Rc::clone(&log));
    let require = lua.create_function(move |lua, name: String| {
        let valid = !name.is_empty()
            && name.split('.').all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !valid {
            return Err(script_error(
                lua,
                format!("require {name:?}: module names are words separated by dots (lib.util), inside the script's folder"),
            ));
        }
        let rel = format!("{}.lua", name.replace('.', "/"));
        let path = if folder.is_empty() { rel } else { format!("{folder}/{rel}") };
        if let Some(v) = loaded.raw_get::<Option<LuaValue>>(path.as_str())? {
            return Ok(v);
        }
        if !srcs.contains_key(&path) {
            return Err(script_error(
                lua,
                format!("require {name:?}: no module {path}; scripts may require only Lua files in their own folder"),
            ));
        }
        let v = load_module(lua, &srcs, &path, Rc::clone(&log2))?;
        let v = if v.is_nil() { LuaValue::Boolean(true) } else { v };
        loaded.raw_set(path.as_str(), v.clone())?;
        Ok(v)
    })?;
    let print = lua.create_function(move |_, args: mlua::MultiValue| {
        let text: Vec<String> = args
            .iter()
            .map(|v| match v {
                LuaValue::String(s) => s.to_string_lossy(),
                other => format!("{other:?}"),
            })
            .collect();
        let mut l = log.borrow_mut();
        if l.len() < 100 {
            l.push(text.join("\t"));
        }
        Ok(())
    })?;
    let env = sandbox::environment(lua, require, print)?;
    let chunk = lua
        .load(&**source)
        .set_name(format!("@{shown}"))
        .set_mode(ChunkMode::Text)
        .set_environment(env);
    capped(lua, || chunk.call(()))
}

/// The `asset` table a hook receives.
fn asset_table(lua: &Lua, asset: &Asset, writes: Option<Writes>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("kind", asset.key.kind.as_str())?;
    t.set("name", asset.key.name.as_str())?;
    match asset.key.version {
        Version::None => {}
        Version::Master => t.set("version", "master")?,
        Version::Number(n) => t.set("version", n)?,
    }
    let labels = lua.create_table()?;
    for (k, v) in &asset.labels {
        labels.set(k.as_str(), v.as_str())?;
    }
    t.set("labels", labels)?;
    t.set("meta", convert::to_lua(lua, asset.meta())?)?;
    let files = asset.files.clone();
    let pending = writes.clone();
    t.set(
        "read",
        lua.create_function(move |lua, (_this, file): (LuaValue, String)| {
            if let Some(w) = &pending
                && let Some(bytes) = w.borrow().get(&file)
            {
                return lua.create_string(bytes).map(LuaValue::String);
            }
            match files.get(&file) {
                None => Ok(LuaValue::Nil),
                Some(Payload::Bytes(b)) => lua.create_string(&b[..]).map(LuaValue::String),
                Some(Payload::Entry(e)) => {
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
        })?,
    )?;
    t.set(
        "write",
        lua.create_function(
            move |lua, (_this, file, bytes): (LuaValue, String, LuaString)| {
                let Some(w) = &writes else {
                    return Err(script_error(
                        lua,
                        "asset:write is available in transform only".into(),
                    ));
                };
                match crate::archive::names::check(file.as_bytes()) {
                    Ok(ok) if !ok.ends_with('/') => {}
                    _ => {
                        return Err(script_error(
                            lua,
                            format!("asset:write: {file:?} is not a safe relative file name"),
                        ));
                    }
                }
                w.borrow_mut().insert(file, bytes.as_bytes().to_vec());
                Ok(())
            },
        )?,
    )?;
    Ok(t)
}

/// Labels and document of the asset a transform returned (the document only when it changed);
/// `None` when it returned nil.
#[allow(clippy::type_complexity)]
fn asset_back(
    lua: &Lua,
    v: LuaValue,
    before: &Asset,
) -> Result<Option<(BTreeMap<String, String>, Option<Value>)>, HookError> {
    let t = match v {
        LuaValue::Nil => return Ok(None),
        LuaValue::Table(t) => t,
        other => {
            return Err(HookError::new(
                "hook.bad_return",
                format!(
                    "transform must return the asset (or nil to drop it), not {}",
                    a_type(other.type_name())
                ),
            ));
        }
    };
    let text = |field: &str| -> Result<Option<String>, HookError> {
        match t.get::<LuaValue>(field) {
            Ok(LuaValue::String(s)) => Ok(Some(s.to_string_lossy())),
            Ok(LuaValue::Nil) => Ok(None),
            Ok(other) => Err(HookError::new(
                "hook.bad_return",
                format!(
                    "asset.{field} must be a string, not {}",
                    a_type(other.type_name())
                ),
            )),
            Err(e) => Err(HookError::new("hook.bad_return", e.to_string())),
        }
    };
    if text("kind")?.as_deref() != Some(before.key.kind.as_str()) {
        return Err(HookError::new(
            "hook.kind_changed",
            format!("transform may not change the kind of {}", before.key),
        ));
    }
    if text("name")?.as_deref() != Some(before.key.name.as_str()) {
        return Err(HookError::new(
            "hook.name_changed",
            format!(
                "transform may not rename {}; return the new name from rename(asset, ctx)",
                before.key
            ),
        ));
    }
    let mut labels = BTreeMap::new();
    match t.get::<LuaValue>("labels") {
        Ok(LuaValue::Table(l)) => {
            for pair in l.pairs::<LuaValue, LuaValue>() {
                match pair {
                    Ok((LuaValue::String(k), LuaValue::String(v))) => {
                        labels.insert(k.to_string_lossy(), v.to_string_lossy());
                    }
                    _ => {
                        return Err(HookError::new(
                            "hook.bad_return",
                            "asset.labels must map strings to strings",
                        ));
                    }
                }
            }
        }
        Ok(LuaValue::Nil) => {}
        _ => {
            return Err(HookError::new(
                "hook.bad_return",
                "asset.labels must be a table",
            ));
        }
    }
    let meta: LuaValue = t
        .get("meta")
        .map_err(|e| HookError::new("hook.bad_return", e.to_string()))?;
    let meta = convert::changes(lua, &meta, before.meta()).map_err(|e| {
        HookError::new(
            "hook.bad_return",
            format!("asset.meta: {}", clean(&e.to_string())),
        )
    })?;
    if meta.as_ref().is_some_and(|m| !m.is_object()) {
        return Err(HookError::new(
            "hook.bad_return",
            "asset.meta must stay a table of fields",
        ));
    }
    Ok(Some((labels, meta)))
}

fn choice(v: LuaValue) -> Result<ConflictChoice, HookError> {
    let bad = |what: String| HookError::new("hook.bad_return", what);
    match v {
        LuaValue::String(s) => match s
            .to_str()
            .map(|s| s.to_string())
            .unwrap_or_default()
            .as_str()
        {
            "skip" => Ok(ConflictChoice::Keep("skip")),
            "overwrite" => Ok(ConflictChoice::Keep("overwrite")),
            "fail" => Ok(ConflictChoice::Keep("fail")),
            "abort" => Ok(ConflictChoice::Keep("abort")),
            "rename" => Ok(ConflictChoice::Rename(RenameStrategy::Counter {
                separator: "_".into(),
            })),
            other => Err(bad(format!(
                "on_conflict returned {other:?}; expected skip, overwrite, fail, abort, rename or a table"
            ))),
        },
        LuaValue::Table(t) => {
            if let Ok(Some(name)) = t.get::<Option<String>>("name") {
                return Ok(ConflictChoice::Name(name));
            }
            let how: Option<String> = t.get("rename").map_err(|e| bad(e.to_string()))?;
            let sep: Option<String> = t.get("separator").map_err(|e| bad(e.to_string()))?;
            match how.as_deref() {
                Some("counter") => Ok(ConflictChoice::Rename(RenameStrategy::Counter { separator: sep.unwrap_or_else(|| "_".into()) })),
                Some("random") => {
                    let length: Option<i64> = t.get("length").map_err(|e| bad(e.to_string()))?;
                    let alphabet: Option<String> = t.get("alphabet").map_err(|e| bad(e.to_string()))?;
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

thread_local! {
    /// The memory cap of this thread's state while script code runs.
    static CAP: Cell<usize> = const { Cell::new(0) };
}

/// Runs script code under the state's memory cap. Outside script code the state has no cap:
/// with one, every allocating call into Lua becomes a protected call, which made converting a
/// document between JSON and Lua ten times as costly; what that conversion allocates is bounded
/// by the document itself.
fn capped<R>(lua: &Lua, run: impl FnOnce() -> mlua::Result<R>) -> mlua::Result<R> {
    let cap = CAP.with(Cell::get);
    if cap == usize::MAX {
        // Already inside script code (a module loaded by `require`): the cap is on.
        return run();
    }
    lua.set_memory_limit(cap)?;
    CAP.with(|c| c.set(usize::MAX));
    let result = run();
    CAP.with(|c| c.set(cap));
    lua.set_memory_limit(0)?;
    result
}

/// A Lua type name with its article: `an integer`, `a table`.
fn a_type(name: &str) -> String {
    if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {name}")
    } else {
        format!("a {name}")
    }
}

/// An error raised from Rust on behalf of a script, placed at the script's line.
fn script_error(lua: &Lua, message: String) -> mlua::Error {
    let place = (1..4).find_map(|level| {
        lua.inspect_stack(level, |d| {
            let src = d.source().short_src.map(|s| s.into_owned())?;
            let line = d.current_line()?;
            (!src.starts_with('[')).then(|| format!("{src}:{line}: "))
        })
        .flatten()
    });
    mlua::Error::runtime(format!("{}{message}", place.unwrap_or_default()))
}

/// Lua error text without the Rust-side traceback noise.
fn clean(text: &str) -> String {
    let first = text.split("\nstack traceback:").next().unwrap_or(text);
    first
        .trim()
        .trim_start_matches("runtime error: ")
        .trim_start_matches("syntax error: ")
        .to_string()
}

/// The resolved path of a script written in a spec.
pub fn script_path(base: &Path, written: &str) -> PathBuf {
    base.join(written)
}

#[cfg(test)]
mod tests;
