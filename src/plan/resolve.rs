//! Resolve: compare each asset with the target (and the packages before it) by kind and name,
//! apply the conflict policy, and prove that no reference dangles.

use std::collections::BTreeMap;

use super::platform::{Ctx, TargetChecks};
use super::select::Names;
use super::transform::{Item, Moves, check_name, rewrite_refs, sync_name_field};
use super::{Action, Note, RenameStep};
use crate::digest::Digest;
use crate::hooks::ConflictChoice;
use crate::spec::{Policy, RenameStrategy};

/// The items of one package, as resolution sees them.
pub(super) struct Work<'a> {
    pub shown: &'a str,
    pub platform: &'static dyn super::Platform,
    pub items: &'a mut Vec<Item>,
}

/// A name for `base` that `taken` does not hold.
pub(super) fn generate(
    strategy: &RenameStrategy,
    seed: &str,
    kind: &str,
    base: &str,
    taken: &dyn Fn(&str, &str) -> bool,
) -> String {
    match strategy {
        RenameStrategy::Counter { separator } => (1u64..)
            .map(|n| format!("{base}{separator}{n}"))
            .find(|c| !taken(kind, c))
            .expect("some counter is free"),
        RenameStrategy::Random {
            length,
            alphabet,
            separator,
        } => (0u64..)
            .map(|attempt| {
                let d = Digest::of(format!("{seed}\0{kind}\0{base}\0{attempt}").as_bytes());
                let chars: String = (0..*length)
                    .map(|i| alphabet[d.0[i % 32] as usize % alphabet.len()])
                    .collect();
                format!("{base}{separator}{chars}")
            })
            .find(|c| !taken(kind, c))
            .expect("some suffix is free"),
    }
}

/// A platform's checks against the target, for one run.
type Checks<'a> = Box<dyn TargetChecks + 'a>;

/// Resolves every package in order. Returns the reason to abort, if a policy says so, and
/// the warnings of the platform checks.
pub(super) fn resolve(
    ctx: &Ctx<'_>,
    work: &mut [Work<'_>],
    existing: &mut Names,
) -> (Option<Note>, Vec<Note>) {
    let mut first = None;
    // Checks against the target, one set per platform in the run, each shown every package
    // it will check before the first.
    let mut checks: Vec<(&'static dyn super::Platform, Option<Checks<'_>>)> = Vec::new();
    for w in work.iter() {
        if !checks
            .iter()
            .any(|(p, _)| std::ptr::addr_eq(*p, w.platform))
        {
            let mut made = w.platform.target_checks(ctx);
            if let Some(c) = &mut made {
                let of_platform: Vec<&[Item]> = work
                    .iter()
                    .filter(|o| std::ptr::addr_eq(o.platform, w.platform))
                    .map(|o| o.items.as_slice())
                    .collect();
                c.prepare(&of_platform);
            }
            checks.push((w.platform, made));
        }
    }
    let mut warnings = Vec::new();
    for w in work.iter_mut() {
        let at = checks
            .iter()
            .position(|(p, _)| std::ptr::addr_eq(*p, w.platform))
            .expect("made above for every platform");
        let abort = resolve_package(ctx, w, existing, checks[at].1.as_deref_mut(), &mut warnings);
        first = first.or(abort);
    }
    for (_, c) in checks {
        if let Some(c) = c {
            warnings.extend(c.finish());
        }
    }
    (first, warnings)
}

/// How a conflict of one kind and name is decided: the policy, the name a conflict hook
/// chose, and what decided it (for messages).
struct Decision {
    policy: Policy,
    chosen_name: Option<String>,
    decided_by: String,
}

/// Decides the conflict of the items `idxs` (one kind and name): the spec's rule, else the
/// platform's import rule, else the default, and a conflict hook's answer. `None` when the
/// hook failed; the items then fail.
fn decide(
    ctx: &Ctx<'_>,
    platform: &dyn super::Platform,
    items: &mut [Item],
    idxs: &[usize],
    kind: &str,
    name: &str,
) -> Option<Decision> {
    let (spec, hooks, target) = (ctx.spec, ctx.hooks, ctx.target);
    let source_name = items[idxs[0]].source_key.name.clone();
    let mut policy = spec
        .explicit_policy(kind, &source_name)
        .or_else(|| platform.import_policy(spec, kind, ctx.override_data_sources))
        .unwrap_or_else(|| spec.conflicts.default.clone());
    let mut chosen_name = None;
    let mut decided_by = if spec.conflicts.kinds.contains_key(kind) {
        format!("conflicts.{kind}")
    } else {
        platform
            .policy_source(spec, kind)
            .unwrap_or_else(|| "conflicts".into())
    };
    if let Policy::Hook(path) = &policy {
        let script = path.to_string_lossy().into_owned();
        let host = hooks.expect("a host exists when a spec names scripts");
        let existing_asset = target.get(&(kind.to_string(), name.to_string())).copied();
        match host.on_conflict(&script, &items[idxs[0]].asset, existing_asset) {
            Ok(out) => {
                items[idxs[0]]
                    .logs
                    .extend(out.logs.into_iter().map(|l| (script.clone(), l)));
                policy = match out.value {
                    ConflictChoice::Skip => Policy::Skip,
                    ConflictChoice::Overwrite => Policy::Overwrite,
                    ConflictChoice::Fail => Policy::Fail,
                    ConflictChoice::Abort => Policy::Abort,
                    ConflictChoice::Rename(strategy) => Policy::Rename(strategy),
                    ConflictChoice::Name(n) => {
                        chosen_name = Some(n);
                        Policy::Rename(RenameStrategy::Counter {
                            separator: "_".into(),
                        })
                    }
                };
                decided_by = format!("{script} on_conflict");
            }
            Err(e) => {
                for &i in idxs {
                    items[i].fail(Note::new(
                        e.code(),
                        crate::hooks::stage_message("on_conflict", &script, &e.message),
                    ));
                }
                return None;
            }
        }
    }
    Some(Decision {
        policy,
        chosen_name,
        decided_by,
    })
}

/// The items of one kind and name in a package.
struct Group<'a> {
    kind: &'a str,
    name: &'a str,
    idxs: &'a [usize],
    /// Whether names are folder or file names in the package's layout.
    names_are_paths: bool,
}

