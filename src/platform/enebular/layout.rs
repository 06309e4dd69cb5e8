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
use crate::model::{Asset, AssetKey, EntryRef, Payload, Reference, Version};
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
    check_types(&pkg.assets, &mut failures);
    let failed: BTreeSet<String> = failures.iter().map(|f| f.asset.clone()).collect();
    pkg.assets.retain(|a| {
        !failed.contains(&a.key.to_string())
            && !failed.contains(&format!("{}/{}", a.key.kind, a.key.name))
    });
    name_by_title(&mut pkg.assets, &mut failures);
    link_private_nodes(&mut pkg.assets);
    failures.sort();
    failures.dedup();
    pkg.failures = failures;
    Ok(pkg)
}

/// Fails every version whose `settings.json` names another type than its folder holds: the
/// `type` field is fixed per folder (`flow` under flows, `file` under files, `privatenode`
/// under privatenode; platform-docs/enebular-asset-import-export.ja.txt, "settings.jsonの内容").
fn check_types(assets: &[Asset], failures: &mut Vec<AssetFailure>) {
    for a in assets {
        let meta = a.meta();
        let Some(found) = meta.get("type") else {
            continue;
        };
        if found.as_str() != Some(a.key.kind.as_str()) {
            let folder = folder_of_kind(&a.key.kind).unwrap_or_default();
            failures.push(AssetFailure::new(
                a.key.to_string(),
                "enebular.type_mismatch",
                format!(
                    "settings.json says type {}, but the asset sits under {folder}/, which holds type {}",
                    found,
                    a.key.kind
                ),
            ));
        }
    }
}

/// The folder an asset of this layout was read from (`<Project>/<type>/<folder>/<version>/`),
/// if it was read at all.
pub fn folder_of(asset: &Asset) -> Option<&str> {
    asset.origin.as_ref().and_then(|o| o.name.split('/').nth(2))
}

/// The platform names an asset by its master version's `title`; a numbered version's title
/// is only that version's title, and the asset folder is only where the files sit
/// (platform-docs/enebular-asset-import-export.ja.txt, "settings.jsonの内容": title is the
/// asset name in `master`, the version title otherwise). Every version of a folder takes the
/// master's title as its name. A master without a title, or two folders of one type whose
/// masters share a title, fail with the folders named.
fn name_by_title(assets: &mut Vec<Asset>, failures: &mut Vec<AssetFailure>) {
    let mut titles: BTreeMap<(String, String), Result<String, String>> = BTreeMap::new();
    for a in assets.iter().filter(|a| a.key.version == Version::Master) {
        let title = a
            .meta()
            .get("title")
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                "its master settings.json has no title, which names the asset".to_string()
            });
        titles.insert((a.key.kind.clone(), a.key.name.clone()), title);
    }
    let mut folders_of: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for ((kind, folder), title) in &titles {
        if let Ok(t) = title {
            folders_of
                .entry((kind.clone(), t.clone()))
                .or_default()
                .push(folder.clone());
        }
    }
    for ((kind, title), folders) in &folders_of {
        if folders.len() > 1 {
            for f in folders {
                titles.insert(
                    (kind.clone(), f.clone()),
                    Err(format!(
                        "the folders {} all hold a {kind} titled {title:?}: one package cannot hold one asset name twice",
                        folders.join(", "),
                    )),
                );
            }
        }
    }
    for ((kind, folder), title) in &titles {
        if let Err(m) = title {
            failures.push(AssetFailure::new(
                format!("{kind}/{folder}"),
                "enebular.title",
                m.clone(),
            ));
        }
    }
    assets.retain_mut(
        |a| match titles.get(&(a.key.kind.clone(), a.key.name.clone())) {
            Some(Ok(title)) => {
                a.key.name = title.clone();
                true
            }
            _ => false,
        },
    );
}

/// The file of a flow asset that holds its Node-RED flow.
pub const FLOW_FILE: &str = "flow.json";

