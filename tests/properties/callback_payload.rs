//! The OneTouch callback's payload, as a tree of parameters.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tower_authy::store::ApprovalStatus;
use tower_authy::webhook::CallbackPayload;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        "[0-9]{0,8}".prop_map(Value::String),
        prop_oneof![
            Just("approved"),
            Just("denied"),
            Just("pending"),
            Just("expired"),
            Just("APPROVED"),
            Just("")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
        any::<String>().prop_map(Value::String),
    ]
}

/// Callbacks with the real field names, each present or not, each any kind
/// of value, sometimes a nested transaction.
fn payload() -> impl Strategy<Value = Value> {
    (
        prop::option::of(leaf()),
        prop::option::of(leaf()),
        prop::option::of(leaf()),
        prop::option::of(leaf()),
        prop::collection::btree_map("[a-z_]{1,8}", leaf(), 0..3),
    )
        .prop_map(|(uuid, authy_id, status, nested, extra)| {
            let mut map: Map<String, Value> = extra.into_iter().collect();
            for (key, value) in [("uuid", uuid), ("authy_id", authy_id), ("status", status)] {
                if let Some(value) = value {
                    map.insert(key.into(), value);
                }
            }
            if let Some(nested) = nested {
                map.insert(
                    "approval_request".into(),
                    json!({"transaction": {"status": nested}}),
                );
            }
            Value::Object(map)
        })
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

proptest! {
    /// A status report comes out only of a callback that says who (digits),
    /// which request, and approved or denied, consistently; nothing panics.
    #[test]
    fn only_a_whole_consistent_callback_is_a_status_report(params in payload()) {
        match CallbackPayload::from_params(&params) {
            Ok(CallbackPayload::Status(report)) => {
                prop_assert_eq!(Some(report.uuid.clone()), text(params.get("uuid")));
                prop_assert_eq!(Some(report.authy_id.clone()), text(params.get("authy_id")));
                prop_assert!(report.authy_id.bytes().all(|b| b.is_ascii_digit()));
                let status = text(params.get("status")).unwrap();
                prop_assert!(matches!(
                    (status.as_str(), report.status),
                    ("approved", ApprovalStatus::Approved) | ("denied", ApprovalStatus::Denied)
                ), "{} read as {:?}", status, report.status);
                if let Some(Value::String(nested)) = params.pointer("/approval_request/transaction/status") {
                    prop_assert_eq!(nested, &status);
                }
            }
            Ok(CallbackPayload::Ping) => {
                // Only a callback with nothing of a status report in it.
                prop_assert!(params.get("uuid").is_none() && params.get("status").is_none());
            }
            Ok(_) | Err(_) => {}
        }
    }

    /// Not an object at all: refused, never a panic.
    #[test]
    fn a_callback_that_is_not_an_object_is_refused(value in leaf()) {
        prop_assert!(CallbackPayload::from_params(&value).is_err());
    }
}
