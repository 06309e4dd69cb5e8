//! The checks a ROMA-style instance makes before it imports a package (hoist layout):
//! data-source ids must not collide unless the import overwrites, a function backend's
//! function version or alias must exist in the target, and two APIs may not share group,
//! method and path. Failing assets are failed here, so what uses them fails too.

// Lookups only: no map here is ever iterated, so hashing cannot reach an output.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;

use crate::model::{Asset, pointer};
use crate::plan::platform::Ctx;
use crate::plan::platform::TargetChecks;
use crate::plan::transform::Item;
use crate::plan::{Action, Note};

/// Group, method (upper case), path and match mode of an API.
type ApiPath = (String, String, String, MatchMode);

/// An asset's name as the tables hold it: one copy shared by the table of what is held and
/// the table of what each name holds.
type Name = Arc<str>;

/// How an API's path matches a request (`match_mode`): `NORMAL`, the exact path, or `SWA`,
/// every path that starts with it. An API is created with exact matching unless it says
/// otherwise (roma-docs-contents-and-service-integration.txt, "Step 3: Create an API", Table
/// 5: Matching, exact match or prefix match). An exact and a prefix API may share a path:
/// the exact one answers that path and the prefix one the paths below it, so only APIs of
/// the same mode clash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum MatchMode {
    Exact,
    Prefix,
}

impl MatchMode {
    fn of(match_mode: Option<&str>) -> MatchMode {
        match match_mode {
            Some("SWA") => MatchMode::Prefix,
            _ => MatchMode::Exact,
        }
    }

    fn word(self) -> &'static str {
        match self {
            MatchMode::Exact => "exact match",
            MatchMode::Prefix => "prefix match",
        }
    }
}

/// A function of the target: its versions and aliases.
#[derive(Default)]
struct Function {
    versions: BTreeSet<String>,
    aliases: BTreeSet<String>,
}

/// The checks' tables, looked up for every API and data source written, in order on one
/// thread: hashed with foldhash, several times faster than the standard SipHash on these
/// short keys. Membership only, never iterated, so no hash order reaches an output; each table
/// is seeded at random, so keys a package chose cannot be made to collide.
type Map<K, V> = HashMap<K, V, foldhash::quality::RandomState>;

