//! Field-level differences between two JSON documents, and line differences between two
//! texts, for people reviewing a plan.
//!
//! Objects are compared key by key (a key's order is not a change); arrays element by
//! element: the common start and end are set aside, and what is left is matched by longest
//! common subsequence (Myers, through the `similar` crate) when each side has at most
//! [`MATCHED_ELEMENTS`] elements, else position by position, so a huge array costs linear
//! time and memory. Nothing here reads a clock: the same documents give the same changes.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use similar::{Algorithm, DiffOp, TextDiff};

use crate::secrets::credentials;

/// Arrays whose differing middle is longer than this on either side are compared position by
/// position instead of by longest common subsequence.
pub const MATCHED_ELEMENTS: usize = 2_000;

/// What happened at one place of a document.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// The place is new.
    Added,
    /// The place is gone.
    Removed,
    /// The place holds another value.
    Changed,
}

impl Op {
    /// The sign shown before the change: `+`, `-`, `~`.
    pub fn sign(self) -> char {
        match self {
            Op::Added => '+',
            Op::Removed => '-',
            Op::Changed => '~',
        }
    }
}

/// One change: where (a JSON pointer), what happened, the values before and after, and the
/// step of the promotion that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// JSON pointer of the place (`""` is the whole document).
    pub pointer: String,
    /// Added, removed or changed.
    pub op: Op,
    /// The value before (absent when added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The value after (absent when removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    /// What made the change: `source` (the value as the source package has it), `rename`,
    /// `override at FILE:LINE:COL`, `strip`, `hook SCRIPT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Whether the place is a credential, judged while both documents are at hand: by its
    /// name or a parent's, or as the value of a credential pair on either side (so an element
    /// that moved within an array is judged by its own pair, not by the one now at its index).
    /// Whoever shows the change masks its values.
    #[serde(skip)]
    pub sensitive: bool,
}

/// The changes that turn `old` into `new`, in document order.
pub fn json(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk(&mut String::new(), old, new, &|| false, &mut out);
    out
}

/// Whether the place being walked is a credential, asked only when a change is found there
/// (most places are equal, and judging every key would cost more than the diff).
type Secret<'a> = &'a dyn Fn() -> bool;

fn walk(at: &mut String, old: &Value, new: &Value, secret: Secret<'_>, out: &mut Vec<Change>) {
    let member = |k: &str| secret() || credentials::is_secret_member(k, [Some(old), Some(new)]);
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let len = at.len();
                push_key(at, k);
                match b.get(k) {
                    Some(vb) => walk(at, va, vb, &|| member(k), out),
                    None => out.push(removed(at, va, member(k))),
                }
                at.truncate(len);
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    let len = at.len();
                    push_key(at, k);
                    out.push(added(at, vb, member(k)));
                    at.truncate(len);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let secret = Elements {
                secret,
                parents: [old, new],
            };
            arrays(at, a, b, secret, out)
        }
        _ if old == new => {}
        _ => out.push(Change {
            pointer: at.clone(),
            op: Op::Changed,
            old: Some(old.clone()),
            new: Some(new.clone()),
            by: None,
            sensitive: secret(),
        }),
    }
}

/// Whether the elements of two arrays are credentials: all of them when the arrays are, and
/// the value of a `[name, value]` pair naming one.
#[derive(Clone, Copy)]
struct Elements<'a> {
    secret: Secret<'a>,
    parents: [&'a Value; 2],
}

impl Elements<'_> {
    fn at(self, index: usize) -> bool {
        (self.secret)() || credentials::is_secret_element(index, self.parents.map(Some))
    }
}

