//! Specs: the reviewed YAML file that declares a promotion.
//!
//! Loading goes text → spanned YAML tree ([`yaml`]) → raw serde types ([`raw`], through
//! [`de`]) → validated engine types (this module), and reports every problem of the file at
//! once, each at its line and column.

pub mod diag;
pub mod pattern;
pub mod raw;
pub mod template;
mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::digest::Digest;
use crate::model::Version;
use crate::yaml::{self, Span, de};
pub use diag::{Diagnostic, SpecErrors};
use pattern::Names;
use template::ValueTemplate;

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
    /// Every kind the spec may name.
    pub kinds: BTreeSet<String>,
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

/// The characters ROMA-style random suffixes are drawn from.
pub const ROMA_ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// ROMA's import mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Existing assets stay; new ones are added.
    Append,
    /// Imported assets replace existing ones of the same name.
    Overwrite,
}

/// ROMA import rules: the import mode, and what the instance does on its own (custom
/// authorizer names are made unique with random characters; non-portable API fields go).
#[derive(Debug, Clone, Default)]
pub struct Roma {
    /// The import mode, when the spec sets one.
    pub mode: Option<ImportMode>,
    /// Whether imported data sources replace existing ones (under overwrite).
    pub override_data_sources: bool,
}

/// APIG's answer to a conflict: keep what the group has, or replace it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApigMode {
    /// Keep the existing definition.
    Merge,
    /// Replace it.
    Override,
}

/// APIG import options.
#[derive(Debug, Clone, Default)]
pub struct Apig {
    /// For APIs the group already has.
    pub mode: Option<ApigMode>,
    /// For the group's extended definitions.
    pub extend_mode: Option<ApigMode>,
}

/// Which version a promote rule takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromoteVersion {
    /// The highest numbered version.
    Latest,
    /// This number.
    Number(u64),
}

/// A promote rule.
#[derive(Debug, Clone)]
pub struct Promote {
    /// Which assets.
    pub selector: Selector,
    /// Which version.
    pub version: PromoteVersion,
}

/// What the destination accepts.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// Versions besides master.
    pub versions: bool,
    /// Uploaded files.
    pub files: bool,
    /// Private nodes.
    pub privatenodes: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            versions: true,
            files: true,
            privatenodes: true,
        }
    }
}

/// How duplicates are treated in a KIE upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KieMode {
    /// Create, or update value and status.
    #[default]
    Force,
    /// Fail a duplicate with 400004.
    Skip,
    /// Fail the first duplicate and everything after it with 400005.
    Abort,
}

impl KieMode {
    /// The mode's word.
    pub fn word(self) -> &'static str {
        match self {
            KieMode::Force => "force",
            KieMode::Skip => "skip",
            KieMode::Abort => "abort",
        }
    }
}

/// KIE upload settings.
#[derive(Debug, Clone, Default)]
pub struct KieConfig {
    /// Duplicates.
    pub mode: KieMode,
    /// Only items with this label (key, value).
    pub label: Option<(String, String)>,
}

/// Output settings.
#[derive(Debug, Clone)]
pub struct Output {
    /// Output folder, as written (relative to the spec).
    pub dir: String,
    /// Write ZIP files or directories.
    pub format: crate::archive::write::Format,
    /// Also write the merged target state.
    pub merged: bool,
}

/// What a failing asset does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// List it and go on.
    Continue,
    /// Write nothing at all.
    Abort,
}

/// Which versions a selector takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Versions {
    /// Every version.
    All,
    /// Some versions.
    Some {
        /// `master`.
        master: bool,
        /// The highest numbered version (or master when there is none).
        latest: bool,
        /// These numbers.
        numbers: BTreeSet<u64>,
        /// Assets without versions.
        unversioned: bool,
    },
}

impl Versions {
    /// Whether `v` is taken, given the highest numbered version of the asset.
    pub fn takes(&self, v: Version, latest: Option<u64>) -> bool {
        match self {
            Versions::All => true,
            Versions::Some {
                master,
                latest: l,
                numbers,
                unversioned,
            } => match v {
                Version::None => *unversioned,
                Version::Master => *master || (*l && latest.is_none()),
                Version::Number(n) => numbers.contains(&n) || (*l && latest == Some(n)),
            },
        }
    }
}

/// Matches assets.
#[derive(Debug, Clone)]
pub struct Selector {
    /// Kinds; `None` is every kind.
    pub kinds: Option<BTreeSet<String>>,
    /// Name patterns.
    pub names: Names,
    /// Versions.
    pub versions: Versions,
    /// Labels that must be present (`*`) or equal.
    pub labels: BTreeMap<String, String>,
    /// Pull in dependencies too.
    pub with_dependencies: bool,
    /// Where the rule was written.
    pub span: Span,
}

impl Selector {
    /// Whether the selector matches an asset (versions aside).
    pub fn matches(&self, kind: &str, name: &str, labels: &BTreeMap<String, String>) -> bool {
        self.kinds.as_ref().is_none_or(|k| k.contains(kind))
            && self.names.matches(name)
            && self
                .labels
                .iter()
                .all(|(k, v)| labels.get(k).is_some_and(|have| v == "*" || have == v))
    }
}

/// How a rename rule computes the new name.
#[derive(Debug, Clone)]
pub enum RenameOp {
    /// Add a prefix and/or a suffix.
    Affix {
        /// Prefix.
        prefix: String,
        /// Suffix.
        suffix: String,
    },
    /// Replace by regular expression.
    Regex {
        /// The expression.
        re: regex::Regex,
        /// The replacement.
        to: String,
    },
    /// Ask a Lua script.
    Hook(PathBuf),
}

