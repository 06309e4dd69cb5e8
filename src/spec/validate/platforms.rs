//! The platforms' sections of a spec: `kie:`, `apig:`, `roma:`, `promote:` and `capabilities:`.

use std::collections::BTreeMap;

use super::V;
use crate::spec::raw::{self};
use crate::spec::{Selector, Versions};
use crate::yaml::de::{Spanned, did_you_mean};

impl V {
    /// `kie:`.
    pub(super) fn kie(&mut self, raw: Option<&raw::RawKie>) -> crate::spec::KieConfig {
        let mut kie = crate::spec::KieConfig::default();
        if let Some(k) = raw {
            if let Some(m) = &k.override_mode {
                kie.mode = match m.value.as_str() {
                    "force" => crate::spec::KieMode::Force,
                    "skip" => crate::spec::KieMode::Skip,
                    "abort" => crate::spec::KieMode::Abort,
                    other => {
                        self.error_help(
                            m.span,
                            "spec.unknown_value",
                            format!("unknown KIE override `{other}`"),
                            did_you_mean(other, ["force", "skip", "abort"])
                                .or_else(|| Some("use force, skip or abort".into())),
                        );
                        crate::spec::KieMode::Force
                    }
                };
            }
            if let Some(l) = &k.label {
                self.error_help(
                    l.span,
                    "spec.ambiguous",
                    "`kie.label` is ambiguous: the import API's `label` parameter adds a label to every item",
                    Some(format!(
                        "write `only_label: {0}` to take only the items carrying it, or `add_label: {0}` to give it to every uploaded item",
                        l.value
                    )),
                );
            }
            let mut label = |field: &Option<Spanned<String>>, what: &str| {
                let l = field.as_ref()?;
                match l.value.split_once(':') {
                    Some((key, value)) if !key.is_empty() => {
                        Some((key.to_string(), value.to_string()))
                    }
                    _ => {
                        self.error(
                            l.span,
                            "spec.bad_label",
                            format!("kie.{what} is written key:value"),
                        );
                        None
                    }
                }
            };
            kie.only_label = label(&k.only_label, "only_label");
            kie.add_label = label(&k.add_label, "add_label");
            if let Some(f) = &k.upload_format {
                kie.upload_format = match f.value.as_str() {
                    "json" => Some(crate::spec::KieUploadFormat::Json),
                    "yaml" => Some(crate::spec::KieUploadFormat::Yaml),
                    other => {
                        self.error_help(
                            f.span,
                            "spec.unknown_value",
                            format!("unknown kie.upload_format `{other}`"),
                            Some("use json or yaml".into()),
                        );
                        None
                    }
                };
            }
        }
        kie
    }

    /// `apig:`.
    pub(super) fn apig(&mut self, raw: Option<&raw::RawApig>) -> Option<crate::spec::Apig> {
        raw.map(|a| {
            let mut mode = |field: &Option<Spanned<String>>, name: &str| {
                field.as_ref().and_then(|m| match m.value.as_str() {
                    "merge" => Some(crate::spec::ApigMode::Merge),
                    "override" => Some(crate::spec::ApigMode::Override),
                    other => {
                        self.error_help(
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
            crate::spec::Apig {
                mode: mode(&a.mode, "mode"),
                extend_mode: mode(&a.extend_mode, "extend_mode"),
            }
        })
    }

    /// `roma:`; the fields the instance does not carry over join `strip`.
    pub(super) fn roma(
        &mut self,
        raw: Option<&raw::RawRoma>,
        default_written: bool,
        strip: &mut BTreeMap<String, Vec<String>>,
    ) -> Option<crate::spec::Roma> {
        raw.map(|r| {
            let mode = r.mode.as_ref().and_then(|m| match m.value.as_str() {
                "append" => Some(crate::spec::ImportMode::Append),
                "overwrite" => Some(crate::spec::ImportMode::Overwrite),
                other => {
                    self.error_help(
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
                self.error_help(
                    m.span,
                    "spec.conflicting",
                    "roma.mode and conflicts.default both set the default conflict policy",
                    Some("keep one of them".into()),
                );
            }
            if let Some(o) = &r.override_data_sources
                && o.value
                && mode != Some(crate::spec::ImportMode::Overwrite)
            {
                self.error_help(
                    o.span,
                    "spec.conflicting",
                    "override_data_sources applies to the overwrite import mode only",
                    Some("set `mode: overwrite`, or remove override_data_sources".into()),
                );
            }
            // The instance does not carry these over (the kind tables say which): they are
            // removed, with a warning each.
            for k in crate::model::kinds::roma::KINDS {
                if k.unportable.is_empty() {
                    continue;
                }
                let fields = strip.entry(k.name.to_string()).or_default();
                for p in k.unportable {
                    if !fields.iter().any(|x| x == p) {
                        fields.push((*p).to_string());
                    }
                }
            }
            crate::spec::Roma {
                mode,
                override_data_sources: r.override_data_sources.as_ref().is_some_and(|o| o.value),
            }
        })
    }

    /// `promote:`.
    pub(super) fn promote(
        &mut self,
        raw: Option<&Vec<Spanned<raw::RawPromote>>>,
    ) -> Vec<crate::spec::Promote> {
        let mut promote = Vec::new();
        for p in raw.into_iter().flatten() {
            let version = match p.value.version.as_ref() {
                None => crate::spec::PromoteVersion::Latest,
                Some(x) if x.value == "latest" => crate::spec::PromoteVersion::Latest,
                Some(x) => match crate::model::Version::parse_folder(&x.value) {
                    Some(crate::model::Version::Number(n)) => {
                        crate::spec::PromoteVersion::Number(n)
                    }
                    _ => {
                        self.error(
                            x.span,
                            "spec.bad_version",
                            "promote takes `latest` or a version number",
                        );
                        crate::spec::PromoteVersion::Latest
                    }
                },
            };
            for k in p.value.kind.iter().flat_map(|k| &k.0) {
                if !self.registry.get(&k.value).is_some_and(|r| r.versioned)
                    && self.kinds.contains(&k.value)
                {
                    self.error_help(
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
            let selector =
                Selector {
                    kinds: Some(self.kinds_of(&p.value.kind).unwrap_or_else(|| {
                        ["file", "flow", "privatenode"].map(String::from).into()
                    })),
                    names: self.names(&p.value.names),
                    versions: Versions::All,
                    labels: BTreeMap::new(),
                    with_dependencies: false,
                    span: p.span,
                };
            promote.push(crate::spec::Promote { selector, version });
        }
        promote
    }

    /// `capabilities:`.
    pub(super) fn capabilities(
        &mut self,
        raw: Option<&raw::RawCapabilities>,
    ) -> crate::spec::Capabilities {
        raw.map_or_else(crate::spec::Capabilities::default, |c| {
            crate::spec::Capabilities {
                versions: c.versions.unwrap_or(true),
                files: c.files.unwrap_or(true),
                privatenodes: c.privatenodes.unwrap_or(true),
                changed_content: c.changed_content.unwrap_or(false),
            }
        })
    }
}
