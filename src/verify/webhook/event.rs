//! A Verify event's parameters (spec §5.6), from a form or a JSON body.

use serde_json::Value;

use super::VerifyWebhookError;

/// What a Verify event reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventType {
    /// `challenge.approved`: the user approved a push (or TOTP) challenge.
    ChallengeApproved,
    /// `challenge.denied`: the user denied a push challenge.
    ChallengeDenied,
    /// `factor.created`.
    FactorCreated,
    /// `factor.verified`.
    FactorVerified,
    /// `factor.deleted`.
    FactorDeleted,
    /// A type this crate does not know (a newer Twilio event).
    Other(String),
}

impl EventType {
    fn parse(name: &str) -> Self {
        match name {
            "challenge.approved" => Self::ChallengeApproved,
            "challenge.denied" => Self::ChallengeDenied,
            "factor.created" => Self::FactorCreated,
            "factor.verified" => Self::FactorVerified,
            "factor.deleted" => Self::FactorDeleted,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// The fields of an event the webhook reads.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) uuid: String,
    pub(crate) kind: EventType,
    pub(crate) service_sid: String,
    pub(crate) entity_identity: String,
    pub(crate) factor_sid: String,
    pub(crate) factor_type: String,
    pub(crate) challenge_sid: Option<String>,
}

/// A form body's pairs, in order, repeats kept (the signature covers them
/// all).
pub(crate) fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, VerifyWebhookError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|_| VerifyWebhookError::Malformed("the body is not a form".into()))
}

impl Event {
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Result<Self, VerifyWebhookError> {
        Self::read(|name| {
            let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
            match (values.next(), values.next()) {
                (None, _) => Ok(None),
                (Some(value), None) => Ok(Some(value.clone())),
                // Which one would count is the sender's choice: refused.
                (Some(_), Some(_)) => Err(VerifyWebhookError::Malformed(format!(
                    "{name} is given twice"
                ))),
            }
        })
    }

    pub(crate) fn from_json(body: &[u8]) -> Result<Self, VerifyWebhookError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| VerifyWebhookError::Malformed("the body is not JSON".into()))?;
        let Value::Object(object) = value else {
            return Err(VerifyWebhookError::Malformed(
                "the body is not a JSON object".into(),
            ));
        };
        Self::read(|name| match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => Ok(Some(value.clone())),
            Some(_) => Err(VerifyWebhookError::Malformed(format!(
                "{name} is not a string"
            ))),
        })
    }

    fn read(
        field: impl Fn(&str) -> Result<Option<String>, VerifyWebhookError>,
    ) -> Result<Self, VerifyWebhookError> {
        let required = |name: &str| {
            field(name)?
                .filter(|value| !value.is_empty())
                .ok_or_else(|| VerifyWebhookError::Malformed(format!("{name} is missing")))
        };
        Ok(Self {
            uuid: required("uuid")?,
            kind: EventType::parse(&required("type")?),
            service_sid: required("service_sid")?,
            entity_identity: field("entity_identity")?.unwrap_or_default(),
            factor_sid: field("factor_sid")?.unwrap_or_default(),
            factor_type: field("factor_type")?.unwrap_or_default(),
            challenge_sid: field("challenge_sid")?.filter(|value| !value.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_challenge_event_reads_from_a_form_and_from_json() {
        let form = pairs(&[
            ("uuid", "u1"),
            ("type", "challenge.denied"),
            ("service_sid", "VA1"),
            ("entity_identity", "e1"),
            ("factor_sid", "YF1"),
            ("factor_type", "push"),
            ("challenge_sid", "YC1"),
        ]);
        let from_form = Event::from_pairs(&form).unwrap();
        let json = serde_json::to_vec(&serde_json::json!({
            "uuid": "u1", "type": "challenge.denied", "service_sid": "VA1",
            "entity_identity": "e1", "factor_sid": "YF1", "factor_type": "push",
            "challenge_sid": "YC1",
        }))
        .unwrap();
        let from_json = Event::from_json(&json).unwrap();
        for event in [from_form, from_json] {
            assert_eq!(event.kind, EventType::ChallengeDenied);
            assert_eq!(event.challenge_sid.as_deref(), Some("YC1"));
            assert_eq!(event.entity_identity, "e1");
        }
    }

    #[test]
    fn repeated_missing_or_mistyped_fields_are_malformed() {
        let twice = pairs(&[
            ("uuid", "u1"),
            ("uuid", "u2"),
            ("type", "factor.created"),
            ("service_sid", "VA1"),
        ]);
        assert!(Event::from_pairs(&twice).is_err());
        let no_uuid = pairs(&[("type", "factor.created"), ("service_sid", "VA1")]);
        assert!(Event::from_pairs(&no_uuid).is_err());
        let number = br#"{"uuid": 5, "type": "factor.created", "service_sid": "VA1"}"#;
        assert!(Event::from_json(number).is_err());
        assert!(Event::from_json(b"[1]").is_err());
        assert_eq!(
            Event::from_pairs(&pairs(&[
                ("uuid", "u"),
                ("type", "challenge.expired"),
                ("service_sid", "VA1")
            ]))
            .unwrap()
            .kind,
            EventType::Other("challenge.expired".into())
        );
    }
}
