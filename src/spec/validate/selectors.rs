//! Kinds, name patterns, versions, selectors and JSON pointers, as specs write them.

use std::collections::BTreeSet;

use super::V;
use crate::model::pointer;
use crate::spec::pattern::{Names, Pattern};
use crate::spec::raw::{self};
use crate::spec::{Selector, Versions};
use crate::yaml::de::{OneOrMany, Spanned, did_you_mean};

impl V {
    pub(super) fn kind(&mut self, k: &Spanned<String>) -> Option<String> {
        if self.kinds.contains(&k.value) {
            return Some(k.value.clone());
        }
        let help = did_you_mean(&k.value, self.kinds.iter().map(String::as_str))
            .or_else(|| Some("declare kinds hoist does not know under `kinds:`".into()));
        self.error_help(
            k.span,
            "spec.unknown_kind",
            format!("unknown kind `{}`", k.value),
            help,
        );
        None
    }
    pub(super) fn kinds_of(
        &mut self,
        list: &Option<OneOrMany<Spanned<String>>>,
    ) -> Option<BTreeSet<String>> {
        let list = list.as_ref()?;
        Some(list.0.iter().filter_map(|k| self.kind(k)).collect())
    }
    pub(super) fn names(&mut self, list: &Option<OneOrMany<Spanned<String>>>) -> Names {
        let mut out = Vec::new();
        for p in list.iter().flat_map(|l| &l.0) {
            match Pattern::parse_within(&p.value, &mut self.regexes) {
                Ok(pat) => out.push(pat),
                Err((code, msg)) => self.error(p.span, code, msg),
            }
        }
        Names(out)
    }
    pub(super) fn versions(&mut self, list: &Option<OneOrMany<Spanned<String>>>) -> Versions {
        let Some(list) = list else {
            return Versions::All;
        };
        let (mut master, mut latest, mut numbers, mut all) = (false, false, BTreeSet::new(), false);
        for v in &list.0 {
            match v.value.as_str() {
                "all" => all = true,
                "master" => master = true,
                "latest" => latest = true,
                t => match crate::model::Version::parse_folder(t) {
                    Some(crate::model::Version::Number(n)) => {
                        numbers.insert(n);
                    }
                    _ => self.error_help(
                        v.span,
                        "spec.bad_version",
                        format!("unknown version `{t}`"),
                        did_you_mean(t, ["master", "latest", "all"]).or_else(|| {
                            Some("use master, latest, all or a positive number".into())
                        }),
                    ),
                },
            }
        }
        if all {
            Versions::All
        } else {
            Versions::Some {
                master,
                latest,
                numbers,
                unversioned: false,
            }
        }
    }
    pub(super) fn selector(&mut self, r: &Spanned<raw::RawSelector>) -> Selector {
        let s = &r.value;
        Selector {
            kinds: self.kinds_of(&s.kind),
            names: self.names(&s.names),
            versions: self.versions(&s.versions),
            labels: s.labels.clone().unwrap_or_default(),
            with_dependencies: s.with_dependencies.unwrap_or(false),
            span: r.span,
        }
    }
    pub(super) fn pointer(&mut self, p: &Spanned<String>) -> Option<String> {
        match pointer::tokens(&p.value) {
            Ok(t) if t.iter().any(|t| crate::model::json::is_reserved(t)) => {
                self.error(
                    p.span,
                    "spec.bad_pointer",
                    format!(
                        "a pointer may not name a key beginning with {:?}: the JSON reader gives such keys a meaning of their own",
                        crate::model::json::RESERVED_PREFIX
                    ),
                );
                None
            }
            Ok(t) if !t.is_empty() => Some(p.value.clone()),
            Ok(_) => {
                self.error(
                    p.span,
                    "spec.bad_pointer",
                    "the empty pointer names the whole document; name a field like /remark",
                );
                None
            }
            Err(m) => {
                self.error(p.span, "spec.bad_pointer", m);
                None
            }
        }
    }
}
