//! The package name inside a private node's `.tgz` (an npm package: a gzipped tar whose
//! `package/package.json` names it), read in memory with bounds: nothing is extracted, the
//! inflated stream is cut at a limit, and only `package.json` is kept, up to 1 MiB.
//!
//! The platform refuses a private node whose package name the project already has
//! (platform-docs/enebular-asset-import-export.ja.txt, 制約事項: 同じパッケージ名の
//! プライベートノードがImport先に存在する場合はエラー), so the name is what a clash is
//! judged by, not the asset's title.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

/// Largest `package.json` read.
const MAX_MANIFEST: u64 = 1 << 20;
/// A tar block.
const BLOCK: usize = 512;

/// What hoist reads from a private node's package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePackage {
    /// `name` in `package/package.json`.
    pub name: String,
    /// The node types the package gives the editor, in the order its `node-red.nodes` lists
    /// the node files: Node-RED's registry takes a node file's types from the `<script>`
    /// tags of the HTML file beside it (the `.js` path with `.html`), one type per
    /// `data-template-name` attribute. That is how a flow names a node: by its `type`.
    pub types: Vec<String>,
}

/// Largest HTML file whose node types are read; a larger one gives none.
const MAX_HTML: u64 = 4 << 20;
/// Most node types read from one HTML file, and from one package.
const MAX_TYPES: usize = 4096;

/// The package's name and node types, reading at most `limit` inflated bytes.
pub fn read_package(bytes: &[u8], limit: u64) -> Result<NodePackage, String> {
    let mut tar = flate2::read::GzDecoder::new(bytes).take(limit);
    let mut header = [0u8; BLOCK];
    let mut manifest: Option<serde_json::Value> = None;
    // The types each HTML file declares, by its path below the package's top folder.
    let mut html: BTreeMap<String, Vec<String>> = BTreeMap::new();
    loop {
        if let Err(e) = tar.read_exact(&mut header) {
            if tar.limit() == 0 {
                return Err(format!("it inflates past {limit} bytes"));
            }
            if manifest.is_some() && e.kind() == std::io::ErrorKind::UnexpectedEof {
                // No end-of-archive blocks: what was read is all there is.
                break;
            }
            return Err(format!(
                "not a gzipped tar holding package/package.json ({e})"
            ));
        }
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let size = octal(&header[124..136]).ok_or("a tar header has no valid size")?;
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        let kind = header[156];
        let path = entry_path(&header);
        let regular = matches!(kind, b'0' | 0);
        let inner = below_top(&path);
        let wanted = match inner {
            // npm unpacks entries in order, so a later manifest replaces an earlier one.
            Some("package.json") if regular => Some(MAX_MANIFEST),
            Some(p) if regular && p.ends_with(".html") && size <= MAX_HTML => Some(MAX_HTML),
            _ => None,
        };
        let Some(max) = wanted else {
            skip(&mut tar, padded)?;
            continue;
        };
        if size > max {
            return Err(format!("{path} is larger than {max} bytes"));
        }
        let mut body = Vec::with_capacity(size as usize);
        (&mut tar)
            .take(size)
            .read_to_end(&mut body)
            .map_err(|e| format!("{path} cannot be read ({e})"))?;
        skip(&mut tar, padded - size)?;
        let inner = inner.expect("wanted only below the top folder");
        if inner == "package.json" {
            let doc: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| format!("package/package.json is not JSON ({e})"))?;
            manifest = Some(doc);
        } else {
            html.insert(
                inner.to_string(),
                template_names(&String::from_utf8_lossy(&body)),
            );
        }
    }
    let Some(manifest) = manifest else {
        return Err("the archive holds no package/package.json".into());
    };
    let name = manifest
        .get("name")
        .and_then(serde_json::Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .map(str::to_string)
        .ok_or("package/package.json has no name")?;
    let mut types: Vec<String> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let files = manifest
        .pointer("/node-red/nodes")
        .and_then(serde_json::Value::as_object);
    for file in files.into_iter().flat_map(|f| f.values()) {
        let Some(page) = file.as_str().and_then(template_path) else {
            continue;
        };
        for t in html.get(&page).into_iter().flatten() {
            if types.len() >= MAX_TYPES {
                break;
            }
            if seen.insert(t) {
                types.push(t.clone());
            }
        }
    }
    Ok(NodePackage { name, types })
}

fn skip(tar: &mut impl Read, n: u64) -> Result<(), String> {
    std::io::copy(&mut tar.take(n), &mut std::io::sink())
        .map(|_| ())
        .map_err(|e| format!("not a gzipped tar ({e})"))
}

