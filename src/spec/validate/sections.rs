//! The top-level sections of a spec: shape, version, name and sources, output, strip, hooks, Lua budgets, on_error.

use std::collections::BTreeMap;
use std::path::Path;

use super::V;
use crate::archive::write::Format;
use crate::spec::raw::{self, RawSpec};
use crate::spec::{Diagnostic, HookRef, LuaBudget, OnError, Output};
use crate::yaml::de::{Spanned, did_you_mean};
use crate::yaml::{Node, Span};

impl V {
    /// The spec's shape and version, extra kinds, name, seed and sources.
    pub(super) fn header(
        &mut self,
        raw: &RawSpec,
        root: &Node,
        path: &Path,
    ) -> (String, String, Vec<(String, Span)>) {
        let top = Span {
            start: crate::yaml::Pos { line: 1, col: 1 },
            len: 1,
        };
        if !matches!(root.value, crate::yaml::Value::Map(_)) {
            self.error(
                root.span,
                "spec.type",
                "a spec is a mapping of fields such as `version:`, `sources:`, `select:`",
            );
        }
        match &raw.version {
            None => self.diags.push(Diagnostic::new(
                "spec.missing",
                Some(top),
                "missing `version: 1`",
            )),
            Some(ver) if ver.value != 1 => {
                self.error(
                    ver.span,
                    "spec.version",
                    format!(
                        "spec version {} is not supported; this hoist reads version 1",
                        ver.value
                    ),
                );
            }
            _ => {}
        }
        self.declared_kinds(raw.kinds.as_ref());
        let name = raw
            .name
            .as_ref()
            .map(|n| n.value.clone())
            .unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "spec".into())
            });
        let seed = raw
            .seed
            .as_ref()
            .map_or_else(|| name.clone(), |s| s.value.clone());
        let sources: Vec<(String, Span)> = match &raw.sources {
            Some(list) if !list.0.is_empty() => {
                list.0.iter().map(|s| (s.value.clone(), s.span)).collect()
            }
            Some(_) => {
                self.diags.push(Diagnostic::new(
                    "spec.missing",
                    Some(top),
                    "`sources` is empty: name at least one package",
                ));
                Vec::new()
            }
            None => {
                self.diags.push(Diagnostic::new(
                    "spec.missing",
                    Some(top),
                    "missing `sources:` (the packages to promote)",
                ));
                Vec::new()
            }
        };
        (name, seed, sources)
    }

    /// `output:`.
    pub(super) fn output(&mut self, o: Option<raw::RawOutput>) -> Output {
        let o = o.unwrap_or_default();
        let format = match o.format.as_ref().map(|f| f.value.as_str()) {
            None | Some("zip") => Format::Zip,
            Some("dir") => Format::Dir,
            Some(other) => {
                let f = o.format.as_ref().expect("matched Some");
                self.error_help(
                    f.span,
                    "spec.unknown_value",
                    format!("unknown output format `{other}`"),
                    did_you_mean(other, ["zip", "dir"]).or_else(|| Some("use zip or dir".into())),
                );
                Format::Zip
            }
        };
        Output {
            dir: o.dir.map_or_else(|| "out".to_string(), |d| d.value),
            format,
            merged: o.merged.unwrap_or(false),
        }
    }

    /// `strip:`.
    pub(super) fn strip(
        &mut self,
        raw: Option<&BTreeMap<Spanned<String>, Vec<Spanned<String>>>>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut strip = BTreeMap::new();
        for (kind, pointers) in raw.into_iter().flatten() {
            let ptrs: Vec<String> = pointers.iter().filter_map(|p| self.pointer(p)).collect();
            if let Some(k) = self.kind(kind) {
                strip.insert(k, ptrs);
            }
        }
        strip
    }

    /// `hooks:`.
    pub(super) fn hooks(&mut self, raw: Option<&Vec<Spanned<raw::RawHook>>>) -> Vec<HookRef> {
        let mut hooks = Vec::new();
        for h in raw.into_iter().flatten() {
            let kinds = self.kinds_of(&h.value.kinds);
            match &h.value.script {
                Some(s) => hooks.push(HookRef {
                    script: s.value.clone(),
                    kinds,
                    span: s.span,
                }),
                None => self.error(h.span, "spec.missing", "a hook needs `script:`"),
            }
        }
        hooks
    }

    /// `lua:`.
    pub(super) fn lua(&mut self, raw: Option<&raw::RawLua>) -> LuaBudget {
        let mut lua = LuaBudget::default();
        if let Some(l) = raw {
            for (field, val) in [
                ("memory_mib", &l.memory_mib),
                ("instructions_millions", &l.instructions_millions),
                ("timeout_ms", &l.timeout_ms),
            ] {
                if let Some(x) = val
                    && x.value == 0
                {
                    self.error(
                        x.span,
                        "spec.out_of_range",
                        format!("`{field}` must be at least 1"),
                    );
                }
            }
            if let Some(m) = &l.memory_mib {
                lua.memory = (m.value as usize) << 20;
            }
            if let Some(i) = &l.instructions_millions {
                lua.instructions = u64::from(i.value) * 1_000_000;
            }
            if let Some(t) = &l.timeout_ms {
                lua.timeout_ms = u64::from(t.value);
            }
        }
        lua
    }

    /// `on_error:`.
    /// `default_env:` must name one of the spec's environments.
    pub(super) fn default_env(
        &mut self,
        raw: Option<&Spanned<String>>,
        environments: &BTreeMap<String, crate::spec::Environment>,
    ) -> Option<String> {
        let name = raw?;
        if environments.contains_key(&name.value) {
            return Some(name.value.clone());
        }
        let names: Vec<&str> = environments.keys().map(String::as_str).collect();
        let help = if names.is_empty() {
            Some("define it under environments:, or remove default_env".into())
        } else {
            did_you_mean(&name.value, names.iter().copied())
                .or_else(|| Some(format!("the spec defines {}", names.join(", "))))
        };
        self.error_help(
            name.span,
            "spec.unknown_env",
            format!(
                "default_env `{}` is not an environment of this spec",
                name.value
            ),
            help,
        );
        None
    }

    pub(super) fn on_error(&mut self, raw: Option<&Spanned<String>>) -> OnError {
        match raw.map(|o| o.value.as_str()) {
            None | Some("continue") => OnError::Continue,
            Some("abort") => OnError::Abort,
            Some(other) => {
                let o = raw.expect("matched Some");
                self.error_help(
                    o.span,
                    "spec.unknown_value",
                    format!("unknown on_error `{other}`"),
                    did_you_mean(other, ["continue", "abort"])
                        .or_else(|| Some("use continue or abort".into())),
                );
                OnError::Continue
            }
        }
    }
}
