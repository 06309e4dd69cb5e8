//! enebular's kinds: the three asset types of a project export, each versioned
//! (platform-docs/enebular-asset-import-export.ja.txt, フォルダ構成 and settings.jsonの内容).
//! A flow's use of a private node is found in its `flow.json`, not in a document field (see
//! the enebular layout), so no kind declares a reference.

use super::{KindRules, kind};

/// Every enebular kind, sorted by name.
pub const KINDS: &[KindRules] = &[
    kind("enebular", "file", "an enebular uploaded file", &[], None).versioned(),
    kind("enebular", "flow", "an enebular flow (Node-RED)", &[], None).versioned(),
    kind(
        "enebular",
        "privatenode",
        "an enebular private node (an npm package)",
        &[],
        None,
    )
    .versioned(),
];
