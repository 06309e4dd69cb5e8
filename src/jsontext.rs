//! JSON text edited in place: a new value written over the text of an old one so that every
//! byte of the old text whose value did not change stays as it was — key order, spacing, line
//! ends, number spelling and string escapes — and a reviewer's diff shows only what changed.
//!
//! How inserted text is laid out, always the same way for the same input:
//! - a changed scalar is written as compact JSON (`serde_json`), in place of the old one;
//! - a member added to an object, or an element added to an array, follows the last one with
//!   the same separator the last one had before it (its comma, line end and indent), and an
//!   added member takes the key/value separator (`": "` or `":"`) of the last member; new keys
//!   follow the old ones in the order the new value holds them;
//! - a removed member or element is cut with the separator before it (or after it, when it
//!   was the first);
//! - a new object or array (where the old value was not one, or the old one was empty) is
//!   written compact when the document has no line break, and otherwise pretty, one member per
//!   line, indented by the document's own indent unit (its first indented line) from the line
//!   it starts on, with the document's line end (`\r\n` when its first line break is one).
//!
//! [`rewrite`] gives `None` when the old text is not the old value (or an object in it holds a
//! key twice, so members cannot be told apart); the caller then writes the value fresh.

use serde::Serialize;
use serde_json::{Map, Value};

/// Deepest nesting read; deeper text is written fresh.
const MAX_DEPTH: usize = 256;

/// `new` written over `text`, which is the JSON text of `old`.
pub fn rewrite(text: &str, old: &Value, new: &Value) -> Option<String> {
    let mut scan = Scan { text, at: 0 };
    scan.ws();
    let root = scan.value(0)?;
    scan.ws();
    if scan.at != text.len() {
        return None;
    }
    let style = Style::of(text);
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(&text[..root.start]);
    Writer {
        text,
        style: &style,
        out: &mut out,
    }
    .node(&root, old, new)?;
    out.push_str(&text[root.end..]);
    Some(out)
}

/// One value's place in the text.
struct Node {
    start: usize,
    end: usize,
    kind: Kind,
}

enum Kind {
    Scalar,
    /// Members: the key's decoded text, where the key starts, and the value.
    Object(Vec<(String, usize, Node)>),
    Array(Vec<Node>),
}

/// A reader of JSON text that records where each value lies.
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.at += 1)
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        let start = self.at;
        let kind = match self.peek()? {
            b'{' => {
                self.at += 1;
                let mut members: Vec<(String, usize, Node)> = Vec::new();
                // Keys seen, in a set: an object of many keys is read in linear time.
                let mut seen = std::collections::HashSet::new();
                self.ws();
                if self.eat(b'}').is_none() {
                    loop {
                        self.ws();
                        let key_at = self.at;
                        self.string()?;
                        let key: String = serde_json::from_str(&self.text[key_at..self.at]).ok()?;
                        if !seen.insert(key.clone()) {
                            return None;
                        }
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                        let value = self.value(depth + 1)?;
                        members.push((key, key_at, value));
                        self.ws();
                        if self.eat(b',').is_none() {
                            self.eat(b'}')?;
                            break;
                        }
                    }
                }
                Kind::Object(members)
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b']').is_none() {
                    loop {
                        self.ws();
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        if self.eat(b',').is_none() {
                            self.eat(b']')?;
                            break;
                        }
                    }
                }
                Kind::Array(items)
            }
            b'"' => {
                self.string()?;
                Kind::Scalar
            }
            _ => {
                while matches!(
                    self.peek(),
                    Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' | b'a'..=b'z')
                ) {
                    self.at += 1;
                }
                if self.at == start {
                    return None;
                }
                Kind::Scalar
            }
        };
        Some(Node {
            start,
            end: self.at,
            kind,
        })
    }

    /// Skips a string, quotes included.
    fn string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                b'\\' => self.at += 2,
                _ => self.at += 1,
            }
        }
    }
}

/// How the document lays itself out, for text written fresh.
struct Style {
    /// `None` when the document is on one line.
    newline: Option<&'static str>,
    indent: String,
}

impl Style {
    fn of(text: &str) -> Style {
        // A line break at the very end (a file's last line) does not make the text pretty.
        let Some(nl) = text.trim_end().find('\n') else {
            return Style {
                newline: None,
                indent: String::new(),
            };
        };
        let newline = if text[..nl].ends_with('\r') {
            "\r\n"
        } else {
            "\n"
        };
        let indent = text
            .split('\n')
            .skip(1)
            .map(|line| {
                let n = line.len() - line.trim_start_matches([' ', '\t']).len();
                &line[..n]
            })
            .find(|lead| !lead.is_empty())
            .unwrap_or("  ")
            .to_string();
        Style {
            newline: Some(newline),
            indent,
        }
    }

    /// `value` as fresh text, its lines after the first indented by `at`.
    fn fresh(&self, value: &Value, at: &str) -> String {
        let Some(newline) = self.newline else {
            return serde_json::to_string(value).expect("JSON values serialise");
        };
        if !matches!(value, Value::Object(_) | Value::Array(_)) {
            return serde_json::to_string(value).expect("JSON values serialise");
        }
        let mut buf = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(self.indent.as_bytes());
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
        value.serialize(&mut ser).expect("JSON values serialise");
        let pretty = String::from_utf8(buf).expect("serde_json writes UTF-8");
        // A line break in JSON text is always between tokens (strings escape theirs).
        pretty.replace('\n', &format!("{newline}{at}"))
    }
}