/// A rename rule.
#[derive(Debug, Clone)]
pub struct RenameRule {
    /// Kinds; `None` is every kind.
    pub kinds: Option<BTreeSet<String>>,
    /// Source names it applies to.
    pub names: Names,
    /// Source names it skips.
    pub except: Option<Names>,
    /// The operation.
    pub op: RenameOp,
    /// Index in `rename:`.
    pub index: usize,
    /// Where the rule was written.
    pub span: Span,
}

impl RenameRule {
    /// Whether the rule applies to a source asset.
    pub fn applies(&self, kind: &str, name: &str) -> bool {
        self.kinds.as_ref().is_none_or(|k| k.contains(kind))
            && self.names.matches(name)
            && !self.except.as_ref().is_some_and(|e| e.matches(name))
    }

    /// What the rule does, for plans: `prefix "x"`, `match "…" → "…"`.
    pub fn describe(&self) -> String {
        match &self.op {
            RenameOp::Affix { prefix, suffix } => match (prefix.is_empty(), suffix.is_empty()) {
                (false, true) => format!("rename[{}] prefix {prefix:?}", self.index),
                (true, false) => format!("rename[{}] suffix {suffix:?}", self.index),
                _ => format!("rename[{}] prefix {prefix:?} suffix {suffix:?}", self.index),
            },
            RenameOp::Regex { re, to } => {
                let src = re
                    .as_str()
                    .trim_start_matches("^(?:")
                    .trim_end_matches(")$");
                format!("rename[{}] match {src:?} to {to:?}", self.index)
            }
            RenameOp::Hook(p) => format!("rename[{}] hook {}", self.index, p.display()),
        }
    }
}

/// How a generated name is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenameStrategy {
    /// `name_1`, `name_2`, … the first free.
    Counter {
        /// Between the name and the number.
        separator: String,
    },
    /// Characters derived from the seed, kind and name.
    Random {
        /// How many characters.
        length: usize,
        /// Which characters.
        alphabet: Vec<char>,
        /// Between the name and the characters.
        separator: String,
    },
}

/// A conflict policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Keep what the target has; do not import.
    Skip,
    /// Replace what the target has.
    Overwrite,
    /// This asset fails; the rest go on.
    Fail,
    /// Nothing is written at all.
    Abort,
    /// Import under a generated name.
    Rename(RenameStrategy),
    /// Ask a Lua script.
    Hook(PathBuf),
}

impl Policy {
    /// The policy's word.
    pub fn word(&self) -> &'static str {
        match self {
            Policy::Skip => "skip",
            Policy::Overwrite => "overwrite",
            Policy::Fail => "fail",
            Policy::Abort => "abort",
            Policy::Rename(RenameStrategy::Counter { .. }) => "rename (counter)",
            Policy::Rename(RenameStrategy::Random { .. }) => "rename (random)",
            Policy::Hook(_) => "hook",
        }
    }
}

/// Conflict policies, most specific last.
#[derive(Debug, Clone)]
pub struct Conflicts {
    /// For every kind.
    pub default: Policy,
    /// Per kind.
    pub kinds: BTreeMap<String, Policy>,
    /// Per name pattern (first match wins).
    pub by_name: Vec<(Option<BTreeSet<String>>, Names, Policy)>,
}

impl Conflicts {
    /// The policy for an asset: `by_name`, else its kind's, else the default.
    pub fn policy_for(&self, kind: &str, name: &str) -> &Policy {
        self.by_name
            .iter()
            .find(|(kinds, names, _)| {
                kinds.as_ref().is_none_or(|k| k.contains(kind)) && names.matches(name)
            })
            .map(|(_, _, p)| p)
            .or_else(|| self.kinds.get(kind))
            .unwrap_or(&self.default)
    }
}

/// A hook script and the kinds it runs on.
#[derive(Debug, Clone)]
pub struct HookRef {
    /// The script, as written (relative to the spec).
    pub script: String,
    /// Kinds; `None` is every kind.
    pub kinds: Option<BTreeSet<String>>,
    /// Where it was written.
    pub span: Span,
}

/// Budgets of the Lua sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LuaBudget {
    /// Memory per state, bytes.
    pub memory: usize,
    /// Instructions per call.
    pub instructions: u64,
    /// Wall-clock milliseconds per call.
    pub timeout_ms: u64,
}

impl Default for LuaBudget {
    fn default() -> Self {
        LuaBudget {
            memory: 64 << 20,
            instructions: 100_000_000,
            timeout_ms: 2000,
        }
    }
}

/// One field an override sets.
#[derive(Debug, Clone)]
pub struct Setting {
    /// JSON pointer into the asset's document.
    pub pointer: String,
    /// The value, possibly with templates.
    pub value: ValueTemplate,
    /// Where the pointer was written.
    pub span: Span,
    /// Where the value was written.
    pub value_span: Span,
    /// Whether the override marks what it sets secret.
    pub secret: bool,
}

/// An override of one environment.
#[derive(Debug, Clone)]
pub struct Override {
    /// Which assets.
    pub selector: Selector,
    /// What to set.
    pub set: Vec<Setting>,
}

/// Settings of one environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// Variables.
    pub vars: BTreeMap<String, String>,
    /// Target snapshot replacing the spec's.
    pub target: Option<(String, Span)>,
    /// Output folder replacing the spec's.
    pub output: Option<String>,
    /// Whether imported data sources replace existing ones.
    pub override_data_sources: Option<bool>,
    /// Overrides.
    pub overrides: Vec<Override>,
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
