//! Errors of package reading and writing, each with a stable code.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Why an entry name was refused. Each variant has its own stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// Starts with `/`.
    Absolute,
    /// Has a `..` segment.
    ParentDir,
    /// Starts with a drive letter such as `C:`.
    DriveLetter,
    /// Uses `\` as a separator.
    Backslash,
    /// Uses a character that looks like a slash or a dot-dot segment.
    Lookalike,
    /// Empty, `.` or empty segments, control characters, or not UTF-8.
    Malformed,
}

impl NameProblem {
    /// The stable code of this refusal.
    pub fn code(self) -> &'static str {
        match self {
            NameProblem::Absolute => "zip.absolute_path",
            NameProblem::ParentDir => "zip.parent_dir",
            NameProblem::DriveLetter => "zip.drive_letter",
            NameProblem::Backslash => "zip.backslash",
            NameProblem::Lookalike => "zip.lookalike",
            NameProblem::Malformed => "zip.bad_name",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            NameProblem::Absolute => "absolute path",
            NameProblem::ParentDir => "path climbs out with '..'",
            NameProblem::DriveLetter => "path starts with a drive letter",
            NameProblem::Backslash => "path uses '\\' as a separator",
            NameProblem::Lookalike => "path uses a character that looks like '/' or '..'",
            NameProblem::Malformed => {
                "malformed name (empty, '.', empty segment, control character or not UTF-8)"
            }
        }
    }
}

impl std::fmt::Display for NameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// A package could not be read or written.
#[derive(Debug, Error)]
pub enum PackageError {
    /// The file or folder could not be read or written.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// The file is not a ZIP archive at all.
    #[error("{path}: not a ZIP archive ({detail})")]
    NotZip {
        /// The file concerned.
        path: PathBuf,
        /// What the reader found.
        detail: String,
    },
    /// The archive is cut short or its directory is damaged.
    #[error("{path}: truncated or damaged ZIP archive ({detail})")]
    Damaged {
        /// The file concerned.
        path: PathBuf,
        /// What the reader found.
        detail: String,
    },
    /// An entry name is unsafe.
    #[error("{path}: entry {entry:?} refused: {problem}")]
    UnsafeName {
        /// The package.
        path: PathBuf,
        /// The entry name as stored (lossy UTF-8).
        entry: String,
        /// What is wrong with it.
        problem: NameProblem,
    },
    /// A symbolic link entry.
    #[error("{path}: entry {entry:?} refused: symbolic links are not allowed in packages")]
    Symlink {
        /// The package.
        path: PathBuf,
        /// The entry.
        entry: String,
    },
    /// An encrypted entry.
    #[error("{path}: entry {entry:?} refused: encrypted entries are not supported")]
    Encrypted {
        /// The package.
        path: PathBuf,
        /// The entry.
        entry: String,
    },
    /// The same name stored twice.
    #[error("{path}: entry {entry:?} is stored more than once; refusing an ambiguous archive")]
    Duplicate {
        /// The package.
        path: PathBuf,
        /// The repeated name.
        entry: String,
    },
    /// A file entry whose name is also a folder of other entries.
    #[error("{path}: entry {entry:?} is both a file and a folder of other entries")]
    PathConflict {
        /// The package.
        path: PathBuf,
        /// The entry.
        entry: String,
    },
    /// Entries share bytes in the archive (a zip bomb technique).
    #[error("{path}: entries overlap inside the archive (a zip bomb technique); refusing it")]
    Overlap {
        /// The package.
        path: PathBuf,
    },
    /// Too many entries.
    #[error("{path}: {count} entries, over the limit of {limit} (raise it with --max-entries)")]
    TooManyEntries {
        /// The package.
        path: PathBuf,
        /// Entries found.
        count: u64,
        /// The limit in force.
        limit: u64,
    },
    /// Too many bytes once inflated.
    #[error(
        "{path}: entries inflate to {total} bytes, over the limit of {limit} (raise it with --max-total-size)"
    )]
    TooLarge {
        /// The package.
        path: PathBuf,
        /// Declared uncompressed total.
        total: u64,
        /// The limit in force.
        limit: u64,
    },
    /// One entry inflates far more than data normally does.
    #[error(
        "{path}: entry {entry:?} inflates {ratio}:1 ({compressed} → {size} bytes), over the limit of {limit}:1; possibly a zip bomb (raise it with --max-ratio)"
    )]
    Ratio {
        /// The package.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// Compressed size.
        compressed: u64,
        /// Uncompressed size.
        size: u64,
        /// Ratio found.
        ratio: u64,
        /// The limit in force.
        limit: u64,
    },
    /// An entry's data does not match its CRC-32.
    #[error("{path}: entry {entry:?}: CRC-32 mismatch; the data is damaged")]
    Crc {
        /// The package.
        path: PathBuf,
        /// The entry.
        entry: String,
    },
    /// An entry inflates to a size other than declared.
    #[error("{path}: entry {entry:?}: declared {declared} bytes but inflates to {actual}")]
    Size {
        /// The package.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// Declared size.
        declared: u64,
        /// Actual size (or the declared size + 1 when reading stopped early).
        actual: String,
    },
    /// A compression method other than stored or deflate.
    #[error("{path}: entry {entry:?}: unsupported compression method {method}")]
    Method {
        /// The package.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// Method number or name.
        method: String,
    },
    /// The tree does not follow the layout.
    #[error("{path}: {detail}")]
    Layout {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The manifest `hoist.json` is unreadable.
    #[error("{path}: hoist.json: {detail}")]
    Manifest {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The destination is not usable.
    #[error("{path}: {detail}")]
    Destination {
        /// The destination.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Writing an archive failed.
    #[error("{path}: writing the archive failed: {detail}")]
    Write {
        /// The destination.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

impl PackageError {
    /// The stable code of this error, as printed in `error[CODE]`.
    pub fn code(&self) -> &'static str {
        match self {
            PackageError::Io { .. } => "io",
            PackageError::NotZip { .. } => "zip.not_zip",
            PackageError::Damaged { .. } => "zip.truncated",
            PackageError::UnsafeName { problem, .. } => problem.code(),
            PackageError::Symlink { .. } => "zip.symlink",
            PackageError::Encrypted { .. } => "zip.encrypted",
            PackageError::Duplicate { .. } => "zip.duplicate",
            PackageError::PathConflict { .. } => "zip.path_conflict",
            PackageError::Overlap { .. } => "zip.overlap",
            PackageError::TooManyEntries { .. } => "zip.too_many_entries",
            PackageError::TooLarge { .. } => "zip.too_large",
            PackageError::Ratio { .. } => "zip.ratio",
            PackageError::Crc { .. } => "zip.crc",
            PackageError::Size { .. } => "zip.size",
            PackageError::Method { .. } => "zip.method",
            PackageError::Layout { .. } => "package.layout",
            PackageError::Manifest { .. } => "package.manifest",
            PackageError::Destination { .. } => "output.destination",
            PackageError::Write { .. } => "output.write",
        }
    }

    /// Shorthand for an I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        PackageError::Io {
            path: path.into(),
            action,
            source,
        }
    }
}
