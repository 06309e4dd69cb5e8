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
        if let Some(d) = self.stored.get(entry.slot) {
            return Ok(d);
        }
        let d = match self.with_raw_reader(entry, |r| hash_reader(r).map(|(d, _)| d)) {
            Some(r) => r.map_err(|e| match e {
                CopyError::Read(e) => e,
                CopyError::Write(e) => PackageError::io(&self.path, "cannot read", e),
            })?,
            None => self.digest(entry)?,
        };
        self.stored.set(entry.slot, d);
        Ok(d)
    }

    /// The stored digest of an entry if it was already taken.
    pub fn known_stored(&self, entry: &Entry) -> Option<Digest> {
        self.stored.get(entry.slot)
    }

    /// What identifies an entry's bytes in a plan: the content digest when it was taken,
    /// else the stored digest when that was.
    pub fn identity(&self, entry: &Entry) -> Option<Digest> {
        self.known_digest(entry)
            .or_else(|| self.stored.get(entry.slot))
    }

    /// Records the content digest the package's manifest lists for an entry.
    pub fn remember_listed(&self, entry: &Entry, listed: Digest) {
        self.listed.set(entry.slot, listed);
    }

    /// The content digest to record when the entry is copied unchanged: the one taken from
    /// its bytes, else the manifest's, else taken now.
    pub fn output_digest(&self, entry: &Entry) -> Result<Digest, PackageError> {
        match self
            .known_digest(entry)
            .or_else(|| self.listed.get(entry.slot))
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

/// One digest per entry, most never taken (the stored digests of documents, which are hashed
/// by content as they are read; the manifest's, which few packages carry): the cells are made
/// for the whole source when the first digest is set, not for every entry of every source.
pub(super) struct Sparse {
    len: usize,
    cells: std::sync::OnceLock<Box<[std::sync::OnceLock<Digest>]>>,
}

impl Sparse {
    pub(super) fn new(len: usize) -> Sparse {
        Sparse {
            len,
            cells: std::sync::OnceLock::new(),
        }
    }

    /// The digest of entry `slot`, if it was set. A slot is an entry of this source: any
    /// other is the caller's mistake, and panics (as indexing a list of cells did).
    pub(super) fn get(&self, slot: usize) -> Option<Digest> {
        assert!(slot < self.len, "entry {slot} of a source of {}", self.len);
        self.cells.get()?[slot].get().copied()
    }

    /// Sets the digest of entry `slot`; the first one set stays.
    pub(super) fn set(&self, slot: usize, digest: Digest) {
        assert!(slot < self.len, "entry {slot} of a source of {}", self.len);
        let cells = self
            .cells
            .get_or_init(|| (0..self.len).map(|_| std::sync::OnceLock::new()).collect());
        let _ = cells[slot].set(digest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_cells_keep_the_first_digest_of_each_slot() {
        let cells = Sparse::new(3);
        assert_eq!(cells.get(1), None, "nothing set yet");
        cells.set(1, Digest::of(b"one"));
        cells.set(1, Digest::of(b"again"));
        assert_eq!(cells.get(1), Some(Digest::of(b"one")));
        assert_eq!(cells.get(0), None);
        assert_eq!(cells.get(2), None);
        cells.set(2, Digest::of(b"two"));
        assert_eq!(cells.get(2), Some(Digest::of(b"two")));
        assert_eq!(cells.get(1), Some(Digest::of(b"one")));
    }

    #[test]
    #[should_panic(expected = "entry 3 of a source of 3")]
    fn a_slot_past_the_end_is_a_mistake() {
        Sparse::new(3).get(3);
    }
}
