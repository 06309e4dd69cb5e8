//! The Lua hook host: per-team scripts that rename, transform and decide conflicts, run in a
//! sandbox with a memory cap, an instruction budget and a wall-clock watchdog.
//!
//! One Lua state per worker thread, built on first use; each script is compiled once per
//! state. Scripts and the modules they may `require` are read once, when the host is made, so
//! their digests describe exactly what runs.
//!
//! # Isolation
//!
//! No state carries from one call to the next: every call runs the script's chunk again in a
//! fresh environment (fresh globals, library copies made on first use, `require`d modules run
//! again), so upvalues of the returned functions, globals and module tables start anew. What
//! the state keeps between calls is either out of scripts' reach (compiled chunks, library
//! functions, the locked string metatable, the private copies `setmetatable` makes) or a
//! read-only proxy (`ctx` and everything in it, the `json.array` marker's metatable).
//! `tostring` numbers tables per call, `pairs` visits keys in sorted order and `table.sort` is
//! stable, so output bytes do not depend on `--jobs`, on which assets a worker handled before,
//! on heap addresses or on the clock.
//!
//! Why a fresh environment per call, measured with `benches/hook_calls.rs` under
//! `valgrind --tool=callgrind` (instructions per call, release build): loading once and
//! freezing cannot work (a module-level `local n` is an upvalue no freeze reaches); a fresh
//! state per call costs about 1.7 million instructions, seven times a whole trivial call; a
//! fresh environment costs about 15,000 (a trivial transform went from 225,700 to 240,900, a
//! rename from 86,600 to 98,900), because the chunk is compiled once with its environment as
//! its argument and library copies are made only when a script uses them. Whole runs of the
//! benchmark corpus with a hook take 3.3% more instructions. docs/hooks.md has the details.
//!
//! # Budgets
//!
//! The instruction count is the only in-call stop, so whether an asset fails never depends on
//! timing. It counts everything a script causes in a call: running the chunk, modules,
//! metamethods, `__tostring` of an error object. Once it is spent, every further instruction
//! stops (a script that catches the error cannot run on), and the call fails even if the
//! script returns. `setmetatable` refuses `__gc` (finalizers would run at collection time, in
//! no call), `__mode` and `__close`, and keeps a private copy of the metatable, so neither can
//! be added later; to-be-closed values are thus impossible, which matters because the Lua
//! binding closes them from inside the instruction hook when the budget stops a call, where
//! nothing stops them. The host reads returned tables raw, without running their metamethods,
//! and what it copies out of Lua (the document, labels, written files, JSON, log lines) is
//! metered against the memory budget. No collection runs after an error: when the budget was
//! spent or memory or the stack ran out, the state is dropped inside the watchdog's guard and
//! the next call builds a new one.

pub mod convert;
pub mod sandbox;
mod watchdog;
pub mod writes;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mlua::chunk::ChunkMode;
use mlua::{Function, HookTriggers, Lua, LuaString, MultiValue, Table, Value as LuaValue, VmState};
use serde_json::Value;

use crate::digest::Digest;
use crate::model::{Asset, Payload, Version};
use crate::spec::{LuaBudget, RenameStrategy};
use convert::Meter;
use sandbox::Prelude;
pub use watchdog::Watchdog;
use writes::WriteSet;

/// Instructions between two budget checks: checking on every one would double the cost of
/// tight loops.
const CHECK_EVERY: u32 = 10_000;
/// Most `.lua` files read from one scripts folder, and their largest size.
const MAX_MODULES: usize = 512;
const MAX_SCRIPT_BYTES: u64 = 1 << 20;
/// Lines `print` and `ctx.log` keep per call, and characters per line.
const MAX_LOG_LINES: usize = 100;
const MAX_LOG_CHARS: usize = 2000;
/// Characters of an error message kept.
const MAX_MESSAGE_CHARS: usize = 4000;

/// Why a hook call failed. The asset fails with this code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookError {
    /// What kind of failure.
    pub kind: HookFailure,
    /// What happened, with the script's `file:line` where Lua gives one.
    pub message: String,
}

/// The kinds of hook failure, each with a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookFailure {
    /// `hook.error`: the script raised an error.
    Error,
    /// `hook.budget`: the instruction budget ran out.
    Budget,
    /// `hook.memory`: the memory budget ran out.
    Memory,
    /// `hook.stack`: the stack ran out.
    Stack,
    /// `hook.bad_return`: the hook returned something it may not.
    BadReturn,
    /// `hook.bad_write`: asset:write was refused.
    BadWrite,
    /// `hook.kind_changed`: transform changed the asset's kind.
    KindChanged,
    /// `hook.name_changed`: transform changed the asset's name.
    NameChanged,
    /// `hook.missing`: the script has no such hook.
    Missing,
}

