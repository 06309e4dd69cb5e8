//! The package name inside a private node's `.tgz` (an npm package: a gzipped tar whose
//! `package/package.json` names it), read in memory with bounds: nothing is extracted, the
//! inflated stream is cut at a limit, and only `package.json` is kept, up to 1 MiB.
//!
//! The platform refuses a private node whose package name the project already has
//! (platform-docs/enebular-asset-import-export.ja.txt, 制約事項: 同じパッケージ名の
//! プライベートノードがImport先に存在する場合はエラー), so the name is what a clash is
//! judged by, not the asset's title.

use std::io::Read;

/// Largest `package.json` read.
const MAX_MANIFEST: u64 = 1 << 20;
/// A tar block.
const BLOCK: usize = 512;

/// The `name` in the package's `package/package.json`, reading at most `limit` inflated
/// bytes.
pub fn package_name(bytes: &[u8], limit: u64) -> Result<String, String> {
    let mut tar = flate2::read::GzDecoder::new(bytes).take(limit);
    let mut header = [0u8; BLOCK];
    loop {
        if let Err(e) = tar.read_exact(&mut header) {
            return Err(if tar.limit() == 0 {
                format!("it inflates past {limit} bytes before package/package.json")
            } else {
                format!("not a gzipped tar holding package/package.json ({e})")
            });
        }
        if header.iter().all(|&b| b == 0) {
            return Err("the archive holds no package/package.json".into());
        }
        let size = octal(&header[124..136]).ok_or("a tar header has no valid size")?;
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        let kind = header[156];
        let path = entry_path(&header);
        if matches!(kind, b'0' | 0) && is_manifest(&path) {
            if size > MAX_MANIFEST {
                return Err(format!(
                    "package/package.json is larger than {MAX_MANIFEST} bytes"
                ));
            }
            let mut manifest = Vec::with_capacity(size as usize);
            (&mut tar)
                .take(size)
                .read_to_end(&mut manifest)
                .map_err(|e| format!("package/package.json cannot be read ({e})"))?;
            let doc: serde_json::Value = serde_json::from_slice(&manifest)
                .map_err(|e| format!("package/package.json is not JSON ({e})"))?;
            return doc
                .get("name")
                .and_then(serde_json::Value::as_str)
                .filter(|n| !n.trim().is_empty())
                .map(str::to_string)
                .ok_or_else(|| "package/package.json has no name".into());
        }
        std::io::copy(&mut (&mut tar).take(padded), &mut std::io::sink())
            .map_err(|e| format!("not a gzipped tar ({e})"))?;
    }
}

/// Whether a tar path is the package's manifest: `package.json` in the one folder at the
/// top (`package/` as `npm pack` writes it), `./` allowed in front.
fn is_manifest(path: &str) -> bool {
    let path = path.strip_prefix("./").unwrap_or(path);
    matches!(path.split('/').collect::<Vec<_>>()[..], [dir, "package.json"] if !dir.is_empty())
}

/// A ustar header's path: its `prefix` and `name` fields.
fn entry_path(header: &[u8; BLOCK]) -> String {
    let field = |b: &[u8]| {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    };
    let name = field(&header[0..100]);
    let prefix = if &header[257..262] == b"ustar" {
        field(&header[345..500])
    } else {
        String::new()
    };
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

/// An octal number field (NUL or space ended).
fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn header(path: &str, size: usize) -> Vec<u8> {
        let mut h = vec![0u8; BLOCK];
        h[..path.len()].copy_from_slice(path.as_bytes());
        let size = format!("{size:011o}\0");
        h[124..136].copy_from_slice(size.as_bytes());
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h
    }

    fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut tar = Vec::new();
        for (path, body) in entries {
            tar.extend(header(path, body.len()));
            tar.extend(*body);
            tar.resize(tar.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        tar.extend([0u8; 2 * BLOCK]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn reads_the_name_after_other_entries() {
        let bytes = tgz(&[
            ("package/README.md", b"# plc nodes\n"),
            (
                "package/package.json",
                br#"{"name": "node-red-contrib-plc", "version": "1.2.0"}"#,
            ),
        ]);
        assert_eq!(
            package_name(&bytes, 1 << 20).as_deref(),
            Ok("node-red-contrib-plc")
        );
    }

    #[test]
    fn refuses_what_is_not_a_package() {
        let not_gzip = package_name(b"not really a tarball", 1 << 20).unwrap_err();
        assert!(not_gzip.contains("not a gzipped tar"), "{not_gzip}");
        let nested = tgz(&[("package/lib/package.json", br#"{"name": "inner"}"#)]);
        assert!(
            package_name(&nested, 1 << 20)
                .unwrap_err()
                .contains("no package/package.json")
        );
        let nameless = tgz(&[("package/package.json", br#"{"version": "1"}"#)]);
        assert!(
            package_name(&nameless, 1 << 20)
                .unwrap_err()
                .contains("no name")
        );
    }

    #[test]
    fn stops_at_the_inflate_limit() {
        let big = vec![b'x'; 64 * 1024];
        let bytes = tgz(&[
            ("package/big.bin", &big),
            ("package/package.json", br#"{"name": "n"}"#),
        ]);
        let err = package_name(&bytes, 8 * 1024).unwrap_err();
        assert!(err.contains("inflates past"), "{err}");
        assert_eq!(package_name(&bytes, 1 << 20).as_deref(), Ok("n"));
    }
}
