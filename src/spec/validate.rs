//! Raw spec → validated spec, collecting every problem with its place.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::pattern::{Names, Pattern};
use super::raw::{self, RawPolicy, RawSpec};
use super::template::ValueTemplate;
use super::{
    Conflicts, Diagnostic, Environment, HookRef, LuaBudget, OnError, Output, Override, Policy,
    RenameOp, RenameRule, RenameStrategy, Selector, Setting, Spec, Versions,
};
use crate::archive::write::Format;
use crate::digest::Digest;
use crate::model::{kinds, pointer};
use crate::yaml::de::{OneOrMany, Spanned, did_you_mean};
use crate::yaml::{Node, Span};

const POLICIES: &[&str] = &["skip", "overwrite", "fail", "abort", "rename"];
/// API fields a ROMA instance does not import: throttling policies, access control and
/// signature keys.
const ROMA_UNPORTABLE: &[&str] = &["/throttling", "/acl", "/signature_keys"];

const DEFAULT_ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

struct V {
    diags: Vec<Diagnostic>,
    kinds: BTreeSet<String>,
    /// What the spec's regular expressions may still take once compiled.
    regexes: super::pattern::RegexBudget,
}

impl V {
    fn error(&mut self, span: Span, code: &'static str, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(code, Some(span), message));
    }

    fn error_help(
        &mut self,
        span: Span,
        code: &'static str,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.diags
            .push(Diagnostic::new(code, Some(span), message).help(help));
    }

