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

use std::fs::{self, File, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::fsutil;

/// The lock file's name, in the output folder.
pub const LOCK_NAME: &str = ".hoist.lock";
/// The journal's name, in the output folder.
pub const JOURNAL_NAME: &str = ".hoist-journal.json";
/// Prefixes of what a run stages beside its outputs.
pub const STAGED_PREFIXES: [&str; 2] = [".hoist-tmp-", ".hoist-old-"];

/// The output folder, locked for this process until dropped.
#[derive(Debug)]
pub struct OutDir {
    dir: PathBuf,
    _lock: File,
}

/// One move of a staged file or folder to its final name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// The staged file or folder.
    pub from: PathBuf,
    /// Its final name.
    pub to: PathBuf,
    /// Whether it is a folder (replaced whole).
    pub dir: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    journal: u32,
    moves: Vec<Move>,
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
        // output folder keeps only outputs.
        let _ = fs::remove_file(self.dir.join(LOCK_NAME));
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

impl OutDir {
    /// Creates `dir` if needed and takes its lock; then finishes or clears what an
    /// interrupted run left. Fails at once, without waiting, when another run holds the lock.
    pub fn lock(dir: &Path) -> Result<(OutDir, Recovered), Error> {
        let io_err = |action: &'static str| {
            let path = dir.to_path_buf();
            move |source| Error::Io {
                path,
                action,
                source,
            }
        };
        fs::create_dir_all(dir).map_err(io_err("cannot create the output folder"))?;
        let path = dir.join(LOCK_NAME);
        let mut file = loop {
            let file = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|source| Error::Io {
                    path: path.clone(),
                    action: "cannot open the lock file",
                    source,
                })?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let holder = fs::read_to_string(&path).unwrap_or_default();
                    return Err(Error::Locked {
                        dir: dir.to_path_buf(),
                        holder: holder.trim().to_string(),
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
        let _ = writeln!(file, "hoist apply, process {}", std::process::id());
        let out = OutDir {
            dir: dir.to_path_buf(),
            _lock: file,
        };
        let recovered = out.recover()?;
        Ok((out, recovered))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL_NAME)
    }

    /// Finishes the moves of a journal left behind, then removes staged leftovers.
    fn recover(&self) -> Result<Recovered, Error> {
        let mut recovered = Recovered::default();
        let path = self.journal_path();
        match fs::read(&path) {
            Ok(bytes) => {
                let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| Error::Io {
                    path: path.clone(),
                    action: "cannot read the journal of an interrupted run (remove it to go on)",
                    source: io::Error::new(io::ErrorKind::InvalidData, e),
                })?;
                for m in &journal.moves {
                    let from = self.dir.join(&m.from);
                    if fs::symlink_metadata(&from).is_ok() {
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
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Io {
                    path,
                    action: "cannot read the journal",
                    source,
                });
            }
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

    /// Records `moves` (paths inside this folder) on disk before any is made.
    pub fn write_journal(&self, moves: &[Move]) -> Result<(), Error> {
        let journal = Journal {
            journal: 1,
            moves: moves
                .iter()
                .map(|m| -> Result<Move, Error> {
                    Ok(Move {
                        from: self.inside(&m.from)?,
                        to: self.inside(&m.to)?,
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

    /// `path` relative to this folder; every staged file and output lives in it.
    fn inside(&self, path: &Path) -> Result<PathBuf, Error> {
        let absolute =
            |p: &Path| fsutil::normalize(&std::path::absolute(p).unwrap_or_else(|_| p.into()));
        absolute(path)
            .strip_prefix(absolute(&self.dir))
            .map(Path::to_path_buf)
            .map_err(|_| Error::Io {
                path: path.to_path_buf(),
                action: "cannot journal a move outside the output folder",
                source: io::Error::other(format!("not inside {}", self.dir.display())),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn a_second_lock_on_the_same_folder_is_refused_until_the_first_is_dropped() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        let (first, _) = OutDir::lock(&out).unwrap();
        match OutDir::lock(&out) {
            Err(Error::Locked { dir, holder }) => {
                assert_eq!(dir, out);
                assert!(holder.contains("hoist apply"), "{holder}");
            }
            other => panic!("expected a lock error, got {other:?}"),
        }
        drop(first);
        OutDir::lock(&out).unwrap();
    }

    #[test]
    fn moves_left_by_an_interrupted_run_are_finished_by_the_next() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        write(&out.join("a.zip"), "old a");
        write(&out.join("b/x.json"), "old b");
        write(&out.join("report.json"), "old report");
        let moves = [
            (".hoist-tmp-1", "a.zip", false),
            (".hoist-tmp-2", "b", true),
            (".hoist-tmp-3", "report.json", false),
        ]
        .map(|(from, to, dir)| Move {
            from: out.join(from),
            to: out.join(to),
            dir,
        });
        {
            let (o, _) = OutDir::lock(&out).unwrap();
            // The run stages its outputs (and something a run killed earlier left)...
            write(&out.join(".hoist-tmp-1"), "new a");
            write(&out.join(".hoist-tmp-2/x.json"), "new b");
            write(&out.join(".hoist-tmp-3"), "new report");
            write(
                &out.join(".hoist-tmp-9"),
                "staged by a run killed before its journal",
            );
            o.write_journal(&moves).unwrap();
            // The run makes the first move and is killed.
            o.make(&Move {
                from: PathBuf::from(".hoist-tmp-1"),
                to: PathBuf::from("a.zip"),
                dir: false,
            })
            .unwrap();
        }
        let (_o, recovered) = OutDir::lock(&out).unwrap();
        assert_eq!(
            recovered,
            Recovered {
                finished: 2,
                removed: 1
            }
        );
        let read = |p: &str| fs::read_to_string(out.join(p)).unwrap();
        assert_eq!(read("a.zip"), "new a");
        assert_eq!(read("b/x.json"), "new b");
        assert_eq!(read("report.json"), "new report");
        let mut left: Vec<String> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [LOCK_NAME, "a.zip", "b", "report.json"]);
        drop(_o);
        assert!(
            !out.join(LOCK_NAME).exists(),
            "the lock file goes with the lock"
        );
    }

    #[test]
    fn a_damaged_journal_stops_the_run_and_is_kept() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        write(&out.join(JOURNAL_NAME), "{not json");
        let err = OutDir::lock(&out).unwrap_err();
        assert!(err.to_string().contains(JOURNAL_NAME), "{err}");
        assert!(out.join(JOURNAL_NAME).exists());
    }
}
