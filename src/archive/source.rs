//! A package source: a ZIP file or a directory holding the same tree.
//!
//! Opening a source validates every entry once (names, links, encryption, duplicates,
//! overlaps, limits); reads afterwards are bounded by the declared size and CRC-checked.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zip::ZipArchive;
use zip::result::ZipError;

use super::error::{NameProblem, PackageError};
use super::limits::Limits;
use super::names;
use crate::digest::{Digest, hash_reader};

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
    index: usize,
    slot: usize,
}

enum Kind {
    Zip(ZipArchive<SharedFile>),
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
    stored: Vec<std::sync::OnceLock<Digest>>,
    /// The content digest the package's manifest lists, for entries copied unchanged.
    listed: Vec<std::sync::OnceLock<Digest>>,
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
struct ReadFault(PackageError);

impl std::fmt::Display for ReadFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ReadFault {}

fn fault(e: PackageError) -> io::Error {
    io::Error::other(ReadFault(e))
}

fn split_fault(e: io::Error) -> CopyError {
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
            Kind::Zip(archive) => {
                // The stored bytes, inflated here: sizes and CRCs are checked by `Checked`
                // against the archive's listing, so every failure has its own type.
                let mut archive = archive.clone();
                let raw = archive
                    .by_index_raw(entry.index)
                    .map_err(|e| CopyError::Read(self.zip_error(e)))?;
                let bounded = RawBounded {
                    inner: raw,
                    left: entry.compressed_size,
                    path: &self.path,
                    entry: &entry.name,
                };
                match entry.method {
                    Method::Stored => f(&mut Checked::new(bounded, entry, &self.path)),
                    Method::Deflated => f(&mut Checked::new(
                        flate2::read::DeflateDecoder::new(bounded),
                        entry,
                        &self.path,
                    )),
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

    /// The SHA-256 of an entry's inflated bytes, taken once and remembered.
    pub fn digest(&self, entry: &Entry) -> Result<Digest, PackageError> {
        if let Some(d) = self.digests[entry.slot].get() {
            return Ok(*d);
        }
        let d = self
            .with_reader(entry, |r| hash_reader(r).map(|(d, _)| d))
            .map_err(|e| match e {
                CopyError::Read(e) => e,
                CopyError::Write(e) => PackageError::io(&self.path, "cannot read", e),
            })?;
        let _ = self.digests[entry.slot].set(d);
        Ok(d)
    }

    /// The digest of an entry if it was already taken.
    pub fn known_digest(&self, entry: &Entry) -> Option<Digest> {
        self.digests[entry.slot].get().copied()
    }

    /// The SHA-256 of an entry's stored bytes, taken once and remembered: the compressed
    /// stream of a ZIP entry (read without inflating), the content of a plain file.
    pub fn stored_digest(&self, entry: &Entry) -> Result<Digest, PackageError> {
        if let Some(d) = self.stored[entry.slot].get() {
            return Ok(*d);
        }
        let d = match self.with_raw_reader(entry, |r| hash_reader(r).map(|(d, _)| d)) {
            Some(r) => r.map_err(|e| match e {
                CopyError::Read(e) => e,
                CopyError::Write(e) => PackageError::io(&self.path, "cannot read", e),
            })?,
            None => self.digest(entry)?,
        };
        let _ = self.stored[entry.slot].set(d);
        Ok(d)
    }

    /// The stored digest of an entry if it was already taken.
    pub fn known_stored(&self, entry: &Entry) -> Option<Digest> {
        self.stored[entry.slot].get().copied()
    }

    /// What identifies an entry's bytes in a plan: the content digest when it was taken,
    /// else the stored digest when that was.
    pub fn identity(&self, entry: &Entry) -> Option<Digest> {
        self.known_digest(entry)
            .or_else(|| self.stored[entry.slot].get().copied())
    }

    /// Records the content digest the package's manifest lists for an entry.
    pub fn remember_listed(&self, entry: &Entry, listed: Digest) {
        let _ = self.listed[entry.slot].set(listed);
    }

    /// The content digest to record when the entry is copied unchanged: the one taken from
    /// its bytes, else the manifest's, else taken now.
    pub fn output_digest(&self, entry: &Entry) -> Result<Digest, PackageError> {
        match self
            .known_digest(entry)
            .or_else(|| self.listed[entry.slot].get().copied())
        {
            Some(d) => Ok(d),
            None => self.digest(entry),
        }
    }

    /// Remembers the digest of bytes just read whole from `entry`.
    pub fn remember_digest(&self, entry: &Entry, bytes: &[u8]) {
        let _ = self.digests[entry.slot].set(Digest::of(bytes));
    }

    fn finish(path: &Path, kind: Kind, mut entries: Vec<Entry>) -> Source {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        for (slot, e) in entries.iter_mut().enumerate() {
            e.slot = slot;
        }
        let cells = || entries.iter().map(|_| std::sync::OnceLock::new()).collect();
        let (digests, stored, listed) = (cells(), cells(), cells());
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
        let Kind::Zip(archive) = &self.kind else {
            return None;
        };
        let mut archive = archive.clone();
        let file = match archive.by_index_raw(entry.index) {
            Ok(file) => file,
            Err(e) => return Some(Err(CopyError::Read(self.zip_error(e)))),
        };
        let mut bounded = RawBounded {
            inner: file,
            left: entry.compressed_size,
            path: &self.path,
            entry: &entry.name,
        };
        Some(f(&mut bounded).map_err(split_fault))
    }

    fn zip_error(&self, e: ZipError) -> PackageError {
        zip_error(&self.path, e)
    }
}

struct RawBounded<'a, R> {
    inner: R,
    left: u64,
    path: &'a Path,
    entry: &'a str,
}

impl<R: Read> Read for RawBounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let damaged = |detail: String| {
            fault(PackageError::Damaged {
                path: self.path.into(),
                detail: format!("entry {:?}: {detail}", self.entry),
            })
        };
        let n = self
            .inner
            .read(&mut buf[..want])
            .map_err(|e| damaged(e.to_string()))?;
        if n == 0 {
            return Err(damaged("its data ends early".into()));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Enforces the declared size and turns the reader's failures into package errors.
struct Checked<'a, R> {
    inner: R,
    declared: u64,
    seen: u64,
    /// The CRC-32 the archive lists, and the one of the bytes seen so far: a read error is
    /// told apart by these, never by the reader's message.
    crc: Option<u32>,
    hasher: crc32fast::Hasher,
    entry: &'a str,
    path: &'a Path,
}

impl<'a, R: Read> Checked<'a, R> {
    fn new(inner: R, entry: &'a Entry, path: &'a Path) -> Self {
        Checked {
            inner,
            declared: entry.size,
            seen: 0,
            crc: entry.crc32,
            hasher: crc32fast::Hasher::new(),
            entry: &entry.name,
            path,
        }
    }

    fn size_error(&self, actual: String) -> io::Error {
        fault(PackageError::Size {
            path: self.path.to_path_buf(),
            entry: self.entry.to_string(),
            declared: self.declared,
            actual,
        })
    }
}

impl<R: Read> Read for Checked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Ask for one byte more than the declared size allows, to notice an overrun.
        let room = self.declared - self.seen + 1;
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) if e.get_ref().is_some_and(|inner| inner.is::<ReadFault>()) => {
                return Err(e);
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(
                    self.size_error(format!("fewer ({} read before the data ended)", self.seen))
                );
            }
            Err(e) => {
                return Err(fault(PackageError::Damaged {
                    path: self.path.to_path_buf(),
                    detail: format!("entry {:?}: {e}", self.entry),
                }));
            }
        };
        self.seen += n as u64;
        if self.seen > self.declared {
            return Err(self.size_error("more".into()));
        }
        self.hasher.update(&buf[..n]);
        if n == 0 && self.seen < self.declared {
            return Err(self.size_error(self.seen.to_string()));
        }
        if n == 0
            && self
                .crc
                .is_some_and(|want| self.hasher.clone().finalize() != want)
        {
            return Err(fault(PackageError::Crc {
                path: self.path.to_path_buf(),
                entry: self.entry.to_string(),
            }));
        }
        Ok(n)
    }
}

