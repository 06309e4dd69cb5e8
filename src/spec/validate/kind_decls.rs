//! `kinds:`: names the spec may use, and kinds declared with rules of their own.

use std::borrow::Cow;

use super::V;
use crate::model::kinds::{KindRules, Kinds, RefDecl, is_valid_kind};
use crate::spec::raw::{RawKind, RawKindTable};
use crate::yaml::de::Spanned;

impl V {
    /// Reads `kinds:`; the registry then holds every declared kind with its rules.
    pub(super) fn declared_kinds(&mut self, list: Option<&Vec<Spanned<RawKind>>>) {
        let mut tables: Vec<&RawKindTable> = Vec::new();
        for k in list.into_iter().flatten() {
            let name = match &k.value {
                RawKind::Name(n) => Spanned {
                    span: k.span,
                    value: n.clone(),
                },
                RawKind::Table(t) => t.name.clone(),
            };
            if !is_valid_kind(&name.value) {
                self.error(
                    name.span,
                    "spec.bad_name",
                    "kind names use lowercase letters, digits and '_', starting with a letter",
                );
                continue;
            }
            if let RawKind::Table(t) = &k.value {
                if let Some(built_in) = Kinds::builtin().get(&name.value) {
                    self.error_help(
                        name.span,
                        "spec.kind_builtin",
                        format!(
                            "{} is a built-in kind ({}); its rules cannot be declared again",
                            name.value, built_in.platform
                        ),
                        Some("list it by name only, or declare a kind of another name".into()),
                    );
                    continue;
                }
                if self.kinds.contains(&name.value)
                    && tables.iter().any(|d| d.name.value == name.value)
                {
                    self.error(
                        name.span,
                        "spec.duplicate_kind",
                        format!("kind {} is declared twice", name.value),
                    );
                    continue;
                }
                tables.push(t);
            }
            self.kinds.insert(name.value);
        }
        let mut declared = Vec::new();
        for t in tables {
            declared.push(self.kind_rules(t));
        }
        // Name-only kinds hoist does not know have rules too: none.
        for name in self.kinds.clone() {
            if !Kinds::builtin().contains(&name)
                && !declared.iter().any(|d: &KindRules| d.name == name)
            {
                declared.push(KindRules {
                    name: Cow::Owned(name),
                    refs: Cow::Owned(Vec::new()),
                    name_field: None,
                    about: Cow::Borrowed("a kind the spec names"),
                    versioned: false,
                    platform: "spec",
                    after_import: None,
                    unportable: &[],
                });
            }
        }
        // Every way this can fail was reported at its line above.
        if let Ok(k) = Kinds::with_declared(declared) {
            self.registry = k;
        }
    }

    fn kind_rules(&mut self, t: &RawKindTable) -> KindRules {
        let name_field = t
            .name_field
            .as_ref()
            .and_then(|p| self.pointer(p))
            .map(Cow::Owned);
        let mut refs = Vec::new();
        for r in t.references.iter().flatten() {
            // Both are checked, so that one run reports every mistake of the line.
            let pointer = self.pointer(&r.value.pointer);
            let target = self.kind(&r.value.kind);
            let (Some(pointer), Some(target)) = (pointer, target) else {
                continue;
            };
            refs.push(RefDecl {
                pointer: Cow::Owned(pointer),
                target: Cow::Owned(target),
                owner: r.value.owner.as_ref().is_some_and(|o| o.value),
            });
        }
        KindRules {
            name: Cow::Owned(t.name.value.clone()),
            refs: Cow::Owned(refs),
            name_field,
            about: Cow::Owned(
                t.about
                    .as_ref()
                    .map_or_else(|| "a kind the spec declares".into(), |a| a.value.clone()),
            ),
            versioned: false,
            platform: "spec",
            after_import: None,
            unportable: &[],
        }
    }
}
