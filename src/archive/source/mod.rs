//! A package source: a ZIP file or a directory holding the same tree.
//!
//! Opening a source validates every entry once (names, links, encryption, duplicates,
//! overlaps, limits); reads afterwards are bounded by the declared size and CRC-checked.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::error::PackageError;
use super::limits::Limits;
use crate::digest::Digest;

mod digests;
mod folder;
mod zipfile;

use folder::{open_dir, open_file};
use zipfile::{
    Checked, RawBounded, SharedFile, is_plain_config_file, open_zip, stored_bytes, with_inflater,
};

/// How an entry's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Stored as is (ZIP method 0) or a plain file in a directory.
    Stored,
    /// Deflate (ZIP method 8).
    Deflated,
}

/// One file of a package.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Relative path with `/` separators.
    pub name: String,
    /// Size once inflated.
    pub size: u64,
    /// Size as stored.
    pub compressed_size: u64,
    /// CRC-32 of the inflated bytes, when the source records one (ZIP).
    pub crc32: Option<u32>,
    /// How the bytes are stored.
    pub method: Method,
    /// Where its stored bytes start in a ZIP file (after its local header).
    data_start: u64,
    slot: usize,
}

enum Kind {
    /// The archive is read and checked when opened (`open_zip`); each entry then knows where
    /// its stored bytes lie, and the reader's own listing is not kept (it took about as much
    /// memory per entry as a small asset's document).
    Zip(SharedFile),
    Dir,
    /// One plain file (a KIE configuration file): its only entry is its file name.
    File,
}

/// An opened, validated package source.
pub struct Source {
    path: PathBuf,
    kind: Kind,
    entries: Vec<Entry>,
    /// SHA-256 of each entry's content, once taken from its bytes.
    digests: Vec<std::sync::OnceLock<Digest>>,
    /// SHA-256 of each ZIP entry's stored (compressed) bytes, once taken.
    stored: digests::Sparse,
    /// The content digest the package's manifest lists, for entries copied unchanged.
    listed: digests::Sparse,
    /// The caps it was opened with; they bound what is parsed out of it too.
    limits: Limits,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("path", &self.path)
            .field("zip", &self.is_zip())
            .field("entries", &self.entries.len())
            .finish()
    }
}

/// Where reading an entry went wrong: in the package, or in whatever consumed its bytes.
#[derive(Debug)]
pub enum CopyError {
    /// The package entry could not be read.
    Read(PackageError),
    /// The consumer failed (for example, the destination disk is full).
    Write(io::Error),
}

/// Marks an I/O error as a fault of the package being read.
#[derive(Debug)]
pub(super) struct ReadFault(PackageError);

impl std::fmt::Display for ReadFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ReadFault {}

pub(super) fn fault(e: PackageError) -> io::Error {
    io::Error::other(ReadFault(e))
}

pub(super) fn split_fault(e: io::Error) -> CopyError {
    if e.get_ref().is_some_and(|inner| inner.is::<ReadFault>()) {
        let inner = e.into_inner().expect("checked above");
        match inner.downcast::<ReadFault>() {
            Ok(f) => CopyError::Read(f.0),
            Err(other) => CopyError::Write(io::Error::other(other)),
        }
    } else {
        CopyError::Write(e)
    }
}

impl Source {
    /// Opens a ZIP file or a directory and validates every entry.
    pub fn open(path: &Path, limits: &Limits) -> Result<Source, PackageError> {
        let meta = fs::metadata(path).map_err(|e| PackageError::io(path, "cannot open", e))?;
        let mut source = if meta.is_dir() {
            open_dir(path, limits)
        } else if is_plain_config_file(path) {
            open_file(path, meta.len(), limits)
        } else {
            open_zip(path, meta.len(), limits)
        }?;
        source.limits = *limits;
        Ok(source)
    }

    /// The caps the source was opened with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The path the source was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True for a single plain file (a KIE configuration file).
    pub fn is_file(&self) -> bool {
        matches!(self.kind, Kind::File)
    }

