//! The plan: the deterministic list of actions a spec yields on given inputs.
//!
//! Computing it is pure from loading onward: no clock, no randomness, no thread order
//! reaches it. `hoist apply` executes a plan; `hoist apply PLAN.json` first recomputes it
//! and refuses if any input's digest changed.

pub mod after_import;
pub mod changes;
mod compute;
mod counts;
pub mod drift;
pub mod environ;
pub mod inputs;
pub mod platform;
pub mod provenance;
pub mod resolve;
pub mod saved;
pub mod select;
pub mod transform;
pub mod unchanged;
pub mod unfollowed;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thin_vec::ThinVec;

pub use compute::{PackageOutput, Planned, compute, compute_loaded, input_digests, load_inputs};
pub use counts::{AssetCounts, Summary};
pub use inputs::EnvLookup;
pub use inputs::Loaded;
pub use platform::{Platform, Platforms};

use crate::digest::Digest;
use crate::model::Version;
use crate::package::Layout;

/// Name of the report written beside the outputs.
pub const REPORT_NAME: &str = "report.json";

/// Format of plan files this version writes and reads.
pub const PLAN_FORMAT: u32 = 2;

/// The plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Plan file format.
    pub format: u32,
    /// The program that computed it.
    pub generator: String,
    /// The spec it comes from.
    pub spec: SpecInfo,
    /// Digests of every input.
    pub inputs: InputDigests,
    /// One entry per source package, in path order.
    pub packages: Vec<PackagePlan>,
    /// Path of the merged target state, when asked for.
    pub merged: Option<String>,
    /// Problems that do not stop anything.
    pub warnings: Vec<Note>,
    /// Lines hook scripts logged with `ctx.log` (secrets masked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<Note>,
    /// Why nothing will be written, when a policy aborts.
    pub abort: Option<Note>,
    /// Counts.
    pub summary: Summary,
    /// For KIE sources: the server's answer to each upload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kie: Vec<KieUpload>,
}

/// The spec a plan comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecInfo {
    /// Path of the spec, relative to the plan file when saved.
    pub path: String,
    /// Name of the promotion.
    pub name: String,
    /// Environment chosen with `--env`.
    pub env: Option<String>,
    /// SHA-256 of the spec file.
    pub sha256: Digest,
    /// The process environment variables the plan read and found set, by name (values are
    /// never recorded): applying the plan refuses when one is unset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_vars: Vec<String>,
}

/// Digests of every input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputDigests {
    /// Hook scripts by path (relative to the spec).
    pub hooks: BTreeMap<String, Digest>,
    /// Source packages by path (relative to the spec).
    pub sources: BTreeMap<String, BTreeMap<String, Digest>>,
    /// The target snapshot.
    pub target: Option<TargetDigests>,
}

/// Digests of the target snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetDigests {
    /// Path (relative to the spec).
    pub path: String,
    /// Every entry.
    pub entries: BTreeMap<String, Digest>,
}

/// What happens to one source package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackagePlan {
    /// The source (relative to the spec).
    pub source: String,
    /// Its layout.
    pub layout: Layout,
    /// The delta package written for it (relative to the spec).
    pub output: String,
    /// Every selected asset, by kind, name and version.
    pub assets: Vec<AssetPlan>,
}

/// The four outcomes for an asset.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// New in the target.
    Create,
    /// Replaces the target's asset of the same name.
    Overwrite,
    /// Would replace the target's asset of the same name with the very same asset (same
    /// document, same payload files): not written, not a change.
    Unchanged,
    /// The target keeps its own; not imported.
    Skip,
    /// Cannot be imported; see the error.
    Fail,
}

impl Action {
    /// The word.
    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Overwrite => "overwrite",
            Action::Unchanged => "unchanged",
            Action::Skip => "skip",
            Action::Fail => "fail",
        }
    }
}

/// What happens to one asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetPlan {
    /// Kind.
    pub kind: String,
    /// Name in the source.
    pub name: String,
    /// Version.
    pub version: Version,
    /// Labels, where they are part of the identity (KIE items).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The outcome.
    pub action: Action,
    /// Name in the output (differs from `name` when renamed).
    pub output_name: String,
    /// Version in the output, when it differs from `version` (a promoted version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_version: Option<Version>,
    /// Renames, in order.
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    #[schemars(with = "Vec<RenameStep>")]
    pub renames: ThinVec<RenameStep>,
    /// Fields removed by `strip`.
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    #[schemars(with = "Vec<String>")]
    pub stripped: ThinVec<String>,
    /// Fields set by the environment's overrides (secrets masked).
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    #[schemars(with = "Vec<OverrideStep>")]
    pub overrides: ThinVec<OverrideStep>,
    /// References rewritten to follow renames.
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    #[schemars(with = "Vec<RefRewrite>")]
    pub references: ThinVec<RefRewrite>,
    /// Whether the document differs from the source's.
    pub changed: bool,
    /// Why it fails (boxed: a run holds one entry per asset, and few fail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Box<Note>>,
    /// The script whose transform dropped it (the action is then `skip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<String>,
    /// Field by field, how the document written differs from the target's asset of the same
    /// name (an overwrite), or what transform hooks changed (a create); each change names the
    /// step that made it. Credentials are masked.
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    #[schemars(with = "Vec<crate::diff::Change>")]
    pub diff: ThinVec<crate::diff::Change>,
    /// Payload files that differ from the target's asset (an overwrite).
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    #[schemars(with = "Vec<FileChange>")]
    pub files: ThinVec<FileChange>,
    /// Label by label (pointers into the labels, `/NAME`), how the labels written differ from
    /// the target asset's (an overwrite), or what transform hooks changed (a create).
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    #[schemars(with = "Vec<crate::diff::Change>")]
    pub label_diff: ThinVec<crate::diff::Change>,
    /// What the operator does on the platform after importing it, where the platform needs
    /// a step an import cannot carry (enebular: register the private node a flow uses, then
    /// save the flow again).
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    #[schemars(with = "Vec<Note>")]
    pub after_import: ThinVec<Note>,
}

