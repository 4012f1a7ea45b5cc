//! Reading a verified callback's parameters (spec §4.2). Unknown fields are
//! ignored; the few this crate acts on are checked strictly.

use serde_json::Value;

use super::WebhookError;
use crate::store::ApprovalStatus;

/// What a OneTouch callback says, once its signature has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackPayload {
    /// A status report for an approval request.
    Status(StatusReport),
    /// A signed callback without an approval request: the console's test ping.
    Ping,
}

/// An approval request's new status, as Authy reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusReport {
    /// The approval request uuid.
    pub uuid: String,
    /// `Approved` or `Denied`.
    pub status: ApprovalStatus,
    /// The Authy ID of the user who answered.
    pub authy_id: String,
}

impl CallbackPayload {
    /// Reads the parameters of a POST body or a GET query (both as a tree).
    pub fn from_params(params: &Value) -> Result<Self, WebhookError> {
        let malformed = |what: &str| WebhookError::Malformed(what.to_owned());
        let Value::Object(map) = params else {
            return Err(malformed("the callback is not an object of parameters"));
        };
        let has_request = map.get("approval_request").is_some_and(|r| !r.is_null());
        if !has_request && !map.contains_key("uuid") && !map.contains_key("status") {
            return Ok(Self::Ping);
        }
        let text = |key: &str| -> Result<String, WebhookError> {
            match map.get(key) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => Err(malformed(&format!("the callback has no `{key}`"))),
            }
        };
        let uuid = text("uuid")?;
        let authy_id = text("authy_id")?;
        if !authy_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("`authy_id` is not a number"));
        }
        let status_name = text("status")?;
        let status = match status_name.parse::<ApprovalStatus>().ok() {
            Some(status @ (ApprovalStatus::Approved | ApprovalStatus::Denied)) => status,
            _ => return Err(malformed("`status` is neither approved nor denied")),
        };
        // The nested transaction repeats the status; it must agree. (Its
        // uuid is not compared: published samples differ there, and the
        // signature covers both anyway.)
        if let Some(Value::String(nested)) = params.pointer("/approval_request/transaction/status")
        {
            if nested != &status_name {
                return Err(malformed(
                    "the transaction's status disagrees with the callback's",
                ));
            }
        }
        Ok(Self::Status(StatusReport {
            uuid,
            status,
            authy_id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_modern_and_old_callbacks() {
        let modern = json!({
            "authy_id": 688611, "device_uuid": 2102943, "uuid": "u-1", "status": "approved",
            "callback_action": "approval_request_status",
            "approval_request": {"transaction": {"status": "approved", "uuid": "u-1"}},
            "something_new": {"ignored": true},
        });
        assert_eq!(
            CallbackPayload::from_params(&modern).unwrap(),
            CallbackPayload::Status(StatusReport {
                uuid: "u-1".into(),
                status: ApprovalStatus::Approved,
                authy_id: "688611".into()
            })
        );
        let get_style = json!({"authy_id": "2345678", "uuid": "u-2", "status": "denied", "approval_request": {"logos": ""}});
        assert!(matches!(
            CallbackPayload::from_params(&get_style).unwrap(),
            CallbackPayload::Status(StatusReport {
                status: ApprovalStatus::Denied,
                ..
            })
        ));
    }

    #[test]
    fn a_callback_without_request_is_a_ping() {
        assert_eq!(
            CallbackPayload::from_params(&json!({"callback_action": "test"})).unwrap(),
            CallbackPayload::Ping
        );
    }

    #[test]
    fn refuses_what_it_cannot_act_on() {
        for bad in [
            json!({"uuid": "u", "status": "approved"}),
            json!({"uuid": "u", "status": "pending", "authy_id": 1}),
            json!({"uuid": "u", "status": "expired", "authy_id": 1}),
            json!({"uuid": "", "status": "approved", "authy_id": 1}),
            json!({"uuid": "u", "status": "approved", "authy_id": "1; drop"}),
            json!({"uuid": "u", "status": "approved", "authy_id": 1,
                   "approval_request": {"transaction": {"status": "denied"}}}),
            json!(["not", "an", "object"]),
        ] {
            assert!(
                matches!(
                    CallbackPayload::from_params(&bad),
                    Err(WebhookError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }
}
