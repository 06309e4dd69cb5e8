//! Writing files so that a reader never sees half of one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// One move of a staged file or folder to its final name, as the output folder's journal
/// records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The staged file or folder.
    pub from: std::path::PathBuf,
    /// Its final name.
    pub to: std::path::PathBuf,
    /// Whether it is a folder (replaced whole).
    pub dir: bool,
}

/// The folder a path lives in (`.` for a bare file name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// One name directly inside a folder: no separator, not `.` or `..`, not empty.
pub fn is_plain_name(name: &str) -> bool {
    let mut parts = std::path::Path::new(name).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(n)), None) if n == name
    ) && !name.contains(['/', '\\'])
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk, and renames it
/// into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs::create_dir_all(parent_of(path))?;
    let tmp = stage_bytes(path, bytes)?;
    move_into_place(tmp, path)?;
    sync_dir(parent_of(path));
    Ok(())
}

/// [`write_atomic`] of content made as it is written, through a buffer, by `write`.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    fs::create_dir_all(parent_of(path))?;
    let tmp = stage_with(path, write)?;
    move_into_place(tmp, path)?;
    sync_dir(parent_of(path));
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path`, flushed to disk and readable, so that
/// only the rename into place ([`move_into_place`]) is left.
pub fn stage_bytes(path: &Path, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".hoist-tmp-")
        .tempfile_in(parent_of(path))?;
    tmp.write_all(bytes)?;
    make_ready(&tmp)?;
    Ok(tmp)
}

/// Writes a temporary file beside `path` through a buffer with `write`, then flushes it to
/// disk: [`stage_bytes`] for content made as it is written.
pub fn stage_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<tempfile::NamedTempFile> {
    let tmp = tempfile::Builder::new()
        .prefix(".hoist-tmp-")
        .tempfile_in(parent_of(path))?;
    let mut buffered = io::BufWriter::with_capacity(64 << 10, tmp.as_file());
    write(&mut buffered)?;
    buffered.flush()?;
    drop(buffered);
    make_ready(&tmp)?;
    Ok(tmp)
}

/// Flushes a finished temporary file to disk and gives it ordinary permissions, so that only
/// a rename is left to do (staging does this in parallel; the moves are then quick).
pub fn make_ready(tmp: &tempfile::NamedTempFile) -> io::Result<()> {
    tmp.as_file().sync_all()?;
    set_readable(tmp.as_file())
}

/// Writes `bytes` to a temporary file beside `path`, readable but not yet flushed to disk:
/// whoever stages it flushes it before naming it in a journal or moving it into place.
pub fn stage_bytes_unflushed(path: &Path, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".hoist-tmp-")
        .tempfile_in(parent_of(path))?;
    tmp.write_all(bytes)?;
    tmp.as_file().flush()?;
    set_readable(tmp.as_file())?;
    Ok(tmp)
}

/// Gives a finished temporary file ordinary permissions, without flushing it to disk.
pub fn make_readable(tmp: &tempfile::NamedTempFile) -> io::Result<()> {
    set_readable(tmp.as_file())
}

/// Flushes files to disk on a thread of its own, so that the threads that wrote them go on
/// working while the disk catches up (a flush mostly waits).
pub struct Flusher {
    /// `None` when no thread could be started: files are then flushed where they are given.
    queue: Option<std::sync::mpsc::SyncSender<ToFlush>>,
    /// The first failure of the files flushed where they were given.
    failed_here: std::sync::Mutex<Option<FlushFailure>>,
}

/// A file to flush: its place in the caller's order, the file, and what to say if it fails.
pub struct ToFlush {
    /// Where the file comes in the caller's order (the failure reported is the first in it).
    pub at: usize,
    /// The file.
    pub file: File,
    /// The name to show.
    pub shown: std::path::PathBuf,
    /// What could not be done (`cannot write`, `cannot write the manifest`).
    pub action: &'static str,
}

/// A file that could not be flushed: its place, the name to show, what failed, and why.
pub type FlushFailure = (usize, std::path::PathBuf, &'static str, io::Error);

impl ToFlush {
    fn flush(self) -> Result<(), FlushFailure> {
        self.file
            .sync_all()
            .map_err(|e| (self.at, self.shown, self.action, e))
    }
}

/// Keeps the failure that comes first in the caller's order, whichever finished first.
fn first_of(failed: &mut Option<FlushFailure>, f: FlushFailure) {
    if failed.as_ref().is_none_or(|g| f.0 < g.0) {
        *failed = Some(f);
    }
}

impl Flusher {
    /// Runs `work` with a flusher, and returns once every file given to it is flushed: what
    /// `work` returned, and the failure first in the callers' order. At most `bound` files
    /// wait to be flushed (a writer waits for room), so open files stay few.
    pub fn run<T>(bound: usize, work: impl FnOnce(&Flusher) -> T) -> (T, Result<(), FlushFailure>) {
        let (queue, files) = std::sync::mpsc::sync_channel::<ToFlush>(bound.max(1));
        std::thread::scope(|scope| {
            let flushing = std::thread::Builder::new()
                .name("hoist-flush".into())
                .spawn_scoped(scope, move || {
                    let mut failed = None;
                    for f in files {
                        if let Err(f) = f.flush() {
                            first_of(&mut failed, f);
                        }
                    }
                    failed
                });
            let flusher = Flusher {
                queue: flushing.is_ok().then_some(queue),
                failed_here: std::sync::Mutex::new(None),
            };
            let out = work(&flusher);
            let inline = flusher
                .failed_here
                .into_inner()
                .unwrap_or_else(|e| e.into_inner());
            drop(flusher.queue);
            let mut failed = match flushing {
                Ok(thread) => thread.join().expect("the flushing thread does not panic"),
                Err(_) => None,
            };
            if let Some(f) = inline {
                first_of(&mut failed, f);
            }
            (out, failed.map_or(Ok(()), Err))
        })
    }

    /// Flushes `f` before [`Flusher::run`] returns.
    pub fn flush(&self, f: ToFlush) {
        let f = match &self.queue {
            Some(queue) => match queue.send(f) {
                Ok(()) => return,
                // The thread is gone: flush here.
                Err(std::sync::mpsc::SendError(f)) => f,
            },
            None => f,
        };
        if let Err(failure) = f.flush() {
            let mut failed = self.failed_here.lock().unwrap_or_else(|e| e.into_inner());
            first_of(&mut failed, failure);
        }
    }
}

/// Renames a temporary file made ready by [`make_ready`] to `path`. The caller flushes the
/// folder ([`sync_dir`]) once its moves are done.
pub fn move_into_place(tmp: tempfile::NamedTempFile, path: &Path) -> io::Result<()> {
    tmp.persist(path).map(drop).map_err(|e| e.error)
}

#[cfg(unix)]
fn set_readable(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_readable(_file: &File) -> io::Result<()> {
    Ok(())
}

/// Flushes a folder's entries, so a rename inside it survives a power cut. Best effort.
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Whether `dir` is missing or an empty folder.
pub fn is_missing_or_empty(dir: &Path) -> io::Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

/// Moves the finished folder `tmp` to `dest`, replacing whatever folder was there.
/// The old folder is renamed aside first and removed only after the new one is in place.
pub fn replace_dir(tmp: &Path, dest: &Path) -> io::Result<()> {
    if fs::symlink_metadata(dest).is_ok() {
        let aside = tempfile::Builder::new()
            .prefix(".hoist-old-")
            .tempdir_in(parent_of(dest))?;
        let aside = aside.keep();
        // `aside` exists and is empty; renaming a folder onto an empty folder replaces it.
        fs::rename(dest, &aside)?;
        if let Err(e) = fs::rename(tmp, dest) {
            let _ = fs::rename(&aside, dest);
            return Err(e);
        }
        fs::remove_dir_all(&aside)?;
    } else {
        fs::rename(tmp, dest)?;
    }
    sync_dir(parent_of(dest));
    Ok(())
}

/// The first symbolic link among the folders of `path` below `base` (and `path` itself): an
/// output folder reached through a link would put outputs where the link points, perhaps
/// into an input or outside the workspace. `base` is where `path` was written relative to
/// (the spec's folder, or the working folder); what lies above it is the user's own.
pub fn link_below(base: &Path, path: &Path) -> Option<std::path::PathBuf> {
    let rest: Vec<std::path::Component> = match path.strip_prefix(base) {
        Ok(rest) if !base.as_os_str().is_empty() || path.is_relative() => {
            rest.components().collect()
        }
        _ => path.components().next_back().into_iter().collect(),
    };
    let start = if path.starts_with(base) {
        base.to_path_buf()
    } else {
        parent_of(path).to_path_buf()
    };
    let mut at = start;
    for c in rest {
        at.push(c.as_os_str());
        if matches!(c, std::path::Component::Normal(_))
            && fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink())
        {
            return Some(at);
        }
    }
    None
}

/// Resolves `.` and `..` in a path without touching the file system.
pub fn normalize(p: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A path written relative to folder `base`, as seen from the working folder.
pub fn shown_from(base: &Path, written: &str) -> String {
    let joined = normalize(&base.join(written));
    let text = joined.to_string_lossy().into_owned();
    if text.is_empty() { ".".into() } else { text }
}

/// `path` written relative to the folder `base` (both taken from the working folder, compared
/// lexically), so that [`shown_from`]`(base, …)` leads back to it; an absolute `path` stays
/// absolute.
pub fn relative_to(base: &Path, path: &Path) -> String {
    use std::path::Component;
    if path.is_absolute() {
        return normalize(path).to_string_lossy().into_owned();
    }
    let absolute =
        |p: &Path| normalize(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()));
    let (from, to) = (absolute(base), absolute(path));
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return to.to_string_lossy().into_owned();
    }
    let mut out = std::path::PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to_parts[common..] {
        out.push(part.as_os_str());
    }
    let text = out.to_string_lossy().into_owned();
    if text.is_empty() { ".".into() } else { text }
}

/// `path` made absolute with links resolved as far as it exists (the rest, not yet created,
/// appended as written), for comparing where two paths lead.
pub fn resolved(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    // Not normalised first: `link/..` is where the kernel goes (the link's target's parent),
    // not the folder holding the link, so `..` is resolved lexically only past the part
    // that exists.
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let parts: Vec<Component> = absolute.components().collect();
    let mut cut = parts.len();
    let base = loop {
        let prefix: std::path::PathBuf = parts[..cut].iter().collect();
        if let Ok(real) = fs::canonicalize(&prefix) {
            break real;
        }
        if cut == 0 {
            return normalize(&absolute);
        }
        cut -= 1;
    };
    let mut out = base;
    for c in &parts[cut..] {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// An input hoist reads and never writes: a source, the target, the spec, a hook script or
/// the folder `require` reaches, a saved plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    /// Where it is.
    pub path: std::path::PathBuf,
    /// What it is, for messages: `source`, `target`, `spec`, `hook script`, …
    pub what: &'static str,
    /// Whether the output folder may hold it (a target kept beside the outputs may; the spec
    /// and the scripts may not).
    pub may_sit_in_outputs: bool,
}

impl Protected {
    /// An input of kind `what` at `path`.
    pub fn new(path: impl Into<std::path::PathBuf>, what: &'static str) -> Self {
        Protected {
            path: path.into(),
            what,
            may_sit_in_outputs: matches!(what, "source" | "target" | "input"),
        }
    }
}

/// Refuses any of `outputs` that is an input, lies inside one, or would replace a folder
/// holding one: hoist never writes into what it reads. Each path is resolved once.
pub fn keep_apart(inputs: &[Protected], outputs: &[&Path]) -> Result<(), String> {
    let inputs: Vec<(std::path::PathBuf, &Protected)> =
        inputs.iter().map(|p| (resolved(&p.path), p)).collect();
    for output in outputs {
        let out = resolved(output);
        if let Some((_, input)) = inputs
            .iter()
            .find(|(inp, _)| out.starts_with(inp) || inp.starts_with(&out))
        {
            return Err(format!(
                "{} would be written over or into the {} {}; hoist never writes into what it reads (sources, target, spec, hook scripts, a saved plan): choose another output",
                normalize(output).display(),
                input.what,
                normalize(&input.path).display()
            ));
        }
    }
    Ok(())
}

/// Refuses an output folder that lies inside an input, or that holds an input which may not
/// sit among outputs (the spec, a hook script, a saved plan).
pub fn keep_folder_apart(inputs: &[Protected], out_dir: &Path) -> Result<(), String> {
    let dir = resolved(out_dir);
    for input in inputs {
        let at = resolved(&input.path);
        if dir.starts_with(&at) || (!input.may_sit_in_outputs && at.starts_with(&dir)) {
            return Err(format!(
                "the output folder {} {} the {} {}; hoist never writes into what it reads (sources, target, spec, hook scripts, a saved plan): choose another output folder{}",
                normalize(out_dir).display(),
                if dir.starts_with(&at) {
                    "lies in"
                } else {
                    "holds"
                },
                input.what,
                normalize(&input.path).display(),
                if input.what.contains("hook") && !dir.starts_with(&at) {
                    " (keep hook scripts in a folder of their own, e.g. scripts/, apart from the outputs)"
                } else {
                    ""
                }
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_given_from_the_working_folder_is_shown_from_the_spec() {
        for (base, path) in [
            ("specs", "o2"),
            ("specs", "specs/out"),
            ("", "out/a"),
            ("a/b", "a/c/d"),
            ("specs", "/tmp/elsewhere"),
        ] {
            let shown = relative_to(Path::new(base), Path::new(path));
            assert_eq!(
                resolved(Path::new(&shown_from(Path::new(base), &shown))),
                resolved(Path::new(path)),
                "{base} + {shown}"
            );
        }
        assert_eq!(relative_to(Path::new("specs"), Path::new("o2")), "../o2");
        assert_eq!(relative_to(Path::new("specs"), Path::new("specs")), ".");
        assert_eq!(
            relative_to(Path::new("specs"), Path::new("/tmp/x")),
            "/tmp/x"
        );
    }

    #[test]
    fn the_flusher_flushes_before_it_returns_and_names_what_it_could_not_flush() {
        let dir = tempfile::tempdir().unwrap();
        let staged = stage_bytes_unflushed(&dir.path().join("a.zip"), b"abc").unwrap();
        let to_flush = |at: usize, file: File, shown: &str| ToFlush {
            at,
            file,
            shown: shown.into(),
            action: "cannot write",
        };
        let file = staged.as_file().try_clone().unwrap();
        let (out, flushed) = Flusher::run(1, |f| {
            f.flush(to_flush(0, file, "a.zip"));
            7
        });
        assert_eq!(out, 7);
        assert!(flushed.is_ok());
        assert_eq!(fs::read(staged.path()).unwrap(), b"abc");
        // A pipe cannot be flushed to disk: the failure named is the first in the caller's
        // order, whichever was flushed first.
        #[cfg(target_os = "linux")]
        {
            let pipe = || {
                let (reader, writer) = io::pipe().unwrap();
                (File::from(std::os::fd::OwnedFd::from(reader)), writer)
            };
            let ((late, _w1), (early, _w2)) = (pipe(), pipe());
            let good = staged.as_file().try_clone().unwrap();
            let ((), flushed) = Flusher::run(4, |f| {
                f.flush(to_flush(5, late, "p005.zip"));
                f.flush(to_flush(0, good, "p000.zip"));
                f.flush(to_flush(2, early, "p002.zip"));
            });
            let (at, shown, _, _) = flushed.expect_err("a pipe does not flush");
            assert_eq!((at, shown.as_path()), (2, Path::new("p002.zip")));
        }
    }
}
