//! Specs: the reviewed YAML file that declares a promotion.
//!
//! Loading goes text → spanned YAML tree ([`yaml`]) → raw serde types ([`raw`], through
//! [`de`]) → validated engine types (this module), and reports every problem of the file at
//! once, each at its line and column.

pub mod diag;
pub mod pattern;
pub mod raw;
mod sections;
pub mod template;
mod validate;
pub use sections::*;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::digest::Digest;
use crate::yaml::{self, Span, de};
pub use diag::{Diagnostic, SpecErrors};

/// A validated spec.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The spec file.
    pub path: PathBuf,
    /// Its text, for pointing at lines in errors found later.
    pub text: Arc<str>,
    /// SHA-256 of the file.
    pub digest: Digest,
    /// Folder that relative paths are resolved against.
    pub dir: PathBuf,
    /// Name of the promotion.
    pub name: String,
    /// Seed for generated names.
    pub seed: String,
    /// Source patterns, as written.
    pub sources: Vec<(String, Span)>,
    /// Target snapshot, as written.
    pub target: Option<(String, Span)>,
    /// Output settings.
    pub output: Output,
    /// Every kind the spec may name, with its rules: the platforms' kinds and the spec's.
    pub kinds: crate::model::kinds::Kinds,
    /// Selection rules; `None` takes everything.
    pub select: Option<Vec<Selector>>,
    /// Exclusion rules.
    pub exclude: Vec<Selector>,
    /// Rename rules, in order.
    pub renames: Vec<RenameRule>,
    /// Conflict policies.
    pub conflicts: Conflicts,
    /// Fields to strip per kind.
    pub strip: BTreeMap<String, Vec<String>>,
    /// Hook scripts.
    pub hooks: Vec<HookRef>,
    /// Lua budgets.
    pub lua: LuaBudget,
    /// The process environment variables `${env:…}` may read.
    pub env_vars: EnvVars,
    /// Environments by name.
    pub environments: BTreeMap<String, Environment>,
    /// The environment used when `--env` is not given.
    pub default_env: Option<String>,
    /// What a failing asset does to the run.
    pub on_error: OnError,
    /// KIE upload settings.
    pub kie: KieConfig,
    /// ROMA import rules, when the spec has a `roma:` section.
    pub roma: Option<Roma>,
    /// APIG import options, when the spec has an `apig:` section.
    pub apig: Option<Apig>,
    /// Versions to promote to master.
    pub promote: Vec<Promote>,
    /// What the destination accepts.
    pub capabilities: Capabilities,
}

/// The process environment variables a spec may read, as names or `PREFIX*` patterns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvVars {
    /// Secret ones.
    pub secret: Vec<String>,
    /// Plain ones.
    pub plain: Vec<String>,
}

impl EnvVars {
    /// Whether `name` may be read, and if so whether its value is secret. A name both lists
    /// match is plain only if `plain` names it more exactly than `secret` does.
    pub fn declared(&self, name: &str) -> Option<bool> {
        let best = |list: &[String]| {
            list.iter()
                .filter(|p| match p.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => *p == name,
                })
                .map(|p| {
                    if p.ends_with('*') {
                        p.len() - 1
                    } else {
                        usize::MAX
                    }
                })
                .max()
        };
        match (best(&self.secret), best(&self.plain)) {
            (None, None) => None,
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (Some(s), Some(p)) => Some(s >= p),
        }
    }
}

/// The JSON Schema of spec files, for editors and CI: the raw spec's fields, with what the
/// loader requires (`version: 1` and `sources`) and the numbers the documented forms accept
/// where a field otherwise holds text (`versions: [1, 2]`, `promote: {version: 3}`).
pub fn schema() -> serde_json::Value {
    let mut s = schemars::schema_for!(raw::RawSpec).to_value();
    s["required"] = serde_json::json!(["version", "sources"]);
    s["properties"]["version"] = serde_json::json!({
        "description": "Spec format version. Must be 1.",
        "const": 1
    });
    let text_or_number = serde_json::json!({"type": ["string", "integer"]});
    if let Some(defs) = s.get_mut("$defs").and_then(|d| d.as_object_mut()) {
        for def in defs.values_mut() {
            let Some(props) = def.get_mut("properties").and_then(|p| p.as_object_mut()) else {
                continue;
            };
            for (name, prop) in props.iter_mut() {
                if name == "version" || name == "versions" {
                    widen_strings(prop, &text_or_number);
                }
            }
        }
    }
    s
}

