//! A serde `Deserializer` over the spanned YAML tree.
//!
//! Every error carries the node it happened at, so it can be shown at its line and column,
//! and so the loader can drop that node and try again to find the next mistake.
//! [`Spanned`] gives raw types the place of any value, [`OneOrMany`] accepts `x` or `[x, y]`.

use std::collections::BTreeSet;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::{Node, Span, Value, is_null_text};

mod error;
mod spanned;
pub use error::{DeError, closest, did_you_mean};
pub use spanned::{OneOrMany, Spanned};

/// Deserialises a node, skipping the nodes in `removed`.
#[derive(Clone, Copy)]
pub struct De<'a> {
    node: &'a Node,
    removed: &'a BTreeSet<usize>,
}

impl<'a> De<'a> {
    /// A deserializer for `node`.
    pub fn new(node: &'a Node, removed: &'a BTreeSet<usize>) -> Self {
        De { node, removed }
    }

    fn scalar(&self) -> Option<(&'a str, bool)> {
        match &self.node.value {
            Value::Scalar(s) => Some((s.text.as_str(), s.quoted)),
            _ => None,
        }
    }

    fn unexpected(&self) -> de::Unexpected<'a> {
        match &self.node.value {
            Value::Seq(_) => de::Unexpected::Seq,
            Value::Map(_) => de::Unexpected::Map,
            Value::Scalar(s) if !s.quoted && is_null_text(&s.text) => de::Unexpected::Unit,
            Value::Scalar(s) if !s.quoted => match s.text.as_str() {
                "true" | "True" | "TRUE" => de::Unexpected::Bool(true),
                "false" | "False" | "FALSE" => de::Unexpected::Bool(false),
                t => match (parse_int(t), parse_float(t)) {
                    (Some(n), _) if n >= 0 => de::Unexpected::Unsigned(n as u64),
                    (Some(n), _) => de::Unexpected::Signed(n as i64),
                    (None, Some(f)) => de::Unexpected::Float(f),
                    _ => de::Unexpected::Str(&s.text),
                },
            },
            Value::Scalar(s) => de::Unexpected::Str(&s.text),
        }
    }

    fn fail<T>(&self, exp: &dyn de::Expected) -> Result<T, DeError> {
        Err(de::Error::invalid_type(self.unexpected(), exp))
    }
}

const SPANNED: &str = "$__hoist_spanned";
const SPANNED_FIELDS: &[&str] = &["$line", "$col", "$len", "$value"];
const ONE_OR_MANY: &str = "$__hoist_one_or_many";

fn parse_int(t: &str) -> Option<i128> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(h) = body.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(o) = body.strip_prefix("0o") {
        i128::from_str_radix(o, 8).ok()?
    } else if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        body.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

fn parse_float(t: &str) -> Option<f64> {
    match t {
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let looks = t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if looks { t.parse().ok() } else { None }
}

macro_rules! int_method {
    ($name:ident, $visit:ident, $ty:ty) => {
        fn $name<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            let n = match self.scalar() {
                Some((t, false)) => parse_int(t),
                _ => None,
            };
            match n.and_then(|n| <$ty>::try_from(n).ok()) {
                Some(n) => v.$visit(n).map_err(|e: DeError| e.at(self.node)),
                None => self.fail(&v).map_err(|e: DeError| e.at(self.node)),
            }
        }
    };
}

