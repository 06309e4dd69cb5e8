//! The spec as written: serde types that mirror the YAML. Every field is optional here;
//! what is required, and what each value may be, is checked by validation
//! (`super::validate`), which reports every problem with its place.
//!
//! Doc comments on these types are the descriptions `hoist schema` prints.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

use crate::yaml::de::{OneOrMany, Spanned};

/// A hoist spec: which assets to promote, how to rename them, what to do on conflicts, and
/// what changes per environment.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Spec")]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    /// Spec format version. Must be 1.
    pub version: Option<Spanned<u32>>,
    /// Name of the promotion, shown in plans and reports.
    pub name: Option<Spanned<String>>,
    /// Seed for generated names (random conflict suffixes, `ctx.suffix` in hooks): the same
    /// seed gives the same names on every run. Defaults to the spec's name.
    pub seed: Option<Spanned<String>>,
    /// Packages to promote: ZIP files, directories or glob patterns, relative to the spec file.
    pub sources: Option<OneOrMany<Spanned<String>>>,
    /// Snapshot of what the destination already holds (a package of the same layout),
    /// relative to the spec file. Without it every asset is created.
    pub target: Option<Spanned<String>>,
    /// Where outputs are written.
    pub output: Option<RawOutput>,
    /// Kinds this spec names beyond the ones hoist knows (see `hoist schema` for the list):
    /// a name, or a table that declares the kind's name field and references.
    pub kinds: Option<Vec<Spanned<RawKind>>>,
    /// Which assets to take. An asset is taken if any rule matches. Without `select`, every
    /// asset is taken.
    pub select: Option<Vec<Spanned<RawSelector>>>,
    /// Assets to leave out, even when selected or referenced.
    pub exclude: Option<Vec<Spanned<RawSelector>>>,
    /// Rename rules, applied in order; every reference to a renamed asset follows it.
    pub rename: Option<Vec<Spanned<RawRename>>>,
    /// What to do when the target already has an asset of the same kind and name:
    /// `default`, then per kind (`api: overwrite`), then `by_name` rules.
    pub conflicts: Option<RawConflicts>,
    /// Fields to remove per kind, as JSON pointers (`api: [/throttling]`); each removal is a
    /// warning in the plan.
    pub strip: Option<BTreeMap<Spanned<String>, Vec<Spanned<String>>>>,
    /// Lua scripts run on every asset of the given kinds.
    pub hooks: Option<Vec<Spanned<RawHook>>>,
    /// Budgets of the Lua sandbox.
    pub lua: Option<RawLua>,
    /// Which process environment variables `${env:NAME}` may read. Every one read is secret
    /// (masked in every plan, report, message and log) unless listed under `plain`.
    pub env_vars: Option<RawEnvVars>,
    /// Settings per destination environment, chosen with `--env NAME`.
    pub environments: Option<BTreeMap<Spanned<String>, RawEnvironment>>,
    /// The environment used when `--env` is not given. A spec that defines environments
    /// and names no default requires `--env`.
    pub default_env: Option<Spanned<String>>,
    /// `continue` (default): a failing asset is listed and the rest goes on. `abort`: any
    /// failure writes nothing at all.
    pub on_error: Option<Spanned<String>>,
    /// How KIE configuration files are uploaded.
    pub kie: Option<RawKie>,
    /// ROMA Connect import options.
    pub roma: Option<RawRoma>,
    /// APIG (OpenAPI) import options.
    pub apig: Option<RawApig>,
    /// Versions to promote to master (enebular): the version becomes the asset's master, its
    /// title the asset's name and its comment the description.
    pub promote: Option<Vec<Spanned<RawPromote>>>,
    /// What the destination platform accepts (enebular).
    pub capabilities: Option<RawCapabilities>,
}

/// The process environment variables a spec may read.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "EnvVars")]
#[serde(deny_unknown_fields)]
pub struct RawEnvVars {
    /// Variables whose values are secret, by name (`ORDERS_DB_PASSWORD`) or by prefix
    /// (`ORDERS_*`). Their values are masked wherever hoist shows anything, and may not become
    /// part of an asset's identity (a name, a reference, a KIE label).
    pub secret: Option<Vec<Spanned<String>>>,
    /// Variables that may be read and shown as they are (a region, a port), by name or prefix.
    pub plain: Option<Vec<Spanned<String>>>,
}

