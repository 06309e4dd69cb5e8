//! YAML to a tree of nodes that remember where they were written.
//!
//! Bounded: the file size, the nesting depth and the number of nodes after alias expansion
//! are capped, so an alias bomb or a deeply nested file fails fast with a clear message.
//! Specs and KIE files are read with it; [`de`] deserialises a tree into serde types, every
//! error at its node.

pub mod de;
pub mod emit;

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A position in the source: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub col: usize,
}

/// Where a node was written: its start and its length in characters on the first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Span {
    /// Start.
    pub start: Pos,
    /// Characters to underline (at least 1).
    pub len: usize,
}

/// A scalar's text and whether it was quoted (quoted scalars are always strings).
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The text.
    pub text: String,
    /// Written in quotes or as a block: never a number, boolean or null.
    pub quoted: bool,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar (null, boolean, number or string; typed when deserialised).
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Unique within the tree (alias copies share the ids of their anchor).
    pub id: usize,
    /// Where it was written.
    pub span: Span,
    /// What it holds.
    pub value: Value,
}

impl Node {
    /// Whether this is a plain null (`~`, `null`, or nothing).
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s) if !s.quoted && is_null_text(&s.text))
    }

    fn count(&self) -> usize {
        1 + match &self.value {
            Value::Scalar(_) => 0,
            Value::Seq(items) => items.iter().map(Node::count).sum(),
            Value::Map(pairs) => pairs.iter().map(|(k, v)| k.count() + v.count()).sum(),
        }
    }

    /// What the node holds in memory, roughly: its scalars' text and a fixed amount per node.
    fn weight(&self) -> usize {
        NODE_WEIGHT
            + match &self.value {
                Value::Scalar(s) => s.text.len(),
                Value::Seq(items) => items.iter().map(Node::weight).sum(),
                Value::Map(pairs) => pairs.iter().map(|(k, v)| k.weight() + v.weight()).sum(),
            }
    }

    /// The node with `id`, and its parent.
    pub fn find(&self, id: usize) -> Option<(&Node, Option<&Node>)> {
        if self.id == id {
            return Some((self, None));
        }
        self.find_child(id)
    }

    fn find_child(&self, id: usize) -> Option<(&Node, Option<&Node>)> {
        let children: Vec<&Node> = match &self.value {
            Value::Scalar(_) => return None,
            Value::Seq(items) => items.iter().collect(),
            Value::Map(pairs) => pairs.iter().flat_map(|(k, v)| [k, v]).collect(),
        };
        for c in children {
            if c.id == id {
                return Some((c, Some(self)));
            }
            if let Some(found) = c.find_child(id) {
                return Some(found);
            }
        }
        None
    }
}

/// Whether plain scalar text means null in YAML 1.2.
pub fn is_null_text(t: &str) -> bool {
    matches!(t, "" | "~" | "null" | "Null" | "NULL")
}

/// What a node counts for in [`YamlLimits::max_expanded_bytes`] beside its text.
const NODE_WEIGHT: usize = 16;

/// Caps on what a spec may contain.
#[derive(Debug, Clone, Copy)]
pub struct YamlLimits {
    /// Largest file, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting.
    pub max_depth: usize,
    /// Most nodes, counting every alias expansion.
    pub max_nodes: usize,
    /// Most bytes aliases may add, counting the text of every scalar they copy (and a little
    /// per node): a few aliases of a long scalar stay within the node cap and could still
    /// expand a small file to gigabytes.
    pub max_expanded_bytes: usize,
}

impl Default for YamlLimits {
    fn default() -> Self {
        YamlLimits {
            max_bytes: 4 << 20,
            max_depth: 64,
            max_nodes: 200_000,
            max_expanded_bytes: 16 << 20,
        }
    }
}

/// A YAML problem with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// Where.
    pub span: Span,
    /// Stable code.
    pub code: &'static str,
    /// What.
    pub message: String,
}

fn err(span: Span, code: &'static str, message: impl Into<String>) -> YamlError {
    YamlError {
        span,
        code,
        message: message.into(),
    }
}

enum Frame {
    Seq {
        node: Node,
        anchor: usize,
    },
    Map {
        node: Node,
        anchor: usize,
        key: Option<Node>,
    },
}

