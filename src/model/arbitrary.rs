//! Random JSON values for the model's property tests.

use proptest::prelude::*;
use serde_json::{Value, json};

/// A JSON scalar: `null`, a boolean, an integer, a finite float, or a string matching
/// `strings` (a proptest regex).
pub fn scalar(strings: &'static str) -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        strings.prop_map(Value::String),
    ]
    .boxed()
}
