//! Caps that keep a hostile package from exhausting the machine.

/// Limits applied when a package is opened. Every one can be raised from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most entries a package may hold.
    pub max_entries: u64,
    /// Most bytes all entries may inflate to, together.
    pub max_total_size: u64,
    /// Highest inflate ratio accepted for an entry larger than [`Limits::RATIO_FLOOR`].
    pub max_ratio: u64,
}

impl Limits {
    /// Entries smaller than this are not ratio-checked: they cannot fill a disk.
    pub const RATIO_FLOOR: u64 = 1 << 20;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 1_000_000,
            max_total_size: 32 << 30,
            max_ratio: 200,
        }
    }
}
