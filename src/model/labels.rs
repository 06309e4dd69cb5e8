//! An asset's labels: a few short key–value pairs.
//!
//! They are kept as one list sorted by key, each key once. A `BTreeMap` holding a single
//! label takes a whole B-tree node (about 540 bytes on 64-bit targets) for every asset of a
//! run; the list takes what its pairs take. Iteration, comparison and serialisation follow
//! key order, as a map's would.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Labels: keys to values, in key order.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// No labels.
    pub fn new() -> Self {
        Labels(Vec::new())
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// Sets `key` to `value`; the value it had, if any.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Each label, in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Each label with its value to change, in key order.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&String, &mut String)> {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// Each value to change, in key order.
    pub fn values_mut(&mut self) -> impl ExactSizeIterator<Item = &mut String> {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

impl FromIterator<(String, String)> for Labels {
    /// As a map collects: in key order, and of a key given twice the last value.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut pairs: Vec<(String, String)> = iter.into_iter().collect();
        // Stable: of equal keys the last given is last, and is the one kept.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        out.shrink_to_fit();
        Labels(out)
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(map: BTreeMap<String, String>) -> Self {
        Labels(map.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl std::ops::Index<&str> for Labels {
    type Output = String;
    fn index(&self, key: &str) -> &String {
        self.get(key).expect("no label with this key")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // As a map's visitor says it, so that errors read as they did.
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(pairs.into_iter().collect())
            }
        }
        d.deserialize_map(Pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn behaves_as_a_map_does() {
        let given = [("b", "1"), ("a", "2"), ("c", "3"), ("a", "4"), ("b", "5")];
        let as_map = map(&given);
        let labels: Labels = given
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(labels.iter().eq(as_map.iter()));
        assert_eq!(labels, Labels::from(as_map.clone()));
        assert_eq!(labels.get("a").map(String::as_str), Some("4"));
        assert_eq!(labels.get("z"), None);
        assert_eq!(
            serde_json::to_string(&labels).unwrap(),
            serde_json::to_string(&as_map).unwrap()
        );
        let back: Labels = serde_json::from_str(r#"{"z": "1", "m": "2"}"#).unwrap();
        assert!(back.iter().eq(map(&[("z", "1"), ("m", "2")]).iter()));
        assert!(serde_json::from_str::<Labels>(r#"{"a": 1}"#).is_err());
        assert_eq!(format!("{labels:?}"), format!("{as_map:?}"));
    }

    #[test]
    fn insert_keeps_key_order_and_replaces() {
        let mut labels = Labels::new();
        let mut as_map = BTreeMap::new();
        for (k, v) in [("m", "1"), ("a", "2"), ("z", "3"), ("m", "4"), ("b", "5")] {
            assert_eq!(
                labels.insert(k.into(), v.into()),
                as_map.insert(k.to_string(), v.to_string())
            );
            assert!(labels.iter().eq(as_map.iter()));
        }
        for v in labels.values_mut() {
            v.push('!');
        }
        assert_eq!(labels["m"], "4!");
    }
}
