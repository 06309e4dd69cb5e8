//! hoist promotes exported integration assets between environments (dev → test → prod).
//!
//! The pipeline: load packages ([`package`]) into assets ([`model`]), select, transform and
//! resolve them against a target, and write packages back deterministically. The command
//! line ([`cli`]) is a thin layer over this library.

#![deny(missing_docs)]

/// `eprintln!` for text that may hold secrets or control characters from inputs: masked and
/// escaped as everything hoist prints.
macro_rules! note {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::secrets::for_people(&format!($($arg)*)))
    };
}

pub mod archive;
pub mod cli;
pub mod diff;
pub mod digest;
pub mod engine;
pub mod error;
pub mod fsutil;
pub mod fuzzing;
pub mod hooks;
pub mod jsontext;
pub mod model;
pub mod package;
pub mod plan;
pub mod platform;
pub mod progress;
pub mod report;
pub mod secrets;
pub mod spec;
pub mod text;
pub mod yaml;

pub use cli::{Cli, run};
pub use error::Error;
