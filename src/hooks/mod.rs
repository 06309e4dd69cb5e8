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

mod api;
pub mod convert;
pub mod sandbox;
mod sources;
mod state;
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
use api::asset::{asset_back, asset_table, choice};
use convert::Meter;
use sandbox::Prelude;
use sources::folder_of;
pub use sources::{read_sources, script_path, source_digests};
use state::{Call, STATE, State};
pub use watchdog::Watchdog;
use writes::WriteSet;

/// Instructions between two budget checks: checking on every one would double the cost of
/// tight loops.
const CHECK_EVERY: u32 = 10_000;
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
    /// What a transform changed in the document, field by field (empty for other hooks).
    pub edits: Vec<crate::diff::Change>,
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
    pub secrets: crate::secrets::Secrets,
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

/// Which hook a call runs.
pub(crate) enum Hook<'a> {
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
        HookHost::from_sources(read_sources(base, scripts)?, scripts, budget, ctx)
    }

    /// A host for `scripts` whose text (and every module they may `require`) was read
    /// already ([`read_sources`]): making it reads nothing from disk.
    pub fn from_sources(
        sources: BTreeMap<String, Arc<str>>,
        scripts: &[String],
        budget: LuaBudget,
        ctx: Context,
    ) -> Result<HookHost, (String, String)> {
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
            edits: Vec::new(),
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
        let mut edits = Vec::new();
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
                    edits = crate::diff::json(&changed.meta(), &meta);
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
            edits,
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
                edits: Vec::new(),
            }),
            None => Err(HookError::new(
                HookFailure::Missing,
                format!("{script} has no on_conflict function"),
            )),
        }
    }

    fn mask(&self, text: &str) -> String {
        self.ctx.secrets.mask(text).into_owned()
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
            st.begin(asset, &hook)
                .map_err(|e| HookError::new(HookFailure::Error, clean(&e.to_string())))?;
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
                Ok(value) => Ok(Outcome {
                    value,
                    logs,
                    edits: Vec::new(),
                }),
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
        // Masked before anything is trimmed or cut, so no part of a secret is left over.
        let text = clean(&self.mask(&e.to_string()));
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
    // The cap counts what this call allocates, on top of what the state holds when it
    // starts (compiled scripts, other teams' too; garbage of earlier calls), and nothing is
    // collected while script code runs: so whether a call runs out of memory depends on the
    // call alone, never on what ran before it on this worker.
    lua.gc_stop();
    lua.set_memory_limit(lua.used_memory().saturating_add(cap))?;
    CAP.with(|c| c.set(usize::MAX));
    let result = run();
    CAP.with(|c| c.set(cap));
    lua.set_memory_limit(0)?;
    lua.gc_restart();
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

#[cfg(test)]
mod tests;