impl HookError {
    fn new(kind: HookFailure, message: impl Into<String>) -> Self {
        HookError {
            kind,
            message: message.into(),
        }
    }

    /// The stable code the asset fails with.
    pub fn code(&self) -> &'static str {
        match self.kind {
            HookFailure::Error => "hook.error",
            HookFailure::Budget => "hook.budget",
            HookFailure::Memory => "hook.memory",
            HookFailure::Stack => "hook.stack",
            HookFailure::BadReturn => "hook.bad_return",
            HookFailure::BadWrite => "hook.bad_write",
            HookFailure::KindChanged => "hook.kind_changed",
            HookFailure::NameChanged => "hook.name_changed",
            HookFailure::Missing => "hook.missing",
        }
    }
}

/// What a hook returned, and what it logged.
#[derive(Debug)]
pub struct Outcome<T> {
    /// The result.
    pub value: T,
    /// Lines passed to `ctx.log` or `print` (secrets masked).
    pub logs: Vec<String>,
}

/// What `on_conflict` decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictChoice {
    /// `skip`: the target keeps its own.
    Skip,
    /// `overwrite`: the asset replaces the target's.
    Overwrite,
    /// `fail`: the asset fails.
    Fail,
    /// `abort`: nothing is written.
    Abort,
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

static NEXT_HOST: AtomicU64 = AtomicU64::new(1);

/// The instruction budget of the call in progress.
struct Budget {
    limit: u64,
    used: Cell<u64>,
    /// Set when the budget ran out: the message, with the place it ran out.
    spent: RefCell<Option<String>>,
}

/// What the call in progress works on; reset at the start of every call.
#[derive(Default)]
struct Call {
    /// The asset's payload files.
    files: BTreeMap<String, Payload>,
    /// The payload files of the target's asset (`on_conflict`).
    existing: BTreeMap<String, Payload>,
    /// Whether the call is a transform, which may write files.
    transform: bool,
    /// The name written files may not take (see [`writes`]).
    reserved: Option<&'static str>,
    /// What the transform wrote, from its first write on.
    writes: Option<WriteSet>,
    /// The first thing that fails the asset whatever the script does next.
    fault: Option<HookError>,
}

/// Scripts and modules of one state: compiled once, run afresh in every call.
struct Modules {
    sources: Arc<BTreeMap<String, Arc<str>>>,
    prelude: Rc<Prelude>,
    chunks: RefCell<HashMap<String, Function>>,
    /// `require` of each folder.
    requires: RefCell<HashMap<String, Function>>,
    /// What `require` returned in this call, by path; `None` while a module is loading.
    loaded: RefCell<HashMap<String, Option<LuaValue>>>,
}

/// One worker's Lua state. `lua` comes first so that it is dropped first: the functions the
/// other fields hold then let go of nothing inside a closed state.
struct State {
    lua: Lua,
    host: u64,
    prelude: Rc<Prelude>,
    modules: Rc<Modules>,
    /// `ctx`, read-only.
    ctx: Table,
    /// `asset:read` and `asset:write` of the asset, `existing:read` of the target's asset.
    read: Function,
    read_existing: Function,
    write: Function,
    log: Rc<RefCell<Vec<String>>>,
    budget: Rc<Budget>,
    call: Rc<RefCell<Call>>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// The folder part of a shown path (`scripts/x.lua` → `scripts`).
fn folder_of(shown: &str) -> &str {
    shown.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Which hook a call runs.
enum Hook<'a> {
    Rename,
    /// With the name payload files may not take (the document's own, where the layout puts
    /// payloads beside it).
    Transform(Option<&'static str>),
    OnConflict(Option<&'a Asset>),
}

impl Hook<'_> {
    fn name(&self) -> &'static str {
        match self {
            Hook::Rename => "rename",
            Hook::Transform(_) => "transform",
            Hook::OnConflict(_) => "on_conflict",
        }
    }
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
        let out = self.call(script, Hook::Rename, asset, |_, _, v| match v {
            LuaValue::Nil => Ok(None),
            LuaValue::String(s) => match s.to_str() {
                Ok(text) => Ok(Some(text.to_string())),
                Err(_) => Err(HookError::new(
                    HookFailure::BadReturn,
                    "rename returned a name that is not UTF-8",
                )),
            },
            other => Err(HookError::new(
                HookFailure::BadReturn,
                format!(
                    "rename must return the new name as a string (or nil), not {}",
                    a_type(other.type_name())
                ),
            )),
        })?;
        Ok(Outcome {
            value: out.value.flatten(),
            logs: out.logs,
        })
    }

