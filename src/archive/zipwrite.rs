//! A deterministic ZIP writer.
//!
//! Every entry gets the same timestamp (1980-01-01 00:00), the same mode (0644), no extra
//! fields but zip64 sizes where needed, and no comment. Entries are written in the order
//! given; the caller sorts them. Raw copies pass compressed bytes through untouched.

use std::io::{self, Read, Seek, SeekFrom, Write};

use flate2::Compression;
use flate2::write::DeflateEncoder;

use crate::digest::{Digest, HashingWriter};

/// The deflate level hoist compresses changed entries with. One setting, always, so outputs
/// are repeatable. On the benchmark's JSON documents level 1 took the whole `apply` from 9.5
/// to 6.7 billion instructions, for packages 18% larger than level 6; unchanged entries are
/// copied as the source compressed them.
pub const DEFLATE_LEVEL: u32 = 1;

const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1; // 1980-01-01
const UNIX_MODE: u32 = 0o100644;
const MADE_BY: u16 = (3 << 8) | 45; // Unix, spec 4.5
const U32_MAX: u64 = 0xFFFF_FFFF;
/// Above this many inflated bytes a streamed entry is written as zip64 up front, since
/// its compressed size is not known until the end.
const STREAM_ZIP64_FROM: u64 = 0xF000_0000;

/// ZIP compression methods hoist writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipMethod {
    /// Method 0.
    Stored,
    /// Method 8.
    Deflated,
}

impl ZipMethod {
    fn code(self) -> u16 {
        match self {
            ZipMethod::Stored => 0,
            ZipMethod::Deflated => 8,
        }
    }
}

/// Data compressed ahead of time, possibly on another thread.
#[derive(Debug)]
pub struct Compressed {
    /// The compressed bytes.
    pub data: Vec<u8>,
    /// CRC-32 of the inflated bytes.
    pub crc32: u32,
    /// Inflated size.
    pub size: u64,
}

thread_local! {
    /// One compressor per thread, reset between entries: building one zeroes its window and
    /// hash tables, which costs more than compressing a small document. A reset compressor
    /// gives the bytes of a fresh one (a unit test checks it), so which thread compressed
    /// what before never shows in an entry.
    static DEFLATE: std::cell::RefCell<Option<flate2::Compress>> = const { std::cell::RefCell::new(None) };
}

fn deflate_all(c: &mut flate2::Compress, plain: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(plain.len() / 2 + 64);
    loop {
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&plain[consumed..], &mut data, flate2::FlushCompress::Finish)
            .expect("deflating memory cannot fail");
        if status == flate2::Status::StreamEnd {
            return data;
        }
        data.reserve(data.capacity().max(64));
    }
}

/// Deflates `plain` in memory at [`DEFLATE_LEVEL`], in one call.
pub fn compress(plain: &[u8]) -> Compressed {
    let data = DEFLATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let c = slot
            .get_or_insert_with(|| flate2::Compress::new(Compression::new(DEFLATE_LEVEL), false));
        c.reset();
        deflate_all(c, plain)
    });
    Compressed {
        data,
        crc32: crc32fast::hash(plain),
        size: plain.len() as u64,
    }
}

struct Central {
    name: String,
    method: ZipMethod,
    crc32: u32,
    compressed: u64,
    size: u64,
    offset: u64,
}

/// Writes a ZIP archive entry by entry.
pub struct ZipOut<W: Write + Seek> {
    out: W,
    pos: u64,
    central: Vec<Central>,
}

impl<W: Write + Seek> ZipOut<W> {
    /// Starts an archive at the current position of `out` (normally an empty file).
    pub fn new(out: W) -> Self {
        ZipOut {
            out,
            pos: 0,
            central: Vec::new(),
        }
    }

    /// Adds data compressed by [`compress`].
    pub fn add_compressed(&mut self, name: &str, c: &Compressed) -> io::Result<()> {
        let zip64 = c.size >= U32_MAX || c.data.len() as u64 >= U32_MAX;
        let offset = self.local_header(
            name,
            ZipMethod::Deflated,
            c.crc32,
            c.data.len() as u64,
            c.size,
            zip64,
        )?;
        self.put(&c.data)?;
        self.push(
            name,
            ZipMethod::Deflated,
            c.crc32,
            c.data.len() as u64,
            c.size,
            offset,
        );
        Ok(())
    }

