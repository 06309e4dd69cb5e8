//! The APIG layout: one API group as one OpenAPI file (Swagger 2.0 or OpenAPI 3.0, JSON or
//! YAML) with APIG's `x-apigateway-*` extensions.
//!
//! As APIG maps them on import (the APIG user guide, "Importing APIs" and "Restrictions and
//! Compatibility", table of mappings): `info.title` names the API group; each operation under
//! `paths` is one API, named by its `operationId`, at its path and method (`x-apigateway-any-
//! method` for ANY); its backend is the operation's `x-apigateway-backend`. The group's asset
//! keeps the document without `paths` (`document`), its name being the title; each API's asset
//! keeps its operation (`operation`), path, method, and the group it belongs to (`group`, a
//! reference, so a renamed group is followed).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::archive::error::PackageError;
use crate::archive::source::Source;
use crate::model::{Asset, AssetKey, EntryRef, Version};
use crate::package::{AssetFailure, Layout, LayoutIo, Package, SingleFile};

/// The operations of a path item, in the order they are written back.
pub const METHODS: [&str; 8] = [
    "get",
    "put",
    "post",
    "delete",
    "options",
    "head",
    "patch",
    "x-apigateway-any-method",
];

/// How the file was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.json`.
    Json,
    /// `.yaml` / `.yml`.
    Yaml,
}

impl Format {
    fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Format::Yaml,
            _ => Format::Json,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
        }
    }
}

/// What the layout keeps of a file beyond its assets.
#[derive(Debug, Clone)]
pub struct ApiFile {
    /// JSON or YAML.
    pub format: Format,
}

fn shape(path: &Path, detail: String) -> PackageError {
    PackageError::Layout {
        path: path.into(),
        detail,
    }
}

/// The document of a file's bytes (JSON, or YAML with aliases bounded like a KIE file's).
fn parse(path: &Path, bytes: &[u8], max_total_size: u64) -> Result<Value, PackageError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| shape(path, "the file is not UTF-8 text".into()))?;
    match Format::of(path) {
        Format::Json => crate::model::json::parse(text.as_bytes())
            .map_err(|e| shape(path, format!("not valid JSON: {e}"))),
        Format::Yaml => {
            let limits = crate::yaml::YamlLimits {
                max_bytes: usize::MAX,
                max_depth: 64,
                max_nodes: 10_000_000,
                max_expanded_bytes: crate::platform::kie::layout::max_alias_bytes(
                    bytes.len(),
                    max_total_size,
                ),
            };
            crate::yaml::parse_value(text, &limits).map_err(|m| shape(path, m))
        }
    }
}

/// Whether a file's top level looks like an API definition (`swagger` or `openapi`, and
/// `paths`), read without parsing the whole document.
pub fn looks_like(source: &Source) -> bool {
    let Some(entry) = source.entries().first() else {
        return false;
    };
    let Ok(bytes) = source.read(entry) else {
        return false;
    };
    let Ok(Value::Object(top)) = parse(source.path(), &bytes, source.limits().max_total_size)
    else {
        return false;
    };
    (top.contains_key("swagger") || top.contains_key("openapi"))
        && top.get("paths").is_some_and(Value::is_object)
}

