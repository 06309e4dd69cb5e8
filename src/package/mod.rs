//! Packages: loading a ZIP or directory in one of the layouts into assets, and writing
//! assets back as a package.
//!
//! Each layout is read and written by its platform (`platform/<name>/layout.rs`) through
//! [`LayoutIo`]; this module knows the layouts only by name, and is handed the list of them
//! ([`LoadOptions::layouts`]) by the layers above.

pub mod verify;

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::archive::manifest::{MANIFEST_NAME, Manifest, sidecar_path};
pub use crate::archive::{Limits, PackageError, Source};

use crate::archive::write::OutEntry;
use crate::digest::Digest;
use crate::model::{Asset, EntryRef, Payload};

/// How a package is laid out.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// hoist's own layout: `hoist.json` and `assets/<kind>/<name>/[<version>/]asset.json`.
    Hoist,
    /// enebular project export: `<Project>/flows|files|privatenode/<Asset>/<Version>/`.
    Enebular,
    /// ServiceComb KIE configuration: one JSON or YAML file of key-value items.
    Kie,
    /// APIG API definitions: one OpenAPI (Swagger 2.0 or OpenAPI 3.0) file of one API group.
    Apig,
}

impl Layout {
    /// The layout's name as written on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Hoist => "hoist",
            Layout::Enebular => "enebular",
            Layout::Kie => "kie",
            Layout::Apig => "apig",
        }
    }
}

/// How one layout is read and written. Each platform implements it for its layout, and the
/// registry the command line builds lists them in the order detection tries them.
pub trait LayoutIo: Send + Sync + fmt::Debug {
    /// The layout.
    fn layout(&self) -> Layout;

    /// Whether `source` is laid out this way (for packages without a manifest).
    fn detect(&self, source: &Source) -> bool;

    /// Reads every asset of `source`; problems of one asset fail that asset only.
    fn read(&'static self, source: &Arc<Source>) -> Result<Package, PackageError>;

    /// The entries of a package in this layout holding `assets` and `extras`.
    fn entries(
        &self,
        project: Option<&str>,
        assets: &[Asset],
        extras: &[EntryRef],
    ) -> Result<Vec<OutEntry>, String>;

    /// The asset an entry belongs to, for grouping integrity problems.
    fn asset_of_entry(&self, entry: &str) -> Option<String>;

    /// Whether packages of this layout carry the manifest inside (otherwise beside).
    fn embeds_manifest(&self) -> bool {
        false
    }

    /// The asset as the platform holds it once imported, for the merged state (enebular:
    /// the name the platform gave it becomes its title).
    fn as_held(&self, _asset: &mut Asset) {}

    /// Whether asset names are folder or file names in this layout, so that names a disk
    /// cannot hold are a concern (not so for enebular, whose names are titles).
    fn names_are_paths(&self) -> bool {
        true
    }

    /// The file name payload files may not take: the asset's document's own, in a layout that
    /// puts payloads beside it (enebular's `settings.json`).
    fn reserved_payload_name(&self) -> Option<&'static str> {
        None
    }

    /// For a layout whose package is one file (an API definition): that file holding
    /// `assets`, in the format of `like` (the package it comes from), and the file's
    /// extension. `None` for layouts written entry by entry.
    fn single_file(
        &self,
        _like: &Package,
        _assets: &[Asset],
    ) -> Option<Result<SingleFile, String>> {
        None
    }
}

/// A package that is one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleFile {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its extension (`json`, `yaml`).
    pub extension: &'static str,
}

/// The layouts a run knows, in the order detection tries them.
pub type Layouts = &'static [&'static dyn LayoutIo];

/// The reader and writer of `layout` among `layouts`.
pub fn layout_io(layouts: Layouts, layout: Layout) -> Result<&'static dyn LayoutIo, String> {
    layouts
        .iter()
        .copied()
        .find(|l| l.layout() == layout)
        .ok_or_else(|| format!("no reader for the {layout} layout"))
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
            "apig" => Ok(Layout::Apig),
            other => Err(format!(
                "unknown layout {other:?}; expected hoist, enebular, kie or apig"
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
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The layouts that can be read.
    pub layouts: Layouts,
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
    /// The reader and writer of that layout.
    pub io: &'static dyn LayoutIo,
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
    /// What the layout keeps of the package as a whole beyond its assets (a KIE file's items
    /// in file order, its format and metadata), for its platform to read back.
    pub data: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

impl Package {
    /// A package built in memory from `assets` (documents and payload bytes held by hoist,
    /// no entry of any file), as the planner sees one read from disk: for tests and for
    /// programs that make packages themselves.
    pub fn in_memory(label: &Path, io: &'static dyn LayoutIo, mut assets: Vec<Asset>) -> Package {
        assets.sort_by(|a, b| a.key.cmp(&b.key));
        Package {
            source: Arc::new(Source::in_memory(label)),
            layout: io.layout(),
            io,
            manifest: None,
            assets,
            extras: Vec::new(),
            failures: Vec::new(),
            project: None,
            data: None,
        }
    }

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
            (None, None) => detect(&source, opts.layouts)?,
        };
        let io = layout_io(opts.layouts, layout).map_err(|detail| PackageError::Layout {
            path: path.into(),
            detail,
        })?;
        let mut pkg = io.read(&source)?;
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
                        .io
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
            let asset = self.io.asset_of_entry(&entry).unwrap_or(entry);
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
    pub fn entries_for(&self, assets: &[Asset]) -> Result<Vec<OutEntry>, PackageError> {
        self.io
            .entries(self.project.as_deref(), assets, &self.extras)
            .map_err(|detail| PackageError::Layout {
                path: self.source.path().into(),
                detail,
            })
    }
}

/// An output entry for a payload.
pub fn payload_entry(name: String, payload: &Payload) -> OutEntry {
    match payload {
        Payload::Entry(e) => OutEntry::copy(name, &e.source, e.name.clone()),
        Payload::Bytes(b) => OutEntry::bytes(name, b.as_ref().clone()),
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

/// Tells the layout from the tree: the first of `layouts` that recognises it.
pub fn detect(source: &Source, layouts: Layouts) -> Result<Layout, PackageError> {
    if let Some(io) = layouts.iter().find(|l| l.detect(source)) {
        return Ok(io.layout());
    }
    let entries = source.entries();
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