    /// Copies stored bytes of another archive's entry as they are.
    pub fn add_raw(
        &mut self,
        name: &str,
        method: ZipMethod,
        crc32: u32,
        compressed: u64,
        size: u64,
        raw: &mut dyn Read,
    ) -> io::Result<()> {
        let zip64 = size >= U32_MAX || compressed >= U32_MAX;
        let offset = self.local_header(name, method, crc32, compressed, size, zip64)?;
        let copied = io::copy(&mut raw.take(compressed), &mut Counter(self))?;
        if copied != compressed {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "raw entry data ended early",
            ));
        }
        self.push(name, method, crc32, compressed, size, offset);
        Ok(())
    }

    /// Deflates `plain` while writing it, for entries too large to hold in memory.
    /// `size_hint` is the expected inflated size, used to choose zip64 up front.
    pub fn add_streamed(
        &mut self,
        name: &str,
        size_hint: u64,
        plain: &mut dyn Read,
    ) -> io::Result<Digest> {
        let zip64 = size_hint >= STREAM_ZIP64_FROM;
        let offset = self.local_header(name, ZipMethod::Deflated, 0, 0, 0, zip64)?;
        let start = self.pos;
        let mut crc = crc32fast::Hasher::new();
        let hashing = {
            let enc = DeflateEncoder::new(Counter(self), Compression::new(DEFLATE_LEVEL));
            let mut tee = HashingWriter::new(CrcWriter {
                inner: enc,
                crc: &mut crc,
            });
            io::copy(plain, &mut tee)?;
            let (digest, size, crcw) = tee.finish();
            crcw.inner.finish()?;
            (digest, size)
        };
        let (digest, size) = hashing;
        let crc32 = crc.finalize();
        let compressed = self.pos - start;
        if !zip64 && (size >= U32_MAX || compressed >= U32_MAX) {
            return Err(io::Error::other(format!(
                "entry {name:?} grew past 4 GiB while streaming; its size was given as {size_hint}"
            )));
        }
        // Patch the local header now that CRC and sizes are known.
        self.out.seek(SeekFrom::Start(offset + 14))?;
        self.out.write_all(&crc32.to_le_bytes())?;
        if zip64 {
            self.out
                .seek(SeekFrom::Start(offset + 30 + name.len() as u64 + 4))?;
            self.out.write_all(&size.to_le_bytes())?;
            self.out.write_all(&compressed.to_le_bytes())?;
        } else {
            self.out.write_all(&(compressed as u32).to_le_bytes())?;
            self.out.write_all(&(size as u32).to_le_bytes())?;
        }
        self.out.seek(SeekFrom::Start(self.pos))?;
        self.push(name, ZipMethod::Deflated, crc32, compressed, size, offset);
        Ok(digest)
    }

    /// Writes the central directory and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        let cd_start = self.pos;
        let entries = std::mem::take(&mut self.central);
        for e in &entries {
            let big_size = e.size >= U32_MAX || e.compressed >= U32_MAX;
            let big_offset = e.offset >= U32_MAX;
            let mut extra = Vec::new();
            if big_size {
                extra.extend_from_slice(&e.size.to_le_bytes());
                extra.extend_from_slice(&e.compressed.to_le_bytes());
            }
            if big_offset {
                extra.extend_from_slice(&e.offset.to_le_bytes());
            }
            let mut h = Vec::with_capacity(46 + e.name.len() + 4 + extra.len());
            h.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            h.extend_from_slice(&MADE_BY.to_le_bytes());
            h.extend_from_slice(&version_needed(e.method, big_size || big_offset).to_le_bytes());
            h.extend_from_slice(&flags(&e.name).to_le_bytes());
            h.extend_from_slice(&e.method.code().to_le_bytes());
            h.extend_from_slice(&DOS_TIME.to_le_bytes());
            h.extend_from_slice(&DOS_DATE.to_le_bytes());
            h.extend_from_slice(&e.crc32.to_le_bytes());
            h.extend_from_slice(&clamp(e.compressed, big_size).to_le_bytes());
            h.extend_from_slice(&clamp(e.size, big_size).to_le_bytes());
            h.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            let extra_len = if extra.is_empty() { 0 } else { 4 + extra.len() };
            h.extend_from_slice(&(extra_len as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // comment
            h.extend_from_slice(&0u16.to_le_bytes()); // disk
            h.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
            h.extend_from_slice(&(UNIX_MODE << 16).to_le_bytes());
            h.extend_from_slice(&clamp(e.offset, big_offset).to_le_bytes());
            h.extend_from_slice(e.name.as_bytes());
            if !extra.is_empty() {
                h.extend_from_slice(&1u16.to_le_bytes());
                h.extend_from_slice(&(extra.len() as u16).to_le_bytes());
                h.extend_from_slice(&extra);
            }
            self.put(&h)?;
        }
        let cd_size = self.pos - cd_start;
        let count = entries.len() as u64;
        let zip64 = count >= 0xFFFF || cd_start >= U32_MAX || cd_size >= U32_MAX;
        if zip64 {
            let record_at = self.pos;
            let mut r = Vec::with_capacity(56 + 20);
            r.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
            r.extend_from_slice(&44u64.to_le_bytes());
            r.extend_from_slice(&MADE_BY.to_le_bytes());
            r.extend_from_slice(&45u16.to_le_bytes());
            r.extend_from_slice(&0u32.to_le_bytes());
            r.extend_from_slice(&0u32.to_le_bytes());
            r.extend_from_slice(&count.to_le_bytes());
            r.extend_from_slice(&count.to_le_bytes());
            r.extend_from_slice(&cd_size.to_le_bytes());
            r.extend_from_slice(&cd_start.to_le_bytes());
            r.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
            r.extend_from_slice(&0u32.to_le_bytes());
            r.extend_from_slice(&record_at.to_le_bytes());
            r.extend_from_slice(&1u32.to_le_bytes());
            self.put(&r)?;
        }
        let mut end = Vec::with_capacity(22);
        end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        let short_count = if zip64 { 0xFFFF } else { count as u16 };
        end.extend_from_slice(&short_count.to_le_bytes());
        end.extend_from_slice(&short_count.to_le_bytes());
        end.extend_from_slice(&clamp(cd_size, zip64).to_le_bytes());
        end.extend_from_slice(&clamp(cd_start, zip64).to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        self.put(&end)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn local_header(
        &mut self,
        name: &str,
        method: ZipMethod,
        crc32: u32,
        compressed: u64,
        size: u64,
        zip64: bool,
    ) -> io::Result<u64> {
        if name.len() > u16::MAX as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "entry name longer than 65535 bytes",
            ));
        }
        let offset = self.pos;
        let mut h = Vec::with_capacity(30 + name.len() + 20);
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&version_needed(method, zip64).to_le_bytes());
        h.extend_from_slice(&flags(name).to_le_bytes());
        h.extend_from_slice(&method.code().to_le_bytes());
        h.extend_from_slice(&DOS_TIME.to_le_bytes());
        h.extend_from_slice(&DOS_DATE.to_le_bytes());
        h.extend_from_slice(&crc32.to_le_bytes());
        h.extend_from_slice(&clamp(compressed, zip64).to_le_bytes());
        h.extend_from_slice(&clamp(size, zip64).to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&(if zip64 { 20u16 } else { 0 }).to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        if zip64 {
            h.extend_from_slice(&1u16.to_le_bytes());
            h.extend_from_slice(&16u16.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&compressed.to_le_bytes());
        }
        self.put(&h)?;
        Ok(offset)
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn push(
        &mut self,
        name: &str,
        method: ZipMethod,
        crc32: u32,
        compressed: u64,
        size: u64,
        offset: u64,
    ) {
        self.central.push(Central {
            name: name.to_string(),
            method,
            crc32,
            compressed,
            size,
            offset,
        });
    }
}