/// A file handle that many readers can share, each with its own position and its own small
/// read buffer (a clone starts with an empty one), so that reading a small entry costs one
/// system call instead of several.
struct SharedFile {
    file: Arc<File>,
    pos: u64,
    len: u64,
    buf: Vec<u8>,
    buf_at: u64,
}

const READ_AHEAD: usize = 4 << 10;

impl SharedFile {
    fn new(file: File, len: u64) -> Self {
        SharedFile {
            file: Arc::new(file),
            pos: 0,
            len,
            buf: Vec::new(),
            buf_at: 0,
        }
    }
}

impl Clone for SharedFile {
    fn clone(&self) -> Self {
        SharedFile {
            file: Arc::clone(&self.file),
            pos: self.pos,
            len: self.len,
            buf: Vec::new(),
            buf_at: 0,
        }
    }
}

impl Read for SharedFile {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let end = self.buf_at + self.buf.len() as u64;
        if self.pos < self.buf_at || self.pos >= end {
            if out.len() >= READ_AHEAD {
                let n = read_at(&self.file, out, self.pos)?;
                self.pos += n as u64;
                return Ok(n);
            }
            self.buf.resize(READ_AHEAD, 0);
            let n = read_at(&self.file, &mut self.buf, self.pos)?;
            self.buf.truncate(n);
            self.buf_at = self.pos;
            if n == 0 {
                return Ok(0);
            }
        }
        let from = (self.pos - self.buf_at) as usize;
        let n = out.len().min(self.buf.len() - from);
        out[..n].copy_from_slice(&self.buf[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let next = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match next {
            Some(n) => {
                self.pos = n;
                Ok(n)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start",
            )),
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, pos)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, pos)
}

