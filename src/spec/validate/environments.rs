//! `env_vars:` and `environments:`: variables, overrides, and which values are secret.

use std::collections::{BTreeMap, BTreeSet};

use super::V;
use crate::spec::raw::{self};
use crate::spec::template::ValueTemplate;
use crate::spec::{Environment, Override, Selector, SetOp, Setting, Versions};
use crate::yaml::de::{Spanned, did_you_mean};

impl V {
    pub(super) fn env_vars(&mut self, raw: Option<&raw::RawEnvVars>) -> crate::spec::EnvVars {
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
        crate::spec::EnvVars { secret, plain }
    }
    /// Checks the process environment variables a setting reads against `env_vars`, and that
    /// a secret value cannot become part of an asset's identity.
    pub(super) fn setting_env(
        &mut self,
        env_vars: &crate::spec::EnvVars,
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
            None => self.registry.names().map(str::to_string).collect(),
        };
        for kind in &kinds {
            if let Some(id) = self
                .registry
                .identity_pointers(kind)
                .into_iter()
                .find(|id| crate::model::kinds::pointers_overlap(&pointer.value, id))
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
    pub(super) fn environment(
        &mut self,
        name: &Spanned<String>,
        e: raw::RawEnvironment,
        env_vars: &crate::spec::EnvVars,
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
            // `set` entries, then `add` entries, each with its operation.
            let entries: Vec<_> = [(r.set.as_ref(), SetOp::Set), (r.add.as_ref(), SetOp::Add)]
                .into_iter()
                .flat_map(|(m, op)| m.into_iter().flatten().map(move |(p, v)| (p, v, op)))
                .collect();
            if r.secret == Some(true) {
                // Masked from here on in everything hoist prints, the spec's own lines in
                // an error included.
                let mut literals = Vec::new();
                for (_, value, _) in &entries {
                    crate::secrets::credentials::collect_all(&value.value, &mut literals);
                }
                // A template's text is not the secret: its value is masked once read.
                literals.retain(|l| !l.contains("${"));
                crate::secrets::remember(&crate::secrets::Secrets::of_found(literals));
            }
            if entries.is_empty() {
                self.error(
                    o.span,
                    "spec.missing",
                    "an override needs `set:` or `add:` with at least one pointer",
                );
            }
            for (ptr, value, op) in entries {
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
                            op,
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
