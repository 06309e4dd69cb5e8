//! The error a deserialisation gives, where it happened, and the spelling hint
//! (`did you mean`) for unknown fields and values.

use std::fmt;

use serde::de::{self};

use crate::yaml::{Node, Span};

/// A deserialisation error and where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    /// Stable code.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
    /// A suggestion, e.g. the closest valid word.
    pub help: Option<String>,
    /// The node at fault.
    pub node: Option<usize>,
    /// Its place.
    pub span: Option<Span>,
}

impl DeError {
    pub(super) fn at(mut self, node: &Node) -> Self {
        if self.node.is_none() {
            self.node = Some(node.id);
            self.span = Some(node.span);
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(word.chars().count()) / 3).max(2))
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// `did you mean "x"?` for the closest candidate, if any.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            code: "spec.invalid",
            message: msg.to_string(),
            help: None,
            node: None,
            span: None,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let help = did_you_mean(field, expected.iter().copied())
            .or_else(|| Some(format!("expected one of: {}", expected.join(", "))));
        DeError {
            code: "spec.unknown_field",
            message: format!("unknown field `{field}`"),
            help,
            node: None,
            span: None,
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let help = did_you_mean(variant, expected.iter().copied())
            .or_else(|| Some(format!("expected one of: {}", expected.join(", "))));
        DeError {
            code: "spec.unknown_value",
            message: format!("unknown value `{variant}`"),
            help,
            node: None,
            span: None,
        }
    }

    fn missing_field(field: &'static str) -> Self {
        DeError {
            code: "spec.missing",
            message: format!("missing field `{field}`"),
            help: None,
            node: None,
            span: None,
        }
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError {
            code: "spec.type",
            message: format!("expected {exp}, found {unexp}"),
            help: None,
            node: None,
            span: None,
        }
    }
}
