//! Reading a ZIP source: the bounded, size- and CRC-checked readers, the shared file
//! handle workers read through, and opening (and checking) an archive.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use zip::ZipArchive;
use zip::result::ZipError;

use super::{Entry, Kind, Method, ReadFault, Source, fault};
use crate::archive::error::PackageError;
use crate::archive::limits::Limits;
use crate::archive::names;

pub(super) struct RawBounded<'a, R> {
    pub(super) inner: R,
    pub(super) left: u64,
    pub(super) path: &'a Path,
    pub(super) entry: &'a str,
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

/// Inflates a raw deflate stream read from `inner` with the inflater and input buffer of
/// this thread, reset for each entry: a new one would clear a 32 KiB buffer and set up its
/// state each time, which costs more than inflating a small entry. It reads as
/// `flate2::read::DeflateDecoder` does: the input is read 32 KiB at a time; a stream that
/// stops before its end is an `UnexpectedEof`, bad data `InvalidInput`.
pub(super) fn with_inflater<R: Read, T>(inner: R, f: impl FnOnce(&mut Inflating<R>) -> T) -> T {
    thread_local! {
        static INFLATER: std::cell::RefCell<Option<(flate2::Decompress, Box<[u8]>)>> =
            const { std::cell::RefCell::new(None) };
    }
    // Taken out while in use (a nested read makes its own) and put back after.
    let (mut state, buf) = INFLATER
        .with(|cell| cell.borrow_mut().take())
        .unwrap_or_else(|| {
            (
                flate2::Decompress::new(false),
                vec![0; 32 << 10].into_boxed_slice(),
            )
        });
    state.reset(false);
    let mut reader = Inflating {
        inner,
        state,
        buf,
        pos: 0,
        filled: 0,
    };
    let out = f(&mut reader);
    let Inflating { state, buf, .. } = reader;
    INFLATER.with(|cell| *cell.borrow_mut() = Some((state, buf)));
    out
}

/// See [`with_inflater`].
pub(super) struct Inflating<R> {
    inner: R,
    state: flate2::Decompress,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
}

impl<R: Read> Read for Inflating<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        use flate2::{FlushDecompress, Status};
        loop {
            if self.pos == self.filled {
                self.filled = self.inner.read(&mut self.buf)?;
                self.pos = 0;
            }
            let input = &self.buf[self.pos..self.filled];
            let eof = input.is_empty();
            let (before_in, before_out) = (self.state.total_in(), self.state.total_out());
            let flush = if eof {
                FlushDecompress::Finish
            } else {
                FlushDecompress::None
            };
            let ret = self.state.decompress(input, dst, flush);
            let read = (self.state.total_out() - before_out) as usize;
            self.pos += (self.state.total_in() - before_in) as usize;
            match ret {
                // Nothing out yet and more to come: asked again (0 would mean the end).
                Ok(Status::Ok | Status::BufError) if read == 0 && !eof && !dst.is_empty() => {}
                Ok(Status::Ok | Status::BufError) if read == 0 && eof && !dst.is_empty() => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "incomplete deflate stream",
                    ));
                }
                Ok(_) => return Ok(read),
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "corrupt deflate stream",
                    ));
                }
            }
        }
    }
}

/// Enforces the declared size and turns the reader's failures into package errors.
pub(super) struct Checked<'a, R> {
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
    pub(super) fn new(inner: R, entry: &'a Entry, path: &'a Path) -> Self {
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
pub(super) struct SharedFile {
    file: Arc<File>,
    pos: u64,
    len: u64,
    buf: Vec<u8>,
    buf_at: u64,
}

pub(super) const READ_AHEAD: usize = 4 << 10;

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

/// A handle of its own on `file`, placed where the stored bytes of `entry` start (the caller
/// bounds what it reads by the entry's stored size).
pub(super) fn stored_bytes(file: &SharedFile, entry: &super::Entry) -> SharedFile {
    let mut own = file.clone();
    own.pos = entry.data_start;
    own
}

#[cfg(unix)]
pub(super) fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, pos)
}

#[cfg(windows)]
pub(super) fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, pos)
}

pub(super) fn zip_error(path: &Path, e: ZipError) -> PackageError {
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
pub(super) fn checked_sizes<R: Read>(
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

pub(super) fn open_zip(path: &Path, len: u64, limits: &Limits) -> Result<Source, PackageError> {
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
    let mut indices = Vec::with_capacity(archive.len());
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
            // Known once every local header is read (below).
            data_start: u64::MAX,
            slot: 0,
        });
        indices.push(index);
    }
    if archive
        .has_overlapping_entries()
        .map_err(|e| zip_error(path, e))?
    {
        return Err(PackageError::Overlap { path: path.into() });
    }
    // The overlap check read every local header: where each entry's stored bytes start.
    for (e, index) in entries.iter_mut().zip(indices) {
        let file = archive
            .by_index_raw(index)
            .map_err(|e| zip_error(path, e))?;
        e.data_start = file.data_start().ok_or_else(|| PackageError::Damaged {
            path: path.into(),
            detail: format!("the local header of {} was not read", e.name),
        })?;
    }
    check_conflicts(path, &entries, &folders)?;
    let shared = archive.into_inner();
    Ok(Source::finish(path, Kind::Zip(shared), entries))
}

/// Names the first name stored twice, by walking the raw central directory.
pub(super) fn first_duplicate(archive: &ZipArchive<SharedFile>) -> Option<String> {
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
pub(super) fn check_conflicts(
    path: &Path,
    entries: &[Entry],
    folders: &[String],
) -> Result<(), PackageError> {
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
pub(super) fn is_plain_config_file(path: &Path) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn deflated(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    /// What a reader gives: the bytes, or the error's kind and words.
    fn outcome(r: &mut dyn Read) -> Result<Vec<u8>, (io::ErrorKind, String)> {
        let mut out = Vec::new();
        r.read_to_end(&mut out)
            .map(|_| out)
            .map_err(|e| (e.kind(), e.to_string()))
    }

    #[test]
    fn the_inflater_of_a_thread_reads_each_stream_as_a_new_decoder_would() {
        let big: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let good = deflated(b"{\"name\": \"a\"}");
        let streams = [
            good.clone(),
            deflated(&big),
            // Bad data, a stream cut short, nothing at all, then good ones again: each starts
            // from a clean state whatever the one before left.
            vec![0xff; 40],
            deflated(&big)[..1000].to_vec(),
            Vec::new(),
            good.clone(),
            deflated(b""),
            deflated(&big),
        ];
        // Told in a line: the length and CRC of the bytes, or the error.
        let told = |o: &Result<Vec<u8>, (io::ErrorKind, String)>| match o {
            Ok(bytes) => format!("{} bytes, crc {:08x}", bytes.len(), crc32fast::hash(bytes)),
            Err(e) => format!("{e:?}"),
        };
        for (i, s) in streams.iter().enumerate() {
            let want = outcome(&mut flate2::read::DeflateDecoder::new(&s[..]));
            let got = with_inflater(&s[..], |r| outcome(r));
            assert_eq!(told(&got), told(&want), "stream {i}");
        }
        assert_eq!(
            with_inflater(&good[..], |r| outcome(r)).unwrap(),
            b"{\"name\": \"a\"}"
        );
    }
}