/// Parses a YAML document of data (a package's file) into a JSON value; an error says
/// `line L:C: what`.
pub fn parse_value(text: &str, limits: &YamlLimits) -> Result<serde_json::Value, String> {
    let root = parse(text, limits).map_err(|e| {
        format!(
            "line {}:{}: {}",
            e.span.start.line, e.span.start.col, e.message
        )
    })?;
    serde::Deserialize::deserialize(de::De::new(&root, &Default::default()))
        .map_err(|e: de::DeError| e.message)
}

/// The tree being built from the parser's events: open collections, anchors, and the
/// counts the limits bound.
struct Builder<'l> {
    limits: &'l YamlLimits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    next_id: usize,
    nodes: usize,
    expanded: usize,
    documents: usize,
}

impl<'l> Builder<'l> {
    fn new(limits: &'l YamlLimits) -> Self {
        Builder {
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            next_id: 0,
            nodes: 0,
            expanded: 0,
            documents: 0,
        }
    }

    fn id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    /// Takes one event; a node that is finished (a scalar, an alias, a closed collection)
    /// is counted and attached where it belongs.
    fn event(&mut self, event: Event, span: Span) -> Result<(), YamlError> {
        let finished = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(err(
                        span,
                        "spec.syntax",
                        "a spec is one YAML document; found a second one",
                    ));
                }
                None
            }
            Event::Scalar(value, style, anchor, tag) => {
                Some(self.scalar(value.into_owned(), style, anchor, tag, span)?)
            }
            Event::Alias(anchor) => Some(self.alias(anchor, span)?),
            Event::SequenceStart(anchor, _) => {
                self.open(span, anchor, false)?;
                None
            }
            Event::MappingStart(anchor, _) => {
                self.open(span, anchor, true)?;
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq { node, anchor }) | Some(Frame::Map { node, anchor, .. }) => {
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    Some(node)
                }
                None => None,
            },
        };
        let Some(node) = finished else { return Ok(()) };
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(err(
                node.span,
                "spec.limit",
                format!("more than {} nodes", self.limits.max_nodes),
            ));
        }
        self.attach(node)
    }

    fn scalar(
        &mut self,
        text: String,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<std::borrow::Cow<'_, saphyr_parser::Tag>>,
        span: Span,
    ) -> Result<Node, YamlError> {
        let mut quoted = style != ScalarStyle::Plain;
        if let Some(tag) = tag {
            if tag.is_yaml_core_schema() && tag.suffix == "str" {
                quoted = true;
            } else if !tag.is_yaml_core_schema() {
                return Err(err(
                    span,
                    "spec.syntax",
                    format!("tag {tag} is not supported in specs"),
                ));
            }
        }
        let node = Node {
            id: self.id(),
            span,
            value: Value::Scalar(Scalar { text, quoted }),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    /// An alias is a copy of its anchor's node; copies are counted in nodes and in bytes,
    /// so an alias bomb stops at the limits.
    fn alias(&mut self, anchor: usize, span: Span) -> Result<Node, YamlError> {
        let Some(node) = self.anchors.get(&anchor) else {
            return Err(err(span, "spec.syntax", "alias to an unknown anchor"));
        };
        self.nodes += node.count();
        self.expanded = self.expanded.saturating_add(node.weight());
        if self.expanded > self.limits.max_expanded_bytes {
            return Err(err(
                span,
                "spec.limit",
                format!(
                    "aliases expand to more than {} bytes; refusing (an alias bomb?)",
                    self.limits.max_expanded_bytes
                ),
            ));
        }
        if self.nodes > self.limits.max_nodes {
            return Err(err(
                span,
                "spec.limit",
                format!(
                    "aliases expand to more than {} nodes; refusing (an alias bomb?)",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(node.clone())
    }

    fn open(&mut self, span: Span, anchor: usize, map: bool) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(err(
                span,
                "spec.limit",
                format!("nesting deeper than {} levels", self.limits.max_depth),
            ));
        }
        let id = self.id();
        self.stack.push(if map {
            Frame::Map {
                node: Node {
                    id,
                    span,
                    value: Value::Map(Vec::new()),
                },
                anchor,
                key: None,
            }
        } else {
            Frame::Seq {
                node: Node {
                    id,
                    span,
                    value: Value::Seq(Vec::new()),
                },
                anchor,
            }
        });
        Ok(())
    }

    /// Puts a finished node where it belongs: the root, the next item of a sequence, or a
    /// mapping's key or value (keys must be plain strings, and no key may come twice).
    fn attach(&mut self, node: Node) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { node: parent, .. }) => {
                if let Value::Seq(items) = &mut parent.value {
                    items.push(node);
                }
            }
            Some(Frame::Map {
                node: parent, key, ..
            }) => match key.take() {
                None => {
                    if !matches!(node.value, Value::Scalar(_)) {
                        return Err(err(
                            node.span,
                            "spec.syntax",
                            "mapping keys must be plain strings",
                        ));
                    }
                    *key = Some(node);
                }
                Some(k) => {
                    if let Value::Map(pairs) = &mut parent.value {
                        let text = |n: &Node| match &n.value {
                            Value::Scalar(s) => s.text.clone(),
                            _ => String::new(),
                        };
                        if let Some((first, _)) = pairs.iter().find(|(pk, _)| text(pk) == text(&k))
                        {
                            return Err(err(
                                k.span,
                                "spec.duplicate_key",
                                format!(
                                    "duplicate key `{}` (first written at line {})",
                                    text(&k),
                                    first.span.start.line
                                ),
                            ));
                        }
                        pairs.push((k, node));
                    }
                }
            },
        }
        Ok(())
    }
}

