//! The error a command ends with, and the exit code it maps to.

use std::path::PathBuf;

use thiserror::Error;

use crate::package::PackageError;

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

impl Error {
    /// The stable code printed as `error[CODE]`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Package(e) => e.code(),
            Error::Spec(e) => e.code(),
            Error::Usage(_) => "usage",
            Error::Io { .. } => "io",
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        exit::BAD_INPUT
    }
}
