//! The process environment, read once per planning run: every `${env:NAME}` the chosen
//! environment's overrides use is looked up here and nowhere else, so a run sees one value per
//! variable, and every secret is known before anything is shown.

use std::collections::BTreeMap;

use super::inputs::EnvLookup;
use crate::error::Error;
use crate::secrets::{MIN_SECRET_CHARS, Secrets};
use crate::spec::{Diagnostic, Environment, Spec, SpecErrors};

/// What a planning run read from the process environment.
#[derive(Debug, Default)]
pub struct EnvRead {
    values: BTreeMap<String, Option<String>>,
    /// Values never to be shown: those of secret variables, and whatever an override marked
    /// `secret: true` sets.
    pub secrets: Secrets,
}

impl EnvRead {
    /// The value of `name` as read (`None` when unset or not read).
    pub fn lookup(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned().flatten()
    }

    /// The variables read that were set, by name (a saved plan records these, never values).
    pub fn names_set(&self) -> Vec<String> {
        self.values
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// The strings of a value, and its numbers as written (a secret may be numeric).
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        serde_json::Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

/// Reads every variable the overrides of `env` use. A variable that is unset and has no
/// default, or a secret shorter than [`MIN_SECRET_CHARS`] (it could not be masked reliably), is
/// an error at the value's place in the spec.
pub fn read(spec: &Spec, env: Option<&Environment>, lookup: &EnvLookup) -> Result<EnvRead, Error> {
    let mut out = EnvRead::default();
    let mut diags = Vec::new();
    let Some(env) = env else {
        return Ok(out);
    };
    let too_short = |what: String| {
        format!(
            "{what} is shorter than {MIN_SECRET_CHARS} characters, too short to be masked reliably wherever hoist shows text"
        )
    };
    for set in env.overrides.iter().flat_map(|o| &o.set) {
        for name in set.value.env_names() {
            let value = out
                .values
                .entry(name.clone())
                .or_insert_with(|| lookup(&name))
                .clone();
            let secret = spec.env_vars.declared(&name).unwrap_or(true);
            if let (Some(v), true) = (value, secret) {
                if v.chars().count() < MIN_SECRET_CHARS {
                    diags.push(Diagnostic::new(
                        "spec.short_secret",
                        Some(set.value_span),
                        too_short(format!("the value of the secret variable {name}")),
                    )
                    .help(Some(format!(
                        "use a longer value, or declare {name} under env_vars.plain if it is not secret"
                    ))));
                } else {
                    out.secrets.add(v);
                }
            }
        }
        let rendered = set
            .value
            .render(&env.vars, &|n: &str| out.values.get(n).cloned().flatten());
        match rendered {
            Err(m) => diags.push(Diagnostic::new("spec.env", Some(set.value_span), m)),
            Ok(v) if set.secret => {
                let mut found = Vec::new();
                strings(&v, &mut found);
                for s in found {
                    if s.chars().count() < MIN_SECRET_CHARS {
                        diags.push(Diagnostic::new(
                            "spec.short_secret",
                            Some(set.value_span),
                            too_short("a value this override marks secret".into()),
                        )
                        .help(Some(
                            "use a longer value, or leave out `secret: true` if it is not secret"
                                .to_string(),
                        )));
                    } else {
                        out.secrets.add(s);
                    }
                }
            }
            Ok(_) => {}
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        diags.sort_by_key(|d| d.span.map(|s| s.start));
        diags.dedup();
        Err(Error::Spec(SpecErrors {
            path: spec.path.clone(),
            text: spec.text.clone(),
            diagnostics: diags,
        }))
    }
}
