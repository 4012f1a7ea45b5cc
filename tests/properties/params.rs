//! The nested params parser and Authy's canonical form.

use proptest::prelude::*;
use serde_json::{Map, Value};
use tower_authy::webhook::signature::{canonical_params, params_from_query};

/// Parameter names: letters, digits and the characters that mean something
/// in a nested name or a query.
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_ .~%+&=\\-]{1,8}".prop_filter("no brackets", |s| !s.contains(['[', ']']))
}

/// Any text, Unicode and controls included.
fn text() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| s.chars().take(12).collect())
}

/// Trees of parameters as a form or a query carries them: text leaves in
/// nested objects.
fn tree() -> impl Strategy<Value = Value> {
    let leaf = text().prop_map(Value::String);
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop::collection::btree_map(name(), inner, 1..4)
            .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>()))
    })
    .prop_map(|value| match value {
        Value::Object(_) => value,
        leaf => Value::Object(Map::from_iter([("v".to_owned(), leaf)])),
    })
}

/// Any JSON at all: numbers, booleans, nulls and arrays too.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    /// A tree's canonical form parses back to the same tree, and the form of
    /// that is the same text: what Authy signs is what the callback carried.
    #[test]
    fn the_canonical_form_round_trips(params in tree()) {
        let canonical = canonical_params(&params).expect("a tree of text has a canonical form");
        let parsed = params_from_query(&canonical).expect("the canonical form parses");
        prop_assert_eq!(&parsed, &params, "canonical form {}", canonical);
        prop_assert_eq!(canonical_params(&parsed).unwrap(), canonical);
    }

    /// No JSON value makes the canonical form panic; it answers or refuses.
    #[test]
    fn any_json_gets_a_canonical_form_or_a_refusal(params in any_json()) {
        let _ = canonical_params(&params);
    }

    /// No query string makes the parser panic; whatever it accepts has a
    /// canonical form that parses back to the same tree.
    #[test]
    fn any_query_parses_or_is_refused(query in any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned())) {
        if let Ok(parsed) = params_from_query(&query) {
            if let Ok(canonical) = canonical_params(&parsed) {
                prop_assert_eq!(params_from_query(&canonical).unwrap(), parsed);
            }
        }
    }

    /// Queries made of the nesting syntax itself (brackets, indices, empty
    /// names, repeats) never panic.
    #[test]
    fn nesting_syntax_never_panics(parts in prop::collection::vec(
        prop_oneof![
            Just("a".to_owned()), Just("[".to_owned()), Just("]".to_owned()), Just("[]".to_owned()),
            Just("[0]".to_owned()), Just("[b]".to_owned()), Just("=".to_owned()), Just("&".to_owned()),
            Just("%5B".to_owned()), Just("%5D".to_owned()), Just("x".to_owned()), Just("[9999999999]".to_owned()),
        ],
        0..24,
    )) {
        let query = parts.concat();
        if let Ok(parsed) = params_from_query(&query) {
            let _ = canonical_params(&parsed);
        }
    }
}
