//! The enebular project export: `<Project>/flows|files|privatenode/<Asset>/<Version>/`
//! with `settings.json` (UTF-8, CRLF) and the flow (`flow.json`) or uploaded file.
//!
//! Reading and writing are byte-faithful: an asset hoist does not change is copied byte
//! for byte, because the platform checks a hash over its content that is not public.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use crate::archive::error::PackageError;
use crate::archive::source::Source;
use crate::archive::write::OutEntry;
use crate::model::{Asset, AssetKey, EntryRef, Payload, Version};
use crate::package::payload_entry;
use crate::package::{AssetFailure, Layout, LayoutIo, Package};

/// File name of an asset version's settings.
pub const SETTINGS: &str = "settings.json";

/// Asset type folders and the kinds they hold.
pub const TYPES: &[(&str, &str)] = &[
    ("files", "file"),
    ("flows", "flow"),
    ("privatenode", "privatenode"),
];

/// The kind held by a type folder.
pub fn kind_of_folder(folder: &str) -> Option<&'static str> {
    TYPES.iter().find(|(f, _)| *f == folder).map(|(_, k)| *k)
}

/// The type folder of a kind.
pub fn folder_of_kind(kind: &str) -> Option<&'static str> {
    TYPES.iter().find(|(_, k)| *k == kind).map(|(f, _)| *f)
}

/// Whether an entry sits where an enebular asset file would.
pub fn is_enebular_entry(name: &str) -> bool {
    let segs: Vec<&str> = name.split('/').collect();
    segs.len() >= 5 && kind_of_folder(segs[1]).is_some()
}

/// The asset an entry of this layout belongs to.
pub fn asset_of_entry(entry: &str) -> Option<String> {
    let segs: Vec<&str> = entry.split('/').collect();
    if segs.len() < 3 {
        return None;
    }
    let kind = kind_of_folder(segs[1])?;
    let version = segs
        .get(3)
        .and_then(|v| Version::parse_folder(v))
        .filter(|_| segs.len() >= 5);
    Some(match version {
        Some(v) => AssetKey::new(kind, segs[2], v).to_string(),
        None => format!("{kind}/{}", segs[2]),
    })
}

#[derive(Default)]
struct Group {
    settings: Option<String>,
    files: BTreeMap<String, (String, u64)>,
}

/// Reads a source in the enebular layout.
pub fn read(io: &'static dyn LayoutIo, source: &Arc<Source>) -> Result<Package, PackageError> {
    let projects: BTreeSet<&str> = source
        .entries()
        .iter()
        .filter(|e| is_enebular_entry(&e.name))
        .filter_map(|e| e.name.split('/').next())
        .collect();
    if projects.len() > 1 {
        let list: Vec<&str> = projects.into_iter().collect();
        return Err(PackageError::Layout {
            path: source.path().into(),
            detail: format!(
                "holds several enebular projects ({}); export one project per package",
                list.join(", ")
            ),
        });
    }
    let project = projects.into_iter().next().map(str::to_string);
    let mut groups: BTreeMap<AssetKey, Group> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut extras = Vec::new();
    for e in source.entries() {
        let segs: Vec<&str> = e.name.split('/').collect();
        let in_project = project.as_deref() == segs.first().copied();
        let kind = segs.get(1).and_then(|f| kind_of_folder(f));
        let (Some(kind), true) = (kind, in_project) else {
            extras.push(EntryRef {
                source: Arc::clone(source),
                name: e.name.clone(),
                size: e.size,
            });
            continue;
        };
        if segs.len() < 5 {
            failures.push(AssetFailure::new(
                asset_of_entry(&e.name).unwrap_or_else(|| e.name.clone()),
                "layout.unexpected_entry",
                format!(
                    "unexpected entry {} (expected <Project>/{}/<Asset>/<Version>/…)",
                    e.name, segs[1]
                ),
            ));
            continue;
        }
        let Some(version) = Version::parse_folder(segs[3]) else {
            failures.push(AssetFailure::new(
                format!("{kind}/{}", segs[2]),
                "layout.bad_version",
                format!(
                    "version folder {:?} must be master or a positive integer ({})",
                    segs[3], e.name
                ),
            ));
            continue;
        };
        let group = groups
            .entry(AssetKey::new(kind, segs[2], version))
            .or_default();
        let rel = segs[4..].join("/");
        if rel == SETTINGS {
            group.settings = Some(e.name.clone());
        } else {
            group.files.insert(rel, (e.name.clone(), e.size));
        }
    }
    let with_master: BTreeSet<(String, String)> = groups
        .keys()
        .filter(|k| k.version == Version::Master)
        .map(|k| (k.kind.clone(), k.name.clone()))
        .collect();
    let mut pkg = Package {
        source: Arc::clone(source),
        layout: Layout::Enebular,
        io,
        manifest: None,
        assets: Vec::new(),
        extras,
        failures: Vec::new(),
        project,
        data: None,
    };
    for (key, group) in groups {
        if !with_master.contains(&(key.kind.clone(), key.name.clone())) {
            failures.push(AssetFailure::new(
                format!("{}/{}", key.kind, key.name),
                "layout.no_master",
                format!(
                    "{}/{} has no master version; every enebular asset has one",
                    key.kind, key.name
                ),
            ));
            continue;
        }
        match load_asset(&mut pkg, &key, group) {
            Ok(a) => pkg.assets.push(a),
            Err((code, message)) => {
                failures.push(AssetFailure::new(key.to_string(), code, message))
            }
        }
    }
    let failed: BTreeSet<String> = failures.iter().map(|f| f.asset.clone()).collect();
    pkg.assets.retain(|a| {
        !failed.contains(&a.key.to_string())
            && !failed.contains(&format!("{}/{}", a.key.kind, a.key.name))
    });
    failures.sort();
    failures.dedup();
    pkg.failures = failures;
    Ok(pkg)
}