impl<'de> Deserializer<'de> for De<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let node = self.node;
        let r: Result<V::Value, DeError> = match &node.value {
            Value::Seq(_) => return self.deserialize_seq(v),
            Value::Map(_) => return self.deserialize_map(v),
            Value::Scalar(s) if s.quoted => v.visit_str(&s.text),
            Value::Scalar(s) => {
                let t = s.text.as_str();
                if is_null_text(t) {
                    v.visit_unit()
                } else if matches!(t, "true" | "True" | "TRUE") {
                    v.visit_bool(true)
                } else if matches!(t, "false" | "False" | "FALSE") {
                    v.visit_bool(false)
                } else if let Some(n) = parse_int(t) {
                    if let Ok(u) = u64::try_from(n) {
                        v.visit_u64(u)
                    } else if let Ok(i) = i64::try_from(n) {
                        v.visit_i64(i)
                    } else {
                        v.visit_str(t)
                    }
                } else if let Some(f) = parse_float(t) {
                    v.visit_f64(f)
                } else {
                    v.visit_str(t)
                }
            }
        };
        r.map_err(|e| e.at(node))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some(("true" | "True" | "TRUE", false)) => v.visit_bool(true),
            Some(("false" | "False" | "FALSE", false)) => v.visit_bool(false),
            _ => self.fail(&"true or false"),
        }
        .map_err(|e| e.at(self.node))
    }

    int_method!(deserialize_i8, visit_i8, i8);
    int_method!(deserialize_i16, visit_i16, i16);
    int_method!(deserialize_i32, visit_i32, i32);
    int_method!(deserialize_i64, visit_i64, i64);
    int_method!(deserialize_u8, visit_u8, u8);
    int_method!(deserialize_u16, visit_u16, u16);
    int_method!(deserialize_u32, visit_u32, u32);
    int_method!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(v)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some((t, false)) => match parse_float(t).or_else(|| parse_int(t).map(|n| n as f64)) {
                Some(f) => v.visit_f64(f),
                None => self.fail(&v),
            },
            _ => self.fail(&v),
        }
        .map_err(|e| e.at(self.node))
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some((t, quoted)) if quoted || !is_null_text(t) => v.visit_str(t),
            _ => self.fail(&v),
        }
        .map_err(|e| e.at(self.node))
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.fail(&v).map_err(|e: DeError| e.at(self.node))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            v.visit_none()
        } else {
            v.visit_some(self)
        }
        .map_err(|e| e.at(self.node))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            v.visit_unit()
        } else {
            self.fail(&v)
        }
        .map_err(|e| e.at(self.node))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        let node = self.node;
        if name == ONE_OR_MANY && !matches!(node.value, Value::Seq(_)) {
            return v
                .visit_newtype_struct(OneDe {
                    node,
                    removed: self.removed,
                })
                .map_err(|e| e.at(node));
        }
        v.visit_newtype_struct(self).map_err(|e| e.at(node))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let node = self.node;
        match &node.value {
            Value::Seq(items) => {
                let items: Vec<&Node> = items
                    .iter()
                    .filter(|n| !self.removed.contains(&n.id))
                    .collect();
                v.visit_seq(SeqAccess {
                    items: items.into_iter(),
                    removed: self.removed,
                })
            }
            _ => self.fail(&v),
        }
        .map_err(|e| e.at(node))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _n: &'static str,
        _l: usize,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let node = self.node;
        match &node.value {
            Value::Map(pairs) => {
                let pairs: Vec<&(Node, Node)> = pairs
                    .iter()
                    .filter(|(k, val)| {
                        !self.removed.contains(&k.id) && !self.removed.contains(&val.id)
                    })
                    .collect();
                v.visit_map(MapAccess {
                    pairs: pairs.into_iter(),
                    value: None,
                    removed: self.removed,
                })
            }
            // An empty value where a mapping is expected reads as an empty mapping.
            _ if node.is_null() => v.visit_map(MapAccess {
                pairs: Vec::new().into_iter(),
                value: None,
                removed: self.removed,
            }),
            _ => self.fail(&v),
        }
        .map_err(|e| e.at(node))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        if name == SPANNED {
            let node = self.node;
            return v
                .visit_map(SpannedAccess {
                    de: Some(self),
                    step: 0,
                })
                .map_err(|e| e.at(node));
        }
        let _ = fields;
        self.deserialize_map(v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let node = self.node;
        match &node.value {
            Value::Scalar(s) => v.visit_enum(s.text.as_str().into_deserializer()),
            Value::Map(pairs) if pairs.len() == 1 => v.visit_enum(EnumAccess {
                key: &pairs[0].0,
                value: &pairs[0].1,
                removed: self.removed,
            }),
            _ => self.fail(&v),
        }
        .map_err(|e: DeError| e.at(node))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

/// Presents a single node as a one-element sequence.
struct OneDe<'a> {
    node: &'a Node,
    removed: &'a BTreeSet<usize>,
}

impl<'de> Deserializer<'de> for OneDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_seq(SeqAccess {
            items: vec![self.node].into_iter(),
            removed: self.removed,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct SeqAccess<'a> {
    items: std::vec::IntoIter<&'a Node>,
    removed: &'a BTreeSet<usize>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(De {
                    node,
                    removed: self.removed,
                })
                .map(Some)
                .map_err(|e| e.at(node)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// How the keys `serde_json` gives a meaning of its own begin (the model's
/// `json::RESERVED_PREFIX`; this layer sits below it).
pub(crate) const RESERVED_PREFIX: &str = "$serde_json::private::";

struct MapAccess<'a> {
    pairs: std::vec::IntoIter<&'a (Node, Node)>,
    value: Option<&'a Node>,
    removed: &'a BTreeSet<usize>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.pairs.next() {
            Some((k, v)) => {
                self.value = Some(v);
                // A key the JSON reader gives a meaning of its own would make the object read
                // as something else (as the first key) or not parse again once written.
                if let crate::yaml::Value::Scalar(key) = &k.value
                    && key.text.starts_with(RESERVED_PREFIX)
                {
                    return Err(DeError {
                        code: "spec.bad_value",
                        message: format!(
                            "the key {:?} is one the JSON reader gives a meaning of its own (it would read the object as something other than what is written), so it is refused",
                            key.text
                        ),
                        help: None,
                        node: None,
                        span: None,
                    }
                    .at(k));
                }
                seed.deserialize(De {
                    node: k,
                    removed: self.removed,
                })
                .map(Some)
                .map_err(|e| e.at(k))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, DeError> {
        let node = self
            .value
            .take()
            .expect("serde asks for a value after its key");
        seed.deserialize(De {
            node,
            removed: self.removed,
        })
        .map_err(|e| e.at(node))
    }
}

struct EnumAccess<'a> {
    key: &'a Node,
    value: &'a Node,
    removed: &'a BTreeSet<usize>,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumAccess<'a> {
    type Error = DeError;
    type Variant = De<'a>;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, De<'a>), DeError> {
        let v = seed
            .deserialize(De {
                node: self.key,
                removed: self.removed,
            })
            .map_err(|e| e.at(self.key))?;
        Ok((
            v,
            De {
                node: self.value,
                removed: self.removed,
            },
        ))
    }
}

impl<'de> de::VariantAccess<'de> for De<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(v)
    }
}

struct SpannedAccess<'a> {
    de: Option<De<'a>>,
    step: usize,
}

impl<'de> de::MapAccess<'de> for SpannedAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        if self.step >= SPANNED_FIELDS.len() {
            return Ok(None);
        }
        seed.deserialize(SPANNED_FIELDS[self.step].into_deserializer())
            .map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, DeError> {
        let step = self.step;
        self.step += 1;
        let de = self.de.as_ref().expect("the value is taken last");
        let span = de.node.span;
        match step {
            0 => seed.deserialize((span.start.line as u64).into_deserializer()),
            1 => seed.deserialize((span.start.col as u64).into_deserializer()),
            2 => seed.deserialize((span.len as u64).into_deserializer()),
            _ => seed.deserialize(self.de.take().expect("taken once")),
        }
    }
}

#[cfg(test)]
mod tests;
