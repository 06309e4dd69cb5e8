//! The output folder of `hoist apply`: one run at a time, and all of a run's outputs or none.
//!
//! A run takes an exclusive lock on `OUT/.hoist.lock` before it writes anything (and removes
//! the file as it finishes). Outputs are
//! staged beside their final names; once every one is complete, the list of moves is written
//! to `OUT/.hoist-journal.json` (flushed to disk) and only then are the moves made. A run
//! killed while moving leaves the journal behind, and the next run that takes the lock
//! finishes those moves before doing anything else, so the folder holds either the previous
//! run's outputs or the new ones, never a mix. Staged files of a run killed before its
//! journal was written are removed.
//!
//! Everything in the output folder is input a stranger may have written (a journal committed
//! to Git, a planted link). So the lock and the journal are opened without following links
//! and must be plain files; a journal is honoured only when it is small, of the version this
//! program writes, and every move in it goes from a name hoist stages (`.hoist-tmp-…`) to a
//! name this run writes, both directly inside the folder. Anything else is refused before a
//! single file is moved or deleted.
//!
//! A lock left by a killed run needs no cleaning: the lock is the operating system's lock on
//! the open file, which goes with the process, so the next run takes the file over.

use std::collections::BTreeSet;
use std::fs::{self, File, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::fsutil::{self, is_plain_name};

/// The lock file's name, in the output folder.
pub const LOCK_NAME: &str = ".hoist.lock";
/// The journal's name, in the output folder.
pub const JOURNAL_NAME: &str = ".hoist-journal.json";
/// Prefixes of what a run stages beside its outputs.
pub const STAGED_PREFIXES: [&str; 2] = [STAGED_PREFIX, ".hoist-old-"];
/// The prefix of the temporary names outputs are staged under; a journal moves only these.
pub const STAGED_PREFIX: &str = ".hoist-tmp-";
/// The journal format this version writes and reads.
const JOURNAL_VERSION: u32 = 1;
/// The largest journal read: a run of many thousand outputs stays far below it.
pub const MAX_JOURNAL_BYTES: u64 = 1 << 20;

/// The output folder, locked for this process until dropped.
#[derive(Debug)]
pub struct OutDir {
    dir: PathBuf,
    _lock: File,
}

pub use crate::fsutil::Move;

/// A move as the journal records it: plain names inside the output folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalMove {
    from: String,
    to: String,
    dir: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Journal {
    journal: u32,
    moves: Vec<JournalMove>,
}

/// What [`OutDir::lock`] found left by an interrupted run.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Moves of an interrupted run that were finished now.
    pub finished: usize,
    /// Staged files and folders of an interrupted run that were removed.
    pub removed: usize,
}

impl Drop for OutDir {
    fn drop(&mut self) {
        // Removed while still held (the lock goes with the handle, just after), so the
        // output folder keeps only outputs. Removing a name never follows a link.
        let _ = fs::remove_file(self.dir.join(LOCK_NAME));
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// Opens a file of the output folder without following a link at its name, and without
/// blocking on a pipe planted there.
fn open_no_follow(path: &Path, create: bool) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    if create {
        options.write(true).create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .mode(0o644);
    }
    options.open(path)
}

/// Why `file`, just opened at `path`, is not a plain file of its own (a link, a pipe, a
/// folder, a second name of another file), if it is not.
fn not_plain(file: &File, path: &Path) -> Option<String> {
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return Some(format!("cannot be examined: {e}")),
    };
    if !meta.is_file() {
        return Some("is not a plain file".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() != 1 {
            return Some("is a second name of another file (a hard link)".into());
        }
    }
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Some("is a symbolic link".into());
    }
    None
}