    /// True for a ZIP file, false for a directory.
    pub fn is_zip(&self) -> bool {
        matches!(self.kind, Kind::Zip(_))
    }

    /// All file entries, sorted by name. Folder entries of a ZIP are not listed.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry with this exact name.
    pub fn find(&self, name: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Runs `f` over the inflated bytes of `entry`. The reader stops with an error at the
    /// first byte past the declared size, at a short read, and at a CRC mismatch.
    pub fn with_reader<T>(
        &self,
        entry: &Entry,
        f: impl FnOnce(&mut dyn Read) -> io::Result<T>,
    ) -> Result<T, CopyError> {
        let result = match &self.kind {
            Kind::Zip(file) => {
                // The stored bytes, inflated here: sizes and CRCs are checked by `Checked`
                // against the archive's listing, so every failure has its own type.
                let bounded = RawBounded {
                    inner: stored_bytes(file, entry),
                    left: entry.compressed_size,
                    path: &self.path,
                    entry: &entry.name,
                };
                match entry.method {
                    Method::Stored => f(&mut Checked::new(bounded, entry, &self.path)),
                    Method::Deflated => with_inflater(bounded, |inflating| {
                        f(&mut Checked::new(inflating, entry, &self.path))
                    }),
                }
            }
            Kind::File => {
                let file = File::open(&self.path)
                    .map_err(|e| CopyError::Read(PackageError::io(&self.path, "cannot open", e)))?;
                let mut checked = Checked::new(file, entry, &self.path);
                f(&mut checked)
            }
            Kind::Dir => {
                let full = self.path.join(&entry.name);
                let file = File::open(&full)
                    .map_err(|e| CopyError::Read(PackageError::io(&full, "cannot open", e)))?;
                let mut checked = Checked::new(file, entry, &self.path);
                f(&mut checked)
            }
        };
        result.map_err(split_fault)
    }

    /// Reads a whole entry into memory.
    pub fn read(&self, entry: &Entry) -> Result<Vec<u8>, PackageError> {
        let cap = usize::try_from(entry.size)
            .unwrap_or(usize::MAX)
            .min(64 << 20);
        self.with_reader(entry, |r| {
            let mut buf = Vec::with_capacity(cap);
            r.read_to_end(&mut buf)?;
            Ok(buf)
        })
        .map_err(|e| match e {
            CopyError::Read(e) => e,
            CopyError::Write(e) => PackageError::io(&self.path, "cannot read", e),
        })
    }

    /// A source with no entries, named `label`: the home of a package built in memory, whose
    /// assets and payloads are all bytes hoist holds.
    pub fn in_memory(label: &Path) -> Source {
        Source::finish(label, Kind::Dir, Vec::new())
    }

    fn finish(path: &Path, kind: Kind, mut entries: Vec<Entry>) -> Source {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        for (slot, e) in entries.iter_mut().enumerate() {
            e.slot = slot;
        }
        let digests = entries.iter().map(|_| std::sync::OnceLock::new()).collect();
        let (stored, listed) = (
            digests::Sparse::new(entries.len()),
            digests::Sparse::new(entries.len()),
        );
        Source {
            path: path.into(),
            kind,
            entries,
            digests,
            stored,
            listed,
            limits: Limits::default(),
        }
    }

    /// Runs `f` over the stored (still compressed) bytes of a ZIP entry. `None` for a
    /// directory source, which has no compressed form.
    pub fn with_raw_reader<T>(
        &self,
        entry: &Entry,
        f: impl FnOnce(&mut dyn Read) -> io::Result<T>,
    ) -> Option<Result<T, CopyError>> {
        let Kind::Zip(file) = &self.kind else {
            return None;
        };
        let mut bounded = RawBounded {
            inner: stored_bytes(file, entry),
            left: entry.compressed_size,
            path: &self.path,
            entry: &entry.name,
        };
        Some(f(&mut bounded).map_err(split_fault))
    }
}