/// The HTML file Node-RED reads a node file's types from: the node file's path joined to the
/// package folder (`.` and `..` steps resolved, empty ones dropped) with a final `.js`
/// replaced by `.html`. `None` for a path that leaves the package.
fn template_path(js: &str) -> Option<String> {
    let mut steps: Vec<&str> = Vec::new();
    for step in js.split('/') {
        match step {
            "" | "." => {}
            ".." => {
                steps.pop()?;
            }
            s => steps.push(s),
        }
    }
    let path = steps.join("/");
    Some(match path.strip_suffix(".js") {
        Some(stem) => format!("{stem}.html"),
        None => path,
    })
}

/// The values of `data-template-name` attributes in `<script ` tags, as Node-RED's registry
/// reads a node file's HTML (`<script (?:[^>]*)data-template-name\s*=\s*['"]([^'"]*)['"]`,
/// any case): a space after `<script`, and in a tag that holds the attribute twice the last
/// one. At most [`MAX_TYPES`], each once, in the order they come.
fn template_names(html: &str) -> Vec<String> {
    const ATTR: &str = "data-template-name";
    let lower = html.to_ascii_lowercase();
    let mut out: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("<script ") {
        let tag_start = from + at;
        let tag_end = lower[tag_start..]
            .find('>')
            .map_or(lower.len(), |e| tag_start + e);
        from = tag_end.max(tag_start + 1);
        let tag = &lower[tag_start..tag_end];
        // The last occurrence followed by `=` and a quoted value, as a greedy match takes it.
        let mut value = None;
        let mut search = tag.len();
        while let Some(a) = tag[..search].rfind(ATTR) {
            search = a;
            let rest = html[tag_start + a + ATTR.len()..tag_end].trim_start();
            let Some(rest) = rest.strip_prefix('=') else {
                continue;
            };
            let rest = rest.trim_start();
            if rest.starts_with(['"', '\'']) {
                let body = &rest[1..];
                if let Some(close) = body.find(['"', '\'']) {
                    value = Some(&body[..close]);
                    break;
                }
            }
        }
        if let Some(t) = value.filter(|t| !t.is_empty())
            && seen.insert(t.to_string())
        {
            out.push(t.to_string());
            if out.len() >= MAX_TYPES {
                break;
            }
        }
    }
    out
}

/// A tar path below the archive's one top folder (`package/` as `npm pack` writes it, `./`
/// allowed in front): `package/nodes/plc.html` → `nodes/plc.html`.
fn below_top(path: &str) -> Option<&str> {
    let path = path.strip_prefix("./").unwrap_or(path);
    let (top, rest) = path.split_once('/')?;
    (!top.is_empty() && !rest.is_empty()).then_some(rest)
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

    fn package_name(bytes: &[u8], limit: u64) -> Result<String, String> {
        read_package(bytes, limit).map(|p| p.name)
    }

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
    fn node_types_come_from_the_html_beside_each_node_file() {
        let bytes = tgz(&[
            (
                "package/nodes/plc.html",
                br#"<script type="text/javascript">RED.nodes.registerType('plc in', {});</script>
<script type="text/html" data-template-name="plc in"><input id="node-input-name"></script>
<SCRIPT TYPE='text/html' Data-Template-Name = 'plc out'></SCRIPT>
<script type="text/html" data-help-name="plc in"><p>help</p></script>"#,
            ),
            (
                "package/other.html",
                br#"<script data-template-name="not a node file"></script>"#,
            ),
            (
                "package/package.json",
                br#"{"name": "node-red-contrib-plc",
                    "node-red": {"nodes": {"plc": "./nodes/plc.js", "gone": "nodes/gone.js"}}}"#,
            ),
        ]);
        let pkg = read_package(&bytes, 1 << 20).unwrap();
        assert_eq!(pkg.name, "node-red-contrib-plc");
        assert_eq!(pkg.types, ["plc in", "plc out"]);
        let plain = tgz(&[("package/package.json", br#"{"name": "lib-only"}"#)]);
        assert_eq!(
            template_names(
                "<scripts data-template-name=\"no\"></scripts>\
                 <script data-template-name='a' data-template-name=\"b\"></script>\
                 <script data-template-name=\"b\"></script><script\ndata-template-name=\"c\">"
            ),
            ["b"],
            "as Node-RED's pattern reads them"
        );
        assert_eq!(
            template_path("./nodes//x/../plc.js").as_deref(),
            Some("nodes/plc.html")
        );
        assert_eq!(template_path("nodes/plc").as_deref(), Some("nodes/plc"));
        assert_eq!(template_path("../outside.js"), None);
        assert_eq!(
            read_package(&plain, 1 << 20).unwrap().types,
            Vec::<String>::new()
        );
    }

    #[test]
    fn many_types_are_read_in_linear_time_and_capped() {
        let html: String = (0..200_000)
            .map(|i| {
                format!(
                    "<script data-template-name=\"t{}\"></script>\n",
                    i % 150_000
                )
            })
            .collect();
        let types = template_names(&html);
        assert_eq!(types.len(), MAX_TYPES);
        assert_eq!(types[1], "t1");
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