    fn kind(&mut self, k: &Spanned<String>) -> Option<String> {
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

    fn kinds_of(&mut self, list: &Option<OneOrMany<Spanned<String>>>) -> Option<BTreeSet<String>> {
        let list = list.as_ref()?;
        Some(list.0.iter().filter_map(|k| self.kind(k)).collect())
    }

    fn names(&mut self, list: &Option<OneOrMany<Spanned<String>>>) -> Names {
        let mut out = Vec::new();
        for p in list.iter().flat_map(|l| &l.0) {
            match Pattern::parse_within(&p.value, &mut self.regexes) {
                Ok(pat) => out.push(pat),
                Err((code, msg)) => self.error(p.span, code, msg),
            }
        }
        Names(out)
    }

    fn versions(&mut self, list: &Option<OneOrMany<Spanned<String>>>) -> Versions {
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

    fn selector(&mut self, r: &Spanned<raw::RawSelector>) -> Selector {
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

    fn pointer(&mut self, p: &Spanned<String>) -> Option<String> {
        match pointer::tokens(&p.value) {
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

    fn affix(&mut self, a: &Option<Spanned<String>>) -> String {
        let Some(a) = a else { return String::new() };
        if a.value
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
        {
            self.error(
                a.span,
                "spec.bad_name",
                "a prefix or suffix may not contain '/', '\\' or control characters",
            );
        }
        a.value.clone()
    }

    fn rename(&mut self, index: usize, r: &Spanned<raw::RawRename>) -> Option<RenameRule> {
        let x = &r.value;
        let kinds = self.kinds_of(&x.kind);
        let names = self.names(&x.names);
        let except = x.except.as_ref().map(|_| self.names(&x.except));
        let affix = x.prefix.is_some() || x.suffix.is_some();
        let regex = x.pattern.is_some() || x.to.is_some();
        let hook = x.hook.is_some();
        let op = match (affix, regex, hook) {
            (true, false, false) => RenameOp::Affix {
                prefix: self.affix(&x.prefix),
                suffix: self.affix(&x.suffix),
            },
            (false, true, false) => match (&x.pattern, &x.to) {
                (Some(m), Some(to)) => match self.regexes.compile(&m.value, &m.value) {
                    Ok(re) => RenameOp::Regex {
                        re,
                        to: to.value.clone(),
                    },
                    Err((code, message)) => {
                        self.error(m.span, code, message);
                        return None;
                    }
                },
                (Some(m), None) => {
                    self.error(
                        m.span,
                        "spec.missing",
                        "`match` needs `to`: the replacement",
                    );
                    return None;
                }
                (None, Some(to)) => {
                    self.error(
                        to.span,
                        "spec.missing",
                        "`to` needs `match`: the expression to replace",
                    );
                    return None;
                }
                (None, None) => unreachable!("regex is set"),
            },
            (false, false, true) => {
                RenameOp::Hook(PathBuf::from(&x.hook.as_ref().expect("hook is set").value))
            }
            (false, false, false) => {
                self.error(
                    r.span,
                    "spec.missing",
                    "a rename rule needs `prefix`/`suffix`, `match` with `to`, or `hook`",
                );
                return None;
            }
            _ => {
                self.error(
                    r.span,
                    "spec.conflicting",
                    "a rename rule does one thing: `prefix`/`suffix`, `match`/`to`, or `hook`",
                );
                return None;
            }
        };
        Some(RenameRule {
            kinds,
            names,
            except,
            op,
            index,
            span: r.span,
        })
    }

    fn policy(&mut self, p: &Spanned<RawPolicy>) -> Option<Policy> {
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

    fn strategy(&mut self, r: &Spanned<String>, t: &raw::RawPolicyTable) -> Option<RenameStrategy> {
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

    fn conflicts(&mut self, raw: Option<raw::RawConflicts>) -> Conflicts {
        let mut out = Conflicts {
            default: Policy::Fail,
            kinds: BTreeMap::new(),
            by_name: Vec::new(),
        };
        let Some(raw) = raw else { return out };
        for (key, p) in &raw.policies {
            let policy = self.policy(p);
            if key.value == "default" {
                if let Some(p) = policy {
                    out.default = p;
                }
            } else if self.kinds.contains(&key.value) {
                if let Some(p) = policy {
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
                    if let Some(p) = self.policy(p) {
                        out.by_name.push((kinds, names, p));
                    }
                }
                None => self.error(rule.span, "spec.missing", "a `by_name` rule needs `policy`"),
            }
        }
        out
    }

    fn env_vars(&mut self, raw: Option<&raw::RawEnvVars>) -> super::EnvVars {
        let mut list = |items: Option<&Vec<Spanned<String>>>| -> Vec<String> {
            let mut out = Vec::new();
            for item in items.into_iter().flatten() {
                let name = item.value.strip_suffix('*').unwrap_or(&item.value);
                let ok = !name.is_empty()
                    && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
                if ok {
                    out.push(item.value.clone());
                } else {
                    self.error_help(
                        item.span,
                        "spec.bad_name",
                        format!(
                            "`{}` is not an environment variable name or prefix",
                            item.value
                        ),
                        Some(
                            "write a name (ORDERS_DB_PASSWORD) or a prefix ending in * (ORDERS_*)"
                                .into(),
                        ),
                    );
                }
            }
            out
        };
        let secret = list(raw.and_then(|r| r.secret.as_ref()));
        let plain = list(raw.and_then(|r| r.plain.as_ref()));
        super::EnvVars { secret, plain }
    }

    /// Checks the process environment variables a setting reads against `env_vars`, and that
    /// a secret value cannot become part of an asset's identity.
    fn setting_env(
        &mut self,
        env_vars: &super::EnvVars,
        selector_kinds: Option<&BTreeSet<String>>,
        pointer: &Spanned<String>,
        value: &Spanned<serde_json::Value>,
        template: &ValueTemplate,
        marked_secret: bool,
    ) {
        let mut reads_secret = marked_secret;
        for name in template.env_names() {
            match env_vars.declared(&name) {
                Some(secret) => reads_secret |= secret,
                None => self.error_help(
                    value.span,
                    "spec.undeclared_env",
                    format!("`${{env:{name}}}` reads an environment variable the spec does not declare"),
                    Some(format!(
                        "declare it under env_vars: `secret: [{name}]` (masked everywhere) or `plain: [{name}]` (shown as is)"
                    )),
                ),
            }
        }
        if !reads_secret {
            return;
        }
        let kinds: Vec<String> = match selector_kinds {
            Some(k) => k.iter().cloned().collect(),
            None => kinds::known_names().map(str::to_string).collect(),
        };
        for kind in &kinds {
            if let Some(id) = kinds::identity_pointers(kind)
                .into_iter()
                .find(|id| kinds::pointers_overlap(&pointer.value, id))
            {
                self.error_help(
                    pointer.span,
                    "spec.secret_identity",
                    format!(
                        "a secret value may not become part of an asset's identity, and {} of {kind} is (it names the asset or another one)",
                        id
                    ),
                    Some("set secrets only in fields that are not names, references or KIE labels; put an identifying value in env_vars.plain if it is not secret".into()),
                );
                return;
            }
        }
    }

    fn environment(
        &mut self,
        name: &Spanned<String>,
        e: raw::RawEnvironment,
        env_vars: &super::EnvVars,
    ) -> Environment {
        if !name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || name.value.is_empty()
        {
            self.error(
                name.span,
                "spec.bad_name",
                "environment names use letters, digits, '-' and '_'",
            );
        }
        let vars: BTreeMap<String, String> = e
            .vars
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.value, v.value))
            .collect();
        let mut overrides = Vec::new();
        for o in e.overrides.unwrap_or_default() {
            let r = &o.value;
            let selector = Selector {
                kinds: self.kinds_of(&r.kind),
                names: self.names(&r.names),
                versions: Versions::All,
                labels: r.labels.clone().unwrap_or_default(),
                with_dependencies: false,
                span: o.span,
            };
            let mut set = Vec::new();
            let raw_set = r.set.as_ref();
            if raw_set.is_none_or(|s| s.is_empty()) {
                self.error(
                    o.span,
                    "spec.missing",
                    "an override needs `set:` with at least one pointer",
                );
            }
            for (ptr, value) in raw_set.into_iter().flatten() {
                let Some(pointer) = self.pointer(ptr) else {
                    continue;
                };
                match ValueTemplate::parse(&value.value) {
                    Ok(t) => {
                        let marked = r.secret.unwrap_or(false);
                        self.setting_env(env_vars, selector.kinds.as_ref(), ptr, value, &t, marked);
                        for var in t.vars() {
                            if !vars.contains_key(&var) {
                                let help = did_you_mean(&var, vars.keys().map(String::as_str))
                                    .or_else(|| {
                                        Some(format!(
                                            "define it under environments.{}.vars",
                                            name.value
                                        ))
                                    });
                                self.error_help(
                                    value.span,
                                    "spec.unknown_var",
                                    format!("variable `{var}` is not defined"),
                                    help,
                                );
                            }
                        }
                        set.push(Setting {
                            pointer,
                            value: t,
                            span: ptr.span,
                            value_span: value.span,
                            secret: marked,
                        });
                    }
                    Err(m) => self.error(value.span, "spec.bad_template", m),
                }
            }
            overrides.push(Override { selector, set });
        }
        Environment {
            vars,
            target: e.target.map(|t| (t.value, t.span)),
            output: e.output.map(|o| o.value),
            override_data_sources: e.override_data_sources,
            overrides,
        }
    }
}

pub(super) fn validate(
    raw: RawSpec,
    root: &Node,
    path: &Path,
    text: Arc<str>,
    digest: Digest,
    dir: PathBuf,
) -> (Spec, Vec<Diagnostic>) {
    let mut v = V {
        diags: Vec::new(),
        kinds: kinds::known_names().map(str::to_string).collect(),
        regexes: super::pattern::RegexBudget::default(),
    };
    let top = Span {
        start: crate::yaml::Pos { line: 1, col: 1 },
        len: 1,
    };
    if !matches!(root.value, crate::yaml::Value::Map(_)) {
        v.error(
            root.span,
            "spec.type",
            "a spec is a mapping of fields such as `version:`, `sources:`, `select:`",
        );
    }
    match &raw.version {
        None => v.diags.push(Diagnostic::new(
            "spec.missing",
            Some(top),
            "missing `version: 1`",
        )),
        Some(ver) if ver.value != 1 => {
            v.error(
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
    for k in raw.kinds.iter().flatten() {
        if kinds::is_valid_kind(&k.value) {
            v.kinds.insert(k.value.clone());
        } else {
            v.error(
                k.span,
                "spec.bad_name",
                "kind names use lowercase letters, digits and '_', starting with a letter",
            );
        }
    }
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
            v.diags.push(Diagnostic::new(
                "spec.missing",
                Some(top),
                "`sources` is empty: name at least one package",
            ));
            Vec::new()
        }
        None => {
            v.diags.push(Diagnostic::new(
                "spec.missing",
                Some(top),
                "missing `sources:` (the packages to promote)",
            ));
            Vec::new()
        }
    };
    let output = {
        let o = raw.output.unwrap_or_default();
        let format = match o.format.as_ref().map(|f| f.value.as_str()) {
            None | Some("zip") => Format::Zip,
            Some("dir") => Format::Dir,
            Some(other) => {
                let f = o.format.as_ref().expect("matched Some");
                v.error_help(
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
    };
    let select = raw
        .select
        .as_ref()
        .map(|list| list.iter().map(|s| v.selector(s)).collect());
    let exclude = raw
        .exclude
        .iter()
        .flatten()
        .map(|s| v.selector(s))
        .collect();
    let renames = raw
        .rename
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, r)| v.rename(i, r))
        .collect();
    let default_written = raw
        .conflicts
        .as_ref()
        .is_some_and(|c| c.policies.iter().any(|(k, _)| k.value == "default"));
    let conflicts = v.conflicts(raw.conflicts);
    let mut strip = BTreeMap::new();
    for (kind, pointers) in raw.strip.iter().flatten() {
        let ptrs: Vec<String> = pointers.iter().filter_map(|p| v.pointer(p)).collect();
        if let Some(k) = v.kind(kind) {
            strip.insert(k, ptrs);
        }
    }
    let mut hooks = Vec::new();
    for h in raw.hooks.iter().flatten() {
        let kinds = v.kinds_of(&h.value.kinds);
        match &h.value.script {
            Some(s) => hooks.push(HookRef {
                script: s.value.clone(),
                kinds,
                span: s.span,
            }),
            None => v.error(h.span, "spec.missing", "a hook needs `script:`"),
        }
    }
    let mut lua = LuaBudget::default();
    if let Some(l) = &raw.lua {
        for (field, val) in [
            ("memory_mib", &l.memory_mib),
            ("instructions_millions", &l.instructions_millions),
            ("timeout_ms", &l.timeout_ms),
        ] {
            if let Some(x) = val
                && x.value == 0
            {
                v.error(
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
    let env_vars = v.env_vars(raw.env_vars.as_ref());
    let mut environments = BTreeMap::new();
    for (name, env) in raw.environments.unwrap_or_default() {
        let e = v.environment(&name, env, &env_vars);
        environments.insert(name.value, e);
    }
    let on_error = match raw.on_error.as_ref().map(|o| o.value.as_str()) {
        None | Some("continue") => OnError::Continue,
        Some("abort") => OnError::Abort,
        Some(other) => {
            let o = raw.on_error.as_ref().expect("matched Some");
            v.error_help(
                o.span,
                "spec.unknown_value",
                format!("unknown on_error `{other}`"),
                did_you_mean(other, ["continue", "abort"])
                    .or_else(|| Some("use continue or abort".into())),
            );
            OnError::Continue
        }
    };
    let mut kie = super::KieConfig::default();
    if let Some(k) = &raw.kie {
        if let Some(m) = &k.override_mode {
            kie.mode = match m.value.as_str() {
                "force" => super::KieMode::Force,
                "skip" => super::KieMode::Skip,
                "abort" => super::KieMode::Abort,
                other => {
                    v.error_help(
                        m.span,
                        "spec.unknown_value",
                        format!("unknown KIE override `{other}`"),
                        did_you_mean(other, ["force", "skip", "abort"])
                            .or_else(|| Some("use force, skip or abort".into())),
                    );
                    super::KieMode::Force
                }
            };
        }
        if let Some(l) = &k.label {
            match l.value.split_once(':') {
                Some((key, value)) if !key.is_empty() => {
                    kie.label = Some((key.to_string(), value.to_string()))
                }
                _ => v.error(
                    l.span,
                    "spec.bad_label",
                    "a KIE label filter is written key:value",
                ),
            }
        }
    }
    let apig = raw.apig.as_ref().map(|a| {
        let mut mode = |field: &Option<Spanned<String>>, name: &str| {
            field.as_ref().and_then(|m| match m.value.as_str() {
                "merge" => Some(super::ApigMode::Merge),
                "override" => Some(super::ApigMode::Override),
                other => {
                    v.error_help(
                        m.span,
                        "spec.unknown_value",
                        format!("unknown apig.{name} `{other}`"),
                        did_you_mean(other, ["merge", "override"])
                            .or_else(|| Some("use merge or override".into())),
                    );
                    None
                }
            })
        };
        super::Apig {
            mode: mode(&a.mode, "mode"),
            extend_mode: mode(&a.extend_mode, "extend_mode"),
        }
    });
    let roma = raw.roma.as_ref().map(|r| {
        let mode = r.mode.as_ref().and_then(|m| match m.value.as_str() {
            "append" => Some(super::ImportMode::Append),
            "overwrite" => Some(super::ImportMode::Overwrite),
            other => {
                v.error_help(
                    m.span,
                    "spec.unknown_value",
                    format!("unknown import mode `{other}`"),
                    did_you_mean(other, ["append", "overwrite"])
                        .or_else(|| Some("use append or overwrite".into())),
                );
                None
            }
        });
        if let Some(m) = &r.mode
            && default_written
        {
            v.error_help(
                m.span,
                "spec.conflicting",
                "roma.mode and conflicts.default both set the default conflict policy",
                Some("keep one of them".into()),
            );
        }
        if let Some(o) = &r.override_data_sources
            && o.value
            && mode != Some(super::ImportMode::Overwrite)
        {
            v.error_help(
                o.span,
                "spec.conflicting",
                "override_data_sources applies to the overwrite import mode only",
                Some("set `mode: overwrite`, or remove override_data_sources".into()),
            );
        }
        // The instance does not carry these over: they are removed, with a warning each.
        let api = strip.entry("api".to_string()).or_insert_with(Vec::new);
        for p in ROMA_UNPORTABLE {
            if !api.iter().any(|x| x == p) {
                api.push((*p).to_string());
            }
        }
        super::Roma {
            mode,
            override_data_sources: r.override_data_sources.as_ref().is_some_and(|o| o.value),
        }
    });
    let mut promote = Vec::new();
    for p in raw.promote.iter().flatten() {
        let version = match p.value.version.as_ref() {
            None => super::PromoteVersion::Latest,
            Some(x) if x.value == "latest" => super::PromoteVersion::Latest,
            Some(x) => match crate::model::Version::parse_folder(&x.value) {
                Some(crate::model::Version::Number(n)) => super::PromoteVersion::Number(n),
                _ => {
                    v.error(
                        x.span,
                        "spec.bad_version",
                        "promote takes `latest` or a version number",
                    );
                    super::PromoteVersion::Latest
                }
            },
        };
        for k in p.value.kind.iter().flat_map(|k| &k.0) {
            if !kinds::rules(&k.value).is_some_and(|r| r.versioned) && v.kinds.contains(&k.value) {
                v.error_help(
                    k.span,
                    "spec.bad_kind",
                    format!(
                        "promote acts on enebular assets; {} has no versions to promote",
                        k.value
                    ),
                    Some("use flow, file or privatenode".into()),
                );
            }
        }
        let selector = Selector {
            kinds: Some(
                v.kinds_of(&p.value.kind)
                    .unwrap_or_else(|| ["file", "flow", "privatenode"].map(String::from).into()),
            ),
            names: v.names(&p.value.names),
            versions: Versions::All,
            labels: BTreeMap::new(),
            with_dependencies: false,
            span: p.span,
        };
        promote.push(super::Promote { selector, version });
    }
    let capabilities = raw
        .capabilities
        .as_ref()
        .map_or_else(super::Capabilities::default, |c| super::Capabilities {
            versions: c.versions.unwrap_or(true),
            files: c.files.unwrap_or(true),
            privatenodes: c.privatenodes.unwrap_or(true),
        });
    let spec = Spec {
        path: path.into(),
        text,
        digest,
        dir,
        name,
        seed,
        sources,
        target: raw.target.map(|t| (t.value, t.span)),
        output,
        kinds: v.kinds.clone(),
        select,
        exclude,
        renames,
        conflicts,
        strip,
        hooks,
        lua,
        env_vars,
        environments,
        on_error,
        kie,
        roma,
        apig,
        promote,
        capabilities,
    };
    (spec, v.diags)
}