fn load_asset(
    pkg: &mut Package,
    key: &AssetKey,
    group: Group,
) -> Result<Asset, (&'static str, String)> {
    let Some(settings) = group.settings else {
        return Err(("asset.missing_doc", format!("{key} has no {SETTINGS}")));
    };
    let source = std::sync::Arc::clone(&pkg.source);
    let entry = source.find(&settings).expect("grouped from the listing");
    let bytes = source.read(entry).map_err(|e| (e.code(), e.to_string()))?;
    source.remember_digest(entry, &bytes);
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let meta: Value = crate::model::json::parse(text)
        .map_err(|e| ("asset.bad_json", format!("{settings}: {e}")))?;
    if !meta.is_object() {
        return Err((
            "asset.bad_doc",
            format!("{settings}: must be a JSON object"),
        ));
    }
    let origin = EntryRef {
        source: Arc::clone(&source),
        name: settings,
        size: entry.size,
    };
    let mut asset = Asset::new(key.clone(), meta, Some(origin));
    for (rel, (name, size)) in group.files {
        asset.files.insert(
            rel,
            Payload::Entry(EntryRef {
                source: Arc::clone(&source),
                name,
                size,
            }),
        );
    }
    Ok(asset)
}

/// Field of `settings.json` that may hold credentials.
pub const SOURCE_CODE: &str = "sourceCode";

/// The texts of an asset's `sourceCode` that must never be shown: the whole value and
/// each of its longer lines, so that no part of it leaks through a log or an error.
pub fn credentials(meta: &Value) -> Vec<String> {
    let Some(code) = meta.get(SOURCE_CODE).and_then(Value::as_str) else {
        return Vec::new();
    };
    // Text too short to mask without hiding ordinary words is not taken as a credential.
    if code.trim().chars().count() < crate::secrets::MIN_SECRET_CHARS {
        return Vec::new();
    }
    let mut out = vec![code.to_string()];
    out.extend(
        code.lines()
            .map(str::trim)
            .filter(|l| l.len() >= 8)
            .map(str::to_string),
    );
    out
}

/// The bytes of a changed `settings.json`: pretty JSON with CRLF line ends, as exported.
pub fn settings_bytes(meta: &Value) -> Vec<u8> {
    let lf = serde_json::to_vec_pretty(meta).expect("JSON values always serialise");
    let mut out = Vec::with_capacity(lf.len() + lf.len() / 16);
    for b in lf {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// The entries of a package in this layout: project folder `project`, holding `assets` and
/// the entries `extras`.
pub fn entries(
    project: &str,
    assets: &[Asset],
    extras: &[EntryRef],
) -> Result<Vec<OutEntry>, String> {
    let mut out = Vec::new();
    for asset in assets {
        let Some(folder) = folder_of_kind(&asset.key.kind) else {
            return Err(format!(
                "{}: the enebular layout has no place for kind {:?}",
                asset.key, asset.key.kind
            ));
        };
        let version = asset
            .key
            .version
            .folder()
            .unwrap_or_else(|| "master".into());
        let dir = format!("{project}/{folder}/{}/{version}", asset.key.name);
        let name = format!("{dir}/{SETTINGS}");
        match (&asset.origin, asset.is_edited()) {
            (Some(origin), false) => out.push(OutEntry::copy(name, &origin.source, &origin.name)),
            _ => out.push(OutEntry::bytes(name, settings_bytes(asset.meta()))),
        }
        for (rel, payload) in &asset.files {
            out.push(payload_entry(format!("{dir}/{rel}"), payload));
        }
    }
    out.extend(
        extras
            .iter()
            .map(|e| OutEntry::copy(e.name.clone(), &e.source, e.name.clone())),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_places() {
        assert!(is_enebular_entry("P/flows/a/master/settings.json"));
        assert!(!is_enebular_entry("P/other/a/master/settings.json"));
        assert_eq!(
            asset_of_entry("P/flows/a/2/flow.json").as_deref(),
            Some("flow/a@2")
        );
        assert_eq!(
            asset_of_entry("P/files/doc/x/settings.json").as_deref(),
            Some("file/doc")
        );
        assert_eq!(asset_of_entry("P/readme"), None);
    }

    #[test]
    fn settings_use_crlf() {
        let bytes = settings_bytes(&serde_json::json!({"title": "a", "hash": "h"}));
        assert_eq!(bytes, b"{\r\n  \"title\": \"a\",\r\n  \"hash\": \"h\"\r\n}");
    }
}