/// ROMA Connect import options, as the instance import dialog has them.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Roma")]
#[serde(deny_unknown_fields)]
pub struct RawRoma {
    /// `append`: assets the instance already has stay, new ones are added (conflicts skip);
    /// `overwrite`: imported assets replace existing ones of the same name. Sets the default
    /// conflict policy; per-kind and by-name policies still apply.
    pub mode: Option<Spanned<String>>,
    /// With `overwrite`: whether imported data sources replace existing ones of the same name
    /// ("override environment configuration"). Default false. An environment may set it too.
    pub override_data_sources: Option<Spanned<bool>>,
}

/// APIG import options, as the import of API definitions into an existing group has them.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Apig")]
#[serde(deny_unknown_fields)]
pub struct RawApig {
    /// When an imported API is the same as one the group has: `merge` keeps the existing API,
    /// `override` replaces it.
    pub mode: Option<Spanned<String>>,
    /// When the group's extended definitions (access control and request throttling policies)
    /// conflict with the existing ones: `merge` keeps the existing ones, `override` replaces them.
    pub extend_mode: Option<Spanned<String>>,
}

/// A version to promote to master.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Promote")]
#[serde(deny_unknown_fields)]
pub struct RawPromote {
    /// Kind or kinds; all kinds when left out.
    pub kind: Option<OneOrMany<Spanned<String>>>,
    /// Source names (globs or `re:`); all when left out.
    pub names: Option<OneOrMany<Spanned<String>>>,
    /// `latest` (the highest number) or a version number.
    pub version: Option<Spanned<String>>,
}

/// What the destination platform accepts.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Capabilities")]
#[serde(deny_unknown_fields)]
pub struct RawCapabilities {
    /// Whether it keeps versions; without, only master versions are taken (a warning each).
    pub versions: Option<bool>,
    /// Whether it accepts uploaded files.
    pub files: Option<bool>,
    /// Whether it accepts private nodes.
    pub privatenodes: Option<bool>,
    /// Whether it accepts an export whose hashed content changed (an override, a hook or a
    /// strip edited an asset). Default false: enebular refuses such an asset on import, so it
    /// fails in the plan; true makes each change a warning.
    pub changed_content: Option<bool>,
}

/// How KIE configuration files are uploaded, as the KIE server's import does it.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Kie")]
#[serde(deny_unknown_fields)]
pub struct RawKie {
    /// `force` (default: create, or update value and status), `skip` (a duplicate fails with
    /// 400004) or `abort` (the first duplicate and every later item fail with 400005).
    #[serde(rename = "override")]
    pub override_mode: Option<Spanned<String>>,
    /// Refused: the import API's `label` parameter adds a label, while this name once
    /// filtered the sources; say which with `only_label` or `add_label`.
    #[schemars(skip)]
    pub label: Option<Spanned<String>>,
    /// Take only the source items carrying this label, as `key:value`.
    pub only_label: Option<Spanned<String>>,
    /// Give every uploaded item this label, as `key:value`, as the import API's `label`
    /// parameter does.
    pub add_label: Option<Spanned<String>>,
    /// The format of the file to upload: `json` (default; the import API takes a
    /// `fileName.json`) or `yaml`.
    pub upload_format: Option<Spanned<String>>,
}

/// Where outputs are written.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Output")]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    /// Folder for the outputs, relative to the spec file: one delta package per source,
    /// named after it, and `report.json`.
    pub dir: Option<Spanned<String>>,
    /// `zip` (default) or `dir`.
    pub format: Option<Spanned<String>>,
    /// Also write `merged.zip` (or `merged/`): the target as it will be after the import.
    pub merged: Option<bool>,
}

/// Matches assets by kind, name, version and labels.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Selector")]
#[serde(deny_unknown_fields)]
pub struct RawSelector {
    /// Kind or kinds; all kinds when left out.
    pub kind: Option<OneOrMany<Spanned<String>>>,
    /// Name patterns: globs (`orders-*`), or regular expressions after `re:`
    /// (`re:^v[0-9]+-.*$`), matching the whole source name. All names when left out.
    pub names: Option<OneOrMany<Spanned<String>>>,
    /// Versions: `master`, `latest` (highest number), `all`, or numbers. All when left out.
    pub versions: Option<OneOrMany<Spanned<String>>>,
    /// Labels the asset must carry; a value of `*` only asks for the label to be present.
    pub labels: Option<BTreeMap<String, String>>,
    /// Also take what the matched assets reference (groups, authorizers, backends, data
    /// sources…) and what they own (an app's groups, a group's APIs), transitively.
    pub with_dependencies: Option<bool>,
}

