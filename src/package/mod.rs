//! Packages: loading a ZIP or directory in one of the layouts into assets, and writing
//! assets back as a package.

pub mod enebular;
pub mod hoist;
pub mod kie;
pub mod verify;

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::archive::manifest::{MANIFEST_NAME, Manifest, sidecar_path};
pub use crate::archive::{Limits, PackageError, Source};

use crate::digest::Digest;
use crate::model::Asset;

/// How a package is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// hoist's own layout: `hoist.json` and `assets/<kind>/<name>/[<version>/]asset.json`.
    Hoist,
    /// enebular project export: `<Project>/flows|files|privatenode/<Asset>/<Version>/`.
    Enebular,
    /// ServiceComb KIE configuration: one JSON or YAML file of key-value items.
    Kie,
}

impl Layout {
    /// The layout's name as written on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Hoist => "hoist",
            Layout::Enebular => "enebular",
            Layout::Kie => "kie",
        }
    }

    /// Whether packages of this layout carry the manifest inside (otherwise beside).
    pub fn embeds_manifest(self) -> bool {
        self == Layout::Hoist
    }

    /// The asset an entry belongs to, for grouping integrity problems.
    pub fn asset_of_entry(self, entry: &str) -> Option<String> {
        match self {
            Layout::Hoist => hoist::asset_of_entry(entry),
            Layout::Enebular => enebular::asset_of_entry(entry),
            Layout::Kie => None,
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Layout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hoist" => Ok(Layout::Hoist),
            "enebular" => Ok(Layout::Enebular),
            "kie" => Ok(Layout::Kie),
            other => Err(format!(
                "unknown layout {other:?}; expected hoist, enebular or kie"
            )),
        }
    }
}

/// An asset (or entry) that could not be loaded; the rest of the package still is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AssetFailure {
    /// The asset (`kind/name[@version]`) or, when no asset can be named, the entry.
    pub asset: String,
    /// Stable error code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

impl AssetFailure {
    /// A failure of `asset`.
    pub fn new(asset: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        AssetFailure {
            asset: asset.into(),
            code,
            message: message.into(),
        }
    }
}

/// Options for [`Package::load`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Caps on entries and sizes.
    pub limits: Limits,
    /// The layout, when not to be detected.
    pub layout: Option<Layout>,
    /// What to hash besides the documents, which are always hashed as they are read.
    pub hashing: Hashing,
}

/// What [`Package::load`] hashes besides the documents it reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Hashing {
    /// Nothing more.
    #[default]
    Documents,
    /// The content of every entry, checked against the manifest (inflates everything).
    Content,
    /// The stored bytes of every other entry, without inflating them: what a plan needs to
    /// tell later whether an input changed. Their content digests are taken from the
    /// manifest, for entries copied unchanged; `hoist verify` checks those.
    Stored,
}

/// A loaded package.
#[derive(Debug)]
pub struct Package {
    /// Where the bytes are.
    pub source: Arc<Source>,
    /// How they are laid out.
    pub layout: Layout,
    /// The manifest, embedded or beside the package.
    pub manifest: Option<Manifest>,
    /// Assets that loaded, sorted by key.
    pub assets: Vec<Asset>,
    /// Entries that belong to no asset, carried through untouched.
    pub extras: Vec<crate::model::EntryRef>,
    /// Assets that failed to load, with the reason.
    pub failures: Vec<AssetFailure>,
    /// The project folder of an enebular export.
    pub project: Option<String>,
    /// The items of a KIE file, in file order.
    pub kie: Option<kie::KieFile>,
}

impl Package {
    /// Opens and reads a package. Archive-level problems refuse the whole package; problems
    /// of one asset fail that asset only (see [`Package::failures`]).
    pub fn load(path: &Path, opts: &LoadOptions) -> Result<Package, PackageError> {
        let source = Arc::new(Source::open(path, &opts.limits)?);
        let manifest = read_manifest(&source)?;
        let layout = match (opts.layout, &manifest) {
            (Some(l), _) => l,
            (None, Some(m)) => m.layout.parse().map_err(|detail| PackageError::Manifest {
                path: path.into(),
                detail,
            })?,
            (None, None) => detect(&source)?,
        };
        let mut pkg = match layout {
            Layout::Hoist => hoist::read(&source)?,
            Layout::Enebular => enebular::read(&source)?,
            Layout::Kie => kie::read(&source)?,
        };
        pkg.manifest = manifest;
        match opts.hashing {
            Hashing::Documents => {}
            Hashing::Content => pkg.hash_all(|s, e| s.digest(e))?,
            Hashing::Stored => {
                if let Some(m) = &pkg.manifest {
                    for (name, d) in &m.entries {
                        if let Some(e) = pkg.source.find(name) {
                            pkg.source.remember_listed(e, *d);
                        }
                    }
                }
                pkg.hash_all(|s, e| match s.known_digest(e) {
                    Some(d) => Ok(d),
                    None => s.stored_digest(e),
                })?
            }
        }
        pkg.check_manifest();
        Ok(pkg)
    }