    /// Runs `transform(asset, ctx)`: the asset as changed, or `None` when the script drops it.
    /// Without a `transform` function the asset comes back unchanged.
    pub fn transform(
        &self,
        script: &str,
        asset: Asset,
    ) -> Result<Outcome<Option<Asset>>, HookError> {
        self.transform_beside(script, asset, None)
    }

    /// [`HookHost::transform`], where payload files may not take the name `reserved`: the
    /// asset's document's own, in a layout that puts payloads beside it (its platform says
    /// which).
    pub fn transform_beside(
        &self,
        script: &str,
        asset: Asset,
        reserved: Option<&'static str>,
    ) -> Result<Outcome<Option<Asset>>, HookError> {
        let before = &asset;
        let limit = self.budget.memory;
        let out = self.call(script, Hook::Transform(reserved), before, |st, lua, v| {
            let back = asset_back(lua, v, before, limit, &st.prelude)?;
            let written = st.call.borrow_mut().writes.take();
            Ok(back.map(|b| (b, written)))
        })?;
        let value = match out.value {
            None => Some(asset),
            Some(None) => None,
            Some(Some(((labels, meta), written))) => {
                let mut changed = asset;
                if labels != changed.labels {
                    changed.labels = labels;
                    changed.mark_edited();
                }
                if let Some(meta) = meta {
                    // `changes` gives a document only when it differs from the one read.
                    *changed.meta_mut() = meta;
                }
                for (file, bytes) in written.map(|w| w.files).unwrap_or_default() {
                    changed.files.insert(file, Payload::Bytes(Arc::new(bytes)));
                }
                Some(changed)
            }
        };
        Ok(Outcome {
            value,
            logs: out.logs,
        })
    }

