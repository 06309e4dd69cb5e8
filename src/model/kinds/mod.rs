//! What hoist knows about each kind: which fields reference other assets (and which of them
//! name the asset's owner), where the document repeats the asset's own name, whether its
//! assets have versions, and what the operator configures on the platform after importing it.
//!
//! The rules are data: one table per platform ([`roma::KINDS`], [`enebular::KINDS`],
//! [`kie::KINDS`]), and a spec may declare more kinds with the same fields (`kinds:`); a
//! [`Kinds`] registry holds them all, and renames, dependency closure, the reference check
//! and export closure read only the registry, so a declared kind works as a built-in one.
//! A kind in no table has no references and is carried through untouched.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Reference fields, as a `'static` slice a table can hold.
macro_rules! refs {
    ($($decl:expr),* $(,)?) => {{
        const REFS: &[$crate::model::kinds::RefDecl] = &[$($decl),*];
        REFS
    }};
}

pub mod enebular;
pub mod kie;
pub mod roma;

/// One reference field of a kind: the value at `pointer` names an asset of kind `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefDecl {
    /// JSON pointer into the asset's document; `*` stands for every element of an array.
    pub pointer: Cow<'static, str>,
    /// Kind of the asset named there.
    pub target: Cow<'static, str>,
    /// Whether the named asset owns this one (an API belongs to its group, a group to its
    /// app), so that taking the owner with its dependencies takes this asset too.
    pub owner: bool,
}

/// The rules of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindRules {
    /// The kind's name as written in specs and layouts.
    pub name: Cow<'static, str>,
    /// Fields that name other assets.
    pub refs: Cow<'static, [RefDecl]>,
    /// Field of the document that repeats the asset's name, kept in step on rename.
    pub name_field: Option<Cow<'static, str>>,
    /// What the kind is, for `hoist schema`, the kind table and error hints.
    pub about: Cow<'static, str>,
    /// Whether its assets have versions (`master`, 1, 2, …), as enebular's do.
    pub versioned: bool,
    /// Where the rules come from: a platform (`roma`, `enebular`, `kie`) or `spec`.
    pub platform: &'static str,
    /// What the operator configures on the platform after importing an asset of this kind,
    /// because the import does not carry it (instance data); `{name}` stands for the
    /// asset's name in the target.
    pub after_import: Option<&'static str>,
    /// Fields the platform's import does not carry over (JSON pointers): with the
    /// platform's import rules on, they are stripped, a warning each.
    pub unportable: &'static [&'static str],
}

/// A reference field (for the tables).
pub const fn r(pointer: &'static str, target: &'static str) -> RefDecl {
    RefDecl {
        pointer: Cow::Borrowed(pointer),
        target: Cow::Borrowed(target),
        owner: false,
    }
}

/// A reference field that names the asset's owner (for the tables).
pub const fn owned_by(pointer: &'static str, target: &'static str) -> RefDecl {
    RefDecl {
        pointer: Cow::Borrowed(pointer),
        target: Cow::Borrowed(target),
        owner: true,
    }
}

/// A built-in kind (for the tables).
pub const fn kind(
    platform: &'static str,
    name: &'static str,
    about: &'static str,
    refs: &'static [RefDecl],
    name_field: Option<&'static str>,
) -> KindRules {
    KindRules {
        name: Cow::Borrowed(name),
        refs: Cow::Borrowed(refs),
        name_field: match name_field {
            Some(f) => Some(Cow::Borrowed(f)),
            None => None,
        },
        about: Cow::Borrowed(about),
        versioned: false,
        platform,
        after_import: None,
        unportable: &[],
    }
}

impl KindRules {
    /// The same rules, with versions.
    pub const fn versioned(mut self) -> Self {
        self.versioned = true;
        self
    }

    /// The same rules, with a step after import (`{name}`: the asset's name).
    pub const fn after_import(mut self, step: &'static str) -> Self {
        self.after_import = Some(step);
        self
    }

    /// The same rules, with fields the import does not carry over.
    pub const fn unportable(mut self, fields: &'static [&'static str]) -> Self {
        self.unportable = fields;
        self
    }

    /// The step after importing the asset `name`, if the kind has one.
    pub fn after_import_step(&self, name: &str) -> Option<String> {
        self.after_import.map(|s| s.replace("{name}", name))
    }
}

/// Every kind a run knows: the platforms' tables, and what a spec declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kinds {
    by_name: BTreeMap<String, KindRules>,
}

static BUILTIN: LazyLock<Kinds> = LazyLock::new(|| {
    let mut by_name = BTreeMap::new();
    for k in roma::KINDS.iter().chain(enebular::KINDS).chain(kie::KINDS) {
        let old = by_name.insert(k.name.to_string(), k.clone());
        assert!(old.is_none(), "kind {} is in two tables", k.name);
    }
    Kinds { by_name }
});

impl Default for Kinds {
    fn default() -> Self {
        Kinds::builtin().clone()
    }
}