/// Renames a conflicting group under a rename policy: the name a hook chose, or one
/// generated free of `taken`. The new name, or `None` when the items fail (the chosen name is
/// taken, or the generated one is not a valid name).
fn rename_group(
    spec: &crate::spec::Spec,
    items: &mut [Item],
    g: &Group<'_>,
    strategy: RenameStrategy,
    chosen_name: Option<String>,
    decided_by: &str,
    taken: &dyn Fn(&str, &str) -> bool,
) -> Option<String> {
    let (kind, name, idxs) = (g.kind, g.name, g.idxs);
    let chosen = chosen_name.is_some();
    let how = if chosen {
        "chose the name"
    } else {
        Policy::Rename(strategy.clone()).word()
    };
    let new = match chosen_name {
        Some(n) if taken(kind, &n) => {
            for &i in idxs {
                items[i].fail(Note::new(
                    "conflict.name_taken",
                    format!("{decided_by} chose the name {n:?}, which is taken"),
                ));
            }
            return None;
        }
        Some(n) => n,
        None => generate(&strategy, &spec.seed, kind, name, taken),
    };
    // Where names are not paths (enebular titles) any name but an empty one is a name.
    let checked = if g.names_are_paths || new.is_empty() {
        check_name(&new)
    } else {
        Ok(())
    };
    if let Err(m) = checked {
        for &i in idxs {
            items[i].fail(Note::new(
                "rename.invalid_name",
                format!(
                    "the {} name {new:?} {m}",
                    if chosen { "chosen" } else { "generated" }
                ),
            ));
        }
        return None;
    }
    let by = format!("{decided_by}: {how}");
    for &i in idxs {
        let it = &mut items[i];
        it.renames.push(RenameStep {
            from: name.to_string(),
            to: new.clone(),
            by: by.clone(),
        });
        sync_name_field(&spec.kinds, &mut it.asset, name, &new);
        it.asset.park(&spec.kinds);
        it.asset.key.name = new.clone();
        it.action = Some(Action::Create);
    }
    Some(new)
}

/// The items that take part in conflicts, grouped by kind and name: failed assets, and
/// assets a hook dropped, take none.
fn groups_of(items: &[Item]) -> BTreeMap<(String, String), Vec<usize>> {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, it) in items.iter().enumerate() {
        if !it.failed() && it.dropped.is_none() {
            groups
                .entry((it.asset.key.kind.clone(), it.asset.key.name.clone()))
                .or_default()
                .push(i);
        }
    }
    groups
}

