//! Reading a folder source, or a single configuration file.

use std::fs;
use std::path::Path;

use super::{Entry, Kind, Method, Source};
use crate::archive::error::{NameProblem, PackageError};
use crate::archive::limits::Limits;
use crate::archive::names;

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
        data_start: 0,
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
                    data_start: 0,
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
