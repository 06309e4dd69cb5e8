//! The validated form of each spec section: platform settings, outputs, selectors, renames,
//! conflict policies, hooks, environments and their overrides.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::pattern::Names;
use super::template::ValueTemplate;
use crate::model::Version;
use crate::yaml::Span;

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
    /// An export whose hashed content changed: enebular refuses one on import, so a change
    /// is a failure unless the destination is configured to accept it.
    pub changed_content: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            versions: true,
            files: true,
            privatenodes: true,
            changed_content: false,
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

/// The format of a KIE file to upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KieUploadFormat {
    /// JSON (what the import API names: `fileName.json`).
    Json,
    /// YAML.
    Yaml,
}

/// KIE upload settings.
#[derive(Debug, Clone, Default)]
pub struct KieConfig {
    /// Duplicates.
    pub mode: KieMode,
    /// Only items with this label (key, value) are taken from the sources.
    pub only_label: Option<(String, String)>,
    /// The label (key, value) every uploaded item is given, as the import API's `label`
    /// parameter gives it.
    pub add_label: Option<(String, String)>,
    /// The format of the file to upload; JSON when not given.
    pub upload_format: Option<KieUploadFormat>,
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
    pub fn matches(&self, kind: &str, name: &str, labels: &crate::model::Labels) -> bool {
        self.matches_with(kind, name, |k| labels.get(k))
    }

    /// [`Selector::matches`], of labels held in a map (a KIE item's).
    pub fn matches_map(&self, kind: &str, name: &str, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(kind, name, |k| labels.get(k))
    }

    fn matches_with<'a>(
        &self,
        kind: &str,
        name: &str,
        label: impl Fn(&str) -> Option<&'a String>,
    ) -> bool {
        self.kinds.as_ref().is_none_or(|k| k.contains(kind))
            && self.names.matches(name)
            && self
                .labels
                .iter()
                .all(|(k, v)| label(k).is_some_and(|have| v == "*" || have == v))
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
    /// Where `default:` was written, if it was: a platform's own import rule applies only
    /// when the spec names no default.
    pub default_span: Option<Span>,
    /// Every policy as written, with the kinds it covers (`None`: every kind) and where, so
    /// a platform can refuse one its import cannot carry out at its line.
    pub written: Vec<(Option<BTreeSet<String>>, Policy, Span)>,
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
    /// `set` (the field must exist) or `add` (it must not).
    pub op: SetOp,
}

/// How an override writes a field.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SetOp {
    /// Changes a field that exists.
    #[default]
    Set,
    /// Adds a field the asset does not have, under a parent that exists.
    Add,
}

impl SetOp {
    /// Whether it is `set` (left out of plans, where it is the default).
    pub fn is_set(&self) -> bool {
        *self == SetOp::Set
    }

    /// The word the spec uses for it.
    pub fn word(self) -> &'static str {
        match self {
            SetOp::Set => "set",
            SetOp::Add => "add",
        }
    }
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