/// Every `{"type": "string"}` (or `["string", "null"]`) inside `v` also accepts an integer.
fn widen_strings(v: &mut serde_json::Value, with: &serde_json::Value) {
    match v {
        // One or many strings (a shared definition): inline, widened.
        serde_json::Value::Object(map)
            if map.get("$ref").and_then(|r| r.as_str()) == Some("#/$defs/OneOrMany_string") =>
        {
            map.remove("$ref");
            map.insert(
                "anyOf".into(),
                serde_json::json!([with, {"type": "array", "items": with}]),
            );
        }
        serde_json::Value::Object(map) => {
            match map.get("type") {
                Some(t) if t == "string" => {
                    map.insert("type".into(), with["type"].clone());
                }
                Some(t) if *t == serde_json::json!(["string", "null"]) => {
                    map.insert(
                        "type".into(),
                        serde_json::json!(["string", "integer", "null"]),
                    );
                }
                _ => {}
            }
            for (_, x) in map.iter_mut() {
                widen_strings(x, with);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|x| widen_strings(x, with)),
        _ => {}
    }
}

/// Why a spec file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Io {
        /// The spec file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// It was read, and has problems; every one is listed.
    Invalid(SpecErrors),
}

impl Spec {
    /// Reads and validates a spec file.
    pub fn load(path: &Path) -> Result<Spec, LoadError> {
        use std::io::Read;
        let io = |e| LoadError::Io {
            path: path.into(),
            source: e,
        };
        // Read no more than the size limit allows (and one byte to know it was passed).
        let max = yaml::YamlLimits::default().max_bytes;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(max as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        // An error about the whole file, before there is text to show.
        let whole_file = |code: &'static str, message: String| {
            LoadError::Invalid(SpecErrors {
                path: path.into(),
                text: "".into(),
                diagnostics: vec![Diagnostic::new(code, None, message)],
            })
        };
        if bytes.len() > max {
            return Err(whole_file(
                "spec.limit",
                format!("the file is larger than {max} bytes, the limit for specs"),
            ));
        }
        let digest = Digest::of(&bytes);
        let text: Arc<str> = match String::from_utf8(bytes) {
            Ok(t) => t.into(),
            Err(_) => {
                return Err(whole_file(
                    "spec.syntax",
                    "the file is not UTF-8 text".into(),
                ));
            }
        };
        Spec::parse(path, text, digest).map_err(LoadError::Invalid)
    }

    /// Parses and validates spec text; `path` names the file in errors and anchors relative paths.
    pub fn parse(path: &Path, text: Arc<str>, digest: Digest) -> Result<Spec, SpecErrors> {
        let fail = |diagnostics: Vec<Diagnostic>| SpecErrors {
            path: path.into(),
            text: Arc::clone(&text),
            diagnostics,
        };
        let root = yaml::parse(&text, &yaml::YamlLimits::default())
            .map_err(|e| fail(vec![Diagnostic::new(e.code, Some(e.span), e.message)]))?;
        if !matches!(root.value, yaml::Value::Map(_)) && !root.is_null() {
            return Err(fail(vec![Diagnostic::new(
                "spec.type",
                Some(root.span),
                "a spec is a mapping of fields such as `version:`, `sources:`, `select:`",
            )]));
        }
        let (raw, mut diagnostics) = deserialize_all(&root);
        let Some(raw) = raw else {
            return Err(fail(diagnostics));
        };
        let dir = crate::fsutil::parent_of(path).to_path_buf();
        let (spec, more) = validate::validate(raw, &root, path, Arc::clone(&text), digest, dir);
        diagnostics.extend(more);
        if diagnostics.is_empty() {
            Ok(spec)
        } else {
            diagnostics.sort_by_key(|d| d.span.map(|s| s.start));
            Err(fail(diagnostics))
        }
    }

