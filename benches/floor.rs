//! The floor of the many-small-assets job: what any program must spend to read and rewrite
//! the benchmark corpus's packages, with nothing of hoist in it.
//!
//!     cargo bench --bench floor -- CORPUS_DIR [--full]
//!
//! For every package of `CORPUS_DIR/packages`, inflates every entry and deflates every asset
//! document again (in the benchmark corpus 97.8% of them are edited; the rest would be
//! copied), at the level hoist uses for changed entries, with one inflater and one deflater
//! per thread reused for every entry. With `--full` it also computes each written entry's
//! CRC-32 and one SHA-256, and writes the deflated bytes to a file per package in a temporary
//! folder. Packages run on two threads, as `hoist --jobs 2` does. Prints the entries and the
//! bytes it handled; time it from outside (`benches/run.py` does).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use sha2::{Digest, Sha256};

/// Inflates `data` (raw deflate) into `out`, reusing `state`.
fn inflate(state: &mut Decompress, data: &[u8], size: usize, out: &mut Vec<u8>) {
    state.reset(false);
    out.clear();
    out.reserve(size);
    loop {
        let before = state.total_in() as usize;
        let status = state
            .decompress_vec(&data[before..], out, FlushDecompress::Finish)
            .expect("valid deflate data");
        if status == Status::StreamEnd {
            break;
        }
        out.reserve(out.capacity().max(4096));
    }
}

/// Deflates `data` into `out`, reusing `state`.
fn deflate(state: &mut Compress, data: &[u8], out: &mut Vec<u8>) {
    state.reset();
    out.clear();
    out.reserve(data.len() / 2 + 64);
    loop {
        let before = state.total_in() as usize;
        let status = state
            .compress_vec(&data[before..], out, FlushCompress::Finish)
            .expect("deflate");
        if status == Status::StreamEnd {
            break;
        }
        out.reserve(out.capacity().max(4096));
    }
}

/// One package: (entries, bytes inflated).
fn package(path: &Path, full: bool, out_dir: &Path) -> (usize, usize) {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut inflater = Decompress::new(false);
    let mut deflater = Compress::new(Compression::new(1), false);
    let (mut plain, mut packed) = (Vec::new(), Vec::new());
    let mut written = Vec::new();
    let mut sha = Sha256::new();
    let (mut entries, mut bytes) = (0, 0);
    for i in 0..zip.len() {
        let mut raw = Vec::new();
        let (name, size) = {
            let mut e = zip.by_index_raw(i).unwrap();
            e.read_to_end(&mut raw).unwrap();
            (e.name().unwrap().to_string(), e.size() as usize)
        };
        inflate(&mut inflater, &raw, size, &mut plain);
        entries += 1;
        bytes += plain.len();
        if name.ends_with("asset.json") {
            deflate(&mut deflater, &plain, &mut packed);
            if full {
                let crc = crc32fast::hash(&plain);
                sha.update(&plain);
                written.extend_from_slice(&crc.to_le_bytes());
                written.extend_from_slice(&packed);
            }
        }
    }
    if full {
        let digest = sha.finalize();
        let mut f = std::fs::File::create(out_dir.join(path.file_name().unwrap())).unwrap();
        f.write_all(&written).unwrap();
        f.write_all(&digest).unwrap();
    }
    (entries, bytes)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(corpus) = args.first() else {
        eprintln!("usage: cargo bench --bench floor -- CORPUS_DIR [--full]");
        std::process::exit(2);
    };
    let full = args.iter().any(|a| a == "--full");
    let mut pkgs: Vec<PathBuf> = std::fs::read_dir(Path::new(corpus).join("packages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pkgs.sort();
    let out = std::env::temp_dir().join(format!("hoist-floor-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let totals: Vec<(usize, usize)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut t = (0, 0);
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(p) = pkgs.get(i) else { break t };
                        let (e, b) = package(p, full, &out);
                        t = (t.0 + e, t.1 + b);
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let _ = std::fs::remove_dir_all(&out);
    let (entries, bytes): (usize, usize) =
        totals.iter().fold((0, 0), |a, t| (a.0 + t.0, a.1 + t.1));
    println!("{entries} entries, {bytes} bytes inflated");
}