/// After a package's conflicts: references follow the renames and the platform checks the
/// package (in [`resolve_package`]), then the target checks, every reference must resolve,
/// and what the package writes joins what exists.
fn finish_package(
    kinds: &crate::model::kinds::Kinds,
    items: &mut [Item],
    shown: &str,
    existing: &mut Names,
    checks: Option<&mut (dyn TargetChecks + '_)>,
) {
    if let Some(checks) = checks {
        checks.package(items);
    }
    check_references(kinds, items, existing);
    for it in items
        .iter()
        .filter(|it| matches!(it.action, Some(Action::Create | Action::Overwrite)))
    {
        existing.add(&it.asset.key.kind, &it.asset.key.name);
    }
    for it in items.iter_mut() {
        if let Some(e) = &mut it.error
            && e.package.is_none()
        {
            e.package = Some(shown.to_string());
        }
    }
}

fn resolve_package(
    ctx: &Ctx<'_>,
    w: &mut Work<'_>,
    existing: &mut Names,
    checks: Option<&mut (dyn TargetChecks + '_)>,
    warnings: &mut Vec<Note>,
) -> Option<Note> {
    let spec = ctx.spec;
    let items = &mut *w.items;
    w.platform.refuse(spec, items);
    let groups = groups_of(items);
    let mut abort = None;
    // Names this package takes, on top of what exists: kept apart so nothing large is copied,
    // and the group keys borrowed, not copied again (this runs on one thread, for every
    // package in turn). New names a rename takes are few.
    let grouped = NameSet::of(groups.keys().map(|(k, n)| (k.as_str(), n.as_str())));
    let mut renamed = Names::default();
    let mut moved = Moves::new();
    for ((kind, name), idxs) in &groups {
        if !existing.has(kind, name) {
            for &i in idxs {
                items[i].action = Some(Action::Create);
            }
            continue;
        }
        if let Some(note) = w.platform.forced_conflict(kind, name) {
            for &i in idxs {
                items[i].fail(note.clone());
            }
            continue;
        }
        let Some(Decision {
            policy,
            mut chosen_name,
            decided_by,
        }) = decide(ctx, w.platform, items, idxs, kind, name)
        else {
            continue;
        };
        match policy {
            Policy::Skip => idxs
                .iter()
                .for_each(|&i| items[i].action = Some(Action::Skip)),
            Policy::Overwrite => idxs
                .iter()
                .for_each(|&i| items[i].action = Some(Action::Overwrite)),
            Policy::Fail => {
                for &i in idxs {
                    items[i].fail(
                        Note::new(
                            "conflict.exists",
                            format!("already exists in the target and {decided_by} says fail"),
                        )
                        .hint(format!(
                            "choose skip, overwrite or rename for {kind} under conflicts:"
                        )),
                    );
                }
            }
            Policy::Abort => {
                let note = Note::new(
                    "conflict.abort",
                    format!(
                        "already exists in the target and {decided_by} says abort: nothing is written"
                    ),
                );
                for &i in idxs {
                    items[i].fail(note.clone());
                }
                if abort.is_none() {
                    abort = Some(note.asset(&items[idxs[0]].source_key).package(w.shown));
                }
            }
            Policy::Rename(strategy) => {
                let taken =
                    |k: &str, n: &str| existing.has(k, n) || grouped.has(k, n) || renamed.has(k, n);
                let group = Group {
                    kind,
                    name,
                    idxs,
                    names_are_paths: w.platform.names_are_paths(),
                };
                if let Some(new) = rename_group(
                    spec,
                    items,
                    &group,
                    strategy,
                    chosen_name.take(),
                    &decided_by,
                    &taken,
                ) {
                    renamed.add(kind, &new);
                    moved
                        .entry(kind.clone())
                        .or_default()
                        .insert(name.clone(), new);
                }
            }
            Policy::Hook(path) => {
                // A hook's answer is always one of the policies above.
                for &i in idxs {
                    items[i].fail(Note::new(
                        "hook.bad_return",
                        format!("{} did not decide", path.display()),
                    ));
                }
            }
        }
    }
    if !moved.is_empty() {
        for it in items.iter_mut().filter(|it| !it.failed()) {
            let more = rewrite_refs(&spec.kinds, &mut it.asset, &moved);
            it.references.extend(more);
            it.asset.park(&spec.kinds);
        }
    }
    w.platform.after_resolve(spec, items, w.shown, warnings);
    finish_package(&spec.kinds, items, w.shown, existing, checks);
    abort
}

/// Fails every written asset whose references do not resolve, until none is left: a
/// reference must name an asset written here, or one the target (or an earlier package)
/// holds. References already unresolved before any transform were warned about at
/// selection and stay warnings.
fn check_references(kinds: &crate::model::kinds::Kinds, items: &mut [Item], existing: &Names) {
    loop {
        // What the package writes and what fails, borrowed from the items while the pass
        // looks (nothing is copied); the failures it finds are marked after it.
        let failures: Vec<(usize, Note)> = {
            let mut outputs = NameSet::default();
            let mut failed = NameSet::default();
            // A failed item's action is `Fail` (`Item::fail`).
            for it in items.iter() {
                let key = (it.asset.key.kind.as_str(), it.asset.key.name.as_str());
                match it.action {
                    Some(Action::Create | Action::Overwrite) => outputs.add(key),
                    Some(Action::Fail) => failed.add(key),
                    _ => {}
                }
            }
            items
                .iter()
                .enumerate()
                .filter(|(_, it)| matches!(it.action, Some(Action::Create | Action::Overwrite)))
                .filter_map(|(i, it)| {
                    unresolved_reference(kinds, it, existing, &outputs, &failed).map(|n| (i, n))
                })
                .collect()
        };
        if failures.is_empty() {
            return;
        }
        for (i, note) in failures {
            items[i].fail(note);
        }
    }
}

/// Why the written item `it` fails for its references, if it does: the first reference that
/// names neither an asset the package writes (`outputs`), nor one that exists, nor one that
/// is always there, and that was not already unresolved at selection.
fn unresolved_reference(
    kinds: &crate::model::kinds::Kinds,
    it: &Item,
    existing: &Names,
    outputs: &NameSet<'_>,
    failed: &NameSet<'_>,
) -> Option<Note> {
    // Most documents resolve every reference: check that without copying anything.
    let unresolved = it.asset.any_reference(kinds, |kind, name| {
        name.is_none_or(|n| {
            !(outputs.has(kind, n) || existing.has(kind, n) || kinds.always_there(kind, n))
        })
    });
    if !unresolved {
        return None;
    }
    let refs = match it.asset.references(kinds) {
        Ok(r) => r,
        Err(m) => return Some(Note::new("asset.bad_reference", m)),
    };
    for r in refs {
        if outputs.has(&r.kind, &r.name)
            || existing.has(&r.kind, &r.name)
            || kinds.always_there(&r.kind, &r.name)
        {
            continue;
        }
        // Unresolved already at selection (and warned about then), with the same
        // name at the same place: a reference a rename rewrote held another name
        // there at selection, so it is never taken for one of these.
        if it
            .unresolved
            .contains(&(r.pointer.to_string(), r.kind.to_string(), r.name.clone()))
        {
            continue;
        }
        return Some(if failed.has(&r.kind, &r.name) {
            Note::new(
                "ref.failed_dependency",
                format!("{} names {}/{}, which fails", r.pointer, r.kind, r.name),
            )
            .hint("fix the failing asset first; its error is listed too")
        } else {
            Note::new("ref.dangling", format!("{} names {}/{}, which does not exist after the transform", r.pointer, r.kind, r.name))
                .hint("a rename, override or hook broke this reference; every reference must name an asset of the output or the target")
        });
    }
    None
}

/// Kinds and names borrowed from the items of one package: looked up only, never iterated,
/// so no hash order reaches an output.
#[derive(Default)]
struct NameSet<'a>(std::collections::HashSet<(&'a str, &'a str), foldhash::quality::RandomState>);

impl<'a> NameSet<'a> {
    fn of(keys: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut set = NameSet::default();
        set.0.extend(keys);
        set
    }

    fn add(&mut self, key: (&'a str, &'a str)) {
        self.0.insert(key);
    }

    fn has(&self, kind: &str, name: &str) -> bool {
        self.0.contains(&(kind, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_repeatable_and_free() {
        let mut taken = Names::default();
        taken.add("flow", "a_1");
        let counter = RenameStrategy::Counter {
            separator: "_".into(),
        };
        assert_eq!(
            generate(&counter, "s", "flow", "a", &|k: &str, n: &str| taken
                .has(k, n)),
            "a_2"
        );
        let random = RenameStrategy::Random {
            length: 6,
            alphabet: "abc123".chars().collect(),
            separator: "-".into(),
        };
        let one = generate(
            &random,
            "seed",
            "authorizer",
            "auth",
            &|k: &str, n: &str| taken.has(k, n),
        );
        assert_eq!(
            one,
            generate(
                &random,
                "seed",
                "authorizer",
                "auth",
                &|k: &str, n: &str| taken.has(k, n)
            )
        );
        assert_ne!(
            one,
            generate(
                &random,
                "other",
                "authorizer",
                "auth",
                &|k: &str, n: &str| taken.has(k, n)
            )
        );
        assert_eq!(one.len(), "auth-".len() + 6);
        taken.add("authorizer", &one);
        assert_ne!(
            generate(
                &random,
                "seed",
                "authorizer",
                "auth",
                &|k: &str, n: &str| taken.has(k, n)
            ),
            one
        );
    }
}
