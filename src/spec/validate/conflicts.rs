//! `conflicts:` policies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::{DEFAULT_ALPHABET, POLICIES, V};
use crate::spec::raw::{self, RawPolicy};
use crate::spec::{Conflicts, Policy, RenameStrategy};
use crate::yaml::de::{Spanned, did_you_mean};

impl V {
    pub(super) fn policy(&mut self, p: &Spanned<RawPolicy>) -> Option<Policy> {
        match &p.value {
            RawPolicy::Word(w) => match w.as_str() {
                "skip" => Some(Policy::Skip),
                "overwrite" => Some(Policy::Overwrite),
                "fail" => Some(Policy::Fail),
                "abort" => Some(Policy::Abort),
                "rename" => Some(Policy::Rename(RenameStrategy::Counter {
                    separator: "_".into(),
                })),
                other => {
                    let help = did_you_mean(other, POLICIES.iter().copied())
                        .or_else(|| Some(format!("expected one of: {}", POLICIES.join(", "))));
                    self.error_help(
                        p.span,
                        "spec.unknown_policy",
                        format!("unknown policy `{other}`"),
                        help,
                    );
                    None
                }
            },
            RawPolicy::Table(t) => match (&t.rename, &t.hook) {
                (Some(_), Some(h)) => {
                    self.error(
                        h.span,
                        "spec.conflicting",
                        "a policy is either `rename` or `hook`, not both",
                    );
                    None
                }
                (None, None) => {
                    self.error(
                        p.span,
                        "spec.missing",
                        "a policy table needs `rename: counter|random` or `hook: script.lua`",
                    );
                    None
                }
                (None, Some(h)) => Some(Policy::Hook(PathBuf::from(&h.value))),
                (Some(r), None) => self.strategy(r, t).map(Policy::Rename),
            },
        }
    }
    pub(super) fn strategy(
        &mut self,
        r: &Spanned<String>,
        t: &raw::RawPolicyTable,
    ) -> Option<RenameStrategy> {
        let separator = |dflt: &str, me: &mut V| {
            let Some(s) = &t.separator else {
                return dflt.to_string();
            };
            if s.value
                .chars()
                .any(|c| c == '/' || c == '\\' || c.is_control())
            {
                me.error(
                    s.span,
                    "spec.bad_name",
                    "a separator may not contain '/', '\\' or control characters",
                );
            }
            s.value.clone()
        };
        match r.value.as_str() {
            "counter" => {
                for (field, set) in [
                    ("length", t.length.as_ref().map(|x| x.span)),
                    ("alphabet", t.alphabet.as_ref().map(|x| x.span)),
                ] {
                    if let Some(span) = set {
                        self.error(
                            span,
                            "spec.conflicting",
                            format!("`{field}` applies to `rename: random` only"),
                        );
                    }
                }
                Some(RenameStrategy::Counter {
                    separator: separator("_", self),
                })
            }
            "random" => {
                let length = match &t.length {
                    Some(l) if !(1..=32).contains(&l.value) => {
                        self.error(
                            l.span,
                            "spec.out_of_range",
                            "length must be between 1 and 32",
                        );
                        6
                    }
                    Some(l) => l.value as usize,
                    None => 6,
                };
                let alphabet: Vec<char> = match &t.alphabet {
                    Some(a) => {
                        let chars: Vec<char> = a.value.chars().collect();
                        let unique: BTreeSet<char> = chars.iter().copied().collect();
                        if chars.len() < 2 || unique.len() != chars.len() {
                            self.error(
                                a.span,
                                "spec.bad_alphabet",
                                "the alphabet needs at least two characters, none repeated",
                            );
                        } else if chars
                            .iter()
                            .any(|c| !(c.is_alphanumeric() || *c == '-' || *c == '_'))
                        {
                            self.error(
                                a.span,
                                "spec.bad_alphabet",
                                "the alphabet may hold letters, digits, '-' and '_' only",
                            );
                        }
                        chars
                    }
                    None => DEFAULT_ALPHABET.chars().collect(),
                };
                Some(RenameStrategy::Random {
                    length,
                    alphabet,
                    separator: separator("-", self),
                })
            }
            other => {
                self.error_help(
                    r.span,
                    "spec.unknown_policy",
                    format!("unknown rename strategy `{other}`"),
                    did_you_mean(other, ["counter", "random"])
                        .or_else(|| Some("use counter or random".into())),
                );
                None
            }
        }
    }
    pub(super) fn conflicts(&mut self, raw: Option<raw::RawConflicts>) -> Conflicts {
        let mut out = Conflicts {
            default: Policy::Fail,
            kinds: BTreeMap::new(),
            by_name: Vec::new(),
            default_span: None,
            written: Vec::new(),
        };
        let Some(raw) = raw else { return out };
        for (key, p) in &raw.policies {
            let policy = self.policy(p);
            let at = p.span;
            if key.value == "default" {
                out.default_span = Some(at);
                if let Some(p) = policy {
                    out.written.push((None, p.clone(), at));
                    out.default = p;
                }
            } else if self.kinds.contains(&key.value) {
                if let Some(p) = policy {
                    out.written
                        .push((Some(BTreeSet::from([key.value.clone()])), p.clone(), at));
                    out.kinds.insert(key.value.clone(), p);
                }
            } else {
                let words = self
                    .kinds
                    .iter()
                    .map(String::as_str)
                    .chain(["default", "by_name"]);
                let help = did_you_mean(&key.value, words)
                    .or_else(|| Some("expected `default`, `by_name` or a kind".into()));
                self.error_help(
                    key.span,
                    "spec.unknown_kind",
                    format!("unknown kind `{}`", key.value),
                    help,
                );
            }
        }
        for rule in &raw.by_name {
            let r = &rule.value;
            let kinds = self.kinds_of(&r.kind);
            if r.names.is_none() {
                self.error(rule.span, "spec.missing", "a `by_name` rule needs `names`");
            }
            let names = self.names(&r.names);
            match &r.policy {
                Some(p) => {
                    if let Some(policy) = self.policy(p) {
                        out.written.push((kinds.clone(), policy.clone(), p.span));
                        out.by_name.push((kinds, names, policy));
                    }
                }
                None => self.error(rule.span, "spec.missing", "a `by_name` rule needs `policy`"),
            }
        }
        out
    }
}
