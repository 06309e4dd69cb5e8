//! What `asset:write` may write: files that fit the package beside the asset's other files.
//!
//! A written name must be a safe relative path, must not differ only in case from another file
//! or folder of the asset (a disk that ignores case would merge them), must not be a file
//! where another name needs a folder or the other way round (`a` and `a/b`), and must not take
//! the place of the asset's document where payload files sit beside it (enebular's
//! `settings.json`). A name that breaks a rule fails the asset, even if the script catches the
//! error; writing the same name again replaces the file.

use std::collections::{BTreeMap, HashMap};

use crate::model::Payload;

/// The files one transform call wrote, and what they must fit beside.
pub struct WriteSet {
    /// Written files by name.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Lowercased file or folder → (its name as written, whether it is a file).
    names: HashMap<String, (String, bool)>,
    /// The document's file name, when payload files sit beside it.
    reserved: Option<&'static str>,
    bytes: usize,
    limit: usize,
}

/// Why a write is refused: the asset's failure code and the message.
pub type Refusal = (super::HookFailure, String);

impl WriteSet {
    /// An empty set beside an asset's payload `files`, with the name they may not take
    /// (the document's own, where payloads sit beside it); the files written may take at most
    /// `limit` bytes together.
    pub fn new(
        files: &BTreeMap<String, Payload>,
        reserved: Option<&'static str>,
        limit: usize,
    ) -> Self {
        let mut set = WriteSet {
            files: BTreeMap::new(),
            names: HashMap::new(),
            reserved,
            bytes: 0,
            limit,
        };
        for name in files.keys() {
            for (part, is_file) in parts(name) {
                set.names
                    .entry(part.to_lowercase())
                    .or_insert_with(|| (part.to_string(), is_file));
            }
        }
        set
    }

    /// Records a write of `bytes` as `raw`, or says why it cannot be written.
    pub fn add(&mut self, raw: &[u8], bytes: &[u8]) -> Result<(), Refusal> {
        let shown = String::from_utf8_lossy(raw);
        let name = match crate::archive::names::check(raw) {
            Ok(ok) if !ok.ends_with('/') => ok.to_string(),
            _ => {
                return Err((
                    super::HookFailure::BadWrite,
                    format!("{shown:?} is not a safe relative file name"),
                ));
            }
        };
        if let Some(doc) = self.reserved {
            let first = name.split('/').next().unwrap_or_default();
            if first.to_lowercase() == doc {
                return Err((
                    super::HookFailure::BadWrite,
                    format!("{name:?} would take the place of the asset's {doc}"),
                ));
            }
        }
        for (part, is_file) in parts(&name) {
            match self.names.get(&part.to_lowercase()) {
                None => {}
                Some((seen, _)) if seen != part => {
                    let what = if is_file { "" } else { "folder " };
                    return Err((
                        super::HookFailure::BadWrite,
                        format!(
                            "{name:?} cannot be written: {what}{part:?} differs only in case from {seen:?}"
                        ),
                    ));
                }
                Some((_, true)) if !is_file => {
                    return Err((
                        super::HookFailure::BadWrite,
                        format!("{name:?} cannot be written: {part:?} is a file"),
                    ));
                }
                Some((_, false)) if is_file => {
                    return Err((
                        super::HookFailure::BadWrite,
                        format!("{name:?} cannot be written: it is a folder of the asset"),
                    ));
                }
                Some(_) => {}
            }
        }
        let replaced = self.files.get(&name).map_or(0, Vec::len);
        let total = self.bytes - replaced + bytes.len();
        if total > self.limit {
            return Err((
                super::HookFailure::Memory,
                format!(
                    "{name:?}: the files written come to more than the memory budget ({} MiB)",
                    self.limit >> 20
                ),
            ));
        }
        for (part, is_file) in parts(&name) {
            self.names
                .entry(part.to_lowercase())
                .or_insert_with(|| (part.to_string(), is_file));
        }
        self.bytes = total;
        self.files.insert(name, bytes.to_vec());
        Ok(())
    }

    /// The bytes written as `name`, if any.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }
}

/// The folders of `name` (`a`, `a/b` for `a/b/c`) and then `name` itself, each with whether it
/// is the file.
fn parts(name: &str) -> impl Iterator<Item = (&str, bool)> {
    name.match_indices('/')
        .map(move |(i, _)| (&name[..i], false))
        .chain(std::iter::once((name, true)))
}

/// Payload sizes the host reads for a script must fit the memory budget.
pub fn readable(file: &str, payload: &Payload, limit: usize) -> Result<(), String> {
    let size = payload.size();
    if size > limit as u64 {
        return Err(format!(
            "asset:read: {file:?} is {size} bytes, more than the memory budget ({} MiB)",
            limit >> 20
        ));
    }
    Ok(())
}