/// Reads an API definition file.
pub fn read(io: &'static dyn LayoutIo, source: &Arc<Source>) -> Result<Package, PackageError> {
    let path = source.path();
    let entry = source
        .entries()
        .first()
        .ok_or_else(|| shape(path, "empty source".into()))?;
    let bytes = source.read(entry)?;
    source.remember_digest(entry, &bytes);
    let Value::Object(mut top) = parse(path, &bytes, source.limits().max_total_size)? else {
        return Err(shape(path, "an API definition is an object".into()));
    };
    let title = match top.get("info").and_then(|i| i.get("title")) {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => {
            return Err(shape(
                path,
                "info.title names the API group and is missing".into(),
            ));
        }
    };
    let paths = match top.shift_remove("paths") {
        Some(Value::Object(p)) => p,
        _ => return Err(shape(path, "`paths` must be an object of paths".into())),
    };
    let entry_ref = || {
        Some(EntryRef {
            source: Arc::clone(source),
            name: entry.name.clone(),
            size: 0,
        })
    };
    let mut assets = vec![Asset::new(
        AssetKey::new("api_group", title.clone(), Version::None),
        json!({"name": title, "document": Value::Object(top)}),
        entry_ref(),
    )];
    let mut failures = Vec::new();
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (api_path, item) in &paths {
        let Value::Object(item) = item else {
            failures.push(AssetFailure::new(
                format!("api/{api_path}"),
                "apig.bad_path",
                format!("path {api_path} is not an object"),
            ));
            continue;
        };
        let shared: Map<String, Value> = item
            .iter()
            .filter(|(k, _)| !METHODS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for method in METHODS {
            let Some(op) = item.get(method) else {
                continue;
            };
            let Some(name) = op.get("operationId").and_then(Value::as_str) else {
                failures.push(AssetFailure::new(
                    format!("api/{method} {api_path}"),
                    "apig.no_operation_id",
                    format!("{method} {api_path} has no operationId, which names the API"),
                ));
                continue;
            };
            // The first of two APIs with one name is imported, the second fails (the user
            // guide, "Precautions for Importing APIs").
            if let Some((m, p)) = seen.get(name) {
                failures.push(AssetFailure::new(
                    format!("api/{name}"),
                    "apig.duplicate_name",
                    format!("{method} {api_path} is named {name}, as {m} {p} before it is; the platform imports the first only"),
                ));
                continue;
            }
            seen.insert(name.to_string(), (method.to_string(), api_path.clone()));
            let mut meta = json!({
                "name": name,
                "group": title,
                "method": method,
                "path": api_path,
                "operation": op,
            });
            if !shared.is_empty() {
                meta["path_item"] = Value::Object(shared.clone());
            }
            assets.push(Asset::new(
                AssetKey::new("api", name, Version::None),
                meta,
                entry_ref(),
            ));
        }
    }
    assets.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Package {
        source: Arc::clone(source),
        layout: Layout::Apig,
        io,
        manifest: None,
        assets,
        extras: Vec::new(),
        failures,
        project: None,
        data: Some(Arc::new(ApiFile {
            format: Format::of(path),
        })),
    })
}

/// The file holding `assets` (one API group and its APIs), in `like`'s format.
pub fn write(like: &Package, assets: &[Asset]) -> Result<SingleFile, String> {
    let format = like
        .data
        .as_ref()
        .and_then(|d| d.downcast_ref::<ApiFile>())
        .map_or(Format::Json, |f| f.format);
    let groups: Vec<&Asset> = assets
        .iter()
        .filter(|a| a.key.kind == "api_group")
        .collect();
    let group = match groups.as_slice() {
        [] if assets.is_empty() => None,
        [] => return Err("its APIs are written without their API group (info.title)".into()),
        [g] => Some(*g),
        more => {
            return Err(format!(
                "one file holds one API group, and {} are written: {}",
                more.len(),
                more.iter()
                    .map(|g| g.key.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    };
    let mut top = match group.and_then(|g| g.meta().get("document").cloned()) {
        Some(Value::Object(d)) => d,
        _ => Map::new(),
    };
    if let Some(g) = group {
        let info = top
            .entry("info")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(info) = info {
            info.insert("title".into(), Value::String(g.key.name.clone()));
        }
    }
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for a in assets.iter().filter(|a| a.key.kind == "api") {
        let m = a.meta();
        let text = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let item = paths.entry(text("path")).or_default();
        if let Some(Value::Object(shared)) = m.get("path_item") {
            for (k, v) in shared {
                item.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let mut op = m.get("operation").cloned().unwrap_or_else(|| json!({}));
        if let Value::Object(o) = &mut op {
            o.insert("operationId".into(), Value::String(a.key.name.clone()));
        }
        item.insert(text("method"), op);
    }
    let paths: Map<String, Value> = paths
        .into_iter()
        .map(|(p, mut item)| {
            // Operations in a fixed order, after the path's own fields.
            let mut ordered = Map::new();
            for (k, v) in item.iter().filter(|(k, _)| !METHODS.contains(&k.as_str())) {
                ordered.insert(k.clone(), v.clone());
            }
            for method in METHODS {
                if let Some(op) = item.remove(method) {
                    ordered.insert(method.to_string(), op);
                }
            }
            (p, Value::Object(ordered))
        })
        .collect();
    top.insert("paths".into(), Value::Object(paths));
    let doc = Value::Object(top);
    let bytes = match format {
        Format::Json => {
            let mut out = serde_json::to_vec_pretty(&doc).expect("JSON values serialise");
            out.push(b'\n');
            out
        }
        Format::Yaml => crate::yaml::emit::to_yaml(&doc).into_bytes(),
    };
    Ok(SingleFile {
        bytes,
        extension: format.extension(),
    })
}