    /// Runs `on_conflict(asset, existing, ctx)`.
    pub fn on_conflict(
        &self,
        script: &str,
        asset: &Asset,
        existing: Option<&Asset>,
    ) -> Result<Outcome<ConflictChoice>, HookError> {
        let out = self.call(script, Hook::OnConflict(existing), asset, |_, _, v| {
            choice(v)
        })?;
        match out.value {
            Some(c) => Ok(Outcome {
                value: c,
                logs: out.logs,
            }),
            None => Err(HookError::new(
                HookFailure::Missing,
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

    /// Runs `hook` of `script` on this thread's state, within the budgets; `back` reads what
    /// it returned (raw, without running script code). `None` when the script does not
    /// define the hook.
    fn call<R>(
        &self,
        script: &str,
        hook: Hook<'_>,
        asset: &Asset,
        back: impl FnOnce(&State, &Lua, LuaValue) -> Result<R, HookError>,
    ) -> Result<Outcome<Option<R>>, HookError> {
        STATE.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().is_none_or(|s| s.host != self.id) {
                *slot = None;
                *slot = Some(
                    self.new_state()
                        .map_err(|e| HookError::new(HookFailure::Error, clean(&e.to_string())))?,
                );
            }
            let st = slot.as_mut().expect("just made");
            st.begin(asset, &hook);
            let what = format!("{script} ({}) on {}", hook.name(), asset.key);
            let guard = self.watchdog.watch(what);
            let result = self.run(st, script, &hook, asset);
            let fault = st.call.borrow_mut().fault.take();
            let spent = st.budget.spent.borrow_mut().take();
            // A spent budget leaves its hook behind and a memory or stack error a heap near
            // the cap: the state goes. An ordinary script error leaves nothing (the call's
            // environment was its own and no finalizer exists), so the state stays; rebuilding
            // it costs about seven failing calls.
            let broken = spent.is_some()
                || result
                    .as_ref()
                    .is_err_and(|e| self.lua_error(e).kind != HookFailure::Error);
            let outcome = match (fault, spent, result) {
                (Some(f), _, _) => Err(f),
                (None, Some(why), _) => Err(HookError::new(HookFailure::Budget, why)),
                (None, None, Err(e)) => Err(self.lua_error(&e)),
                (None, None, Ok(None)) => Ok(None),
                (None, None, Ok(Some(v))) => back(st, &st.lua, v).map(Some),
            };
            let logs: Vec<String> = st
                .log
                .borrow_mut()
                .drain(..)
                .map(|l| self.mask(&l))
                .collect();
            if broken {
                // Whatever the error left behind goes with the state, inside the guard.
                *slot = None;
            }
            drop(guard);
            match outcome {
                Ok(value) => Ok(Outcome { value, logs }),
                Err(e) => Err(HookError {
                    message: shorten(&self.mask(&e.message)),
                    ..e
                }),
            }
        })
    }

    /// Runs the script's chunk afresh, then the hook, under the memory cap. `None` when the
    /// script does not define the hook.
    fn run(
        &self,
        st: &State,
        script: &str,
        hook: &Hook<'_>,
        asset: &Asset,
    ) -> mlua::Result<Option<LuaValue>> {
        let lua = &st.lua;
        let value = capped(lua, || st.modules.run(lua, script, true))?;
        let LuaValue::Table(module) = value else {
            return Err(mlua::Error::runtime(format!(
                "{script} must return a table of hook functions (rename, transform, on_conflict), not {}",
                a_type(value.type_name())
            )));
        };
        let LuaValue::Function(f) = module.raw_get::<LuaValue>(hook.name())? else {
            return Ok(None);
        };
        let mut args = MultiValue::new();
        args.push_back(LuaValue::Table(asset_table(st, asset, &st.read, true)?));
        if let Hook::OnConflict(existing) = hook {
            args.push_back(match existing {
                Some(e) => LuaValue::Table(asset_table(st, e, &st.read_existing, false)?),
                None => LuaValue::Nil,
            });
        }
        args.push_back(LuaValue::Table(st.ctx.clone()));
        capped(lua, || st.prelude.invoke(&f, args)).map(Some)
    }

    /// A Lua error as the asset's failure. The kind comes from the error's type (a memory
    /// error is mlua's `MemoryError`; a spent instruction budget is told by the budget's own
    /// flag, see `call`), except a stack overflow, which Lua reports only as a runtime error
    /// whose message says so.
    fn lua_error(&self, e: &mlua::Error) -> HookError {
        let text = clean(&e.to_string());
        match root(e) {
            mlua::Error::MemoryError(_) => HookError::new(
                HookFailure::Memory,
                format!(
                    "ran out of its memory budget ({} MiB): {}",
                    self.budget.memory >> 20,
                    self.mask(&text)
                ),
            ),
            mlua::Error::StackError => HookError::new(HookFailure::Stack, self.mask(&text)),
            mlua::Error::RuntimeError(m) if m.contains("stack overflow") => {
                HookError::new(HookFailure::Stack, self.mask(&text))
            }
            _ => HookError::new(HookFailure::Error, self.mask(&text)),
        }
    }

    fn new_state(&self) -> mlua::Result<State> {
        let lua = sandbox::new_state()?;
        CAP.with(|c| c.set(self.budget.memory));
        let log: Rc<RefCell<Vec<String>>> = Rc::default();
        let lines = Rc::clone(&log);
        let emit = lua.create_function(move |_, line: LuaString| {
            let mut l = lines.borrow_mut();
            if l.len() < MAX_LOG_LINES {
                let bytes = line.as_bytes();
                let head = &bytes[..bytes.len().min(MAX_LOG_CHARS * 4)];
                l.push(
                    String::from_utf8_lossy(head)
                        .chars()
                        .take(MAX_LOG_CHARS)
                        .collect(),
                );
            }
            Ok(())
        })?;
        let refuse =
            lua.create_function(|lua, (t, key): (Table, LuaValue)| -> mlua::Result<()> {
                let name = t
                    .metatable()
                    .and_then(|mt| mt.raw_get::<Option<String>>("__name").ok().flatten())
                    .unwrap_or_else(|| "the table".into());
                let what = match key {
                    LuaValue::Nil => "its metatable".to_string(),
                    LuaValue::String(k) => format!("{name}.{}", k.to_string_lossy()),
                    LuaValue::Integer(i) => format!("{name}[{i}]"),
                    other => format!("a {} key of {name}", other.type_name()),
                };
                Err(script_error(
                    lua,
                    format!("{name} is read-only: a hook cannot change {what}"),
                ))
            })?;
        // The marker of JSON arrays (the prelude locks its metatable).
        let array_mt = lua.create_table()?;
        array_mt.raw_set("__name", "json.array")?;
        lua.set_named_registry_value(convert::ARRAY_MT, &array_mt)?;
        let prelude = Rc::new(sandbox::prelude(&lua, emit, refuse, array_mt)?);

        let budget = Rc::new(Budget {
            limit: self.budget.instructions,
            used: Cell::new(0),
            spent: RefCell::new(None),
        });
        let b = Rc::clone(&budget);
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(CHECK_EVERY),
            move |lua, debug| {
                b.used.set(b.used.get() + u64::from(CHECK_EVERY));
                // Only the instruction count stops a call here: it is the same on every
                // machine, so whether an asset fails never depends on timing. The watchdog
                // handles the wall clock by ending the whole run, which writes nothing.
                if b.used.get() <= b.limit {
                    return Ok(VmState::Continue);
                }
                let why = format!("instruction budget of {} instructions exceeded", b.limit);
                let src = debug
                    .source()
                    .short_src
                    .map(|s| s.into_owned())
                    .unwrap_or_default();
                let place = debug
                    .current_line()
                    .map(|l| format!("{src}:{l}: "))
                    .unwrap_or_default();
                let message = format!("{place}{why}");
                if b.spent.borrow().is_none() {
                    *b.spent.borrow_mut() = Some(message.clone());
                    // From now on every instruction stops: code that catches the error, and
                    // any `__close` or message handler the error runs, cannot go on.
                    let again = message.clone();
                    let _ = lua
                        .set_hook(HookTriggers::new().every_nth_instruction(1), move |_, _| {
                            Err(mlua::Error::runtime(again.clone()))
                        });
                }
                Err(mlua::Error::runtime(message))
            },
        )?;

        let call: Rc<RefCell<Call>> = Rc::default();
        let limit = self.budget.memory;
        let read = read_function(&lua, Rc::clone(&call), false, limit)?;
        let read_existing = read_function(&lua, Rc::clone(&call), true, limit)?;
        let c = Rc::clone(&call);
        let write = lua.create_function(
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
        )?;
        let modules = Rc::new(Modules {
            sources: Arc::clone(&self.sources),
            prelude: Rc::clone(&prelude),
            chunks: RefCell::default(),
            requires: RefCell::default(),
            loaded: RefCell::default(),
        });
        let ctx = self.ctx_table(&lua, &prelude)?;
        Ok(State {
            lua,
            host: self.id,
            prelude,
            modules,
            ctx,
            read,
            read_existing,
            write,
            log,
            budget,
            call,
        })
    }

    /// `ctx`, built once per state and read-only: a script cannot change what another script,
    /// or its own next call, sees.
    fn ctx_table(&self, lua: &Lua, prelude: &Rc<Prelude>) -> mlua::Result<Table> {
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
                let value = convert::from_lua(lua, &v, None, &mut meter)?;
                Ok(serde_json::to_string(&value).expect("JSON values serialise"))
            })?,
        )?;
        json.raw_set(
            "decode",
            lua.create_function(|lua, text: LuaString| convert::decode(lua, &text.as_bytes()))?,
        )?;
        json.raw_set("null", LuaValue::NULL)?;
        json.raw_set("array", prelude.array.clone())?;
        ctx.raw_set("json", json)?;
        prelude.readonly(ctx, "ctx")
    }
}