// A run holds one entry per asset until its report is written (100,000 in the benchmark): its
// lists are `ThinVec`s (one pointer each, no allocation while empty, as most stay), and what
// few entries have is boxed.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<AssetPlan>() <= 232);

/// A payload file that differs from the target's: its digests and sizes, and for small text
/// files the changed lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileChange {
    /// Path of the file inside the asset.
    pub path: String,
    /// Added, removed or changed.
    pub op: crate::diff::Op,
    /// The target's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<FileInfo>,
    /// The file written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<FileInfo>,
    /// For text files of at most 64 KiB each: the changed lines, unified style (`- `, `+ `,
    /// two lines of context, `  ...` where lines are left out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
}

/// A payload file's digest and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileInfo {
    /// SHA-256 of its bytes.
    pub sha256: Digest,
    /// Size in bytes.
    pub size: u64,
}

/// One rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameStep {
    /// Name before.
    pub from: String,
    /// Name after.
    pub to: String,
    /// The rule or policy that renamed it.
    pub by: String,
}

/// One field set by an override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideStep {
    /// JSON pointer.
    pub pointer: String,
    /// The value; `"***"` where it comes from the process environment.
    pub value: serde_json::Value,
    /// Where the override is written in the spec (`file:line:column`).
    pub at: String,
    /// `add` for a field the override adds (left out for `set`).
    #[serde(default, skip_serializing_if = "crate::spec::SetOp::is_set")]
    pub op: crate::spec::SetOp,
}

/// One reference rewritten to follow a rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefRewrite {
    /// JSON pointer of the field (the kind table's own text when it names one field, as a
    /// [`crate::model::Reference`]'s: a run holds one rewrite per reference to a renamed asset).
    pub pointer: std::borrow::Cow<'static, str>,
    /// Kind referred to (shared with the kind table likewise).
    pub kind: std::borrow::Cow<'static, str>,
    /// Old name.
    pub from: String,
    /// New name.
    pub to: String,
}

/// A warning or error.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// The package concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The asset concerned (`kind/name[@version]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// Stable code.
    pub code: String,
    /// What.
    pub message: String,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Note {
    /// A note with no package or asset yet.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Note {
            package: None,
            asset: None,
            code: code.to_string(),
            message: message.into(),
            hint: None,
        }
    }

    /// Names the asset.
    pub fn asset(mut self, asset: impl ToString) -> Self {
        self.asset = Some(asset.to_string());
        self
    }

    /// Names the package.
    pub fn package(mut self, package: impl Into<String>) -> Self {
        self.package = Some(package.into());
        self
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl SpecInfo {
    /// The spec as a plan records it: as named on the command line, with its digest.
    pub fn of(spec: &crate::spec::Spec, opts: &PlanOptions) -> SpecInfo {
        SpecInfo {
            path: opts
                .spec_display
                .clone()
                .unwrap_or_else(|| spec.path.display().to_string()),
            name: spec.name.clone(),
            env: opts.env.clone(),
            sha256: spec.digest,
            env_vars: Vec::new(),
        }
    }
}

impl Note {
    /// Applies `f` to every free text of the note: its message, the asset it names, its hint.
    pub fn each_text(&mut self, f: &mut dyn FnMut(&mut String)) {
        f(&mut self.message);
        if let Some(a) = &mut self.asset {
            f(a);
        }
        if let Some(h) = &mut self.hint {
            f(h);
        }
    }
}

/// Applies `f` to every string of a JSON value, object keys included.
pub fn each_json_text(v: &mut serde_json::Value, f: &mut dyn FnMut(&mut String)) {
    match v {
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| each_json_text(i, f)),
        serde_json::Value::Object(map) => {
            let old = std::mem::take(map);
            for (mut k, mut item) in old {
                f(&mut k);
                each_json_text(&mut item, f);
                map.insert(k, item);
            }
        }
        _ => {}
    }
}