    /// Runs `hash` over every entry in parallel; an entry whose bytes are damaged fails its
    /// asset, any other error the package.
    fn hash_all(
        &mut self,
        hash: impl Fn(&Source, &crate::archive::source::Entry) -> Result<Digest, PackageError> + Sync,
    ) -> Result<(), PackageError> {
        let source = &self.source;
        let pairs: Vec<(String, Result<Digest, PackageError>)> = source
            .entries()
            .par_iter()
            .map(|e| (e.name.clone(), hash(source, e)))
            .collect();
        for (name, result) in pairs {
            match result {
                Ok(_) => {}
                Err(e) if is_entry_damage(&e) => {
                    let asset = self
                        .layout
                        .asset_of_entry(&name)
                        .unwrap_or_else(|| name.clone());
                    self.fail(
                        asset,
                        AssetFailure::new(String::new(), e.code(), e.to_string()),
                    );
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Fails the assets named `asset` (every version when no version is given) with `why`.
    fn fail(&mut self, asset: String, why: AssetFailure) {
        let failure = AssetFailure {
            asset: asset.clone(),
            ..why
        };
        self.assets.retain(|a| {
            let full = a.key.to_string();
            full != asset && !full.starts_with(&format!("{asset}@"))
        });
        if !self.failures.contains(&failure) {
            self.failures.push(failure);
            self.failures.sort();
        }
    }

    /// Checks entries against the manifest: every listed entry present, none unlisted, and
    /// every digest taken so far equal to the listed one.
    fn check_manifest(&mut self) {
        let Some(manifest) = self.manifest.take() else {
            return;
        };
        let mut problems = Vec::new();
        for (name, want) in &manifest.entries {
            match self.source.find(name) {
                None => problems.push((
                    name.clone(),
                    "integrity.missing",
                    format!("{name} is listed in the manifest but missing"),
                )),
                Some(entry) => {
                    if let Some(got) = self.source.known_digest(entry)
                        && got != *want
                    {
                        problems.push((
                            name.clone(),
                            "integrity.modified",
                            format!(
                                "{name} was modified: its sha256 is {} but the manifest says {}",
                                got.short(),
                                want.short()
                            ),
                        ));
                    }
                }
            }
        }
        for e in self.source.entries() {
            if e.name != MANIFEST_NAME && !manifest.entries.contains_key(&e.name) {
                problems.push((
                    e.name.clone(),
                    "integrity.extra",
                    format!("{} is not listed in the manifest", e.name),
                ));
            }
        }
        for (entry, code, message) in problems {
            let asset = self.layout.asset_of_entry(&entry).unwrap_or(entry);
            self.fail(asset, AssetFailure::new(String::new(), code, message));
        }
        self.manifest = Some(manifest);
    }

    /// The manifest's digest for an entry, if there is a manifest.
    pub fn listed_digest(&self, entry: &str) -> Option<&Digest> {
        self.manifest.as_ref().and_then(|m| m.entries.get(entry))
    }

    /// The entries of a package in this package's layout holding `assets`, with this
    /// package's extra entries.
    pub fn entries_for(
        &self,
        assets: &[Asset],
    ) -> Result<Vec<crate::archive::write::OutEntry>, PackageError> {
        write_entries(self.layout, self.project.as_deref(), assets, &self.extras).map_err(
            |detail| PackageError::Layout {
                path: self.source.path().into(),
                detail,
            },
        )
    }
}

/// The entries of a package in `layout` holding `assets` and `extras`.
pub fn write_entries(
    layout: Layout,
    project: Option<&str>,
    assets: &[Asset],
    extras: &[crate::model::EntryRef],
) -> Result<Vec<crate::archive::write::OutEntry>, String> {
    match layout {
        Layout::Hoist => Ok(hoist::entries(assets, extras)),
        Layout::Enebular => enebular::entries(project.unwrap_or("project"), assets, extras),
        Layout::Kie => Err("KIE files are written by the KIE upload, not entry by entry".into()),
    }
}

/// Errors of one entry's bytes, which fail the asset rather than the package.
fn is_entry_damage(e: &PackageError) -> bool {
    matches!(
        e,
        PackageError::Crc { .. } | PackageError::Size { .. } | PackageError::Damaged { .. }
    )
}

pub(crate) fn read_manifest(source: &Source) -> Result<Option<Manifest>, PackageError> {
    if let Some(entry) = source.find(MANIFEST_NAME) {
        let bytes = source.read(entry)?;
        return Manifest::parse(source.path(), &bytes).map(Some);
    }
    let side = sidecar_path(source.path());
    match std::fs::read(&side) {
        Ok(bytes) => Manifest::parse(&side, &bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PackageError::io(&side, "cannot read the manifest", e)),
    }
}

/// Tells the layout from the tree.
pub fn detect(source: &Source) -> Result<Layout, PackageError> {
    if source.is_file() {
        return Ok(Layout::Kie);
    }
    let entries = source.entries();
    if entries.iter().any(|e| e.name.starts_with("assets/")) {
        return Ok(Layout::Hoist);
    }
    if entries.iter().any(|e| enebular::is_enebular_entry(&e.name)) {
        return Ok(Layout::Enebular);
    }
    Err(PackageError::Layout {
        path: source.path().into(),
        detail: if entries.is_empty() {
            "the package is empty; name its layout with --layout to use it anyway".into()
        } else {
            "cannot tell the layout: expected hoist.json or assets/… (hoist) or \
             <Project>/flows|files|privatenode/… (enebular); name it with --layout"
                .into()
        },
    })
}