fn zip_error(path: &Path, e: ZipError) -> PackageError {
    match e {
        ZipError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => PackageError::Damaged {
            path: path.to_path_buf(),
            detail: "the file ends before the archive does".into(),
        },
        ZipError::Io(e) => PackageError::io(path, "cannot read", e),
        ZipError::CompressionMethodNotSupported(m) => PackageError::Method {
            path: path.to_path_buf(),
            entry: String::new(),
            method: m.to_string(),
        },
        other => PackageError::Damaged {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    }
}

/// An entry's method and sizes, refused when the method is not stored or deflate, a stored
/// entry's sizes differ, or a large entry inflates past the ratio cap (a ZIP bomb).
fn checked_sizes<R: Read>(
    path: &Path,
    name: &str,
    file: &zip::read::ZipFile<'_, R>,
    limits: &Limits,
) -> Result<(Method, u64, u64), PackageError> {
    let method = match file.compression() {
        zip::CompressionMethod::Stored => Method::Stored,
        zip::CompressionMethod::Deflated => Method::Deflated,
        other => {
            return Err(PackageError::Method {
                path: path.into(),
                entry: name.to_string(),
                method: format!("{other:?}"),
            });
        }
    };
    let (size, compressed_size) = (file.size(), file.compressed_size());
    if method == Method::Stored && size != compressed_size {
        return Err(PackageError::Size {
            path: path.into(),
            entry: name.to_string(),
            declared: size,
            actual: format!("{compressed_size} (stored)"),
        });
    }
    if size > Limits::RATIO_FLOOR {
        let ratio = size / compressed_size.max(1);
        if ratio > limits.max_ratio {
            return Err(PackageError::Ratio {
                path: path.into(),
                entry: name.to_string(),
                compressed: compressed_size,
                size,
                ratio,
                limit: limits.max_ratio,
            });
        }
    }
    Ok((method, size, compressed_size))
}

fn open_zip(path: &Path, len: u64, limits: &Limits) -> Result<Source, PackageError> {
    let file = File::open(path).map_err(|e| PackageError::io(path, "cannot open", e))?;
    if len == 0 {
        return Err(PackageError::NotZip {
            path: path.into(),
            detail: "the file is empty".into(),
        });
    }
    let mut magic = [0u8; 4];
    let head =
        read_at(&file, &mut magic, 0).map_err(|e| PackageError::io(path, "cannot read", e))?;
    let looks_zip = head == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06");
    let shared = SharedFile::new(file, len);
    let mut archive = ZipArchive::new(shared).map_err(|e| {
        if looks_zip {
            zip_error(path, e)
        } else {
            PackageError::NotZip {
                path: path.into(),
                detail: format!("it does not start with a ZIP signature; reader says: {e}"),
            }
        }
    })?;
    let count = archive.len() as u64;
    if count > limits.max_entries {
        return Err(PackageError::TooManyEntries {
            path: path.into(),
            count,
            limit: limits.max_entries,
        });
    }
    if archive.has_duplicate_names() {
        let entry = first_duplicate(&archive).unwrap_or_else(|| "(unknown)".into());
        return Err(PackageError::Duplicate {
            path: path.into(),
            entry,
        });
    }
    let mut entries = Vec::with_capacity(archive.len());
    let mut folders = Vec::new();
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let file = archive
            .by_index_raw(index)
            .map_err(|e| zip_error(path, e))?;
        let raw = file.name_raw();
        let lossy = String::from_utf8_lossy(raw).into_owned();
        let name = names::check(raw)
            .map_err(|problem| PackageError::UnsafeName {
                path: path.into(),
                entry: lossy.clone(),
                problem,
            })?
            .to_string();
        if file.is_symlink() {
            return Err(PackageError::Symlink {
                path: path.into(),
                entry: name,
            });
        }
        if file.encrypted() {
            return Err(PackageError::Encrypted {
                path: path.into(),
                entry: name,
            });
        }
        if file.is_dir() {
            folders.push(name);
            continue;
        }
        let (method, size, compressed_size) = checked_sizes(path, &name, &file, limits)?;
        total = total.saturating_add(size);
        if total > limits.max_total_size {
            return Err(PackageError::TooLarge {
                path: path.into(),
                total,
                limit: limits.max_total_size,
            });
        }
        entries.push(Entry {
            name,
            size,
            compressed_size,
            crc32: Some(file.crc32()),
            method,
            index,
            slot: 0,
        });
    }
    if archive
        .has_overlapping_entries()
        .map_err(|e| zip_error(path, e))?
    {
        return Err(PackageError::Overlap { path: path.into() });
    }
    check_conflicts(path, &entries, &folders)?;
    Ok(Source::finish(path, Kind::Zip(archive), entries))
}