/// Whether an open error says the name was a symbolic link (`O_NOFOLLOW`).
fn is_link_error(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

impl OutDir {
    /// Creates `dir` if needed and takes its lock; then finishes or clears what an
    /// interrupted run left. `writes` are the names (directly inside `dir`) this run writes:
    /// a journal left behind may move staged files only onto them. Fails at once, without
    /// waiting, when another run holds the lock.
    pub fn lock(dir: &Path, writes: &BTreeSet<String>) -> Result<(OutDir, Recovered), Error> {
        Self::lock_for(dir, writes, "hoist apply")
    }

    /// [`OutDir::lock`] for the command `who` (named in the message another run prints).
    pub fn lock_for(
        dir: &Path,
        writes: &BTreeSet<String>,
        who: &str,
    ) -> Result<(OutDir, Recovered), Error> {
        let io_err = |action: &'static str| {
            let path = dir.to_path_buf();
            move |source| Error::Io {
                path,
                action,
                source,
            }
        };
        if fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::Untrusted {
                path: dir.to_path_buf(),
                detail: "the output folder is a symbolic link; hoist writes only into a real folder (name the folder it points to, if that is meant)".into(),
            });
        }
        fs::create_dir_all(dir).map_err(io_err("cannot create the output folder"))?;
        let path = dir.join(LOCK_NAME);
        let untrusted = |detail: String| Error::Untrusted {
            path: path.clone(),
            detail,
        };
        let mut file = loop {
            let file = open_no_follow(&path, true).map_err(|source| {
                if is_link_error(&source) {
                    untrusted("the lock file is a symbolic link, which no run of hoist makes; remove it and run again".into())
                } else {
                    Error::Io {
                        path: path.clone(),
                        action: "cannot open the lock file",
                        source,
                    }
                }
            })?;
            if let Some(why) = not_plain(&file, &path) {
                return Err(untrusted(format!(
                    "the lock file {why}, which no run of hoist makes; remove it and run again"
                )));
            }
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = (&file).take(200).read_to_string(&mut holder);
                    let holder = holder.lines().next().unwrap_or_default();
                    return Err(Error::Locked {
                        dir: dir.to_path_buf(),
                        holder: crate::text::escape_controls(holder.trim()).into_owned(),
                    });
                }
                Err(TryLockError::Error(source)) => {
                    return Err(Error::Io {
                        path,
                        action: "cannot lock",
                        source,
                    });
                }
            }
            // The holder before us removes the file as it finishes: the lock counts only
            // if it is on the file that is still there.
            if same_file(&file, &path) {
                break file;
            }
        };
        // Who holds it, for the message another run prints. Not an output.
        let _ = file.set_len(0);
        let _ = writeln!(file, "{who}, process {}", std::process::id());
        let out = OutDir {
            dir: dir.to_path_buf(),
            _lock: file,
        };
        let recovered = out.recover(writes)?;
        Ok((out, recovered))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL_NAME)
    }

    /// Reads the journal left behind, if any, and checks every move in it; nothing is moved
    /// or deleted when any check fails.
    fn read_journal(&self, writes: &BTreeSet<String>) -> Result<Option<Vec<Move>>, Error> {
        let path = self.journal_path();
        let refuse = |detail: String| Error::Untrusted {
            path: path.clone(),
            detail: format!(
                "{detail}; this is not a journal hoist would follow (if a run of another spec was interrupted here, run that spec again; otherwise remove the file)"
            ),
        };
        let mut file = match open_no_follow(&path, false) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if is_link_error(&e) => {
                return Err(refuse("the journal is a symbolic link".into()));
            }
            Err(source) => {
                return Err(Error::Io {
                    path,
                    action: "cannot read the journal",
                    source,
                });
            }
        };
        if let Some(why) = not_plain(&file, &path) {
            return Err(refuse(format!("the journal {why}")));
        }
        let mut bytes = Vec::new();
        (&mut file)
            .take(MAX_JOURNAL_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io {
                path: path.clone(),
                action: "cannot read the journal",
                source,
            })?;
        if bytes.len() as u64 > MAX_JOURNAL_BYTES {
            return Err(refuse(format!(
                "the journal is larger than {MAX_JOURNAL_BYTES} bytes"
            )));
        }
        let journal: Journal = serde_json::from_slice(&bytes)
            .map_err(|e| refuse(format!("the journal cannot be read: {e}")))?;
        if journal.journal != JOURNAL_VERSION {
            return Err(refuse(format!(
                "the journal is of version {}, and this hoist writes version {JOURNAL_VERSION}",
                journal.journal
            )));
        }
        let mut moves = Vec::with_capacity(journal.moves.len());
        let mut targets = BTreeSet::new();
        for (i, m) in journal.moves.iter().enumerate() {
            let shown = |name: &str| crate::text::escape_controls(name).into_owned();
            let at = |what: &str| format!("move {} {what}", i + 1);
            if !is_plain_name(&m.from) || !m.from.starts_with(STAGED_PREFIX) {
                return Err(refuse(format!(
                    "{} `{}`, which is not a name hoist stages directly inside the output folder",
                    at("is from"),
                    shown(&m.from)
                )));
            }
            if !is_plain_name(&m.to) || !writes.contains(&m.to) {
                return Err(refuse(format!(
                    "{} `{}`, which is not a name this run writes directly inside the output folder",
                    at("is to"),
                    shown(&m.to)
                )));
            }
            if !targets.insert(m.to.as_str()) {
                return Err(refuse(format!(
                    "{} `{}` a second time",
                    at("is to"),
                    shown(&m.to)
                )));
            }
            let from = self.dir.join(&m.from);
            match fs::symlink_metadata(&from) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(Error::Io {
                        path: from,
                        action: "cannot examine a staged output of the interrupted run",
                        source,
                    });
                }
                Ok(meta) => {
                    let kind_ok = if m.dir { meta.is_dir() } else { meta.is_file() };
                    if meta.file_type().is_symlink() || !kind_ok {
                        return Err(refuse(format!(
                            "{} `{}`, which is not the staged {} a run of hoist leaves",
                            at("is from"),
                            shown(&m.from),
                            if m.dir { "folder" } else { "file" }
                        )));
                    }
                }
            }
            let to = self.dir.join(&m.to);
            if fs::symlink_metadata(&to).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(refuse(format!(
                    "{} `{}`, which is a symbolic link",
                    at("is to"),
                    shown(&m.to)
                )));
            }
            moves.push(Move {
                from: PathBuf::from(&m.from),
                to: PathBuf::from(&m.to),
                dir: m.dir,
            });
        }
        Ok(Some(moves))
    }

    /// Finishes the moves of a journal left behind, then removes staged leftovers.
    fn recover(&self, writes: &BTreeSet<String>) -> Result<Recovered, Error> {
        let mut recovered = Recovered::default();
        if let Some(moves) = self.read_journal(writes)? {
            for m in &moves {
                if fs::symlink_metadata(self.dir.join(&m.from)).is_ok() {
                    self.make(m).map_err(|source| Error::Io {
                        path: self.dir.join(&m.to),
                        action: "cannot finish the interrupted run's move into place",
                        source,
                    })?;
                    recovered.finished += 1;
                }
            }
            self.clear_journal()?;
        }
        recovered.removed = self.remove_leftovers()?;
        Ok(recovered)
    }

    fn remove_leftovers(&self) -> Result<usize, Error> {
        let mut removed = 0;
        let entries = fs::read_dir(&self.dir).map_err(|source| Error::Io {
            path: self.dir.clone(),
            action: "cannot list the output folder",
            source,
        })?;
        let mut names: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                STAGED_PREFIXES.iter().any(|p| name.starts_with(p))
            })
            .map(|e| e.path())
            .collect();
        names.sort();
        for path in names {
            // A link is removed as a name; a folder's contents are removed without following
            // links inside it.
            let result = match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => fs::remove_dir_all(&path),
                Ok(_) => fs::remove_file(&path),
                Err(_) => continue,
            };
            result.map_err(|source| Error::Io {
                path: path.clone(),
                action: "cannot remove what an interrupted run staged",
                source,
            })?;
            removed += 1;
        }
        Ok(removed)
    }

    fn make(&self, m: &Move) -> io::Result<()> {
        let from = self.dir.join(&m.from);
        let to = self.dir.join(&m.to);
        if m.dir {
            fsutil::replace_dir(&from, &to)
        } else {
            fs::rename(&from, &to)?;
            fsutil::sync_dir(fsutil::parent_of(&to));
            Ok(())
        }
    }

    /// Records `moves` (paths directly inside this folder) on disk before any is made.
    pub fn write_journal(&self, moves: &[Move]) -> Result<(), Error> {
        let journal = Journal {
            journal: JOURNAL_VERSION,
            moves: moves
                .iter()
                .map(|m| -> Result<JournalMove, Error> {
                    Ok(JournalMove {
                        from: self.name_inside(&m.from)?,
                        to: self.name_inside(&m.to)?,
                        dir: m.dir,
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let mut bytes = serde_json::to_vec_pretty(&journal).expect("journals serialise");
        bytes.push(b'\n');
        let path = self.journal_path();
        fsutil::write_atomic(&path, &bytes).map_err(|source| Error::Io {
            path,
            action: "cannot write the journal",
            source,
        })
    }

    /// Removes the journal once every move is made.
    pub fn clear_journal(&self) -> Result<(), Error> {
        let path = self.journal_path();
        match fs::remove_file(&path) {
            Ok(()) => {
                fsutil::sync_dir(&self.dir);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::Io {
                path,
                action: "cannot remove the journal",
                source,
            }),
        }
    }

    /// The name of `path` when it lies directly inside this folder; every staged file and
    /// output does.
    fn name_inside(&self, path: &Path) -> Result<String, Error> {
        let absolute =
            |p: &Path| fsutil::normalize(&std::path::absolute(p).unwrap_or_else(|_| p.into()));
        let full = absolute(path);
        let name = full
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| is_plain_name(n));
        match name {
            Some(name) if full.parent() == Some(absolute(&self.dir).as_path()) => Ok(name),
            _ => Err(Error::Io {
                path: path.to_path_buf(),
                action: "cannot journal a move that is not directly inside the output folder",
                source: io::Error::other(format!("not directly inside {}", self.dir.display())),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