/// Links every flow to the private nodes of the package whose node types it uses. A flow
/// that uses a private node imports, but deploys only once the node is registered in the
/// project and the flow is saved again in the Web Flow Editor
/// (platform-docs/enebular-asset-import-export.ja.txt, 前提: プライベートノードを含むフロー
/// …利用されているプライベートノードをユーザーがプロジェクトに登録し、Web Flow Editorで
/// Flowを保存し直す必要があります). A flow names a node by its `type` (Node-RED's flow
/// format: an array of node objects, or `{"flows": [...]}`); which types a private node gives
/// is read from its package (see [`super::tgz::NodePackage::types`]). A `flow.json` that
/// cannot be read as a flow links nothing: it is carried as it is, as before.
fn link_private_nodes(assets: &mut [Asset]) {
    let mut by_type: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in assets.iter().filter(|a| a.key.kind == "privatenode") {
        let types: Vec<String> = a
            .facts
            .get(NODE_TYPES)
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        for t in types {
            by_type.entry(t).or_default().insert(a.key.name.clone());
        }
    }
    if by_type.is_empty() {
        return;
    }
    for a in assets.iter_mut().filter(|a| a.key.kind == "flow") {
        let Some(Payload::Entry(entry)) = a.files.get(FLOW_FILE) else {
            continue;
        };
        let Some(found) = entry.source.find(&entry.name) else {
            continue;
        };
        let Ok(bytes) = entry.source.read(found) else {
            continue;
        };
        let Ok(flow) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let (nodes, base) = match &flow {
            Value::Array(n) => (n, String::new()),
            Value::Object(o) => match o.get("flows") {
                Some(Value::Array(n)) => (n, "/flows".to_string()),
                _ => continue,
            },
            _ => continue,
        };
        let mut linked: BTreeSet<&str> = BTreeSet::new();
        let mut links = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            let Some(t) = node.get("type").and_then(Value::as_str) else {
                continue;
            };
            for name in by_type.get(t).into_iter().flatten() {
                if linked.insert(name) {
                    links.push(Reference {
                        pointer: format!("{FLOW_FILE}#{base}/{i}/type").into(),
                        kind: "privatenode".into(),
                        name: name.clone(),
                        owner: false,
                    });
                }
            }
        }
        a.links = links;
    }
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
    let labels = tag_labels(&meta);
    let mut asset = Asset::new(key.clone(), meta, Some(origin));
    asset.labels = labels.into();
    if key.kind == "privatenode" {
        let node =
            node_package(&source, &group.files).map_err(|m| ("enebular.privatenode_package", m))?;
        asset.facts.insert(PACKAGE_NAME, node.name);
        asset.facts.insert(
            NODE_TYPES,
            serde_json::to_string(&node.types).expect("strings serialise"),
        );
    }
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

/// The fact under which a private node's package name is kept.
pub const PACKAGE_NAME: &str = "package_name";

/// The fact under which a private node's node types are kept (a JSON array of strings).
pub const NODE_TYPES: &str = "node_types";

/// A private node's package: its one `.tgz` file's `package/package.json` and node types.
fn node_package(
    source: &Source,
    files: &BTreeMap<String, (String, u64)>,
) -> Result<super::tgz::NodePackage, String> {
    let tgz: Vec<&String> = files
        .iter()
        .filter(|(rel, _)| rel.ends_with(".tgz"))
        .map(|(_, (name, _))| name)
        .collect();
    let [name] = tgz[..] else {
        return Err(format!(
            "a private node holds one package file (.tgz); this version holds {}",
            tgz.len()
        ));
    };
    let entry = source.find(name).expect("grouped from the listing");
    let bytes = source.read(entry).map_err(|e| e.to_string())?;
    super::tgz::read_package(&bytes, source.limits().max_total_size)
        .map_err(|m| format!("{name}: {m}"))
}

/// An asset's tags (`tagTitles`, platform-docs/enebular-asset-import-export.ja.txt,
/// "settings.jsonの内容") as labels: each tag a label of that name with an empty value, so
/// `labels: {factory: "*"}` selects the assets tagged `factory`.
fn tag_labels(meta: &Value) -> BTreeMap<String, String> {
    meta.get("tagTitles")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(|t| (t.to_string(), String::new()))
                .collect()
        })
        .unwrap_or_default()
}

/// Field of `settings.json` that may hold credentials.
pub const SOURCE_CODE: &str = "sourceCode";

/// The texts of an asset's `sourceCode` that must never be shown: the whole value and each
/// of its longer lines, so that no part of it leaks through a log or an error. The field
/// holds the flow with its credentials (platform-docs/enebular-asset-import-export.ja.txt,
/// "settings.jsonの内容": sourceCode). It is a string in most exports but may be an object:
/// then its JSON text (compact, and each line of it pretty-printed) and every value at a
/// credential's place inside it, at any depth.
pub fn credentials(meta: &Value) -> Vec<String> {
    let Some(code) = meta.get(SOURCE_CODE) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let text = match code {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => {
            crate::secrets::credentials::collect(code, &mut out);
            out.retain(|c| c.trim().chars().count() >= crate::secrets::MIN_SECRET_CHARS);
            // Its longer strings too (a function node's body, a broker URL), as a string
            // sourceCode's lines; plain words (`function`, `temperature`) are left, so that
            // masking them everywhere does not blank ordinary text.
            let mut strings = Vec::new();
            crate::secrets::credentials::collect_all(code, &mut strings);
            out.extend(strings.into_iter().filter(|t| {
                t.chars().count() >= 8
                    && t.chars()
                        .any(|c| !(c.is_alphabetic() || c == ' ' || c == '-'))
            }));
            let pretty = serde_json::to_string_pretty(code).unwrap_or_default();
            out.extend(
                pretty
                    .lines()
                    .map(|l| l.trim().trim_end_matches(','))
                    .filter(|l| l.len() >= 8)
                    .map(str::to_string),
            );
            code.to_string()
        }
        _ => return Vec::new(),
    };
    // Text too short to mask without hiding ordinary words is not taken as a credential.
    if text.trim().chars().count() < crate::secrets::MIN_SECRET_CHARS {
        return out;
    }
    out.extend(
        text.lines()
            .map(str::trim)
            .filter(|l| l.len() >= 8)
            .map(str::to_string),
    );
    out.push(text);
    out
}