/// Names the first name stored twice, by walking the raw central directory.
fn first_duplicate(archive: &ZipArchive<SharedFile>) -> Option<String> {
    let mut reader = archive.clone().into_inner();
    let mut seen = std::collections::BTreeSet::new();
    let mut pos = archive.central_directory_start() + archive.offset();
    for _ in 0..archive.metadata().len().saturating_add(1) * 2 {
        let mut head = [0u8; 46];
        reader.seek(SeekFrom::Start(pos)).ok()?;
        reader.read_exact(&mut head).ok()?;
        if head[..4] != *b"PK\x01\x02" {
            return None;
        }
        let name_len = u16::from_le_bytes([head[28], head[29]]) as usize;
        let extra_len = u16::from_le_bytes([head[30], head[31]]) as u64;
        let comment_len = u16::from_le_bytes([head[32], head[33]]) as u64;
        let mut name = vec![0u8; name_len];
        reader.read_exact(&mut name).ok()?;
        let name = String::from_utf8_lossy(&name).into_owned();
        if !seen.insert(name.clone()) {
            return Some(name);
        }
        pos += 46 + name_len as u64 + extra_len + comment_len;
    }
    None
}

/// Refuses a file whose name is also the folder of other entries.
fn check_conflicts(path: &Path, entries: &[Entry], folders: &[String]) -> Result<(), PackageError> {
    let files: std::collections::BTreeSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let parents = entries
        .iter()
        .map(|e| e.name.as_str())
        .chain(folders.iter().map(|f| f.trim_end_matches('/')));
    for name in parents {
        let mut cut = name;
        while let Some(i) = cut.rfind('/') {
            cut = &cut[..i];
            if files.contains(cut) {
                return Err(PackageError::PathConflict {
                    path: path.into(),
                    entry: cut.to_string(),
                });
            }
        }
    }
    for folder in folders {
        if files.contains(folder.trim_end_matches('/')) {
            return Err(PackageError::PathConflict {
                path: path.into(),
                entry: folder.clone(),
            });
        }
    }
    Ok(())
}

