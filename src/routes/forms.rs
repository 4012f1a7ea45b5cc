//! Reading fields the same way from a form (strings) and from JSON.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A POST with no fields of its own (the CSRF token aside).
#[derive(Debug, Deserialize)]
pub(crate) struct Empty {}

/// A checkbox: `true`, or a form's `"true"`/`"on"`/`"1"`.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => matches!(s.as_str(), "true" | "on" | "1"),
        _ => false,
    })
}

/// Text from a form field, or a JSON string or number.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checkboxes_and_json_flags_both_count() {
        #[derive(Deserialize)]
        struct F {
            #[serde(default, deserialize_with = "flag")]
            remember: bool,
        }
        let read = |v: Value| serde_json::from_value::<F>(v).unwrap().remember;
        assert!(read(json!({"remember": true})));
        assert!(read(json!({"remember": "true"})));
        assert!(read(json!({"remember": "on"})));
        assert!(!read(json!({"remember": "false"})));
        assert!(!read(json!({"remember": false})));
        assert!(!read(json!({})));
    }

    #[test]
    fn numbers_read_as_text() {
        #[derive(Deserialize)]
        struct F {
            #[serde(default, deserialize_with = "text")]
            token: String,
        }
        let read = |v: Value| serde_json::from_value::<F>(v).unwrap().token;
        assert_eq!(read(json!({"token": "0123456"})), "0123456");
        assert_eq!(read(json!({"token": 1234567})), "1234567");
        assert_eq!(read(json!({"token": null})), "");
    }
}