impl Kinds {
    /// The platforms' kinds.
    pub fn builtin() -> &'static Kinds {
        &BUILTIN
    }

    /// The platforms' kinds and `declared`. A declared kind may not take a built-in kind's
    /// name, and each reference must name a kind of the result.
    pub fn with_declared(declared: Vec<KindRules>) -> Result<Kinds, String> {
        let mut out = Kinds::builtin().clone();
        for k in &declared {
            if out.by_name.contains_key(k.name.as_ref()) {
                return Err(format!(
                    "{} is a built-in kind ({}); its rules cannot be declared again",
                    k.name,
                    out.by_name[k.name.as_ref()].platform
                ));
            }
            out.by_name.insert(k.name.to_string(), k.clone());
        }
        for k in &declared {
            for r in k.refs.iter() {
                if !out.by_name.contains_key(r.target.as_ref()) {
                    return Err(format!(
                        "{} references kind {}, which is neither built in nor declared",
                        k.name, r.target
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The rules of `kind`, if known.
    pub fn get(&self, kind: &str) -> Option<&KindRules> {
        self.by_name.get(kind)
    }

    /// Whether `kind` is known.
    pub fn contains(&self, kind: &str) -> bool {
        self.by_name.contains_key(kind)
    }

    /// Every kind, sorted by name.
    pub fn all(&self) -> impl Iterator<Item = &KindRules> {
        self.by_name.values()
    }

    /// The names of every kind, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// JSON pointers of a kind's document that hold its identity or name another asset: the
    /// name field, every reference, and for KIE items the key and the labels.
    pub fn identity_pointers(&self, kind: &str) -> Vec<&str> {
        let mut out = Vec::new();
        if kind == "config" {
            out.extend(["/key", "/labels"]);
        }
        if let Some(r) = self.get(kind) {
            out.extend(r.name_field.as_deref());
            out.extend(r.refs.iter().map(|d| d.pointer.as_ref()));
        }
        out
    }

    /// Whether the platform always has the asset `kind`/`name`, whatever a package or a
    /// snapshot holds (ROMA's `RELEASE` environment).
    pub fn always_there(&self, kind: &str, name: &str) -> bool {
        roma::ALWAYS_THERE.contains(&(kind, name))
            && self.get(kind).is_some_and(|k| k.platform == "roma")
    }
}

/// The built-in kinds as a Markdown table (docs/spec.md holds it; a test keeps them equal):
/// platform, kind, what it is, its name field, its references (`→ owner` for an owner) and
/// the step after import.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| platform | kind | what it is | name field | references | not carried by the import | after import (when created) |\n|---|---|---|---|---|---|---|\n",
    );
    let mut all: Vec<&KindRules> = Kinds::builtin().all().collect();
    all.sort_by(|a, b| (a.platform, &a.name).cmp(&(b.platform, &b.name)));
    for k in all {
        let refs: Vec<String> = k
            .refs
            .iter()
            .map(|r| {
                let owner = if r.owner { " (owner)" } else { "" };
                format!("`{}` → {}{owner}", r.pointer, r.target)
            })
            .collect();
        let cell = |s: &str| s.replace('|', "\\|");
        out.push_str(&format!(
            "| {} | `{}`{} | {} | {} | {} | {} | {} |\n",
            k.platform,
            k.name,
            if k.versioned { " (versioned)" } else { "" },
            cell(&k.about),
            k.name_field
                .as_deref()
                .map_or("—".to_string(), |f| format!("`{f}`")),
            if refs.is_empty() {
                "—".to_string()
            } else {
                cell(&refs.join(", "))
            },
            if k.unportable.is_empty() {
                "—".to_string()
            } else {
                k.unportable
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            k.after_import
                .map_or("—".to_string(), |s| cell(&s.replace("{name}", "NAME"))),
        ));
    }
    out
}

/// The rules of `kind` among the built-in kinds.
pub fn rules(kind: &str) -> Option<&'static KindRules> {
    Kinds::builtin().get(kind)
}

/// Whether setting the value at pointer `a` can change the value at pointer `b` or the other
/// way round: one is the other or lies inside it (`*` and an element selector `[F=V]` stand
/// for any one step).
pub fn pointers_overlap(a: &str, b: &str) -> bool {
    let steps = |p: &str| -> Vec<String> { p.split('/').skip(1).map(str::to_string).collect() };
    let (a, b) = (steps(a), steps(b));
    let any = |s: &str| s == "*" || super::pointer::selector(s).is_some();
    a.iter().zip(&b).all(|(x, y)| x == y || any(x) || any(y))
}

/// Whether `kind` is a well-formed kind name: lowercase ASCII letters, digits and `_`,
/// starting with a letter.
pub fn is_valid_kind(kind: &str) -> bool {
    let mut chars = kind.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && kind.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_kinds_are_valid_and_closed() {
        let all = Kinds::builtin();
        for k in all.all() {
            assert!(is_valid_kind(&k.name), "{}", k.name);
            for r in k.refs.iter() {
                assert!(all.contains(&r.target), "{} → {}", k.name, r.target);
            }
        }
        assert_eq!(rules("api").unwrap().refs.len(), 6);
        assert!(all.always_there("environment", "RELEASE"));
        assert!(!all.always_there("environment", "staging"));
        assert!(rules("nope").is_none());
        assert!(!is_valid_kind("Api") && !is_valid_kind("1x") && !is_valid_kind(""));
        assert_eq!(all.identity_pointers("config"), ["/key", "/labels"]);
        assert_eq!(all.identity_pointers("api")[0], "/name");
        assert!(all.identity_pointers("api").contains(&"/backend"));
        assert!(all.identity_pointers("declared_kind").is_empty());
        assert!(pointers_overlap("/labels/env", "/labels"));
        assert!(pointers_overlap("/source", "/source/datasource"));
        assert!(pointers_overlap("/items/3/ref", "/items/*/ref"));
        assert!(pointers_overlap("/items/[name=a]/ref", "/items/*/ref"));
        assert!(!pointers_overlap("/config/password", "/name"));
        assert!(!pointers_overlap("/source/host", "/source/datasource"));
    }
}
