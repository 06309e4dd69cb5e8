//! Reading a folder source, or a single configuration file, and the path checks
//! both kinds of tree share.

use std::fs::{self, File};
use std::path::Path;

use super::zipfile::read_at;
use super::{Entry, Kind, Method, Source};
use crate::archive::error::{NameProblem, PackageError};
use crate::archive::limits::Limits;
use crate::archive::names;

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

pub(super) fn open_file(path: &Path, len: u64, limits: &Limits) -> Result<Source, PackageError> {
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

pub(super) fn open_dir(root: &Path, limits: &Limits) -> Result<Source, PackageError> {
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
