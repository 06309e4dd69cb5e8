//! Raw spec → validated spec, collecting every problem with its place.

mod conflicts;
mod environments;
mod kind_decls;
mod platforms;
mod renames;
mod sections;
mod selectors;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::raw::RawSpec;
use super::{Diagnostic, Spec};
use crate::digest::Digest;
use crate::model::kinds;
use crate::yaml::{Node, Span};

const POLICIES: &[&str] = &["skip", "overwrite", "fail", "abort", "rename"];

const DEFAULT_ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

struct V {
    diags: Vec<Diagnostic>,
    kinds: BTreeSet<String>,
    /// Every kind's rules: the platforms' and the spec's.
    registry: kinds::Kinds,
    /// What the spec's regular expressions may still take once compiled.
    regexes: super::pattern::RegexBudget,
}

impl V {
    pub(super) fn error(&mut self, span: Span, code: &'static str, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(code, Some(span), message));
    }
    pub(super) fn error_help(
        &mut self,
        span: Span,
        code: &'static str,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.diags
            .push(Diagnostic::new(code, Some(span), message).help(help));
    }
}

pub(super) fn validate(
    mut raw: RawSpec,
    root: &Node,
    path: &Path,
    text: Arc<str>,
    digest: Digest,
    dir: PathBuf,
) -> (Spec, Vec<Diagnostic>) {
    let mut v = V {
        diags: Vec::new(),
        kinds: kinds::Kinds::builtin()
            .names()
            .map(str::to_string)
            .collect(),
        registry: kinds::Kinds::builtin().clone(),
        regexes: super::pattern::RegexBudget::default(),
    };
    let (name, seed, sources) = v.header(&raw, root, path);
    let output = v.output(raw.output.take());
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
    let conflicts = v.conflicts(raw.conflicts.take());
    let mut strip = v.strip(raw.strip.as_ref());
    let hooks = v.hooks(raw.hooks.as_ref());
    let lua = v.lua(raw.lua.as_ref());
    let env_vars = v.env_vars(raw.env_vars.as_ref());
    let mut environments = BTreeMap::new();
    for (name, env) in raw.environments.take().unwrap_or_default() {
        let e = v.environment(&name, env, &env_vars);
        environments.insert(name.value, e);
    }
    let default_env = v.default_env(raw.default_env.as_ref(), &environments);
    let on_error = v.on_error(raw.on_error.as_ref());
    let kie = v.kie(raw.kie.as_ref());
    let apig = v.apig(raw.apig.as_ref());
    let roma = v.roma(raw.roma.as_ref(), default_written, &mut strip);
    let promote = v.promote(raw.promote.as_ref());
    let capabilities = v.capabilities(raw.capabilities.as_ref());
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
        kinds: v.registry.clone(),
        select,
        exclude,
        renames,
        conflicts,
        strip,
        hooks,
        lua,
        env_vars,
        environments,
        default_env,
        on_error,
        kie,
        roma,
        apig,
        promote,
        capabilities,
    };
    (spec, v.diags)
}
