//! What must never be shown, and masking it.
//!
//! A value is secret when it came from the process environment through `${env:NAME}` (unless
//! the spec declares `NAME` plain), when an override the spec marks `secret: true` sets it, or
//! when it is a credential inside an enebular `sourceCode`. Every human and JSON output —
//! plan text and JSON, saved plans, `report.json`, error and warning messages, hook logs,
//! diffs — shows each occurrence of a secret, also inside a longer value, as [`MASK`].
//! Outputs meant for the platform (the packages) carry the real values, of course.
//!
//! [`Secrets`] is the one place masking is done. Besides the values a planning run masks in
//! its own plan, the command line keeps every secret it has met ([`remember`]) and passes all
//! it prints through [`scrub`], so a message built far from the plan cannot show one either.

pub mod credentials;

use std::borrow::Cow;
use std::sync::Mutex;

use serde_json::Value;

/// What a secret is shown as.
pub const MASK: &str = "***";
/// The shortest secret that can be masked reliably: a shorter one would be found inside
/// ordinary words and names, and masking those would show where it is.
pub const MIN_SECRET_CHARS: usize = 4;

/// A set of secret values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Longest first, so that a value is masked before a shorter one inside it; then sorted.
    values: Vec<String>,
}

impl Secrets {
    /// No secrets.
    pub fn new() -> Self {
        Secrets::default()
    }

    /// The credentials found in documents ([`credentials::collect`]), to mask by value: those
    /// shorter than [`MIN_SECRET_CHARS`] would hide ordinary words and are left to masking by
    /// place.
    pub fn of_found(values: impl IntoIterator<Item = String>) -> Self {
        let mut found = Secrets::new();
        for v in values {
            if v.chars().count() >= MIN_SECRET_CHARS {
                found.add(v);
            }
        }
        found
    }

    /// Adds a secret value (an empty one is ignored: there is nothing to mask), with the forms
    /// it takes when text holding it is escaped on the way to an output: JSON's and Rust's
    /// string escapes, Lua's `%q`, the escapes hoist shows control characters with, and the
    /// value without surrounding blanks (messages are trimmed). Each is masked like the value.
    pub fn add(&mut self, value: impl Into<String>) {
        let value = value.into();
        if value.is_empty() {
            return;
        }
        let quoted = |q: String| q[1..q.len() - 1].to_string();
        let mut forms = vec![
            quoted(serde_json::to_string(&value).expect("strings serialise")),
            quoted(format!("{value:?}")),
            lua_quoted(&value),
            crate::text::escape_controls(&value).into_owned(),
        ];
        let trimmed = value.trim();
        if trimmed.chars().count() >= MIN_SECRET_CHARS {
            forms.push(trimmed.to_string());
        }
        self.insert(value);
        for form in forms {
            self.insert(form);
        }
    }

    fn insert(&mut self, value: String) {
        let key = |s: &String| (std::cmp::Reverse(s.len()), s.clone());
        match self.values.binary_search_by_key(&key(&value), key) {
            Ok(_) => {}
            Err(at) => self.values.insert(at, value),
        }
    }

    /// Adds every value of `other`.
    pub fn extend(&mut self, other: &Secrets) {
        for v in &other.values {
            self.add(v.clone());
        }
    }

    /// The values, longest first.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether `text` is a secret, whole.
    pub fn is_one(&self, text: &str) -> bool {
        self.values.iter().any(|v| v == text)
    }

    /// Whether any secret appears in `text`.
    pub fn appears_in(&self, text: &str) -> bool {
        self.values.iter().any(|v| text.contains(v.as_str()))
    }

    /// `text` with every occurrence of a secret shown as [`MASK`]. Where two secrets overlap,
    /// the one starting first wins, and of those the longest.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.appears_in(text) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while !rest.is_empty() {
            for v in &self.values {
                if rest.starts_with(v.as_str()) {
                    out.push_str(MASK);
                    rest = &rest[v.len()..];
                    continue 'scan;
                }
            }
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        Cow::Owned(out)
    }

    /// Masks every string of a JSON value, object keys included.
    pub fn mask_json(&self, v: &mut Value) {
        if self.is_empty() {
            return;
        }
        match v {
            Value::String(s) => {
                if let Cow::Owned(m) = self.mask(s) {
                    *s = m;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.mask_json(i)),
            Value::Object(map) => {
                if map.keys().any(|k| self.appears_in(k)) {
                    let old = std::mem::take(map);
                    for (k, mut item) in old {
                        self.mask_json(&mut item);
                        map.insert(self.mask(&k).into_owned(), item);
                    }
                } else {
                    map.values_mut().for_each(|i| self.mask_json(i));
                }
            }
            _ => {}
        }
    }

    /// Masks a string in place.
    pub fn mask_in(&self, text: &mut String) {
        if let Cow::Owned(m) = self.mask(text) {
            *text = m;
        }
    }
}

