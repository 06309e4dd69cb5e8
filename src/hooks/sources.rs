//! Reading hook scripts and the modules they may `require` (every `.lua` file in a script's
//! folder), once, when the host is made.

use super::*;

/// Most `.lua` files read from one scripts folder, and their largest size.
const MAX_MODULES: usize = 512;
const MAX_SCRIPT_BYTES: u64 = 1 << 20;

/// The folder part of a shown path (`scripts/x.lua` → `scripts`).
pub(crate) fn folder_of(shown: &str) -> &str {
    shown.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Reads `scripts` (relative to `base`) and every `.lua` file in their folders, which they
/// may `require`. Errors name the file.
pub fn read_sources(
    base: &Path,
    scripts: &[String],
) -> Result<BTreeMap<String, Arc<str>>, (String, String)> {
    let mut sources = BTreeMap::new();
    for shown in scripts {
        let text = read_script(&base.join(shown)).map_err(|m| (shown.clone(), m))?;
        sources.insert(shown.clone(), Arc::from(text.as_str()));
        let folder = folder_of(shown).to_string();
        for module in modules_under(&base.join(&folder)).map_err(|m| (shown.clone(), m))? {
            let shown_module = if folder.is_empty() {
                module.clone()
            } else {
                format!("{folder}/{module}")
            };
            if let std::collections::btree_map::Entry::Vacant(slot) =
                sources.entry(shown_module.clone())
            {
                let text = read_script(&base.join(&shown_module))
                    .map_err(|m| (shown_module.clone(), m))?;
                slot.insert(Arc::from(text.as_str()));
            }
        }
    }
    Ok(sources)
}

/// SHA-256 of every file [`read_sources`] reads.
pub fn source_digests(
    base: &Path,
    scripts: &[String],
) -> Result<BTreeMap<String, Digest>, (String, String)> {
    Ok(read_sources(base, scripts)?
        .iter()
        .map(|(k, v)| (k.clone(), Digest::of(v.as_bytes())))
        .collect())
}

pub(crate) fn read_script(path: &Path) -> Result<String, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > MAX_SCRIPT_BYTES {
        return Err(format!(
            "{} is larger than {MAX_SCRIPT_BYTES} bytes",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Every `.lua` file under `dir`, as paths relative to it, sorted.
pub(crate) fn modules_under(dir: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        let Ok(listing) = std::fs::read_dir(&d) else {
            continue;
        };
        for item in listing.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let kind = item.file_type().map_err(|e| e.to_string())?;
            if kind.is_dir() && !name.starts_with('.') && rel.matches('/').count() < 4 {
                stack.push((item.path(), child));
            } else if kind.is_file() && name.ends_with(".lua") {
                out.push(child);
                if out.len() > MAX_MODULES {
                    return Err(format!(
                        "{} holds more than {MAX_MODULES} Lua files",
                        dir.display()
                    ));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The resolved path of a script written in a spec.
pub fn script_path(base: &Path, written: &str) -> PathBuf {
    base.join(written)
}