    /// Every Lua script the spec names (hooks, rename hooks, conflict hooks), each once, with
    /// where it is named when the spec says.
    pub fn scripts(&self) -> Vec<(String, Option<Span>)> {
        let mut out: Vec<(String, Option<Span>)> = Vec::new();
        let mut add = |s: String, span: Option<Span>| {
            if !out.iter().any(|(o, _)| *o == s) {
                out.push((s, span));
            }
        };
        for h in &self.hooks {
            add(h.script.clone(), Some(h.span));
        }
        for r in &self.renames {
            if let RenameOp::Hook(p) = &r.op {
                add(p.to_string_lossy().into_owned(), Some(r.span));
            }
        }
        let policies = std::iter::once(&self.conflicts.default)
            .chain(self.conflicts.kinds.values())
            .chain(self.conflicts.by_name.iter().map(|(_, _, p)| p));
        for p in policies {
            if let Policy::Hook(path) = p {
                add(path.to_string_lossy().into_owned(), None);
            }
        }
        out
    }

    /// The conflict policy the spec itself names for an asset: a `by_name` rule, else its
    /// kind's entry. `None` leaves it to the platform's import rules, then `default`.
    pub fn explicit_policy(&self, kind: &str, name: &str) -> Option<Policy> {
        let c = &self.conflicts;
        c.by_name
            .iter()
            .find(|(kinds, names, _)| {
                kinds.as_ref().is_none_or(|k| k.contains(kind)) && names.matches(name)
            })
            .map(|(_, _, p)| p.clone())
            .or_else(|| c.kinds.get(kind).cloned())
    }

    /// A path written in the spec, resolved against the spec's folder.
    pub fn resolve(&self, written: &str) -> PathBuf {
        let p = Path::new(written);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    /// The environment a run uses: the one `--env` names, else the spec's `default_env`. A
    /// spec that defines environments and names no default requires `--env`, so that dev
    /// values never reach an output because a flag was forgotten.
    pub fn env_name(&self, given: Option<&str>) -> Result<Option<String>, String> {
        if let Some(name) = given {
            self.environment(name)?;
            return Ok(Some(name.to_string()));
        }
        if let Some(name) = &self.default_env {
            return Ok(Some(name.clone()));
        }
        if self.environments.is_empty() {
            return Ok(None);
        }
        let names: Vec<&str> = self.environments.keys().map(String::as_str).collect();
        Err(format!(
            "the spec defines environments ({}): choose one with --env NAME, or name one with default_env: in the spec",
            names.join(", ")
        ))
    }

    /// The environment named `name`, or an error listing the defined ones.
    pub fn environment(&self, name: &str) -> Result<&Environment, String> {
        self.environments.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.environments.keys().map(String::as_str).collect();
            let hint = de::did_you_mean(name, names.iter().copied())
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            if names.is_empty() {
                format!("--env {name}: the spec defines no environments")
            } else {
                format!("--env {name}: the spec defines {}{hint}", names.join(", "))
            }
        })
    }

    /// An error pointing into this spec, for problems found after loading.
    pub fn error_at(
        &self,
        span: Option<Span>,
        code: &'static str,
        message: impl Into<String>,
    ) -> SpecErrors {
        SpecErrors {
            path: self.path.clone(),
            text: Arc::clone(&self.text),
            diagnostics: vec![Diagnostic::new(code, span, message)],
        }
    }
}

/// Deserialises the raw spec, dropping each node at fault and trying again, so that every
/// structural mistake is found in one run.
fn deserialize_all(root: &yaml::Node) -> (Option<raw::RawSpec>, Vec<Diagnostic>) {
    let mut removed = BTreeSet::new();
    let mut diagnostics = Vec::new();
    for _ in 0..64 {
        match raw::RawSpec::deserialize(de::De::new(root, &removed)) {
            Ok(raw) => return (Some(raw), diagnostics),
            Err(e) => {
                diagnostics.push(Diagnostic {
                    code: e.code,
                    message: e.message,
                    span: e.span,
                    help: e.help,
                });
                match e.node {
                    Some(id) if id != root.id && root.find(id).is_some() && removed.insert(id) => {}
                    _ => return (None, diagnostics),
                }
            }
        }
    }
    (None, diagnostics)
}
