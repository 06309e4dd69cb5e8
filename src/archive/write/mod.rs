//! Writing a package: deterministic bytes, written aside and renamed into place.

use std::collections::BTreeMap;
use std::fs::{self};
use std::io::{self, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::error::PackageError;
use super::manifest::{MANIFEST_NAME, Manifest, sidecar_path};
use super::source::{CopyError, Method, Source};
use super::zipwrite::{Compressed, ZipMethod, ZipOut, compress};
use crate::digest::Digest;
use crate::fsutil;

mod dir;
use dir::{SinkSeek, stage_dir};

/// Entries larger than this are compressed while streaming instead of in memory.
const IN_MEMORY_MAX: u64 = 16 << 20;
/// A batch of entries compressed in parallel holds at most about this many input bytes.
const BATCH_BYTES: u64 = 64 << 20;
const BATCH_ENTRIES: usize = 1024;

/// What an output entry holds.
#[derive(Debug, Clone)]
pub enum Content {
    /// Bytes produced by hoist.
    Bytes(Arc<Vec<u8>>),
    /// An entry of a source, copied unchanged (raw, when both sides are ZIP).
    Copy {
        /// The source.
        source: Arc<Source>,
        /// The entry's name in the source.
        entry: String,
    },
}

/// One entry of a package to write.
#[derive(Debug, Clone)]
pub struct OutEntry {
    /// Name in the written package.
    pub name: String,
    /// Its bytes.
    pub content: Content,
    /// SHA-256 of the bytes, when already known.
    pub digest: Option<Digest>,
}

impl OutEntry {
    /// An entry of hoist-made bytes.
    pub fn bytes(name: impl Into<String>, bytes: Vec<u8>) -> Self {
        OutEntry {
            name: name.into(),
            content: Content::Bytes(Arc::new(bytes)),
            digest: None,
        }
    }

    /// An entry copied unchanged from a source.
    pub fn copy(name: impl Into<String>, source: &Arc<Source>, entry: impl Into<String>) -> Self {
        OutEntry {
            name: name.into(),
            content: Content::Copy {
                source: Arc::clone(source),
                entry: entry.into(),
            },
            digest: None,
        }
    }
}

/// A ZIP file or a directory tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A ZIP file.
    Zip,
    /// A directory holding the same tree.
    Dir,
}

/// Where the manifest goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestMode {
    /// `hoist.json` at the root of the package (hoist layout).
    Embedded,
    /// `<package>.hoist.json` beside the package (layouts with no room for it).
    Sidecar,
}

/// What was written.
#[derive(Debug)]
pub struct Written {
    /// The package's path.
    pub path: PathBuf,
    /// How many entries were written, the manifest excluded (their digests are in the
    /// manifest; a run staging many packages does not hold them a second time).
    pub entries: usize,
    /// Inflated bytes written.
    pub bytes: u64,
}

/// Writes `entries` as a package at `dest`: [`stage_package`] then [`Staged::commit`].
pub fn write_package(
    dest: &Path,
    format: Format,
    layout: &str,
    manifest: Option<ManifestMode>,
    entries: Vec<OutEntry>,
    dry_run: bool,
) -> Result<Written, PackageError> {
    let staged = stage_package(dest, format, layout, manifest, None, entries, dry_run)?;
    let written = Written {
        path: staged.written.path.clone(),
        entries: staged.written.entries,
        bytes: staged.written.bytes,
    };
    let parent = fsutil::parent_of(dest).to_path_buf();
    staged.flush()?;
    staged.commit()?;
    fsutil::sync_dir(&parent);
    Ok(written)
}

/// A package written under a temporary name beside its destination, not yet in place.
/// Dropping it removes the temporary files.
#[derive(Debug)]
pub struct Staged {
    dest: PathBuf,
    tmp: StagedTmp,
    sidecar: Option<(tempfile::NamedTempFile, PathBuf)>,
    /// What was written.
    pub written: Written,
}

#[derive(Debug)]
enum StagedTmp {
    File(tempfile::NamedTempFile),
    Dir(TempDirGuard),
    DryRun,
}

#[derive(Debug)]
struct TempDirGuard(Option<PathBuf>);

impl Drop for TempDirGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_dir_all(p);
        }
    }
}

impl Staged {
    /// The moves [`Staged::commit`] will make, in order (none for a dry run).
    pub fn moves(&self) -> Vec<crate::fsutil::Move> {
        let mut moves = Vec::new();
        let mut push = |from: &Path, to: &Path, dir: bool| {
            moves.push(crate::fsutil::Move {
                from: from.into(),
                to: to.into(),
                dir,
            });
        };
        match &self.tmp {
            StagedTmp::File(f) => push(f.path(), &self.dest, false),
            StagedTmp::Dir(TempDirGuard(Some(path))) => push(path, &self.dest, true),
            StagedTmp::Dir(TempDirGuard(None)) | StagedTmp::DryRun => return moves,
        }
        if let Some((tmp, path)) = &self.sidecar {
            push(tmp.path(), path, false);
        }
        moves
    }