/// The span of an event, 1-based; an event over several lines is marked at its start.
fn event_span(sp: &saphyr_parser::Span) -> Span {
    Span {
        start: Pos {
            line: sp.start.line(),
            col: sp.start.col() + 1,
        },
        len: if sp.end.line() == sp.start.line() {
            (sp.end.col().saturating_sub(sp.start.col())).max(1)
        } else {
            1
        },
    }
}

/// Parses one YAML document into a tree.
pub fn parse(text: &str, limits: &YamlLimits) -> Result<Node, YamlError> {
    if text.len() > limits.max_bytes {
        return Err(err(
            Span::default(),
            "spec.limit",
            format!(
                "the file is {} bytes; specs are limited to {} bytes",
                text.len(),
                limits.max_bytes
            ),
        ));
    }
    let mut builder = Builder::new(limits);
    for event in Parser::new_from_str(text) {
        let (event, sp) = event.map_err(|e| {
            let m = e.marker();
            err(
                Span {
                    start: Pos {
                        line: m.line(),
                        col: m.col() + 1,
                    },
                    len: 1,
                },
                "spec.syntax",
                e.info().to_string(),
            )
        })?;
        builder.event(event, event_span(&sp))?;
    }
    Ok(builder.root.unwrap_or(Node {
        id: 0,
        span: Span {
            start: Pos { line: 1, col: 1 },
            len: 1,
        },
        value: Value::Scalar(Scalar {
            text: String::new(),
            quoted: false,
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Node, YamlError> {
        parse(text, &YamlLimits::default())
    }

    #[test]
    fn positions_are_one_based() {
        let root = p("a: 1\nbb:\n  - x\n").unwrap();
        let Value::Map(pairs) = &root.value else {
            panic!()
        };
        assert_eq!(pairs[1].0.span.start, Pos { line: 2, col: 1 });
        let Value::Seq(items) = &pairs[1].1.value else {
            panic!()
        };
        assert_eq!(items[0].span.start, Pos { line: 3, col: 5 });
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = p("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.code, "spec.duplicate_key");
        assert_eq!(e.span.start.line, 3);
        assert!(e.message.contains("line 1"));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_bounded() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert_eq!(p(&bomb).unwrap_err().code, "spec.limit");
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(p(&deep).unwrap_err().message.contains("nesting"));
    }

    #[test]
    fn tabs_and_second_documents_are_syntax_errors() {
        assert_eq!(p("a:\n\t- x\n").unwrap_err().code, "spec.syntax");
        assert_eq!(p("a: 1\n---\nb: 2\n").unwrap_err().code, "spec.syntax");
    }

    #[test]
    fn quoted_and_tagged_scalars_are_strings() {
        let root = p("a: '1'\nb: !!str 2\nc: 3\n").unwrap();
        let Value::Map(pairs) = &root.value else {
            panic!()
        };
        let q: Vec<bool> = pairs
            .iter()
            .map(|(_, v)| matches!(&v.value, Value::Scalar(s) if s.quoted))
            .collect();
        assert_eq!(q, vec![true, true, false]);
    }
}