fn clamp(v: u64, zip64: bool) -> u32 {
    if zip64 { u32::MAX } else { v as u32 }
}

fn version_needed(method: ZipMethod, zip64: bool) -> u16 {
    if zip64 {
        45
    } else if method == ZipMethod::Deflated {
        20
    } else {
        10
    }
}

fn flags(name: &str) -> u16 {
    if name.is_ascii() { 0 } else { 1 << 11 }
}

/// Counts what passes into the archive.
struct Counter<'a, W: Write + Seek>(&'a mut ZipOut<W>);

impl<W: Write + Seek> Write for Counter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.0.out.write(buf)?;
        self.0.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.out.flush()
    }
}

struct CrcWriter<'a, W> {
    inner: W,
    crc: &'a mut crc32fast::Hasher,
}

impl<W: Write> Write for CrcWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn archive(build: impl FnOnce(&mut ZipOut<Cursor<Vec<u8>>>)) -> Vec<u8> {
        let mut z = ZipOut::new(Cursor::new(Vec::new()));
        build(&mut z);
        z.finish().unwrap().into_inner()
    }

    #[test]
    fn zip_crate_reads_what_we_write() {
        let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let bytes = archive(|z| {
            z.add_compressed("a.txt", &compress(b"hello")).unwrap();
            z.add_streamed("b/ü.bin", big.len() as u64, &mut &big[..])
                .unwrap();
            let stored = b"raw stored bytes";
            z.add_raw(
                "c",
                ZipMethod::Stored,
                crc32fast::hash(stored),
                16,
                16,
                &mut &stored[..],
            )
            .unwrap();
        });
        let mut ar = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(ar.len(), 3);
        let mut read = |name: &str| {
            let mut out = Vec::new();
            ar.by_name(name).unwrap().read_to_end(&mut out).unwrap();
            out
        };
        assert_eq!(read("a.txt"), b"hello");
        assert_eq!(read("b/ü.bin"), big);
        assert_eq!(read("c"), b"raw stored bytes");
        let f = ar.by_name("a.txt").unwrap();
        assert_eq!(f.unix_mode(), Some(0o100644));
        let t = f.last_modified().unwrap();
        assert_eq!(
            (t.year(), t.month(), t.day(), t.hour(), t.minute()),
            (1980, 1, 1, 0, 0)
        );
    }

    fn inflate(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn an_entry_compresses_the_same_whatever_came_before() {
        let mut docs: Vec<Vec<u8>> = (0..50)
            .map(|i| format!("{{\"n\": {i}, \"x\": \"{}\"}}", "ab".repeat(i * 37)).into_bytes())
            .collect();
        docs.push(
            (0..300_000u32)
                .flat_map(|i| (i % 251).to_le_bytes())
                .collect(),
        );
        let alone: Vec<Vec<u8>> = docs.iter().map(|d| compress(d).data).collect();
        // The same documents again, in reverse order, on the same thread.
        for (d, expected) in docs.iter().zip(&alone).rev() {
            assert_eq!(&compress(d).data, expected);
        }
        for (d, expected) in docs.iter().zip(&alone) {
            assert_eq!(inflate(expected), *d);
        }
        // And each is what a fresh compressor gives.
        for (d, expected) in docs.iter().zip(&alone) {
            let mut fresh = flate2::Compress::new(Compression::new(DEFLATE_LEVEL), false);
            assert_eq!(&deflate_all(&mut fresh, d), expected);
        }
    }

    #[test]
    fn same_entries_same_bytes() {
        let make = || archive(|z| z.add_compressed("x", &compress(b"same")).unwrap());
        assert_eq!(make(), make());
    }

    #[test]
    fn many_entries_use_zip64_end_records() {
        let bytes = archive(|z| {
            let c = compress(b"");
            for i in 0..70_000 {
                z.add_compressed(&format!("e{i:05}"), &c).unwrap();
            }
        });
        let ar = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(ar.len(), 70_000);
    }
}