impl State {
    /// Resets what the previous call left: counts, logs, modules, the asset's files.
    fn begin(&mut self, asset: &Asset, hook: &Hook<'_>) {
        self.budget.used.set(0);
        *self.budget.spent.borrow_mut() = None;
        self.log.borrow_mut().clear();
        self.modules.loaded.borrow_mut().clear();
        let mut call = self.call.borrow_mut();
        call.files = asset.files.clone();
        call.existing = match hook {
            Hook::OnConflict(Some(e)) => e.files.clone(),
            _ => BTreeMap::new(),
        };
        call.transform = matches!(hook, Hook::Transform(_));
        call.reserved = match hook {
            Hook::Transform(reserved) => *reserved,
            _ => None,
        };
        call.writes = None;
        call.fault = None;
    }
}

impl Modules {
    /// The compiled chunk of a script or module, compiled once per state.
    fn chunk(&self, lua: &Lua, shown: &str) -> mlua::Result<Function> {
        if let Some(f) = self.chunks.borrow().get(shown) {
            return Ok(f.clone());
        }
        let source = self
            .sources
            .get(shown)
            .ok_or_else(|| mlua::Error::runtime(format!("{shown} was not read")))?;
        let f = lua
            .load(format!("{}{source}", sandbox::ENV_PREFIX))
            .set_name(format!("@{shown}"))
            .set_mode(ChunkMode::Text)
            .into_function()?;
        // The chunk's own `_ENV` upvalue (the state's globals) is shadowed by the local the
        // prefix declares; it is emptied all the same.
        f.set_environment(lua.create_table()?)?;
        self.chunks
            .borrow_mut()
            .insert(shown.to_string(), f.clone());
        Ok(f)
    }

