//! One worker's Lua state: built once per thread and host, with the sandbox, the instruction
//! budget and the functions every call shares; reset at the start of every call.

use super::*;
use crate::hooks::api::asset::read_function;

/// The instruction budget of the call in progress.
pub(crate) struct Budget {
    pub(crate) limit: u64,
    pub(crate) used: Cell<u64>,
    /// Set when the budget ran out: the message, with the place it ran out.
    pub(crate) spent: RefCell<Option<String>>,
}

/// What the call in progress works on; reset at the start of every call.
#[derive(Default)]
pub(crate) struct Call {
    /// The asset's payload files.
    pub(crate) files: BTreeMap<String, Payload>,
    /// The payload files of the target's asset (`on_conflict`).
    pub(crate) existing: BTreeMap<String, Payload>,
    /// Whether the call is a transform, which may write files.
    pub(crate) transform: bool,
    /// The name written files may not take (see [`writes`]).
    pub(crate) reserved: Option<&'static str>,
    /// What the transform wrote, from its first write on.
    pub(crate) writes: Option<WriteSet>,
    /// The first thing that fails the asset whatever the script does next.
    pub(crate) fault: Option<HookError>,
}

/// Scripts and modules of one state: compiled once, run afresh in every call.
pub(crate) struct Modules {
    pub(crate) sources: Arc<BTreeMap<String, Arc<str>>>,
    pub(crate) prelude: Rc<Prelude>,
    pub(crate) chunks: RefCell<HashMap<String, Function>>,
    /// `require` of each folder.
    pub(crate) requires: RefCell<HashMap<String, Function>>,
    /// What `require` returned in this call, by path; `None` while a module is loading.
    pub(crate) loaded: RefCell<HashMap<String, Option<LuaValue>>>,
}

/// One worker's Lua state. `lua` comes first so that it is dropped first: the functions the
/// other fields hold then let go of nothing inside a closed state.
pub(crate) struct State {
    pub(crate) lua: Lua,
    pub(crate) host: u64,
    pub(crate) prelude: Rc<Prelude>,
    pub(crate) modules: Rc<Modules>,
    /// `ctx`, read-only.
    pub(crate) ctx: Table,
    /// `asset:read` and `asset:write` of the asset, `existing:read` of the target's asset.
    pub(crate) read: Function,
    pub(crate) read_existing: Function,
    pub(crate) write: Function,
    pub(crate) log: Rc<RefCell<Vec<String>>>,
    pub(crate) budget: Rc<Budget>,
    pub(crate) call: Rc<RefCell<Call>>,
}

thread_local! {
    pub(crate) static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

impl State {
    /// Resets what the previous call left: counts, logs, modules, the asset's files.
    pub(crate) fn begin(&mut self, asset: &Asset, hook: &Hook<'_>) -> mlua::Result<()> {
        self.budget.used.set(0);
        *self.budget.spent.borrow_mut() = None;
        arm(&self.lua, Rc::clone(&self.budget))?;
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
        Ok(())
    }
}

impl Modules {
    /// The compiled chunk of a script or module, compiled once per state.
    pub(crate) fn chunk(&self, lua: &Lua, shown: &str) -> mlua::Result<Function> {
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
    pub(crate) fn run(
        self: &Rc<Self>,
        lua: &Lua,
        shown: &str,
        first: bool,
    ) -> mlua::Result<LuaValue> {
        let chunk = self.chunk(lua, shown)?;
        let require = self.require_of(lua, folder_of(shown))?;
        if first {
            self.loaded.borrow_mut().insert(shown.to_string(), None);
        }
        self.prelude.run(&chunk, require, first)
    }

    /// `require` for scripts in `folder`: modules in that folder only, each run once per call.
    pub(crate) fn require_of(self: &Rc<Self>, lua: &Lua, folder: &str) -> mlua::Result<Function> {
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

impl HookHost {
    pub(crate) fn new_state(&self) -> mlua::Result<State> {
        let lua = sandbox::new_state()?;
        CAP.with(|c| c.set(self.budget.memory));
        let log: Rc<RefCell<Vec<String>>> = Rc::default();
        let emit = log_sink(&lua, Rc::clone(&log), Arc::clone(&self.ctx))?;
        let refuse = read_only_refusal(&lua)?;
        // The marker of JSON arrays (the prelude locks its metatable).
        let array_mt = lua.create_table()?;
        array_mt.raw_set("__name", "json.array")?;
        lua.set_named_registry_value(convert::ARRAY_MT, &array_mt)?;
        let prelude = Rc::new(sandbox::prelude(&lua, emit, refuse, array_mt)?);

        let budget = install_budget(&lua, self.budget.instructions)?;

        let call: Rc<RefCell<Call>> = Rc::default();
        let limit = self.budget.memory;
        let read = read_function(&lua, Rc::clone(&call), false, limit)?;
        let read_existing = read_function(&lua, Rc::clone(&call), true, limit)?;
        let write = crate::hooks::api::asset::write_function(&lua, Rc::clone(&call), limit)?;
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
}

/// The function `print` and `ctx.log` add lines with: at most [`MAX_LOG_LINES`] per call,
/// each cut to [`MAX_LOG_CHARS`] characters.
///
/// Each line is masked whole before it is cut, so a secret across the cut is masked too.
fn log_sink(
    lua: &Lua,
    lines: Rc<RefCell<Vec<String>>>,
    secrets: Arc<Context>,
) -> mlua::Result<Function> {
    lua.create_function(move |_, line: LuaString| {
        let mut l = lines.borrow_mut();
        if l.len() < MAX_LOG_LINES {
            let text = String::from_utf8_lossy(&line.as_bytes()).into_owned();
            let masked = secrets.secrets.mask(&text);
            l.push(masked.chars().take(MAX_LOG_CHARS).collect());
        }
        Ok(())
    })
}

/// The error every read-only table of the sandbox raises when a script writes to it.
fn read_only_refusal(lua: &Lua) -> mlua::Result<Function> {
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
    })
}

/// The instruction budget of every call on `lua`: an instruction-count hook that stops a call
/// once `limit` is spent, and from then on every instruction.
fn install_budget(lua: &Lua, limit: u64) -> mlua::Result<Rc<Budget>> {
    let budget = Rc::new(Budget {
        limit,
        used: Cell::new(0),
        spent: RefCell::new(None),
    });
    arm(lua, Rc::clone(&budget))?;
    Ok(budget)
}

/// Sets the instruction-count hook afresh: Lua counts towards the next check from here, so
/// every call's count starts at zero, whatever the call before it left of a period.
pub(crate) fn arm(lua: &Lua, b: Rc<Budget>) -> mlua::Result<()> {
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
                let _ = lua.set_hook(HookTriggers::new().every_nth_instruction(1), move |_, _| {
                    Err(mlua::Error::runtime(again.clone()))
                });
            }
            Err(mlua::Error::runtime(message))
        },
    )?;
    Ok(())
}
