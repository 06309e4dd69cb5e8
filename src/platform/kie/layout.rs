//! ServiceComb KIE configuration files: `{metadata: {version, annotations}, data: [KVDoc]}`
//! as JSON or YAML, one file per package. A KVDoc is `key`, `value`, `value_type`, `status`
//! and `labels`; identity is the key with its exact label set.
//!
//! Three real shapes are read: the import API's upload body (`POST /v1/{project_id}/kie/file`,
//! platform-docs/kie-importing-configurations-api.txt, "File format"); the export the CSE
//! API answers at `POST /v1/{project_id}/kie/download`, which is the same `metadata` + `data`
//! object (its response model, `DownloadKieResponse`, holds `metadata {version, annotations}`
//! and `data`, a list of the items the import takes), so an export is a source or a target as
//! it is; and the list API's `{total, data}` answer, whose items carry the server's own fields
//! (ids, revisions, times), left out of the upload.
//!
//! Structure is checked on reading (a malformed file is refused whole, as the server refuses
//! the upload); the server's per-item rules (key pattern, sizes, status, value type, labels)
//! are applied by the upload simulation, which fails one item at a time.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::archive::error::PackageError;
use crate::archive::source::Source;
use crate::model::{Asset, AssetKey, EntryRef, Version};
use crate::package::{AssetFailure, Layout, LayoutIo, Package};

/// JSON or YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KieFormat {
    /// `.json`.
    Json,
    /// `.yaml` / `.yml`.
    Yaml,
}

impl KieFormat {
    /// The format of a file, by its extension.
    pub fn of(path: &Path) -> KieFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("yaml" | "yml") => KieFormat::Yaml,
            _ => KieFormat::Json,
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            KieFormat::Json => "json",
            KieFormat::Yaml => "yaml",
        }
    }
}

/// One configuration item.
#[derive(Debug, Clone, PartialEq)]
pub struct KvDoc {
    /// The key.
    pub key: String,
    /// The labels; with the key, the item's identity.
    pub labels: BTreeMap<String, String>,
    /// The whole item as read (value, value_type, status and any other field).
    pub doc: Map<String, Value>,
}

impl KvDoc {
    /// A string field of the item, if present.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.doc.get(name).and_then(Value::as_str)
    }

    /// `key{a=1,b=2}`, for messages.
    pub fn shown(&self) -> String {
        if self.labels.is_empty() {
            self.key.clone()
        } else {
            let l: Vec<String> = self
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={}", crate::secrets::credentials::shown_label(k, v)))
                .collect();
            format!("{}{{{}}}", self.key, l.join(","))
        }
    }
}

/// A KIE file.
#[derive(Debug, Clone)]
pub struct KieFile {
    /// JSON or YAML.
    pub format: KieFormat,
    /// `metadata`, kept as read.
    pub metadata: Option<Value>,
    /// `data`, in file order.
    pub items: Vec<KvDoc>,
}

fn shape(path: &Path, detail: String) -> PackageError {
    PackageError::Layout {
        path: path.into(),
        detail,
    }
}

/// Most bytes YAML aliases may add to a KIE file of `len` bytes: as much again as the file,
/// plus 1 MiB, and never past `max_total_size` (what a package may inflate to). Exports from the
/// server hold no aliases; hand-written files use a few small anchors.
pub fn max_alias_bytes(len: usize, max_total_size: u64) -> usize {
    let cap = usize::try_from(max_total_size).unwrap_or(usize::MAX);
    len.saturating_add(1 << 20).min(cap)
}

/// Parses KIE file bytes, with at most [`max_alias_bytes`] added by YAML aliases.
pub fn parse(path: &Path, bytes: &[u8], max_total_size: u64) -> Result<KieFile, PackageError> {
    let format = KieFormat::of(path);
    let text =
        std::str::from_utf8(bytes).map_err(|_| shape(path, "the file is not UTF-8 text".into()))?;
    let value: Value = match format {
        KieFormat::Json => crate::model::json::parse(text.as_bytes())
            .map_err(|e| shape(path, format!("not valid JSON: {e}")))?,
        KieFormat::Yaml => {
            let limits = crate::yaml::YamlLimits {
                max_bytes: usize::MAX,
                max_depth: 32,
                max_nodes: 50_000_000,
                max_expanded_bytes: max_alias_bytes(bytes.len(), max_total_size),
            };
            crate::yaml::parse_value(text, &limits).map_err(|m| shape(path, m))?
        }
    };
    let Value::Object(mut top) = value else {
        return Err(shape(
            path,
            "a KIE file is an object with `data` (and optionally `metadata`)".into(),
        ));
    };
    let metadata = top.remove("metadata");
    let data = match top.remove("data") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(shape(path, "`data` must be a list of items".into())),
        None => {
            return Err(shape(
                path,
                "no `data` list: not a KIE configuration file".into(),
            ));
        }
    };
    // The list API answers `{total, data}` and pages at most 100 items (`ListKVRequest`'s
    // `limit` in apache/servicecomb-kie pkg/model/db_schema.go): a snapshot holding fewer
    // items than its total is one page, and planning against it would predict creates for
    // items the server holds.
    if let Some(total) = top.remove("total") {
        let Some(total) = total.as_u64() else {
            return Err(shape(path, "`total` must be a whole number".into()));
        };
        if (data.len() as u64) < total {
            return Err(shape(
                path,
                format!(
                    "holds {} of the {total} items its `total` counts: one page of a list answer; fetch every page (the list API gives at most 100 items at a time) and join them",
                    data.len()
                ),
            ));
        }
    }
    if let Some(k) = top.keys().next() {
        return Err(shape(
            path,
            format!(
                "unknown top-level field `{k}` (expected metadata and data, or total and data)"
            ),
        ));
    }
    let mut items = Vec::with_capacity(data.len());
    for (i, item) in data.into_iter().enumerate() {
        let at = |m: &str| shape(path, format!("data[{i}]: {m}"));
        let Value::Object(doc) = item else {
            return Err(at("an item must be an object"));
        };
        let key = match doc.get("key") {
            Some(Value::String(k)) => k.clone(),
            Some(_) => return Err(at("`key` must be a string")),
            None => return Err(at("no `key`")),
        };
        for field in ["value", "value_type", "status"] {
            if let Some(v) = doc.get(field)
                && !(v.is_string() || v.is_null())
            {
                return Err(at(&format!(
                    "`{field}` must be a string (quote it in YAML)"
                )));
            }
        }
        let mut labels = BTreeMap::new();
        match doc.get("labels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(l)) => {
                for (k, v) in l {
                    match v {
                        Value::String(s) => {
                            labels.insert(k.clone(), s.clone());
                        }
                        _ => return Err(at(&format!("label `{k}` must be a string"))),
                    }
                }
            }
            Some(_) => return Err(at("`labels` must map names to strings")),
        }
        items.push(KvDoc { key, labels, doc });
    }
    Ok(KieFile {
        format,
        metadata,
        items,
    })
}