    /// The staged files to flush to disk before they are named in a journal or moved (a
    /// staged folder is not flushed), each with the name to show and what failed if that
    /// fails.
    pub fn to_flush(&self) -> Result<Vec<(fs::File, PathBuf, &'static str)>, PackageError> {
        let file = match &self.tmp {
            StagedTmp::File(f) => Some((f, &self.dest, "cannot write")),
            StagedTmp::Dir(_) | StagedTmp::DryRun => None,
        };
        file.into_iter()
            .chain(
                self.sidecar
                    .as_ref()
                    .map(|(f, path)| (f, path, "cannot write the manifest")),
            )
            .map(|(f, shown, action)| {
                let file = f
                    .as_file()
                    .try_clone()
                    .map_err(|e| PackageError::io(shown, action, e))?;
                Ok((file, shown.clone(), action))
            })
            .collect()
    }

    /// Flushes the staged files to disk here (see [`Staged::to_flush`]).
    pub fn flush(&self) -> Result<(), PackageError> {
        for (file, shown, action) in self.to_flush()? {
            file.sync_all()
                .map_err(|e| PackageError::io(&shown, action, e))?;
        }
        Ok(())
    }

    /// Moves the package (and its sidecar manifest) into place: renames only; the caller
    /// flushed the files first ([`Staged::flush`], or a [`fsutil::Flusher`]) and flushes the
    /// folder once all its moves are made.
    pub fn commit(self) -> Result<(), PackageError> {
        let Staged {
            dest, tmp, sidecar, ..
        } = self;
        match tmp {
            StagedTmp::File(f) => fsutil::move_into_place(f, &dest)
                .map_err(|e| PackageError::io(&dest, "cannot move into place", e))?,
            StagedTmp::Dir(mut guard) => {
                let path = guard.0.take().expect("a staged folder is committed once");
                fsutil::replace_dir(&path, &dest).map_err(|e| {
                    let _ = fs::remove_dir_all(&path);
                    PackageError::io(&dest, "cannot move into place", e)
                })?;
            }
            StagedTmp::DryRun => return Ok(()),
        }
        if let Some((tmp, path)) = sidecar {
            fsutil::move_into_place(tmp, &path)
                .map_err(|e| PackageError::io(&path, "cannot write the manifest", e))?;
        }
        Ok(())
    }
}

/// Writes a package that is one plain file (a KIE configuration file) under a temporary name
/// beside `dest`, with its manifest beside it (not flushed yet: see [`Staged::flush`]).
pub fn stage_file(
    dest: &Path,
    layout: &str,
    promotion: Option<&serde_json::Value>,
    bytes: Vec<u8>,
    dry_run: bool,
) -> Result<Staged, PackageError> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let digest = Digest::of(&bytes);
    let digests = BTreeMap::from([(name, digest)]);
    let manifest_bytes = Manifest::new(layout, digests)
        .with_promotion(promotion)
        .to_bytes();
    let written = Written {
        path: dest.into(),
        entries: 1,
        bytes: bytes.len() as u64,
    };
    if dry_run {
        return Ok(Staged {
            dest: dest.into(),
            tmp: StagedTmp::DryRun,
            sidecar: None,
            written,
        });
    }
    let parent = fsutil::parent_of(dest);
    fs::create_dir_all(parent).map_err(|e| PackageError::io(parent, "cannot create", e))?;
    if fs::symlink_metadata(dest).is_ok_and(|m| !m.is_file()) {
        return Err(PackageError::Destination {
            path: dest.into(),
            detail: "exists and is not a file; hoist will not replace it".into(),
        });
    }
    let temp = |path: &Path, data: &[u8]| {
        fsutil::stage_bytes_unflushed(path, data)
            .map_err(|e| PackageError::io(path, "cannot write", e))
    };
    let tmp = StagedTmp::File(temp(dest, &bytes)?);
    let side = sidecar_path(dest);
    let sidecar = Some((temp(&side, &manifest_bytes)?, side));
    Ok(Staged {
        dest: dest.into(),
        tmp,
        sidecar,
        written,
    })
}

