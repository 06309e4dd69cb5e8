//! The bottom layer: reading packages' files safely (ZIP archives, folders, single files) with
//! names checked and sizes capped, their manifests, and the deterministic ZIP and folder
//! writer. It knows bytes, entries and digests, not assets.

pub mod error;
pub mod limits;
pub mod manifest;
pub mod names;
pub mod source;
pub mod write;
pub mod zipwrite;

pub use error::PackageError;
pub use limits::Limits;
pub use source::Source;