/// Reads a KIE file source.
pub fn read(io: &'static dyn LayoutIo, source: &Arc<Source>) -> Result<Package, PackageError> {
    let entry = source
        .entries()
        .first()
        .ok_or_else(|| shape(source.path(), "empty source".into()))?;
    let bytes = source.read(entry)?;
    source.remember_digest(entry, &bytes);
    let file = parse(source.path(), &bytes, source.limits().max_total_size)?;
    let assets = file
        .items
        .iter()
        .map(|item| {
            let mut a = Asset::new(
                AssetKey::new("config", item.key.clone(), Version::None),
                Value::Object(item.doc.clone()),
                Some(EntryRef {
                    source: Arc::clone(source),
                    name: entry.name.clone(),
                    size: 0,
                }),
            );
            a.labels = item.labels.clone().into();
            a
        })
        .collect();
    Ok(Package {
        source: Arc::clone(source),
        layout: Layout::Kie,
        io,
        manifest: None,
        assets,
        extras: Vec::new(),
        failures: Vec::<AssetFailure>::new(),
        project: None,
        data: Some(Arc::new(file)),
    })
}

/// The bytes of a KIE file holding `items`.
pub fn to_bytes(format: KieFormat, metadata: Option<&Value>, items: &[KvDoc]) -> Vec<u8> {
    let mut top = Map::new();
    if let Some(m) = metadata {
        top.insert("metadata".into(), m.clone());
    }
    top.insert(
        "data".into(),
        Value::Array(items.iter().map(|i| Value::Object(i.doc.clone())).collect()),
    );
    let top = Value::Object(top);
    match format {
        KieFormat::Json => {
            let mut out = serde_json::to_vec_pretty(&top).expect("JSON values serialise");
            out.push(b'\n');
            out
        }
        KieFormat::Yaml => crate::yaml::emit::to_yaml(&top).into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_read_alike_and_yaml_round_trips() {
        let json = br#"{"metadata": {"version": "1.0", "annotations": {}}, "data": [
            {"key": "timeout", "value": "30", "value_type": "text", "status": "enabled", "labels": {"app": "orders", "env": "prod"}},
            {"key": "flags.beta", "value": "", "labels": {}}]}"#;
        let a = parse(Path::new("a.json"), json, u64::MAX).unwrap();
        let yaml = to_bytes(KieFormat::Yaml, a.metadata.as_ref(), &a.items);
        let b = parse(Path::new("b.yaml"), &yaml, u64::MAX).unwrap();
        assert_eq!(a.items, b.items);
        assert_eq!(a.metadata, b.metadata);
        assert_eq!(b.items[0].shown(), "timeout{app=orders,env=prod}");
        assert_eq!(
            to_bytes(KieFormat::Yaml, b.metadata.as_ref(), &b.items),
            yaml,
            "stable"
        );
    }

    #[test]
    fn structure_errors_name_the_item() {
        let e = parse(
            Path::new("x.json"),
            br#"{"data": [{"key": "a"}, {"value": "v"}]}"#,
            u64::MAX,
        )
        .unwrap_err();
        assert!(e.to_string().contains("data[1]: no `key`"), "{e}");
        let e = parse(
            Path::new("x.yaml"),
            b"data:\n  - key: a\n    value: 3\n",
            u64::MAX,
        )
        .unwrap_err();
        assert!(e.to_string().contains("`value` must be a string"), "{e}");
        assert!(parse(Path::new("x.json"), b"[1]", u64::MAX).is_err());
        // Aliases count against what a package may inflate to, and against the file's size.
        assert_eq!(max_alias_bytes(10, 5), 5);
        assert_eq!(max_alias_bytes(10, u64::MAX), 10 + (1 << 20));
        let aliased = format!(
            "data:\n  - {{key: a, value: &v \"{}\"}}\n  - {{key: b, value: *v}}\n",
            "x".repeat(4096)
        );
        assert!(parse(Path::new("x.yaml"), aliased.as_bytes(), u64::MAX).is_ok());
        let e = parse(Path::new("x.yaml"), aliased.as_bytes(), 1024).unwrap_err();
        assert!(
            e.to_string()
                .contains("aliases expand to more than 1024 bytes"),
            "{e}"
        );
        assert!(
            parse(
                Path::new("x.json"),
                br#"{"data": [], "extra": 1}"#,
                u64::MAX
            )
            .is_err()
        );
    }
}