/// Writes `entries` as a package under a temporary name beside `dest`.
///
/// Entries are sorted by name; digests are taken (in parallel) and recorded in a manifest
/// (`manifest` `None` writes the entries as given). With `dry_run` everything is computed,
/// compression included, and nothing is written. The files are not flushed to disk yet:
/// see [`Staged::flush`].
pub fn stage_package(
    dest: &Path,
    format: Format,
    layout: &str,
    manifest: Option<ManifestMode>,
    promotion: Option<&serde_json::Value>,
    mut entries: Vec<OutEntry>,
    dry_run: bool,
) -> Result<Staged, PackageError> {
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = entries.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(PackageError::Write {
            path: dest.into(),
            detail: format!("two entries would be written as {:?}", w[0].name),
        });
    }
    if manifest == Some(ManifestMode::Embedded) {
        entries.retain(|e| e.name != MANIFEST_NAME);
    }
    entries
        .par_iter_mut()
        .try_for_each(|e| -> Result<(), PackageError> {
            if e.digest.is_none() {
                e.digest = Some(digest_of(&e.content)?);
            }
            Ok(())
        })?;
    let digests: BTreeMap<String, Digest> = entries
        .iter()
        .map(|e| (e.name.clone(), e.digest.expect("digests were just taken")))
        .collect();
    let count = digests.len();
    let manifest_bytes = Manifest::new(layout, digests)
        .with_promotion(promotion)
        .to_bytes();
    if manifest == Some(ManifestMode::Embedded) {
        let at = entries.partition_point(|e| e.name.as_str() < MANIFEST_NAME);
        let mut m = OutEntry::bytes(MANIFEST_NAME, manifest_bytes.clone());
        m.digest = Some(Digest::of(&manifest_bytes));
        entries.insert(at, m);
    }
    let bytes = entries.iter().map(|e| content_size(&e.content)).sum();
    let written = Written {
        path: dest.into(),
        entries: count,
        bytes,
    };
    if dry_run {
        if format == Format::Zip {
            // Walk the same path into a sink, so a dry run finds what a real run would.
            write_zip_to(dest, &entries, SinkSeek::default())?;
        }
        return Ok(Staged {
            dest: dest.into(),
            tmp: StagedTmp::DryRun,
            sidecar: None,
            written,
        });
    }
    let parent = fsutil::parent_of(dest);
    fs::create_dir_all(parent).map_err(|e| PackageError::io(parent, "cannot create", e))?;
    // Find now what would stop the final rename, so that no output moves into place.
    match (format, fs::symlink_metadata(dest)) {
        (Format::Zip, Ok(m)) if !m.is_file() => {
            return Err(PackageError::Destination {
                path: dest.into(),
                detail: "exists and is not a file; hoist will not replace it".into(),
            });
        }
        (Format::Dir, Ok(m)) if !m.is_dir() => {
            return Err(PackageError::Destination {
                path: dest.into(),
                detail: "exists and is not a folder; hoist will not replace it".into(),
            });
        }
        _ => {}
    }
    let tmp = match format {
        Format::Zip => StagedTmp::File(stage_zip(dest, &entries)?),
        Format::Dir => StagedTmp::Dir(stage_dir(dest, &entries)?),
    };
    let sidecar = if manifest == Some(ManifestMode::Sidecar) {
        let side = sidecar_path(dest);
        let f = fsutil::stage_bytes_unflushed(&side, &manifest_bytes)
            .map_err(|e| PackageError::io(&side, "cannot write the manifest", e))?;
        Some((f, side))
    } else {
        None
    };
    Ok(Staged {
        dest: dest.into(),
        tmp,
        sidecar,
        written,
    })
}

fn content_size(c: &Content) -> u64 {
    match c {
        Content::Bytes(b) => b.len() as u64,
        Content::Copy { source, entry } => source.find(entry).map_or(0, |e| e.size),
    }
}

fn digest_of(content: &Content) -> Result<Digest, PackageError> {
    match content {
        Content::Bytes(b) => Ok(Digest::of(b)),
        Content::Copy { source, entry } => source.output_digest(lookup(source, entry)?),
    }
}

fn lookup<'a>(source: &'a Source, name: &str) -> Result<&'a super::source::Entry, PackageError> {
    source.find(name).ok_or_else(|| PackageError::Layout {
        path: source.path().into(),
        detail: format!("entry {name:?} disappeared from the package"),
    })
}

enum Prepared {
    Mem(Compressed),
    Raw,
    Stream,
}

/// How an entry is written. Bytes hoist made were hashed once, for the manifest; a copied
/// entry read into memory is hashed as it is read, to check it is still what the manifest
/// records.
fn prepare(dest: &Path, e: &OutEntry, to_zip: bool) -> Result<Prepared, PackageError> {
    match &e.content {
        Content::Bytes(b) if (b.len() as u64) <= IN_MEMORY_MAX => Ok(Prepared::Mem(compress(b))),
        Content::Bytes(_) => Ok(Prepared::Stream),
        Content::Copy { source, entry } => {
            let entry = lookup(source, entry)?;
            if to_zip && source.is_zip() {
                Ok(Prepared::Raw)
            } else if entry.size <= IN_MEMORY_MAX {
                let bytes = source.read(entry)?;
                check_digest(dest, e, Digest::of(&bytes))?;
                Ok(Prepared::Mem(compress(&bytes)))
            } else {
                Ok(Prepared::Stream)
            }
        }
    }
}