/// A `.json`, `.yaml` or `.yml` file that is not a ZIP archive: a KIE configuration file.
fn is_plain_config_file(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("json" | "yaml" | "yml")) {
        return false;
    }
    let mut magic = [0u8; 2];
    let zip = File::open(path)
        .and_then(|f| read_at(&f, &mut magic, 0))
        .is_ok_and(|n| n == 2 && magic == *b"PK");
    !zip
}

fn open_file(path: &Path, len: u64, limits: &Limits) -> Result<Source, PackageError> {
    if len > limits.max_total_size {
        return Err(PackageError::TooLarge {
            path: path.into(),
            total: len,
            limit: limits.max_total_size,
        });
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let entry = Entry {
        name,
        size: len,
        compressed_size: len,
        crc32: None,
        method: Method::Stored,
        index: 0,
        slot: 0,
    };
    Ok(Source::finish(path, Kind::File, vec![entry]))
}

fn open_dir(root: &Path, limits: &Limits) -> Result<Source, PackageError> {
    let mut entries = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        let listing = fs::read_dir(&dir).map_err(|e| PackageError::io(&dir, "cannot list", e))?;
        for item in listing {
            let item = item.map_err(|e| PackageError::io(&dir, "cannot list", e))?;
            let file_name = item.file_name();
            let Some(file_name) = file_name.to_str() else {
                return Err(PackageError::UnsafeName {
                    path: root.into(),
                    entry: format!("{rel}/{}", file_name.to_string_lossy()),
                    problem: NameProblem::Malformed,
                });
            };
            let name = if rel.is_empty() {
                file_name.to_string()
            } else {
                format!("{rel}/{file_name}")
            };
            names::check(name.as_bytes()).map_err(|problem| PackageError::UnsafeName {
                path: root.into(),
                entry: name.clone(),
                problem,
            })?;
            let meta = fs::symlink_metadata(item.path())
                .map_err(|e| PackageError::io(item.path(), "cannot inspect", e))?;
            let kind = meta.file_type();
            if kind.is_symlink() {
                return Err(PackageError::Symlink {
                    path: root.into(),
                    entry: name,
                });
            } else if kind.is_dir() {
                stack.push(name);
            } else if kind.is_file() {
                total = total.saturating_add(meta.len());
                if total > limits.max_total_size {
                    return Err(PackageError::TooLarge {
                        path: root.into(),
                        total,
                        limit: limits.max_total_size,
                    });
                }
                entries.push(Entry {
                    name,
                    size: meta.len(),
                    compressed_size: meta.len(),
                    crc32: None,
                    method: Method::Stored,
                    index: 0,
                    slot: 0,
                });
                if entries.len() as u64 > limits.max_entries {
                    return Err(PackageError::TooManyEntries {
                        path: root.into(),
                        count: entries.len() as u64,
                        limit: limits.max_entries,
                    });
                }
            } else {
                return Err(PackageError::Layout {
                    path: root.into(),
                    detail: format!("{name}: not a regular file or folder"),
                });
            }
        }
    }
    Ok(Source::finish(root, Kind::Dir, entries))
}
