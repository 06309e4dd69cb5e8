//! ServiceComb KIE's kind: one configuration item, identified by its key and label set
//! (platform-docs/kie-importing-configurations-api.txt).

use super::{KindRules, kind};

/// Every KIE kind.
pub const KINDS: &[KindRules] = &[kind(
    "kie",
    "config",
    "a KIE configuration item (key, value and labels)",
    &[],
    None,
)];
