//! Builds ZIP archives byte by byte, including the malformed and hostile ones no
//! well-behaved writer would produce.

use std::io::Write;

/// One entry to craft.
#[derive(Clone)]
pub struct Entry {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
    pub deflate: bool,
    /// CRC to record instead of the true one.
    pub crc: Option<u32>,
    /// Uncompressed size to record instead of the true one.
    pub size: Option<u32>,
    pub flags: u16,
    pub external: u32,
    /// Compression method to record instead of 0 or 8.
    pub method: Option<u16>,
    /// Point the central record at this earlier entry's local header instead of writing one.
    pub overlap_with: Option<usize>,
    /// Point the central record at this offset (with this entry's own CRC and sizes) instead
    /// of writing a local header: an entry quoted inside another's data.
    pub at: Option<u32>,
    /// Extra field of the central record.
    pub extra: Vec<u8>,
    /// Sizes to record in the central record instead of the true ones (compressed, size).
    pub central_sizes: Option<(u32, u32)>,
}

impl Entry {
    pub fn new(name: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Entry {
        Entry {
            name: name.as_ref().to_vec(),
            data: data.as_ref().to_vec(),
            deflate: true,
            crc: None,
            size: None,
            flags: 0,
            external: 0o100644 << 16,
            overlap_with: None,
            method: None,
            at: None,
            extra: Vec::new(),
            central_sizes: None,
        }
    }

    pub fn at(mut self, offset: u32) -> Entry {
        self.at = Some(offset);
        self
    }

    pub fn extra(mut self, extra: Vec<u8>) -> Entry {
        self.extra = extra;
        self
    }

    pub fn central_sizes(mut self, compressed: u32, size: u32) -> Entry {
        self.central_sizes = Some((compressed, size));
        self
    }

    pub fn method(mut self, method: u16) -> Entry {
        self.method = Some(method);
        self
    }

    pub fn stored(mut self) -> Entry {
        self.deflate = false;
        self
    }

    pub fn crc(mut self, crc: u32) -> Entry {
        self.crc = Some(crc);
        self
    }

    pub fn size(mut self, size: u32) -> Entry {
        self.size = Some(size);
        self
    }

    pub fn flags(mut self, flags: u16) -> Entry {
        self.flags = flags;
        self
    }

    pub fn symlink(mut self) -> Entry {
        self.external = 0o120777 << 16;
        self
    }

    pub fn overlap_with(mut self, index: usize) -> Entry {
        self.overlap_with = Some(index);
        self
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// The bytes of a ZIP archive holding `entries`, in order.
pub fn zip(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let mut offsets: Vec<(u32, u32, u32, u32)> = Vec::new(); // offset, crc, csize, usize
    for e in entries {
        let body = if e.deflate {
            deflate(&e.data)
        } else {
            e.data.clone()
        };
        let crc = e.crc.unwrap_or_else(|| crc32fast::hash(&e.data));
        let usize_ = e.size.unwrap_or(e.data.len() as u32);
        let method: u16 = e.method.unwrap_or(if e.deflate { 8 } else { 0 });
        let (offset, crc, csize, usize_) = match (e.overlap_with, e.at) {
            (Some(i), _) => offsets[i],
            (None, Some(at)) => (at, crc, body.len() as u32, usize_),
            (None, None) => {
                let offset = out.len() as u32;
                out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
                out.extend_from_slice(&20u16.to_le_bytes());
                out.extend_from_slice(&e.flags.to_le_bytes());
                out.extend_from_slice(&method.to_le_bytes());
                out.extend_from_slice(&0u16.to_le_bytes());
                out.extend_from_slice(&33u16.to_le_bytes());
                out.extend_from_slice(&crc.to_le_bytes());
                out.extend_from_slice(&(body.len() as u32).to_le_bytes());
                out.extend_from_slice(&usize_.to_le_bytes());
                out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
                out.extend_from_slice(&0u16.to_le_bytes());
                out.extend_from_slice(&e.name);
                out.extend_from_slice(&body);
                (offset, crc, body.len() as u32, usize_)
            }
        };
        offsets.push((offset, crc, csize, usize_));
        let (csize, usize_) = e.central_sizes.unwrap_or((csize, usize_));
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&e.flags.to_le_bytes());
        central.extend_from_slice(&method.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&33u16.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&csize.to_le_bytes());
        central.extend_from_slice(&usize_.to_le_bytes());
        central.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        central.extend_from_slice(&(e.extra.len() as u16).to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&e.external.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(&e.name);
        central.extend_from_slice(&e.extra);
    }
    let cd_start = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A minimal valid hoist package with one asset, as crafted entries.
pub fn minimal_package() -> Vec<Entry> {
    vec![Entry::new(
        "assets/app/a/asset.json",
        br#"{"meta": {"name": "a"}}"#,
    )]
}

/// The local header and data of `entry` as a stored entry would write them: the bytes another
/// entry can quote.
pub fn local_record(entry: &Entry) -> Vec<u8> {
    let bytes = zip(std::slice::from_ref(entry));
    let central = bytes
        .windows(4)
        .position(|w| w == 0x0201_4b50u32.to_le_bytes())
        .expect("a central record");
    bytes[..central].to_vec()
}
