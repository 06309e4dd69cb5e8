//! `hoist.json`: the manifest that carries a sha256 for every entry of a package hoist wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::PackageError;
use crate::digest::Digest;

/// Name of the manifest at the root of a hoist-layout package.
pub const MANIFEST_NAME: &str = "hoist.json";

/// The manifest format this version writes and reads.
pub const FORMAT: u32 = 1;

/// The manifest's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// The program that wrote the package.
    pub generator: String,
    /// Layout of the package (`hoist`, `enebular`, `kie`).
    pub layout: String,
    /// SHA-256 of every entry but the manifest itself, by entry name.
    pub entries: BTreeMap<String, Digest>,
    /// For a package a promotion wrote: where it comes from (the spec, the environment, the
    /// inputs' digests, every rename and the rule that decided it, the hoist version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<serde_json::Value>,
}

impl Manifest {
    /// A manifest for `layout` written by this version of hoist.
    pub fn new(layout: &str, entries: BTreeMap<String, Digest>) -> Self {
        Manifest {
            format: FORMAT,
            generator: generator(),
            layout: layout.to_string(),
            entries,
            promotion: None,
        }
    }

    /// The same manifest, carrying a promotion record.
    pub fn with_promotion(mut self, promotion: Option<&serde_json::Value>) -> Self {
        self.promotion = promotion.cloned();
        self
    }

    /// Parses manifest bytes; `path` names the package in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Manifest, PackageError> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| PackageError::Manifest {
            path: path.into(),
            detail: e.to_string(),
        })?;
        if m.format != FORMAT {
            return Err(PackageError::Manifest {
                path: path.into(),
                detail: format!(
                    "format {} is not supported (this hoist reads format {FORMAT})",
                    m.format
                ),
            });
        }
        Ok(m)
    }

    /// The manifest as written: pretty JSON, keys sorted, one trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        out.push(b'\n');
        out
    }
}

/// `hoist <version>`.
pub fn generator() -> String {
    format!("hoist {}", env!("CARGO_PKG_VERSION"))
}

/// Where the manifest of a package in a layout that has no room for one is kept:
/// beside it, as `<package>.hoist.json`.
pub fn sidecar_path(package: &Path) -> PathBuf {
    let mut name = package
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".hoist.json");
    package.with_file_name(name)
}
