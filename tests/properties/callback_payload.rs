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

/// Whole, consistent status reports, with noise around them: what a
/// provider sends, so the report's checks run on most cases.
fn report() -> impl Strategy<Value = (Value, String, String, ApprovalStatus)> {
    (
        "[0-9a-f-]{1,36}",
        prop_oneof![
            "[0-9]{1,10}".prop_map(Value::String),
            (0u64..u64::MAX / 2).prop_map(Value::from)
        ],
        prop_oneof![
            Just(("approved", ApprovalStatus::Approved)),
            Just(("denied", ApprovalStatus::Denied))
        ],
        any::<bool>(),
        prop::collection::btree_map("[a-z_]{1,8}", leaf(), 0..3),
    )
        .prop_map(|(uuid, authy_id, (status, parsed), nested, extra)| {
            let mut map: Map<String, Value> = extra.into_iter().collect();
            let id_text = match &authy_id {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            map.insert("uuid".into(), Value::String(uuid.clone()));
            map.insert("authy_id".into(), authy_id);
            map.insert("status".into(), Value::String(status.into()));
            if nested {
                map.insert(
                    "approval_request".into(),
                    json!({"transaction": {"status": status}}),
                );
            }
            (Value::Object(map), uuid, id_text, parsed)
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

    /// A whole, consistent report reads back exactly: which request, who,
    /// and the outcome.
    #[test]
    fn a_consistent_report_reads_back_exactly((params, uuid, authy_id, status) in report()) {
        match CallbackPayload::from_params(&params) {
            Ok(CallbackPayload::Status(report)) => {
                prop_assert_eq!(report.uuid, uuid);
                prop_assert_eq!(report.authy_id, authy_id);
                prop_assert_eq!(report.status, status);
            }
            other => prop_assert!(false, "{:?} from {}", other, params),
        }
    }

    /// A consistent report whose nested transaction says otherwise is
    /// refused.
    #[test]
    fn a_report_that_contradicts_itself_is_refused((params, _, _, status) in report()) {
        let mut params = params;
        let other = if status == ApprovalStatus::Approved { "denied" } else { "approved" };
        params["approval_request"] = json!({"transaction": {"status": other}});
        prop_assert!(CallbackPayload::from_params(&params).is_err(), "{}", params);
    }

    /// Not an object at all: refused, never a panic.
    #[test]
    fn a_callback_that_is_not_an_object_is_refused(value in leaf()) {
        prop_assert!(CallbackPayload::from_params(&value).is_err());
    }
}