fn arrays(at: &mut String, a: &[Value], b: &[Value], secret: Elements<'_>, out: &mut Vec<Change>) {
    let start = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let end = a[start..]
        .iter()
        .rev()
        .zip(b[start..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[start..a.len() - end], &b[start..b.len() - end]);
    if am.len() > MATCHED_ELEMENTS || bm.len() > MATCHED_ELEMENTS {
        replaced(at, am, bm, start, start, secret, out);
        return;
    }
    // Elements compared as their JSON text: equal values have equal text.
    let text = |v: &[Value]| -> Vec<String> { v.iter().map(Value::to_string).collect() };
    let (ta, tb) = (text(am), text(bm));
    for op in similar::capture_diff_slices(Algorithm::Myers, &ta, &tb) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                for (i, v) in am.iter().enumerate().skip(old_index).take(old_len) {
                    let i = start + i;
                    element(at, i, |p| out.push(removed(p, v, secret.at(i))));
                }
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for (i, v) in bm.iter().enumerate().skip(new_index).take(new_len) {
                    let i = start + i;
                    element(at, i, |p| out.push(added(p, v, secret.at(i))));
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => replaced(
                at,
                &am[old_index..old_index + old_len],
                &bm[new_index..new_index + new_len],
                start + old_index,
                start + new_index,
                secret,
                out,
            ),
        }
    }
}

/// Elements of `a` (from index `from_a`) replaced by those of `b` (from `from_b`): paired
/// position by position, the rest removed or added. A pair is found at the new index.
fn replaced(
    at: &mut String,
    a: &[Value],
    b: &[Value],
    from_a: usize,
    from_b: usize,
    secret: Elements<'_>,
    out: &mut Vec<Change>,
) {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let hide = || secret.at(from_a + i) || secret.at(from_b + i);
        element(at, from_b + i, |p| walk(p, x, y, &hide, out));
    }
    for (i, x) in a.iter().enumerate().skip(b.len()) {
        let i = from_a + i;
        element(at, i, |p| out.push(removed(p, x, secret.at(i))));
    }
    for (i, y) in b.iter().enumerate().skip(a.len()) {
        let i = from_b + i;
        element(at, i, |p| out.push(added(p, y, secret.at(i))));
    }
}

fn element(at: &mut String, index: usize, f: impl FnOnce(&mut String)) {
    let len = at.len();
    at.push('/');
    at.push_str(&index.to_string());
    f(at);
    at.truncate(len);
}

fn push_key(at: &mut String, key: &str) {
    at.push('/');
    for c in key.chars() {
        match c {
            '~' => at.push_str("~0"),
            '/' => at.push_str("~1"),
            c => at.push(c),
        }
    }
}

fn added(at: &str, v: &Value, sensitive: bool) -> Change {
    Change {
        pointer: at.to_string(),
        op: Op::Added,
        old: None,
        new: Some(v.clone()),
        by: None,
        sensitive,
    }
}

fn removed(at: &str, v: &Value, sensitive: bool) -> Change {
    Change {
        pointer: at.to_string(),
        op: Op::Removed,
        old: Some(v.clone()),
        new: None,
        by: None,
        sensitive,
    }
}

/// Whether the change at `pointer` lies at or below `place`, or contains it.
pub fn touches(pointer: &str, place: &str) -> bool {
    let below = |a: &str, b: &str| a == b || (a.starts_with(b) && a[b.len()..].starts_with('/'));
    below(pointer, place) || below(place, pointer)
}

/// The lines of `new` that differ from `old`, unified style: `- ` and `+ ` lines with `radius`
/// lines of context, `  ...` where equal lines are left out. Linear in memory.
pub fn lines(old: &str, new: &str, radius: usize) -> String {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .diff_lines(old, new);
    let groups = diff.grouped_ops(radius);
    let mut out = String::new();
    let (total_old, total_new) = (diff.old_slices().len(), diff.new_slices().len());
    let mut shown_to = (0, 0);
    for group in &groups {
        let first = group.first().expect("groups are not empty");
        if first.old_range().start > shown_to.0 || first.new_range().start > shown_to.1 {
            out.push_str("  ...\n");
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Equal => ' ',
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                };
                let line = change.value();
                let line = line.strip_suffix('\n').unwrap_or(line);
                let line = line.strip_suffix('\r').unwrap_or(line);
                out.push(sign);
                out.push(' ');
                out.push_str(line);
                out.push('\n');
            }
            shown_to = (op.old_range().end, op.new_range().end);
        }
    }
    if !groups.is_empty() && (shown_to.0 < total_old || shown_to.1 < total_new) {
        out.push_str("  ...\n");
    }
    out
}

#[cfg(test)]
mod tests;
