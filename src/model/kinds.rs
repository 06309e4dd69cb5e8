//! What hoist knows about each kind: which fields reference other assets, and where the
//! document repeats the asset's own name.
//!
//! Kinds are an open set. A kind not listed here has no references and is carried through
//! untouched.

/// One reference field of a kind: the value at `pointer` names an asset of kind `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefDecl {
    /// JSON pointer into the asset's document; `*` stands for every element of an array.
    pub pointer: &'static str,
    /// Kind of the asset named there.
    pub target: &'static str,
    /// Whether the named asset owns this one (an API belongs to its group, a group to its
    /// app), so that taking the owner with its dependencies takes this asset too.
    pub owner: bool,
}

/// The rules of one known kind.
#[derive(Debug, Clone, Copy)]
pub struct KindRules {
    /// The kind's name as written in specs and layouts.
    pub name: &'static str,
    /// Fields that name other assets.
    pub refs: &'static [RefDecl],
    /// Field of the document that repeats the asset's name, kept in step on rename.
    pub name_field: Option<&'static str>,
    /// What the kind is, for `hoist schema` and error hints.
    pub about: &'static str,
    /// Whether its assets have versions (`master`, 1, 2, …), as enebular's do.
    pub versioned: bool,
}

const fn r(pointer: &'static str, target: &'static str) -> RefDecl {
    RefDecl {
        pointer,
        target,
        owner: false,
    }
}

const fn owned_by(pointer: &'static str, target: &'static str) -> RefDecl {
    RefDecl {
        pointer,
        target,
        owner: true,
    }
}

/// Every known kind, sorted by name.
pub const KNOWN: &[KindRules] = &[
    KindRules {
        name: "api",
        refs: &[
            owned_by("/group", "api_group"),
            r("/authorizer", "authorizer"),
            r("/backend", "backend"),
        ],
        name_field: Some("/name"),
        about: "an API of an API group",
        versioned: false,
    },
    KindRules {
        name: "api_group",
        refs: &[owned_by("/app", "app")],
        name_field: Some("/name"),
        about: "a group of APIs, owned by an app",
        versioned: false,
    },
    KindRules {
        name: "app",
        refs: &[],
        name_field: Some("/name"),
        about: "an integration application",
        versioned: false,
    },
    KindRules {
        name: "authorizer",
        refs: &[],
        name_field: Some("/name"),
        about: "a custom authorizer (names are unique per instance)",
        versioned: false,
    },
    KindRules {
        name: "backend",
        refs: &[],
        name_field: Some("/name"),
        about: "an API backend (function, HTTP or mock)",
        versioned: false,
    },
    KindRules {
        name: "config",
        refs: &[],
        name_field: None,
        about: "a KIE configuration item",
        versioned: false,
    },
    KindRules {
        name: "data_source",
        refs: &[],
        name_field: Some("/name"),
        about: "a data source of data integration",
        versioned: false,
    },
    KindRules {
        name: "env_variable",
        refs: &[
            r("/environment", "environment"),
            owned_by("/group", "api_group"),
        ],
        name_field: Some("/name"),
        about: "an environment variable of an API group",
        versioned: false,
    },
    KindRules {
        name: "environment",
        refs: &[],
        name_field: Some("/name"),
        about: "an API publishing environment",
        versioned: false,
    },
    KindRules {
        name: "file",
        refs: &[],
        name_field: None,
        about: "an enebular uploaded file",
        versioned: true,
    },
    KindRules {
        name: "flow",
        refs: &[],
        name_field: None,
        about: "an enebular flow",
        versioned: true,
    },
    KindRules {
        name: "privatenode",
        refs: &[],
        name_field: None,
        about: "an enebular private node",
        versioned: true,
    },
    KindRules {
        name: "task",
        refs: &[
            r("/source/datasource", "data_source"),
            r("/target/datasource", "data_source"),
        ],
        name_field: Some("/name"),
        about: "a data integration task",
        versioned: false,
    },
];

/// The rules of `kind`, if hoist knows it.
pub fn rules(kind: &str) -> Option<&'static KindRules> {
    KNOWN
        .binary_search_by(|k| k.name.cmp(kind))
        .ok()
        .map(|i| &KNOWN[i])
}

/// JSON pointers of a kind's document that hold its identity or name another asset: the
/// name field, every reference, and for KIE items the key and the labels.
pub fn identity_pointers(kind: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    if kind == "config" {
        out.extend(["/key", "/labels"]);
    }
    if let Some(r) = rules(kind) {
        out.extend(r.name_field);
        out.extend(r.refs.iter().map(|d| d.pointer));
    }
    out
}

/// Whether setting the value at pointer `a` can change the value at pointer `b` or the other
/// way round: one is the other or lies inside it (`*` stands for any one step).
pub fn pointers_overlap(a: &str, b: &str) -> bool {
    let steps = |p: &str| -> Vec<String> { p.split('/').skip(1).map(str::to_string).collect() };
    let (a, b) = (steps(a), steps(b));
    a.iter()
        .zip(&b)
        .all(|(x, y)| x == y || x == "*" || y == "*")
}

/// The names of every known kind, sorted.
pub fn known_names() -> impl Iterator<Item = &'static str> {
    KNOWN.iter().map(|k| k.name)
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
    fn known_kinds_are_sorted_and_valid() {
        assert!(KNOWN.windows(2).all(|w| w[0].name < w[1].name));
        for k in KNOWN {
            assert!(is_valid_kind(k.name), "{}", k.name);
            for r in k.refs {
                assert!(rules(r.target).is_some(), "{} → {}", k.name, r.target);
            }
        }
        assert_eq!(rules("api").unwrap().refs.len(), 3);
        assert!(rules("nope").is_none());
        assert!(!is_valid_kind("Api") && !is_valid_kind("1x") && !is_valid_kind(""));
        assert_eq!(identity_pointers("config"), ["/key", "/labels"]);
        assert_eq!(identity_pointers("api")[0], "/name");
        assert!(identity_pointers("api").contains(&"/backend"));
        assert!(identity_pointers("declared_kind").is_empty());
        assert!(pointers_overlap("/labels/env", "/labels"));
        assert!(pointers_overlap("/source", "/source/datasource"));
        assert!(pointers_overlap("/items/3/ref", "/items/*/ref"));
        assert!(!pointers_overlap("/config/password", "/name"));
        assert!(!pointers_overlap("/source/host", "/source/datasource"));
    }
}
