//! Staging a package as a folder: the files written one by one, names that a
//! case-insensitive file system would merge refused, and the sink dry runs write to.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use super::*;
use crate::archive::error::PackageError;
use crate::archive::source::CopyError;
use crate::fsutil;

pub(super) fn stage_dir(dest: &Path, entries: &[OutEntry]) -> Result<TempDirGuard, PackageError> {
    if dest.exists() && !dest.is_dir() {
        return Err(PackageError::Destination {
            path: dest.into(),
            detail: "exists and is not a folder".into(),
        });
    }
    let parent = fsutil::parent_of(dest);
    let tmp = tempfile::Builder::new()
        .prefix(".hoist-tmp-")
        .tempdir_in(parent)
        .map_err(|e| PackageError::io(parent, "cannot create a temporary folder", e))?;
    let guard = TempDirGuard(Some(tmp.keep()));
    let root = guard.0.as_deref().expect("just set");
    if ignores_case(root)
        && let Some((a, b)) = case_collision(entries.iter().map(|e| e.name.as_str()))
    {
        return Err(PackageError::Write {
            path: dest.into(),
            detail: format!(
                "{a:?} and {b:?} differ only in case, and this disk does not tell them apart: \
                 write a ZIP instead (output format zip)"
            ),
        });
    }
    entries.par_iter().try_for_each(|e| write_file(root, e))?;
    Ok(guard)
}

/// Whether the file system holding `dir` (a fresh, empty folder) treats names that differ
/// only in case as one.
pub(super) fn ignores_case(dir: &Path) -> bool {
    let probe = dir.join(".hoist-Case-Probe");
    if File::create(&probe).is_err() {
        return false;
    }
    let same = dir.join(".hoist-case-probe").exists();
    let _ = fs::remove_file(&probe);
    same
}

/// Two paths among `names` and their folders that are the same but for case.
pub(super) fn case_collision<'a>(names: impl Iterator<Item = &'a str>) -> Option<(String, String)> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for name in names {
        let folders = name.match_indices('/').map(|(i, _)| &name[..i]);
        for path in folders.chain(std::iter::once(name)) {
            match seen.get(&path.to_lowercase()) {
                Some(prev) if *prev != path => return Some((prev.to_string(), path.to_string())),
                Some(_) => {}
                None => {
                    seen.insert(path.to_lowercase(), path);
                }
            }
        }
    }
    None
}

pub(super) fn write_file(root: &Path, e: &OutEntry) -> Result<(), PackageError> {
    let path = root.join(&e.name);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|err| PackageError::io(dir, "cannot create", err))?;
    }
    let werr = |err: io::Error| PackageError::io(&path, "cannot write", err);
    let mut file = BufWriter::new(File::create(&path).map_err(werr)?);
    match &e.content {
        Content::Bytes(b) => file.write_all(b).map_err(werr)?,
        Content::Copy { source, entry } => {
            let src = lookup(source, entry)?;
            source
                .with_reader(src, |r| io::copy(r, &mut file))
                .map_err(|err| match err {
                    CopyError::Read(err) => err,
                    CopyError::Write(err) => werr(err),
                })?;
        }
    }
    file.flush().map_err(werr)
}

/// A writer that keeps nothing, for dry runs.
#[derive(Default)]
pub(super) struct SinkSeek {
    pos: u64,
    len: u64,
}

impl Write for SinkSeek {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pos += buf.len() as u64;
        self.len = self.len.max(self.pos);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for SinkSeek {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(n) => n,
            SeekFrom::End(d) => self.len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}
