//! Drift between two packages of one layout (`hoist diff A B`): which assets one has and the
//! other has not, and, for assets both have, every field and payload file that differs,
//! with the diff engine plans use. Typically A is the merged state the last promotion wrote
//! and B a fresh export of the platform.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::FileChange;
use super::changes::{Lines, files, mask_places};
use super::platform::Platform;
use crate::diff::{self, Change, Op};
use crate::model::{Asset, AssetKey, Version};
use crate::package::Package;

/// The secret places a package's promotion record lists, as (kind, name, pointer). A record
/// is input like any other: one listing places that hold no secret only hides more.
pub fn recorded_secret_places(
    manifest: Option<&crate::archive::manifest::Manifest>,
) -> Vec<(String, String, String)> {
    let Some(places) = manifest
        .and_then(|m| m.promotion.as_ref())
        .and_then(|r| r.get("secret_places"))
        .and_then(serde_json::Value::as_array)
    else {
        return Vec::new();
    };
    places
        .iter()
        .filter_map(|p| {
            let field = |k: &str| {
                p.get(k)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
            };
            Some((field("kind")?, field("name")?, field("pointer")?))
        })
        .collect()
}

/// Format of `hoist diff --json`.
pub const DRIFT_FORMAT: u32 = 1;

/// How one asset differs between the two packages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetDrift {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: Version,
    /// `added` (only in B), `removed` (only in A) or `changed`.
    pub op: Op,
    /// For a changed asset: its document field by field (credentials masked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<Change>,
    /// For a changed asset: its payload files that differ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileChange>,
    /// For a changed asset: its labels label by label (pointers into the labels, `/NAME`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Change>,
}

/// Everything that differs between A and B.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Drift {
    /// Format of this record.
    pub format: u32,
    /// Package A, as given.
    pub a: String,
    /// Package B, as given.
    pub b: String,
    /// Assets compared (in A or B).
    pub assets: usize,
    /// The assets that differ, by kind, name and version.
    pub drift: Vec<AssetDrift>,
}

/// Compares `b` with `a` (both of the layout `platform` reads); `lines` says whether changed
/// text files get their changed lines.
pub fn drift(
    a: &Package,
    b: &Package,
    platform: &dyn Platform,
    shown: (&str, &str),
    lines: Lines,
) -> Drift {
    fn by_key(p: &Package) -> BTreeMap<AssetKey, &Asset> {
        p.assets.iter().map(|x| (x.key.clone(), x)).collect()
    }
    let (ka, kb) = (by_key(a), by_key(b));
    // A merged state carries the real values of the secrets its promotion wrote; its record
    // says where they are.
    let secret_places: Vec<(String, String, String)> = [a, b]
        .iter()
        .flat_map(|p| recorded_secret_places(p.manifest.as_ref()))
        .collect();
    let recorded = |key: &AssetKey, pointer: &str| {
        secret_places
            .iter()
            .any(|(k, n, p)| *k == key.kind && *n == key.name && diff::touches(pointer, p))
    };
    let mut keys: Vec<&AssetKey> = ka.keys().chain(kb.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in &keys {
        let entry = |op, diff, files, labels| AssetDrift {
            kind: key.kind.clone(),
            name: key.name.clone(),
            version: key.version,
            op,
            diff,
            files,
            labels,
        };
        match (ka.get(*key), kb.get(*key)) {
            (Some(_), None) => out.push(entry(Op::Removed, Vec::new(), Vec::new(), Vec::new())),
            (None, Some(_)) => out.push(entry(Op::Added, Vec::new(), Vec::new(), Vec::new())),
            (Some(x), Some(y)) => {
                let (xm, ym) = (x.meta(), y.meta());
                let mut changes = diff::json(&xm, &ym);
                let docs: [Option<&serde_json::Value>; 2] = [Some(&xm), Some(&ym)];
                mask_places(&mut changes, docs, |p| {
                    platform.hides(&key.kind, p) || recorded(key, p)
                });
                let files = files(x, y, lines);
                let mut labels = diff::json(&x.labels_json(), &y.labels_json());
                mask_places(&mut labels, [None, None], |_| false);
                if !changes.is_empty() || !files.is_empty() || !labels.is_empty() {
                    out.push(entry(Op::Changed, changes, files, labels));
                }
            }
            (None, None) => {}
        }
    }
    Drift {
        format: DRIFT_FORMAT,
        a: shown.0.to_string(),
        b: shown.1.to_string(),
        assets: keys.len(),
        drift: out,
    }
}
