//! The KIE server's side of an upload: its rules for an item, and what an upload does to the
//! items it holds.

use std::collections::BTreeMap;

use serde_json::Value;

use super::super::layout::KvDoc;
use crate::spec::KieMode;

/// 400001: the item breaks a server rule.
pub const INVALID: u32 = 400_001;
/// 400004: a duplicate under `skip`.
pub const SKIPPED: u32 = 400_004;
/// 400005: a duplicate, or any item after it, under `abort`.
pub const STOPPED: u32 = 400_005;

/// What became of one uploaded item.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadResult {
    /// Created, as now held.
    Created(Value),
    /// Updated (force): as held before, and as now held.
    Updated {
        /// The item as the server held it before.
        before: Value,
        /// The item as the server holds it now.
        after: Value,
    },
    /// Refused: the server's code and message, and what to do about it.
    Failed(u32, String, &'static str),
}

// The server's rules, as the KIE server (apache/servicecomb-kie) declares them: the
// `validate` tags of `KVDoc` in pkg/model/db_schema.go, the patterns registered in
// pkg/validator/rule.go, and the message format of go-chassis/foundation's validator
// (`validate failed, field: KVDoc.<Field>, rule: <rule>`, several joined with ` | `). The
// upload applies them after defaulting a missing status to `disabled`
// (server/service/kv/kv_svc.go, `Create`). Lengths count characters, as the validator does.

/// `key`: `min=1,max=2048,key`.
const KEY_MAX: usize = 2048;
/// The pattern of the `key` rule (the server's `commonName` pattern).
pub const KEY_RULE: &str = r"^[a-zA-Z0-9]*$|^[a-zA-Z0-9][a-zA-Z0-9_\-.]*[a-zA-Z0-9]$";
/// `value`: `max=131072` (128 K).
const VALUE_MAX: usize = 131_072;
/// The pattern of the `valueType` rule.
pub const VALUE_TYPE_RULE: &str = "^$|^(ini|json|text|yaml|properties|xml)$";
const VALUE_TYPES: [&str; 6] = ["ini", "json", "text", "yaml", "properties", "xml"];
/// `check`: `max=1048576` and ASCII only.
pub(super) const CHECK_MAX: usize = 1_048_576;
/// The pattern of the `check` rule.
pub const CHECK_RULE: &str = r"^[\x00-\x7F]*$";
/// The pattern of the `kvStatus` rule.
pub const STATUS_RULE: &str = "^$|^(enabled|disabled)$";
/// `labels`: `max=6,dive,keys,labelK,endkeys,labelV`.
const LABELS_MAX: usize = 6;
/// The pattern of the `labelK` rule.
pub const LABEL_KEY_RULE: &str =
    r"^[a-zA-Z0-9]{1,32}$|^[a-zA-Z0-9][a-zA-Z0-9_\-.]{1,30}[a-zA-Z0-9]$";
/// The pattern of the `labelV` rule.
pub const LABEL_VALUE_RULE: &str =
    r"^[a-zA-Z0-9]{0,160}$|^[a-zA-Z0-9][a-zA-Z0-9_\-.]{0,158}[a-zA-Z0-9]$";