/// `value` as Lua's `string.format("%q")` writes it, without the quotes.
fn lua_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_ascii_control() => out.push_str(&format!("\\{}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Every secret this process has met, for [`scrub`].
static REMEMBERED: Mutex<Secrets> = Mutex::new(Secrets { values: Vec::new() });

/// Keeps `secrets` so that everything the command line prints is masked with them.
pub fn remember(secrets: &Secrets) {
    if secrets.is_empty() {
        return;
    }
    if let Ok(mut all) = REMEMBERED.lock() {
        all.extend(secrets);
    }
}

/// Text as hoist shows it to people: every secret met so far masked, and control characters
/// escaped for a terminal.
pub fn for_people(text: &str) -> String {
    crate::text::for_terminal(&scrub(text)).into_owned()
}

/// Whether a secret [`remember`]ed so far holds a line break, in any of the forms it is masked
/// in: text masked a piece at a time, each piece ending at a line break, is masked as the whole
/// would be unless one does.
pub fn remembered_span_lines() -> bool {
    REMEMBERED.lock().map_or(true, |all| {
        all.values.iter().any(|v| v.contains(['\n', '\r']))
    })
}

/// `text` masked with every secret [`remember`]ed so far.
pub fn scrub(text: &str) -> Cow<'_, str> {
    match REMEMBERED.lock() {
        Ok(all) if !all.is_empty() => Cow::Owned(all.mask(text).into_owned()),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(values: &[&str]) -> Secrets {
        let mut s = Secrets::new();
        values.iter().for_each(|v| s.add(*v));
        s
    }

    #[test]
    fn masks_whole_values_and_parts_of_longer_ones() {
        let s = of(&["hunter22", "s3cr3t-token"]);
        assert_eq!(s.mask("no secret here"), "no secret here");
        assert!(matches!(s.mask("no secret here"), Cow::Borrowed(_)));
        assert_eq!(s.mask("hunter22"), "***");
        assert_eq!(s.mask("user:hunter22@host"), "user:***@host");
        assert_eq!(s.mask("hunter22hunter22 s3cr3t-token"), "****** ***");
        assert_eq!(s.mask("注文hunter22✓"), "注文***✓");
    }

    #[test]
    fn the_longest_overlapping_secret_wins() {
        let s = of(&["abcd", "abcdefgh", "efgh"]);
        assert_eq!(s.mask("xabcdefghx"), "x***x");
        assert_eq!(s.mask("abcdzefgh"), "***z***");
        assert_eq!(s.len(), 3);
        let again = of(&["abcd", "abcd", ""]);
        assert_eq!(again.len(), 1);
    }

    #[test]
    fn escaped_and_trimmed_forms_of_a_secret_are_masked_too() {
        let s = of(&["s3c\"ret\\pa\nss "]);
        // As JSON and Rust debug output write it, as Lua's %q does, trimmed, and escaped.
        assert_eq!(s.mask(r#"x "s3c\"ret\\pa\nss " y"#), r#"x "***" y"#);
        assert_eq!(s.mask("e: s3c\"ret\\pa\nss"), "e: ***");
        assert_eq!(s.mask("q \"s3c\\\"ret\\\\pa\\\nss \""), "q \"***\"");
        assert_eq!(s.mask("t s3c\"ret\\pa\\u{a}ss "), "t ***");
        // A short trimmed form is not added.
        let short = of(&["  ab  "]);
        assert_eq!(short.mask("ab"), "ab");
    }

    #[test]
    fn json_strings_and_keys_are_masked() {
        let s = of(&["p4ssw0rd"]);
        let mut v = serde_json::json!({
            "password": "p4ssw0rd",
            "url": "jdbc://u:p4ssw0rd@h",
            "p4ssw0rd-key": [1, "x p4ssw0rd"],
            "n": 5
        });
        s.mask_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "password": "***",
                "url": "jdbc://u:***@h",
                "***-key": [1, "x ***"],
                "n": 5
            })
        );
    }

    #[test]
    fn remembered_secrets_are_scrubbed_from_anything_printed() {
        remember(&of(&["only-in-this-test-9f3a"]));
        assert_eq!(scrub("a only-in-this-test-9f3a b"), "a *** b");
    }
}