/// What the target holds, updated with every package's outputs in order.
pub struct State {
    /// API paths in use, with the API that holds each and where it is.
    paths: Map<Arc<ApiPath>, (Name, &'static str)>,
    /// The path each API holds, by name.
    path_of: Map<Name, Arc<ApiPath>>,
    /// Data-source ids in use, with the data source that holds each and where it is.
    ids: Map<Arc<str>, (Name, &'static str)>,
    /// The id each data source holds, by name.
    id_of: Map<Name, Arc<str>>,
    /// The target's functions by URN; `None` when the target lists none.
    functions: Option<BTreeMap<String, Function>>,
    has_target: bool,
    unchecked: usize,
    warnings: Vec<Note>,
    /// What was read ahead (`prepare`) from each item of the packages still to check, with
    /// the text it was read from.
    ahead: std::collections::VecDeque<Vec<Option<Ahead>>>,
}

/// Facts read from a document's text before its package's turn.
type Ahead = (std::sync::Arc<[u8]>, Facts);

fn text(v: &Value, ptr: &str) -> Option<String> {
    match pointer::get(v, ptr)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A top-level field as text (a number as written), read without parsing the rest.
fn field(a: &Asset, name: &str) -> Option<String> {
    fields(a, &[name]).pop().flatten()
}

fn fields(a: &Asset, names: &[&str]) -> Vec<Option<String>> {
    a.top_fields(names)
        .into_iter()
        .map(|v| match v? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

fn api_path(a: &Asset) -> Option<ApiPath> {
    let mut f = fields(a, &["group", "req_method", "req_uri", "match_mode"]).into_iter();
    let (group, method, uri, mode) = (f.next()??, f.next()??, f.next()??, f.next()?);
    Some((
        group,
        method.to_ascii_uppercase(),
        uri,
        MatchMode::of(mode.as_deref()),
    ))
}

fn strings(v: &Value, ptr: &str) -> BTreeSet<String> {
    match pointer::get(v, ptr) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// Frees what the asset `name` held in `held` (found through `of`).
fn free<K: Eq + std::hash::Hash>(
    held: &mut Map<K, (Name, &'static str)>,
    of: &mut Map<Name, K>,
    name: &str,
) {
    if let Some(k) = of.remove(name)
        && held.get(&k).is_some_and(|(holder, _)| &**holder == name)
    {
        held.remove(&k);
    }
}

/// What the checks read from one asset's document.
#[derive(Clone)]
enum Facts {
    /// An API's group, method, path and match mode, when it has all of them.
    Api(Option<ApiPath>),
    /// A data source's id, when it has one.
    DataSource(Option<String>),
    /// A backend whose type is `function`.
    FunctionBackend,
    /// Nothing to check.
    None,
}

impl Facts {
    /// Whether these facts can be those of a `kind` asset (read ahead, they are reused only
    /// for the same text of the same kind).
    fn fits(&self, kind: &str) -> bool {
        matches!(
            (self, kind),
            (Facts::Api(_), "api")
                | (Facts::DataSource(_), "data_source")
                | (Facts::FunctionBackend | Facts::None, "backend")
        )
    }

    fn of(a: &Asset) -> Facts {
        match a.key.kind.as_str() {
            "api" => Facts::Api(api_path(a)),
            "data_source" => Facts::DataSource(field(a, "id")),
            "backend"
                if field(a, "backend_type").is_some_and(|t| t.eq_ignore_ascii_case("function")) =>
            {
                Facts::FunctionBackend
            }
            _ => Facts::None,
        }
    }
}

fn writes(it: &Item) -> bool {
    !it.failed() && matches!(it.action, Some(Action::Create | Action::Overwrite))
}

impl State {
    /// The target's paths, ids and functions, before any package.
    pub fn new(ctx: &Ctx<'_>) -> State {
        let mut paths = Map::default();
        let mut path_of = Map::default();
        let mut ids = Map::default();
        let mut id_of = Map::default();
        let mut functions: Option<BTreeMap<String, Function>> = None;
        // The target's paths and ids are read on every thread, and recorded in order.
        let facts: Vec<Facts> = ctx
            .target
            .par_iter()
            .map(|((kind, _), asset)| match kind.as_str() {
                "api" | "data_source" => Facts::of(asset),
                _ => Facts::None,
            })
            .collect();
        for (((kind, name), asset), facts) in ctx.target.iter().zip(facts) {
            match (kind.as_str(), facts) {
                (_, Facts::Api(Some(p))) => {
                    let (name, p): (Name, _) = (Arc::from(name.as_str()), Arc::new(p));
                    path_of.insert(Arc::clone(&name), Arc::clone(&p));
                    paths.entry(p).or_insert((name, "the target"));
                }
                (_, Facts::DataSource(Some(id))) => {
                    let (name, id): (Name, Arc<str>) = (Arc::from(name.as_str()), Arc::from(id));
                    id_of.insert(Arc::clone(&name), Arc::clone(&id));
                    ids.entry(id).or_insert((name, "the target"));
                }
                ("function", _) => {
                    let m = asset.meta();
                    let m: &Value = &m;
                    let urn = text(m, "/urn").unwrap_or_else(|| name.clone());
                    functions.get_or_insert_default().insert(
                        urn,
                        Function {
                            versions: strings(m, "/versions"),
                            aliases: strings(m, "/aliases"),
                        },
                    );
                }
                _ => {}
            }
        }
        State {
            paths,
            path_of,
            ids,
            id_of,
            functions,
            has_target: ctx.has_target,
            unchecked: 0,
            warnings: Vec::new(),
            ahead: Default::default(),
        }
    }

    /// Checks the assets one package writes, in order, and records them.
    pub fn check(&mut self, items: &mut [Item]) {
        // An API written under a name replaces the API of that name: its old path is free.
        // So is the id of a data source overwritten by name.
        for it in items.iter().filter(|it| writes(it)) {
            let name = &it.asset.key.name;
            match it.asset.key.kind.as_str() {
                "api" => free(&mut self.paths, &mut self.path_of, name),
                "data_source" if it.action == Some(Action::Overwrite) => {
                    free(&mut self.ids, &mut self.id_of, name)
                }
                _ => {}
            }
        }
        // What each check reads was read from the documents in parallel before the first
        // package (`prepare`), and is read again only from a document resolution changed
        // since (renamed, or a reference rewritten); the checks, which depend on the assets
        // before, run in order.
        let mut ahead = self.ahead.pop_front().unwrap_or_default();
        if ahead.len() != items.len() {
            ahead.clear();
            ahead.resize_with(items.len(), || None);
        }
        // What was read ahead stays true of a document that still holds the text it was read
        // from; the others (resolution changed them) are read again.
        for (it, read) in items.iter().zip(ahead.iter_mut()) {
            let fresh = read.as_ref().is_some_and(|(text, facts)| {
                facts.fits(&it.asset.key.kind)
                    && it
                        .asset
                        .current_text()
                        .is_some_and(|now| std::sync::Arc::ptr_eq(now, text))
            });
            if !writes(it) || !fresh {
                *read = None;
            }
        }
        let stale: Vec<&Asset> = items
            .iter()
            .zip(&ahead)
            .filter(|(it, read)| writes(it) && read.is_none())
            .map(|(it, _)| &it.asset)
            .collect();
        // A few are read here: waking the other threads would cost more.
        let again: Vec<Facts> = if stale.len() < 64 {
            stale.into_iter().map(Facts::of).collect()
        } else {
            stale.into_par_iter().map(Facts::of).collect()
        };
        let mut again = again.into_iter();
        let facts: Vec<Facts> = items
            .iter()
            .zip(ahead)
            .map(|(it, read)| match read {
                _ if !writes(it) => Facts::None,
                Some((_, facts)) => facts,
                None => again.next().expect("read again above"),
            })
            .collect();
        for (it, facts) in items.iter_mut().zip(facts) {
            if !writes(it) {
                continue;
            }
            let failure = match facts {
                Facts::Api(Some(path)) => self.api(it, path),
                Facts::DataSource(Some(id)) => self.data_source(it, id),
                Facts::FunctionBackend => self.backend(it),
                Facts::Api(None) | Facts::DataSource(None) | Facts::None => None,
            };
            if let Some(note) = failure {
                it.fail(note);
            }
        }
    }

    /// Ends the run: the warning for function backends nobody could check.
    fn finish_run(&mut self) {
        if self.unchecked == 0 {
            return;
        }
        let why = if self.has_target {
            "the target lists no functions"
        } else {
            "no target is given"
        };
        self.warnings.push(
            Note::new(
                "roma.functions_unchecked",
                format!(
                    "{} function backend(s) not checked: {why}",
                    self.unchecked
                ),
            )
            .hint("export the target instance with its functions (kind function: urn, versions, aliases) as the target"),
        );
    }

    fn api(&mut self, it: &Item, key: ApiPath) -> Option<Note> {
        let name = it.asset.key.name.as_str();
        match self.paths.get(&key) {
            Some((holder, place)) if &**holder != name => Some(
                Note::new(
                    "roma.api_path",
                    format!(
                        "{} {} ({}) in group {} is already used by api {holder} in {place}",
                        key.1,
                        key.2,
                        key.3.word(),
                        key.0
                    ),
                )
                .hint("two APIs of one group may not share method, path and match mode: change req_uri, req_method or match_mode, or exclude one"),
            ),
            _ => {
                // The name and the path are shared by both tables, each made once.
                let (name, key): (Name, _) = (Arc::from(name), Arc::new(key));
                self.path_of.insert(Arc::clone(&name), Arc::clone(&key));
                self.paths.insert(key, (name, "this run"));
                None
            }
        }
    }

    fn data_source(&mut self, it: &Item, id: String) -> Option<Note> {
        let name = it.asset.key.name.as_str();
        match self.ids.get(id.as_str()) {
            Some((holder, place)) if &**holder != name || it.action != Some(Action::Overwrite) => {
                Some(
                    Note::new(
                        "roma.datasource_id",
                        format!("data source id {id} is already held by data_source {holder} in {place}"),
                    )
                    .hint("a colliding id needs overwrite: import it under the name it has there with roma: {mode: overwrite, override_data_sources: true}, or remove /id"),
                )
            }
            _ => {
                let (name, id): (Name, Arc<str>) = (Arc::from(name), Arc::from(id));
                self.id_of.insert(Arc::clone(&name), Arc::clone(&id));
                self.ids.insert(id, (name, "this run"));
                None
            }
        }
    }

    /// Checks a function backend against the target's functions.
    fn backend(&mut self, it: &Item) -> Option<Note> {
        let m = it.asset.meta();
        let m: &Value = &m;
        let Some(functions) = &self.functions else {
            self.unchecked += 1;
            return None;
        };
        let Some(urn) = text(m, "/function_urn") else {
            return Some(Note::new(
                "roma.function_missing",
                "a function backend needs /function_urn",
            ));
        };
        let Some(f) = functions.get(&urn) else {
            return Some(
                Note::new(
                    "roma.function_missing",
                    format!("function {urn} does not exist in the target"),
                )
                .hint(
                    "deploy the function to the target first, or point /function_urn at one it has",
                ),
            );
        };
        for (field, known, what) in [
            ("/version", &f.versions, "version"),
            ("/alias", &f.aliases, "alias"),
        ] {
            if let Some(v) = text(m, field)
                && !known.contains(&v)
            {
                let have = known.iter().cloned().collect::<Vec<_>>().join(", ");
                return Some(
                    Note::new(
                        "roma.function_version",
                        format!("function {urn} has no {what} {v} in the target"),
                    )
                    .hint(if have.is_empty() {
                        format!("the function has no {what} there")
                    } else {
                        format!("it has: {have}")
                    }),
                );
            }
        }
        None
    }
}

impl TargetChecks for State {
    fn prepare(&mut self, packages: &[&[Item]]) {
        // The tables grow by every API and data source of the run: made that large at once,
        // they are not rehashed as they grow, on the thread everything waits for.
        let count = |kind: &str| {
            packages
                .iter()
                .flat_map(|items| items.iter())
                .filter(|it| it.asset.key.kind == kind)
                .count()
        };
        let (apis, data_sources) = (count("api"), count("data_source"));
        self.paths.reserve(apis);
        self.path_of.reserve(apis);
        self.ids.reserve(data_sources);
        self.id_of.reserve(data_sources);
        self.ahead = packages
            .par_iter()
            .map(|items| {
                items
                    .par_iter()
                    .map(|it| {
                        let text = it.asset.current_text()?;
                        match it.asset.key.kind.as_str() {
                            "api" | "data_source" | "backend" => {
                                Some((std::sync::Arc::clone(text), Facts::of(&it.asset)))
                            }
                            _ => None,
                        }
                    })
                    .collect()
            })
            .collect();
    }

    fn package(&mut self, items: &mut [Item]) {
        self.check(items);
    }

    fn finish(mut self: Box<Self>) -> Vec<Note> {
        self.finish_run();
        std::mem::take(&mut self.warnings)
    }
}
