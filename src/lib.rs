//! hoist promotes exported integration assets between environments (dev → test → prod).
//!
//! The pipeline: load packages ([`package`]) into assets ([`model`]), select, transform and
//! resolve them against a target, and write packages back deterministically. The command
//! line ([`cli`]) is a thin layer over this library.

#![deny(missing_docs)]

pub mod cli;
pub mod digest;
pub mod engine;
pub mod error;
pub mod fsutil;
pub mod fuzzing;
pub mod hooks;
pub mod model;
pub mod outdir;
pub mod package;
pub mod plan;
pub mod progress;
pub mod report;
pub mod spec;
pub mod text;

pub use cli::{Cli, run};
pub use error::Error;