struct Writer<'a, 'o> {
    text: &'a str,
    style: &'a Style,
    out: &'o mut String,
}

impl Writer<'_, '_> {
    fn node(&mut self, node: &Node, old: &Value, new: &Value) -> Option<()> {
        if old == new {
            self.out.push_str(&self.text[node.start..node.end]);
            return Some(());
        }
        match (&node.kind, old, new) {
            (Kind::Object(members), Value::Object(o), Value::Object(n)) if !members.is_empty() => {
                self.object(node, members, o, n)
            }
            (Kind::Array(items), Value::Array(o), Value::Array(n)) if !items.is_empty() => {
                self.array(node, items, o, n)
            }
            (Kind::Scalar, Value::Object(_) | Value::Array(_), _) => None,
            (Kind::Object(_) | Kind::Array(_), Value::String(_) | Value::Number(_), _) => None,
            _ => {
                let at = self.indent_at(node.start);
                let fresh = self.style.fresh(new, &at);
                self.out.push_str(&fresh);
                Some(())
            }
        }
    }

    /// The spaces and tabs that begin the line `pos` is on.
    fn indent_at(&self, pos: usize) -> String {
        let line = self.text[..pos].rfind('\n').map_or(0, |i| i + 1);
        let lead = &self.text[line..pos];
        let n = lead.len() - lead.trim_start_matches([' ', '\t']).len();
        lead[..n].to_string()
    }

    fn object(
        &mut self,
        node: &Node,
        members: &[(String, usize, Node)],
        old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) -> Option<()> {
        let text = self.text;
        // What comes before member `i`'s key: whitespace after `{` for the first, the comma
        // and whitespace after the previous value for the others.
        let gap = |i: usize| {
            let from = if i == 0 {
                node.start + 1
            } else {
                members[i - 1].2.end
            };
            &text[from..members[i].1]
        };
        self.out.push('{');
        let mut written = 0usize;
        for (i, (key, key_at, value)) in members.iter().enumerate() {
            let Some(now) = new.get(key) else { continue };
            // The first member written keeps the opening whitespace; a later one its own
            // separator, which holds the comma (a later one is never member 0).
            self.out
                .push_str(if written == 0 { gap(0) } else { gap(i) });
            self.out.push_str(&text[*key_at..value.start]);
            self.node(value, old.get(key)?, now)?;
            written += 1;
        }
        let last = members.len() - 1;
        let (last_key_at, last_value) = (members[last].1, &members[last].2);
        let sep = separator(gap(last), gap(0));
        let colon = after_key(&text[last_key_at..last_value.start]);
        let at = self.indent_at(last_key_at);
        for (key, value) in new {
            if old.contains_key(key) {
                continue;
            }
            self.out
                .push_str(if written == 0 { gap(0) } else { sep.as_str() });
            self.out
                .push_str(&serde_json::to_string(key).expect("strings serialise"));
            self.out.push_str(colon);
            let fresh = self.style.fresh(value, &at);
            self.out.push_str(&fresh);
            written += 1;
        }
        if written == 0 {
            self.out.push('}');
        } else {
            self.out.push_str(&text[last_value.end..node.end]);
        }
        Some(())
    }

    fn array(&mut self, node: &Node, items: &[Node], old: &[Value], new: &[Value]) -> Option<()> {
        let text = self.text;
        if items.len() != old.len() {
            return None;
        }
        let gap = |i: usize| {
            let from = if i == 0 {
                node.start + 1
            } else {
                items[i - 1].end
            };
            &text[from..items[i].start]
        };
        self.out.push('[');
        let kept = new.len().min(items.len());
        for i in 0..kept {
            self.out.push_str(gap(i));
            self.node(&items[i], &old[i], &new[i])?;
        }
        let last = items.len() - 1;
        let sep = separator(gap(last), gap(0));
        let at = self.indent_at(items[last].start);
        for value in &new[kept..] {
            self.out.push_str(&sep);
            let fresh = self.style.fresh(value, &at);
            self.out.push_str(&fresh);
        }
        if new.is_empty() {
            self.out.push(']');
        } else {
            self.out.push_str(&text[items[last].end..node.end]);
        }
        Some(())
    }
}

/// The separator to put before an added member or element: the one before the last (`gap`,
/// which holds a comma) or, when there was only one, a comma and the whitespace after the
/// opening bracket (`first`).
fn separator(gap: &str, first: &str) -> String {
    if gap.contains(',') {
        gap.to_string()
    } else {
        format!(",{first}")
    }
}

/// The text between a key's closing quote and its value: `text` is from the key's start to
/// the value's.
fn after_key(text: &str) -> &str {
    // The key is a JSON string; its closing quote is the last quote before the colon.
    let colon = text.rfind(':').unwrap_or(0);
    let close = text[..colon].rfind('"').map_or(0, |q| q + 1);
    &text[close..]
}

#[cfg(test)]
mod tests;