/// A folder name for an asset hoist did not read from a folder: its title with every
/// character a path cannot hold replaced by `_`.
fn folder_for_title(title: &str) -> String {
    let name: String = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_matches(|c| c == '.' || c == ' ');
    if name.is_empty() {
        "asset".into()
    } else {
        name.to_string()
    }
}

/// The asset as the platform holds it after import: the name it was imported under is its
/// master's title (the platform's `_n` for a name the project already had).
pub fn as_held(asset: &mut Asset) {
    if asset.key.version != Version::Master {
        return;
    }
    let name = asset.key.name.clone();
    if asset.meta().get("title").and_then(Value::as_str) != Some(name.as_str())
        && let Some(doc) = asset.meta_mut().as_object_mut()
    {
        doc.insert("title".into(), Value::String(name));
    }
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
    // Each asset keeps the folder it was read from; a folder another asset of the type
    // already took (a merged state holding a target asset and a new one read from folders of
    // one name) gets `_1`, `_2`, … The folder name is not the asset's name, so nothing else
    // follows it.
    let mut folder_by_name: BTreeMap<(&str, &str), String> = BTreeMap::new();
    let mut taken: BTreeSet<(&str, String)> = BTreeSet::new();
    for asset in assets {
        let Some(type_folder) = folder_of_kind(&asset.key.kind) else {
            return Err(format!(
                "{}: the enebular layout has no place for kind {:?}",
                asset.key, asset.key.kind
            ));
        };
        let kind = asset.key.kind.as_str();
        let asset_folder = match folder_by_name.get(&(kind, asset.key.name.as_str())) {
            Some(f) => f.clone(),
            None => {
                let base = folder_of(asset)
                    .map(str::to_string)
                    .unwrap_or_else(|| folder_for_title(&asset.key.name));
                let mut candidate = base.clone();
                let mut n = 0;
                while taken.contains(&(kind, candidate.clone())) {
                    n += 1;
                    candidate = format!("{base}_{n}");
                }
                taken.insert((kind, candidate.clone()));
                folder_by_name.insert((kind, asset.key.name.as_str()), candidate.clone());
                candidate
            }
        };
        let version = asset
            .key
            .version
            .folder()
            .unwrap_or_else(|| "master".into());
        let dir = format!("{project}/{type_folder}/{asset_folder}/{version}");
        let name = format!("{dir}/{SETTINGS}");
        match (&asset.origin, asset.is_edited()) {
            (Some(origin), false) => out.push(OutEntry::copy(name, &origin.source, &origin.name)),
            _ => out.push(OutEntry::bytes(name, settings_bytes(&asset.meta()))),
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
    fn source_code_of_any_type_is_secret() {
        let as_text = serde_json::json!({"sourceCode": "[{\"id\": \"n1\"}]\npassword: hunter22"});
        let found = credentials(&as_text);
        assert!(
            found.contains(&"password: hunter22".to_string()),
            "{found:?}"
        );
        let as_object = serde_json::json!({"sourceCode": {
            "flows": [{"id": "n1", "type": "function", "name": "temperature",
                       "func": "msg.key = 'k-77aa91zz'; return msg;"}],
            "credentials": {"n1": {"password": "s3cret"}}
        }});
        let found = credentials(&as_object);
        for secret in ["s3cret", "msg.key = 'k-77aa91zz'; return msg;"] {
            assert!(found.contains(&secret.to_string()), "{secret}: {found:?}");
        }
        for word in ["function", "temperature", "n1", "flows"] {
            assert!(!found.contains(&word.to_string()), "{word}: {found:?}");
        }
        assert!(credentials(&serde_json::json!({"sourceCode": 12})).is_empty());
    }

    #[test]
    fn settings_use_crlf() {
        let bytes = settings_bytes(&serde_json::json!({"title": "a", "hash": "h"}));
        assert_eq!(bytes, b"{\r\n  \"title\": \"a\",\r\n  \"hash\": \"h\"\r\n}");
    }
}
