//! The seam between the planner and the platforms. Each platform (`platform/<name>/`) reads
//! and writes its layout ([`LayoutIo`]) and adds its rules to planning through [`Platform`];
//! the planner calls these and never asks which platform it has. The command line hands the
//! planner the list of platforms ([`super::PlanOptions::platforms`]), so neither this folder
//! nor `package` knows any platform by its folder.

use std::collections::BTreeMap;

use serde_json::Value;

use super::environ::EnvRead;
use super::inputs::Loaded;
use super::select::Selection;
use super::transform::Item;
use super::{Note, PlanOptions, Planned};
use crate::error::Error;
use crate::hooks::HookHost;
use crate::model::Asset;
use crate::package::{Layout, LayoutIo};
use crate::spec::{Environment, Policy, Spec};

/// What a planner of its own is given (KIE uploads are planned item by item, not through
/// select → transform → resolve).
pub struct PlanInput<'a> {
    /// The spec.
    pub spec: &'a Spec,
    /// The run's options.
    pub opts: &'a PlanOptions,
    /// The environment chosen with `--env`.
    pub env: Option<&'a Environment>,
    /// What the run read from the process environment.
    pub read: &'a EnvRead,
}

/// A planner of its own.
pub type Planner = fn(&PlanInput<'_>, Loaded) -> Result<Planned, Error>;

/// What conflict hooks and platform checks look at: the target's assets by kind and name.
pub type TargetAssets<'a> = BTreeMap<(String, String), &'a Asset>;

/// What resolution consults besides the packages.
pub struct Ctx<'a> {
    /// The spec.
    pub spec: &'a Spec,
    /// The hook scripts, when the spec names any.
    pub hooks: Option<&'a HookHost>,
    /// The target's assets by kind and name.
    pub target: &'a TargetAssets<'a>,
    /// Whether imported data sources replace existing ones (the environment's switch, else
    /// the spec's).
    pub override_data_sources: bool,
    /// Whether a target was given at all: some checks need one.
    pub has_target: bool,
}

/// Checks that look at the target and at every package in turn (ROMA: paths, ids, functions).
pub trait TargetChecks {
    /// Called once before the first package with the items of every package the checks
    /// will see, in the order [`TargetChecks::package`] will see them: what the checks read
    /// from documents can be read here, on every thread, and reused for the documents
    /// resolution leaves unchanged.
    fn prepare(&mut self, _packages: &[&[Item]]) {}
    /// Checks one package's resolved items; failures go on the items.
    fn package(&mut self, items: &mut [Item]);
    /// What the checks could not do, or found across packages.
    fn finish(self: Box<Self>) -> Vec<Note>;
}

/// Finds the values inside a document that must never be shown.
pub type SecretsFinder = fn(&Value) -> Vec<String>;

/// What a platform adds to planning. Every method has a neutral default, so a platform says
/// only what differs.
pub trait Platform: LayoutIo {
    /// A planner of its own, used instead of select → transform → resolve.
    fn planner(&self) -> Option<Planner> {
        None
    }

    /// What finds the values inside a document that must never be shown (enebular
    /// `sourceCode` credentials); `None` when the platform's documents hold none that way,
    /// and then no document is parsed to ask.
    fn secrets_finder(&self) -> Option<SecretsFinder> {
        None
    }

    /// Whether what an override sets at `pointer` of a `kind` asset is never shown, not even
    /// masked part by part (enebular `sourceCode`).
    fn hides(&self, _kind: &str, _pointer: &str) -> bool {
        false
    }

    /// Adjusts what one package's selection takes (enebular: promoted versions, a destination
    /// without versions).
    fn adjust_selection(
        &self,
        _spec: &Spec,
        _assets: &[Asset],
        _sel: &mut Selection,
        _shown: &str,
    ) {
    }

    /// Rules of the spec this platform's import cannot carry out, each an error at its line
    /// (enebular: rename rules, `overwrite`).
    fn check_spec(&self, _spec: &Spec) -> Vec<crate::spec::Diagnostic> {
        Vec::new()
    }

    /// Fails what the destination does not accept, before conflicts are resolved.
    fn refuse(&self, _spec: &Spec, _items: &mut [Item]) {}

    /// A conflict the platform decides whatever the spec's policy says: the failure.
    fn forced_conflict(&self, _kind: &str, _name: &str) -> Option<Note> {
        None
    }

    /// The conflict policy the platform's import applies to `kind` when the spec names none
    /// for it (ROMA's append or overwrite mode), with `override_data_sources` in force.
    fn import_policy(
        &self,
        _spec: &Spec,
        _kind: &str,
        _override_data_sources: bool,
    ) -> Option<Policy> {
        None
    }

    /// What to call the rule that decides `kind`'s conflicts when the spec has no entry for
    /// the kind, in the words of the spec (`roma.mode`).
    fn policy_source(&self, _spec: &Spec, _kind: &str) -> Option<String> {
        None
    }

    /// Checks of one package once its conflicts are resolved and references follow renames.
    fn after_resolve(
        &self,
        _spec: &Spec,
        _items: &mut [Item],
        _shown: &str,
        _warnings: &mut Vec<Note>,
    ) {
    }

    /// Steps on the platform after importing what the plan writes ([`Item::after_import`]),
    /// once every item's action is final (enebular: register a private node a flow uses).
    fn after_import(&self, _items: &mut [Item], _shown: &str) {}

    /// Checks against the target across packages, made once per run.
    fn target_checks<'a>(&self, _ctx: &Ctx<'a>) -> Option<Box<dyn TargetChecks + 'a>> {
        None
    }
}

/// The platforms a run knows.
pub type Platforms = &'static [&'static dyn Platform];

/// The platform of `layout` among `platforms`.
pub fn platform_of(platforms: Platforms, layout: Layout) -> Result<&'static dyn Platform, Error> {
    platforms
        .iter()
        .copied()
        .find(|p| p.layout() == layout)
        .ok_or_else(|| Error::Usage(format!("no platform knows the {layout} layout")))
}
