//! The digests of a source's entries: of their content (inflated) and of their stored bytes,
//! each taken once and remembered, and the one a manifest lists.

use crate::archive::error::PackageError;
use crate::digest::{Digest, hash_reader};

use super::{CopyError, Entry, Source};

impl Source {
    /// The SHA-256 of an entry's inflated bytes, taken once and remembered.
    pub fn digest(&self, entry: &Entry) -> Result<Digest, PackageError> {
        if let Some(d) = self.digests[entry.slot].get() {
            return Ok(*d);
        }
        let d = self
            .with_reader(entry, |r| hash_reader(r).map(|(d, _)| d))
            .map_err(|e| match e {
                CopyError::Read(e) => e,
                CopyError::Write(e) => PackageError::io(&self.path, "cannot read", e),
            })?;
        let _ = self.digests[entry.slot].set(d);
        Ok(d)
    }

    /// The digest of an entry if it was already taken.
    pub fn known_digest(&self, entry: &Entry) -> Option<Digest> {
        self.digests[entry.slot].get().copied()
    }

    /// The SHA-256 of an entry's stored bytes, taken once and remembered: the compressed
    /// stream of a ZIP entry (read without inflating), the content of a plain file.
    pub fn stored_digest(&self, entry: &Entry) -> Result<Digest, PackageError> {
        if let Some(d) = self.stored[entry.slot].get() {
            return Ok(*d);
        }
        let d = match self.with_raw_reader(entry, |r| hash_reader(r).map(|(d, _)| d)) {
            Some(r) => r.map_err(|e| match e {
                CopyError::Read(e) => e,
                CopyError::Write(e) => PackageError::io(&self.path, "cannot read", e),
            })?,
            None => self.digest(entry)?,
        };
        let _ = self.stored[entry.slot].set(d);
        Ok(d)
    }

    /// The stored digest of an entry if it was already taken.
    pub fn known_stored(&self, entry: &Entry) -> Option<Digest> {
        self.stored[entry.slot].get().copied()
    }

    /// What identifies an entry's bytes in a plan: the content digest when it was taken,
    /// else the stored digest when that was.
    pub fn identity(&self, entry: &Entry) -> Option<Digest> {
        self.known_digest(entry)
            .or_else(|| self.stored[entry.slot].get().copied())
    }

    /// Records the content digest the package's manifest lists for an entry.
    pub fn remember_listed(&self, entry: &Entry, listed: Digest) {
        let _ = self.listed[entry.slot].set(listed);
    }

    /// The content digest to record when the entry is copied unchanged: the one taken from
    /// its bytes, else the manifest's, else taken now.
    pub fn output_digest(&self, entry: &Entry) -> Result<Digest, PackageError> {
        match self
            .known_digest(entry)
            .or_else(|| self.listed[entry.slot].get().copied())
        {
            Some(d) => Ok(d),
            None => self.digest(entry),
        }
    }

    /// Remembers the digest of bytes just read whole from `entry`.
    pub fn remember_digest(&self, entry: &Entry, bytes: &[u8]) {
        let _ = self.digests[entry.slot].set(Digest::of(bytes));
    }
}