fn stage_zip(dest: &Path, entries: &[OutEntry]) -> Result<tempfile::NamedTempFile, PackageError> {
    let dir = fsutil::parent_of(dest);
    let tmp = tempfile::Builder::new()
        .prefix(".hoist-tmp-")
        .suffix(".zip")
        .tempfile_in(dir)
        .map_err(|e| PackageError::io(dir, "cannot create a temporary file", e))?;
    let file = tmp
        .as_file()
        .try_clone()
        .map_err(|e| PackageError::io(dest, "cannot write", e))?;
    write_zip_to(dest, entries, BufWriter::with_capacity(1 << 20, file))?;
    fsutil::make_readable(&tmp).map_err(|e| PackageError::io(dest, "cannot write", e))?;
    Ok(tmp)
}

fn write_zip_to<W: Write + Seek>(
    dest: &Path,
    entries: &[OutEntry],
    out: W,
) -> Result<(), PackageError> {
    let werr = |e: io::Error| PackageError::Write {
        path: dest.into(),
        detail: e.to_string(),
    };
    let mut zip = ZipOut::new(out);
    for batch in batches(entries) {
        let prepared: Vec<Prepared> = batch
            .par_iter()
            .map(|e| prepare(dest, e, true))
            .collect::<Result<_, _>>()?;
        for (e, p) in batch.iter().zip(prepared) {
            match p {
                Prepared::Mem(c) => zip.add_compressed(&e.name, &c).map_err(werr)?,
                Prepared::Raw => {
                    let Content::Copy { source, entry } = &e.content else {
                        unreachable!("raw is a copy")
                    };
                    let src = lookup(source, entry)?;
                    let method = match src.method {
                        Method::Stored => ZipMethod::Stored,
                        Method::Deflated => ZipMethod::Deflated,
                    };
                    let crc = src.crc32.expect("ZIP entries have a CRC");
                    // The stored bytes must be those the plan identified, when it did.
                    let planned = source.known_stored(src);
                    let copied = source
                        .with_raw_reader(src, |r| {
                            let mut r = crate::digest::HashingReader::new(r);
                            zip.add_raw(
                                &e.name,
                                method,
                                crc,
                                src.compressed_size,
                                src.size,
                                &mut r,
                            )?;
                            Ok(r.digest())
                        })
                        .expect("a ZIP source has raw entries")
                        .map_err(|err| copy_error(dest, err))?;
                    if planned.is_some_and(|p| p != copied) {
                        return Err(PackageError::Write {
                            path: dest.into(),
                            detail: format!("entry {:?} changed while it was being copied", e.name),
                        });
                    }
                }
                Prepared::Stream => {
                    let digest = match &e.content {
                        Content::Bytes(b) => zip
                            .add_streamed(&e.name, b.len() as u64, &mut &b[..])
                            .map_err(werr)?,
                        Content::Copy { source, entry } => {
                            let src = lookup(source, entry)?;
                            source
                                .with_reader(src, |r| zip.add_streamed(&e.name, src.size, r))
                                .map_err(|err| copy_error(dest, err))?
                        }
                    };
                    check_digest(dest, e, digest)?;
                }
            }
        }
    }
    zip.finish().map_err(werr)?;
    Ok(())
}

fn check_digest(dest: &Path, e: &OutEntry, got: Digest) -> Result<(), PackageError> {
    match e.digest {
        Some(want) if want != got => Err(PackageError::Write {
            path: dest.into(),
            detail: format!("entry {:?} changed while it was being copied", e.name),
        }),
        _ => Ok(()),
    }
}

fn copy_error(dest: &Path, e: CopyError) -> PackageError {
    match e {
        CopyError::Read(e) => e,
        CopyError::Write(e) => PackageError::Write {
            path: dest.into(),
            detail: e.to_string(),
        },
    }
}

fn batches(entries: &[OutEntry]) -> Vec<&[OutEntry]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, e) in entries.iter().enumerate() {
        bytes += content_size(&e.content).min(IN_MEMORY_MAX);
        if bytes >= BATCH_BYTES || i + 1 - start >= BATCH_ENTRIES {
            out.push(&entries[start..=i]);
            start = i + 1;
            bytes = 0;
        }
    }
    if start < entries.len() {
        out.push(&entries[start..]);
    }
    out
}

#[cfg(test)]
mod tests;
