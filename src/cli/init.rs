//! `hoist init` and `hoist schema`.

use std::path::Path;
use std::process::ExitCode;

use crate::error::{Error, exit};

/// The starter spec `hoist init` writes.
pub const STARTER: &str = include_str!("starter.yaml");

/// `hoist init`.
pub fn init(path: &Path, force: bool) -> Result<ExitCode, Error> {
    if path.exists() && !force {
        return Err(Error::Usage(format!(
            "{} exists; pass --force to replace it",
            path.display()
        )));
    }
    crate::fsutil::write_atomic(path, STARTER.as_bytes()).map_err(|e| Error::Io {
        path: path.into(),
        action: "cannot write",
        source: e,
    })?;
    println!(
        "wrote {}: edit sources, select and conflicts, then run hoist plan {}",
        path.display(),
        path.display()
    );
    Ok(ExitCode::from(exit::OK))
}

/// `hoist schema`.
pub fn schema(what: super::SchemaOf) -> Result<ExitCode, Error> {
    use super::SchemaOf;
    let schema = match what {
        SchemaOf::Spec => crate::spec::schema(),
        SchemaOf::Plan => schemars::schema_for!(crate::plan::Plan).to_value(),
        SchemaOf::Report => schemars::schema_for!(crate::report::Report).to_value(),
        SchemaOf::Errors => schemars::schema_for!(super::ErrorsJson).to_value(),
        SchemaOf::Diff => schemars::schema_for!(crate::plan::drift::Drift).to_value(),
    };
    let mut text = serde_json::to_string_pretty(&schema).expect("schemas serialise");
    text.push('\n');
    print!("{text}");
    Ok(ExitCode::from(exit::OK))
}