/// A rename rule. Give `prefix` and/or `suffix`, or `match` with `to`, or `hook`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Rename")]
#[serde(deny_unknown_fields)]
pub struct RawRename {
    /// Kind or kinds the rule applies to; all kinds when left out.
    pub kind: Option<OneOrMany<Spanned<String>>>,
    /// Source names the rule applies to (globs or `re:`); all when left out.
    pub names: Option<OneOrMany<Spanned<String>>>,
    /// Source names the rule skips (globs or `re:`).
    pub except: Option<OneOrMany<Spanned<String>>>,
    /// Text put before the name.
    pub prefix: Option<Spanned<String>>,
    /// Text put after the name.
    pub suffix: Option<Spanned<String>>,
    /// Regular expression matched against the current name; with `to`.
    #[serde(rename = "match")]
    pub pattern: Option<Spanned<String>>,
    /// Replacement for `match`; `$1`, `${name}` refer to groups.
    pub to: Option<Spanned<String>>,
    /// Lua script whose `rename(asset, ctx)` returns the new name.
    pub hook: Option<Spanned<String>>,
}

/// A conflict policy: `skip`, `overwrite`, `fail`, `abort`, `rename` (counter), or a table:
/// `{rename: counter}`, `{rename: random, length: 6, alphabet: "abc…"}`, `{hook: script.lua}`.
#[derive(Debug, Clone)]
pub enum RawPolicy {
    /// A policy by name.
    Word(String),
    /// A policy with settings.
    Table(Box<RawPolicyTable>),
}

/// Settings of a `rename` or `hook` policy.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(rename = "PolicyTable")]
#[serde(deny_unknown_fields)]
pub struct RawPolicyTable {
    /// `counter` (`name_1`, `name_2`, … first free) or `random` (characters derived from the
    /// seed, kind and name).
    pub rename: Option<Spanned<String>>,
    /// Number of random characters (default 6).
    pub length: Option<Spanned<u32>>,
    /// Characters to draw from (default lowercase letters and digits).
    pub alphabet: Option<Spanned<String>>,
    /// Separator before the generated part (default `_` for counter, `-` for random).
    pub separator: Option<Spanned<String>>,
    /// Lua script whose `on_conflict(asset, existing, ctx)` returns the policy.
    pub hook: Option<Spanned<String>>,
}

/// A kind the spec declares: its name alone, or its rules.
#[derive(Debug)]
pub enum RawKind {
    /// A name: assets of the kind are carried as they are.
    Name(String),
    /// A kind with rules.
    Table(Box<RawKindTable>),
}

/// The rules of a declared kind, as a built-in kind has them.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "KindTable")]
#[serde(deny_unknown_fields)]
pub struct RawKindTable {
    /// The kind's name: lowercase letters, digits and `_`, starting with a letter.
    pub name: Spanned<String>,
    /// What the kind is, for messages.
    pub about: Option<Spanned<String>>,
    /// JSON pointer of the field that repeats the asset's name (kept in step on rename), e.g.
    /// `/name`.
    pub name_field: Option<Spanned<String>>,
    /// Fields that name other assets: renames follow them, `with_dependencies` takes what
    /// they name, and every one must name an asset of the output or the target.
    pub references: Option<Vec<Spanned<RawKindRef>>>,
}

/// A reference field of a declared kind.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "KindReference")]
#[serde(deny_unknown_fields)]
pub struct RawKindRef {
    /// JSON pointer of the field; `*` stands for every element of an array
    /// (`/channels/*/name`).
    pub pointer: Spanned<String>,
    /// The kind of the asset the field names.
    pub kind: Spanned<String>,
    /// Whether the named asset owns this one (taking the owner with its dependencies takes
    /// this asset too).
    pub owner: Option<Spanned<bool>>,
}

impl<'de> Deserialize<'de> for RawKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawKind;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a kind name or a table like {name: vpc_link, references: […]}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawKind, E> {
                Ok(RawKind::Name(v.to_string()))
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<RawKind, A::Error> {
                RawKindTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| RawKind::Table(Box::new(t)))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Kind".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let table = generator.subschema_for::<RawKindTable>();
        schemars::json_schema!({
            "description": "A kind the spec names: its name, or a table with its rules.",
            "anyOf": [{ "type": "string" }, table]
        })
    }
}

impl<'de> Deserialize<'de> for RawPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPolicy;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a policy (skip, overwrite, fail, abort, rename) or a table like {rename: random}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawPolicy, E> {
                Ok(RawPolicy::Word(v.to_string()))
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<RawPolicy, A::Error> {
                RawPolicyTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| RawPolicy::Table(Box::new(t)))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawPolicy {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Policy".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let table = generator.subschema_for::<RawPolicyTable>();
        schemars::json_schema!({
            "description": "A conflict policy: a word, or a table for rename and hook policies.",
            "anyOf": [
                { "type": "string", "enum": ["skip", "overwrite", "fail", "abort", "rename"] },
                table
            ]
        })
    }
}