    /// Runs a script or module in a fresh environment and returns what it returns. `first`:
    /// the script a call starts with.
    fn run(self: &Rc<Self>, lua: &Lua, shown: &str, first: bool) -> mlua::Result<LuaValue> {
        let chunk = self.chunk(lua, shown)?;
        let require = self.require_of(lua, folder_of(shown))?;
        if first {
            self.loaded.borrow_mut().insert(shown.to_string(), None);
        }
        self.prelude.run(&chunk, require, first)
    }

    /// `require` for scripts in `folder`: modules in that folder only, each run once per call.
    fn require_of(self: &Rc<Self>, lua: &Lua, folder: &str) -> mlua::Result<Function> {
        if let Some(f) = self.requires.borrow().get(folder) {
            return Ok(f.clone());
        }
        let modules = Rc::clone(self);
        let dir = folder.to_string();
        let f = lua.create_function(move |lua, name: String| {
            let valid = !name.is_empty()
                && name.split('.').all(|seg| {
                    !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            if !valid {
                return Err(script_error(
                    lua,
                    format!("require {name:?}: module names are words separated by dots (lib.util), inside the script's folder"),
                ));
            }
            let rel = format!("{}.lua", name.replace('.', "/"));
            let path = if dir.is_empty() { rel } else { format!("{dir}/{rel}") };
            match modules.loaded.borrow().get(&path) {
                Some(Some(v)) => return Ok(v.clone()),
                Some(None) => {
                    return Err(script_error(
                        lua,
                        format!("require {name:?}: {path} is still loading (modules that require each other)"),
                    ));
                }
                None => {}
            }
            if !modules.sources.contains_key(&path) {
                return Err(script_error(
                    lua,
                    format!("require {name:?}: no module {path}; scripts may require only Lua files in their own folder"),
                ));
            }
            modules.loaded.borrow_mut().insert(path.clone(), None);
            let v = modules.run(lua, &path, false)?;
            let v = if v.is_nil() { LuaValue::Boolean(true) } else { v };
            modules
                .loaded
                .borrow_mut()
                .insert(path, Some(v.clone()));
            Ok(v)
        })?;
        self.requires
            .borrow_mut()
            .insert(folder.to_string(), f.clone());
        Ok(f)
    }
}

/// `asset:read(file)`: the asset's payload file (as written so far in this call, if it was),
/// or with `existing`, the target asset's.
fn read_function(
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

/// The `asset` table a hook receives: a fresh table per call, its methods shared.
fn asset_table(st: &State, asset: &Asset, read: &Function, writable: bool) -> mlua::Result<Table> {
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
    t.raw_set("meta", convert::to_lua(lua, asset.meta())?)?;
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
fn asset_back(
    lua: &Lua,
    v: LuaValue,
    before: &Asset,
    limit: usize,
    prelude: &Prelude,
) -> Result<Option<(BTreeMap<String, String>, Option<Value>)>, HookError> {
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
    let mut labels = BTreeMap::new();
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
    let meta = convert::changes(lua, &meta, before.meta(), &mut meter).map_err(|e| match e {
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

fn choice(v: LuaValue) -> Result<ConflictChoice, HookError> {
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

/// An error raised from Rust on behalf of a script, placed at the line of the nearest script
/// on the stack (not the sandbox's own Lua, not a C function).
fn script_error(lua: &Lua, message: String) -> mlua::Error {
    let place = (1..6).find_map(|level| {
        lua.inspect_stack(level, |d| {
            let source = d.source();
            if !source.source.as_deref().is_some_and(|s| s.starts_with('@')) {
                return None;
            }
            let src = source.short_src.map(|s| s.into_owned())?;
            let line = d.current_line()?;
            Some(format!("{src}:{line}: "))
        })
        .flatten()
    });
    mlua::Error::runtime(format!("{}{message}", place.unwrap_or_default()))
}

/// The error under the callback errors that wrap it.
fn root(e: &mlua::Error) -> &mlua::Error {
    match e {
        mlua::Error::CallbackError { cause, .. } => root(cause),
        e => e,
    }
}

/// At most [`MAX_MESSAGE_CHARS`] characters of a message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
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