/// Whether `s` is `min..=max` ASCII letters and digits.
fn alnum(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether `s` is a letter or digit, `min..=max` letters, digits, `_`, `-` or `.`, and a
/// letter or digit.
fn framed(s: &str, min: usize, max: usize) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && (min..=max).contains(&(b.len() - 2))
        && b[1..b.len() - 1]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// [`KEY_RULE`].
fn key_ok(s: &str) -> bool {
    alnum(s, 0, usize::MAX) || framed(s, 0, usize::MAX)
}

/// [`LABEL_KEY_RULE`].
fn label_key_ok(s: &str) -> bool {
    alnum(s, 1, 32) || framed(s, 1, 30)
}

/// [`LABEL_VALUE_RULE`].
fn label_value_ok(s: &str) -> bool {
    alnum(s, 0, 160) || framed(s, 0, 158)
}

/// The server's checks of one item (after the status default): `Err` holds the server's
/// `error_message`, naming every field that breaks a rule, in the order of `KVDoc`'s fields
/// (the labels by key).
pub fn validate(item: &KvDoc) -> Result<(), String> {
    let mut failed: Vec<String> = Vec::new();
    let mut fail =
        |field: &str, rule: &str| failed.push(format!("field: KVDoc.{field}, rule: {rule}"));
    let count = |s: &str| s.chars().count();
    let key = item.key.as_str();
    if count(key) < 1 {
        fail("Key", "min = 1");
    } else if count(key) > KEY_MAX {
        fail("Key", &format!("max = {KEY_MAX}"));
    } else if !key_ok(key) {
        fail("Key", KEY_RULE);
    }
    if count(item.field("value").unwrap_or("")) > VALUE_MAX {
        fail("Value", &format!("max = {VALUE_MAX}"));
    }
    if let Some(t) = item.field("value_type")
        && !t.is_empty()
        && !VALUE_TYPES.contains(&t)
    {
        fail("ValueType", VALUE_TYPE_RULE);
    }
    if let Some(check) = item.field("check") {
        if count(check) > CHECK_MAX {
            fail("Checker", &format!("max = {CHECK_MAX}"));
        } else if !check.is_ascii() {
            fail("Checker", CHECK_RULE);
        }
    }
    if let Some(s) = item.field("status")
        && !matches!(s, "" | "enabled" | "disabled")
    {
        fail("Status", STATUS_RULE);
    }
    if item.labels.len() > LABELS_MAX {
        fail("Labels", &format!("max = {LABELS_MAX}"));
    } else {
        for (k, v) in &item.labels {
            if !label_key_ok(k) {
                fail(&format!("Labels[{k}]"), LABEL_KEY_RULE);
            } else if !label_value_ok(v) {
                fail(&format!("Labels[{k}]"), LABEL_VALUE_RULE);
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("validate failed, {}", failed.join(" | ")))
    }
}

/// Uploads `items` into `state`, in order, and says what became of each.
pub fn upload(state: &mut Vec<KvDoc>, items: &[KvDoc], mode: KieMode) -> Vec<UploadResult> {
    let mut index: BTreeMap<(String, BTreeMap<String, String>), usize> = state
        .iter()
        .enumerate()
        .map(|(i, kv)| ((kv.key.clone(), kv.labels.clone()), i))
        .collect();
    let mut stopped = false;
    // Identities this upload created: a duplicate of one is earlier in the same file.
    let mut created_here: std::collections::BTreeSet<(String, BTreeMap<String, String>)> =
        std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if stopped {
            out.push(UploadResult::Failed(
                STOPPED,
                "stop overriding kvs after reaching the duplicate kv".into(),
                STOPPED_HINT,
            ));
            continue;
        }
        let mut kv = item.clone();
        if kv.field("status").is_none_or(str::is_empty) {
            kv.doc
                .insert("status".into(), Value::String("disabled".into()));
        }
        if let Err(m) = validate(&kv) {
            out.push(UploadResult::Failed(INVALID, m, INVALID_HINT));
            continue;
        }
        let id = (kv.key.clone(), kv.labels.clone());
        let in_file = created_here.contains(&id);
        match index.get(&id) {
            Some(&at) => match mode {
                KieMode::Skip => out.push(UploadResult::Failed(
                    SKIPPED,
                    "skip overriding duplicate kvs".into(),
                    if in_file {
                        SKIPPED_FILE_HINT
                    } else {
                        SKIPPED_TARGET_HINT
                    },
                )),
                KieMode::Abort => {
                    stopped = true;
                    out.push(UploadResult::Failed(
                        STOPPED,
                        "stop overriding kvs after reaching the duplicate kv".into(),
                        if in_file {
                            STOPPED_FILE_HINT
                        } else {
                            STOPPED_HINT
                        },
                    ));
                }
                KieMode::Force => {
                    let held = &mut state[at];
                    let before = Value::Object(held.doc.clone());
                    let value = kv.field("value").unwrap_or("");
                    if !value.is_empty() {
                        held.doc
                            .insert("value".into(), Value::String(value.to_string()));
                    }
                    let status = kv.field("status").unwrap_or("disabled").to_string();
                    held.doc.insert("status".into(), Value::String(status));
                    out.push(UploadResult::Updated {
                        before,
                        after: Value::Object(held.doc.clone()),
                    });
                }
            },
            None => {
                if kv.field("value_type").is_none_or(str::is_empty) {
                    kv.doc
                        .insert("value_type".into(), Value::String("text".into()));
                }
                if !kv.doc.contains_key("value") {
                    kv.doc.insert("value".into(), Value::String(String::new()));
                }
                index.insert(id.clone(), state.len());
                created_here.insert(id);
                out.push(UploadResult::Created(Value::Object(kv.doc.clone())));
                state.push(kv);
            }
        }
    }
    out
}

/// What to do about a refused item.
const INVALID_HINT: &str = "fix the item to the server's rules: a key of letters, digits, `_`, `-` and `.` that starts and ends with a letter or digit (at most 2048), a value of at most 131072 characters, status enabled or disabled, at most 6 labels whose keys (1 to 32) and values (0 to 160) follow the same pattern";
const SKIPPED_TARGET_HINT: &str =
    "the target holds this key with these labels; use kie.override: force to update it";
const SKIPPED_FILE_HINT: &str = "the same key with the same labels is earlier in this file (not in the target): remove one of them, or check the renames and overrides that made them one";
const STOPPED_HINT: &str =
    "kie.override: abort stops at the first duplicate; earlier items stay imported";
const STOPPED_FILE_HINT: &str = "kie.override: abort stops at the first duplicate, here the same key with the same labels earlier in this file (not in the target); earlier items stay imported";

/// The fields the server sets itself (`KVDoc` in apache/servicecomb-kie pkg/model/db_schema.go,
/// and the import API's response, ../shared docs "Importing Configurations", Table 6): an
/// export or a list snapshot carries them, an upload does not need them, and the server
/// replaces them; carried from one environment into another they would only mislead.
pub const SERVER_FIELDS: [&str; 8] = [
    "id",
    "create_revision",
    "update_revision",
    "create_time",
    "update_time",
    "label_format",
    "domain",
    "project",
];

/// Removes the fields the server sets itself; the pointers of those removed.
pub fn strip_server_fields(doc: &mut serde_json::Map<String, Value>) -> Vec<String> {
    SERVER_FIELDS
        .iter()
        .filter(|f| doc.shift_remove(**f).is_some())
        .map(|f| format!("/{f}"))
        .collect()
}

/// Gives the item the label `key: value`, as the import API's `label` parameter gives every
/// item it imports ("Importing Configurations", Table 2: the label in `{key}:{value}` form is
/// imported instead of none; the example response shows it added beside the body's labels).
/// Whether that changed the item.
pub fn add_label(doc: &mut serde_json::Map<String, Value>, key: &str, value: &str) -> bool {
    let labels = doc
        .entry("labels")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if labels.is_null() {
        *labels = Value::Object(serde_json::Map::new());
    }
    match labels {
        Value::Object(m) if m.get(key).and_then(Value::as_str) != Some(value) => {
            m.insert(key.to_string(), Value::String(value.to_string()));
            true
        }
        _ => false,
    }
}