/// A conflict rule for names matching a pattern.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "NameRule")]
#[serde(deny_unknown_fields)]
pub struct RawNameRule {
    /// Kind or kinds; all kinds when left out.
    pub kind: Option<OneOrMany<Spanned<String>>>,
    /// Source names (globs or `re:`).
    pub names: Option<OneOrMany<Spanned<String>>>,
    /// The policy for these assets.
    pub policy: Option<Spanned<RawPolicy>>,
}

/// Conflict policies: `default`, then one key per kind, then `by_name` rules (first match wins).
#[derive(Debug, Default)]
pub struct RawConflicts {
    /// `default:` and the per-kind entries, in the order written.
    pub policies: Vec<(Spanned<String>, Spanned<RawPolicy>)>,
    /// `by_name:` rules.
    pub by_name: Vec<Spanned<RawNameRule>>,
}

impl<'de> Deserialize<'de> for RawConflicts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawConflicts;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of `default`, kinds and `by_name` to policies")
            }

            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawConflicts, A::Error> {
                let mut out = RawConflicts::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    if key.value == "by_name" {
                        out.by_name = map.next_value()?;
                    } else {
                        out.policies.push((key, map.next_value()?));
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

impl JsonSchema for RawConflicts {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Conflicts".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let policy = generator.subschema_for::<RawPolicy>();
        let rules = generator.subschema_for::<Vec<Spanned<RawNameRule>>>();
        schemars::json_schema!({
            "description": "Conflict policies: `default`, then one key per kind, then `by_name` rules.",
            "type": "object",
            "properties": { "default": policy, "by_name": rules },
            "additionalProperties": policy
        })
    }
}

/// A Lua script run on assets.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Hook")]
#[serde(deny_unknown_fields)]
pub struct RawHook {
    /// Path of the script, relative to the spec file.
    pub script: Option<Spanned<String>>,
    /// Kinds it runs on; all kinds when left out.
    pub kinds: Option<OneOrMany<Spanned<String>>>,
}

/// Budgets of the Lua sandbox.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Lua")]
#[serde(deny_unknown_fields)]
pub struct RawLua {
    /// Memory cap per Lua state, in MiB (default 64).
    pub memory_mib: Option<Spanned<u32>>,
    /// Instruction budget per hook call, in millions (default 100).
    pub instructions_millions: Option<Spanned<u32>>,
    /// Wall-clock limit per hook call, in milliseconds (default 2000): a call past it (even
    /// inside a C function) ends the whole run, and nothing is written.
    pub timeout_ms: Option<Spanned<u32>>,
}

/// What changes for one destination environment.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Environment")]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    /// Values usable as `${var:NAME}` in overrides, and as `ctx.vars` in hooks.
    pub vars: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    /// Target snapshot for this environment, replacing the spec's `target`.
    pub target: Option<Spanned<String>>,
    /// Output folder for this environment, replacing `output.dir`.
    pub output: Option<Spanned<String>>,
    /// Whether imported data sources replace existing ones of the same name (ROMA's
    /// "override environment configuration"); `false` keeps the existing ones.
    pub override_data_sources: Option<bool>,
    /// Field values to set on selected assets.
    pub overrides: Option<Vec<Spanned<RawOverride>>>,
}

/// Sets fields on the assets it matches. Strict: it must match at least one asset, and every
/// field it sets must already exist.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Override")]
#[serde(deny_unknown_fields)]
pub struct RawOverride {
    /// Kind or kinds; all kinds when left out.
    pub kind: Option<OneOrMany<Spanned<String>>>,
    /// Source names (globs or `re:`); all when left out.
    pub names: Option<OneOrMany<Spanned<String>>>,
    /// Labels the asset must carry.
    pub labels: Option<BTreeMap<String, String>>,
    /// JSON pointer → value. Strings may use `${env:NAME}`, `${env:NAME:-default}` (read from
    /// the process environment; `NAME` must be declared under `env_vars`) and `${var:NAME}`.
    pub set: Option<BTreeMap<Spanned<String>, Spanned<serde_json::Value>>>,
    /// JSON pointer → value, for fields the asset does not have yet (a new label): the parent
    /// must exist and the field must not (`set` changes fields that exist). Same templates.
    pub add: Option<BTreeMap<Spanned<String>, Spanned<serde_json::Value>>>,
    /// Treat every value this override sets as secret, wherever it comes from: masked in
    /// plans, reports and logs.
    pub secret: Option<bool>,
}