impl AssetPlan {
    /// The plan of an asset written under its own name with nothing else to tell: no label,
    /// rename, change or error.
    pub fn bare(kind: &str, name: &str, version: Version, action: Action) -> AssetPlan {
        AssetPlan {
            kind: kind.into(),
            name: name.into(),
            version,
            labels: BTreeMap::new(),
            action,
            output_name: name.into(),
            output_version: None,
            renames: ThinVec::new(),
            stripped: ThinVec::new(),
            overrides: ThinVec::new(),
            references: ThinVec::new(),
            changed: false,
            error: None,
            dropped: None,
            diff: ThinVec::new(),
            files: ThinVec::new(),
            label_diff: ThinVec::new(),
            after_import: ThinVec::new(),
        }
    }

    /// Applies `f` to every free text of the asset's plan: names, labels, renames, the values
    /// overrides set, references, its error.
    pub fn each_text(&mut self, f: &mut dyn FnMut(&mut String)) {
        f(&mut self.name);
        f(&mut self.output_name);
        for v in self.labels.values_mut() {
            f(v);
        }
        for r in &mut self.renames {
            f(&mut r.from);
            f(&mut r.to);
            f(&mut r.by);
        }
        for o in &mut self.overrides {
            each_json_text(&mut o.value, f);
        }
        for r in &mut self.references {
            f(&mut r.from);
            f(&mut r.to);
        }
        if let Some(e) = &mut self.error {
            e.each_text(f);
        }
        if let Some(d) = &mut self.dropped {
            f(d);
        }
        for c in self.diff.iter_mut().chain(&mut self.label_diff) {
            f(&mut c.pointer);
            for v in c.old.iter_mut().chain(&mut c.new) {
                each_json_text(v, f);
            }
            if let Some(by) = &mut c.by {
                f(by);
            }
        }
        for c in &mut self.files {
            f(&mut c.path);
            for l in &mut c.lines {
                f(l);
            }
        }
        for n in &mut self.after_import {
            n.each_text(f);
        }
    }
}

impl Plan {
    /// Applies `f` to every free text of the plan (names, labels, values, messages, logs, the
    /// server's answers) and to nothing else: its codes, actions, kinds, paths and digests
    /// are the plan's own words.
    pub fn each_text(&mut self, f: &mut dyn FnMut(&mut String)) {
        for a in self.packages.iter_mut().flat_map(|p| &mut p.assets) {
            a.each_text(f);
        }
        for n in self
            .warnings
            .iter_mut()
            .chain(&mut self.logs)
            .chain(&mut self.abort)
        {
            n.each_text(f);
        }
        for u in &mut self.kie {
            for v in &mut u.success {
                each_json_text(v, f);
            }
            for k in &mut u.failure {
                f(&mut k.key);
                for v in k.labels.values_mut() {
                    f(v);
                }
                f(&mut k.error_message);
            }
        }
    }

    /// Masks every secret wherever the plan shows free text ([`Plan::each_text`]), and the
    /// credentials labels hold ([`crate::secrets::credentials::shown_label`]): a secret
    /// that happens to equal one of the plan's own words (a password `skip`) cannot change
    /// what the plan says or how it reads back.
    pub fn mask(&mut self, s: &crate::secrets::Secrets) {
        // A label named like a credential is shown masked, whatever the run's secrets.
        for a in self.packages.iter_mut().flat_map(|p| &mut p.assets) {
            for (k, v) in a.labels.iter_mut() {
                if let std::borrow::Cow::Owned(m) = crate::secrets::credentials::shown_label(k, v) {
                    *v = m;
                }
            }
        }
        if !s.is_empty() {
            self.each_text(&mut |t| s.mask_in(t));
        }
    }

    /// Whether applying it writes anything new to the target.
    pub fn has_changes(&self) -> bool {
        self.summary.create + self.summary.overwrite > 0
    }

    /// Whether anything failed or a policy aborted.
    pub fn has_failures(&self) -> bool {
        self.summary.fail > 0 || self.abort.is_some()
    }
}

/// An item the server refused, as it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KieFailure {
    /// Key.
    pub key: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Server error code.
    pub error_code: u32,
    /// Server error message.
    pub error_message: String,
}

/// The server's answer to one upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KieUpload {
    /// The source package.
    pub package: String,
    /// The override mode.
    pub mode: String,
    /// The items as the server holds them after the upload.
    pub success: Vec<serde_json::Value>,
    /// The refused items.
    pub failure: Vec<KieFailure>,
}

/// Options of a planning run.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// The platforms the run knows (their layouts and rules).
    pub platforms: platform::Platforms,
    /// The layouts packages may be in, as the platforms read them.
    pub layouts: crate::package::Layouts,
    /// Environment chosen with `--env`.
    pub env: Option<String>,
    /// Caps for reading packages.
    pub limits: crate::archive::Limits,
    /// Spec path as shown in the plan.
    pub spec_display: Option<String>,
    /// Output folder replacing the spec's.
    pub out_dir: Option<PathBuf>,
}
