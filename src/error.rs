//! The error a command ends with, and the exit code it maps to.

use std::path::PathBuf;

use thiserror::Error;

use crate::archive::PackageError;

/// Exit codes, as documented in the README.
pub mod exit {
    /// Done.
    pub const OK: u8 = 0;
    /// Some assets failed, a policy aborted, or a check found problems.
    pub const FAILED: u8 = 1;
    /// Bad input: spec, package or arguments.
    pub const BAD_INPUT: u8 = 2;
    /// `plan --exit-code` found changes.
    pub const CHANGES: u8 = 3;
}

/// One problem as `--json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ErrorEntry {
    /// Stable code (`hoist` documents each).
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// The file at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Line in that file, 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Column in that line, 1-based, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// Why a command could not do its work.
#[derive(Debug, Error)]
pub enum Error {
    /// A package could not be read or written.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The spec has problems; every one is listed.
    #[error("{0}")]
    Spec(crate::spec::SpecErrors),
    /// The arguments do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// Writing outputs failed before any was moved into place.
    #[error(
        "{0}\nnothing was written: every output of this run was staged, and none was moved into place"
    )]
    NothingWritten(Box<Error>),
    /// Moving outputs into place failed part way.
    #[error("{cause}\nonly some outputs were moved into place; the report lists which")]
    PartlyWritten {
        /// The failure.
        cause: Box<Error>,
        /// The outputs moved into place before it, as the plan shows them.
        written: Vec<String>,
    },
    /// A saved plan no longer matches its inputs.
    #[error("{0}")]
    StalePlan(String),
    /// Another run holds the output folder's lock.
    #[error(
        "{}: another hoist run (apply or export) is writing to this folder{}; nothing was written, run again once it has finished",
        crate::fsutil::normalize(dir).display(),
        if holder.is_empty() { String::new() } else { format!(" ({holder})") }
    )]
    Locked {
        /// The output folder.
        dir: PathBuf,
        /// What the lock file says about its holder.
        holder: String,
    },
    /// Something in the output folder that hoist would have to trust is not what a run of
    /// hoist leaves there (a planted link, a crafted journal); nothing was moved or deleted.
    #[error(
        "{}: {detail}; nothing was moved or deleted",
        crate::fsutil::normalize(path).display()
    )]
    Untrusted {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it, and how to go on.
        detail: String,
    },
    /// A file other than a package could not be read or written.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

impl From<crate::spec::LoadError> for Error {
    fn from(e: crate::spec::LoadError) -> Self {
        match e {
            crate::spec::LoadError::Io { path, source } => Error::Io {
                path,
                action: "cannot read the spec",
                source,
            },
            crate::spec::LoadError::Invalid(errors) => Error::Spec(errors),
        }
    }
}

impl Error {
    /// The stable code printed as `error[CODE]`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Package(e) => e.code(),
            Error::Spec(e) => e.code(),
            Error::NothingWritten(e) => e.code(),
            Error::PartlyWritten { cause, .. } => cause.code(),
            Error::StalePlan(_) => "plan.stale",
            Error::Usage(_) => "usage",
            Error::Io { .. } => "io",
            Error::Locked { .. } => "output.locked",
            Error::Untrusted { .. } => "output.untrusted",
        }
    }

    /// The error as printed on stderr: `error[CODE]: message`, or for a spec every problem
    /// at its place.
    pub fn render(&self) -> String {
        match self {
            Error::Spec(e) => e.to_string(),
            Error::NothingWritten(inner) => format!(
                "{}\nnothing was written: every output of this run was staged, and none was moved into place",
                inner.render()
            ),
            other => format!("error[{}]: {other}", other.code()),
        }
    }

    /// The error as data, for `--json`: one entry per problem (every problem of a spec, at its
    /// file, line and column).
    pub fn diagnostics(&self) -> Vec<ErrorEntry> {
        match self {
            Error::Spec(e) => e
                .diagnostics
                .iter()
                .map(|d| ErrorEntry {
                    code: d.code.to_string(),
                    message: d.message.clone(),
                    file: Some(e.path.display().to_string()),
                    line: d.span.map(|s| s.start.line),
                    column: d.span.map(|s| s.start.col),
                    help: d.help.clone(),
                })
                .collect(),
            Error::NothingWritten(inner) => {
                let mut all = inner.diagnostics();
                for d in &mut all {
                    d.message.push_str(
                        "; nothing was written: every output of this run was staged, and none was moved into place",
                    );
                }
                all
            }
            other => vec![ErrorEntry {
                code: other.code().to_string(),
                message: other.to_string(),
                file: None,
                line: None,
                column: None,
                help: None,
            }],
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::NothingWritten(_) | Error::PartlyWritten { .. } => exit::FAILED,
            _ => exit::BAD_INPUT,
        }
    }
}
