//! Challenges (spec §4.4, §5.2): a TOTP code checked at sign-in, or a push
//! to the user's phone.

use std::time::SystemTime;

use super::Client;
use super::error::{InvalidInput, VerifyError};
use super::resources::{Challenge, ChallengeStatus, DetailField};
use super::sid::{ChallengeSid, FactorSid, Identity, ServiceSid};
use super::transport::{Call, Kind};

/// A new challenge of one factor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewChallenge {
    /// The factor (verified).
    pub factor_sid: FactorSid,
    /// TOTP: the code, checked at once.
    pub code: Option<String>,
    /// Push: the message shown (≤ 256 characters).
    pub message: Option<String>,
    /// Push: the detail lines shown (≤ 20).
    pub fields: Vec<DetailField>,
    /// Push: string values attached and not shown (≤ 1024 characters as JSON).
    pub hidden_details: Vec<(String, String)>,
    /// When it stops being answerable (default 5 minutes, at most 60).
    pub expires_at: Option<SystemTime>,
}

impl NewChallenge {
    /// A TOTP challenge with the user's code.
    pub fn totp(factor_sid: FactorSid, code: impl Into<String>) -> Self {
        Self {
            code: Some(code.into()),
            ..Self::empty(factor_sid)
        }
    }

    /// A push showing `message`.
    pub fn push(factor_sid: FactorSid, message: impl Into<String>) -> Self {
        Self {
            message: Some(message.into()),
            ..Self::empty(factor_sid)
        }
    }

    fn empty(factor_sid: FactorSid) -> Self {
        Self {
            factor_sid,
            code: None,
            message: None,
            fields: Vec::new(),
            hidden_details: Vec::new(),
            expires_at: None,
        }
    }

    /// Adds a detail line.
    pub fn field(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push(DetailField::new(label, value));
        self
    }

    /// Adds a hidden detail.
    pub fn hidden(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.hidden_details.push((key.into(), value.into()));
        self
    }

    /// Expires at `at`.
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    fn check(&self) -> Result<(), InvalidInput> {
        if self
            .message
            .as_ref()
            .is_some_and(|m| m.is_empty() || m.chars().count() > 256)
        {
            return Err(InvalidInput::new("message", "must be 1 to 256 characters"));
        }
        let field_ok = |f: &DetailField| {
            !f.label.is_empty() && f.label.chars().count() <= 36 && f.value.chars().count() <= 128
        };
        if self.fields.len() > 20 || !self.fields.iter().all(field_ok) {
            return Err(InvalidInput::new(
                "fields",
                "at most 20, labels of 1 to 36 characters, values up to 128",
            ));
        }
        if self.message.is_none() && self.code.is_none() {
            return Err(InvalidInput::new("message", "a push needs a message"));
        }
        Ok(())
    }
}

/// The challenges of one entity.
#[derive(Debug, Clone, Copy)]
pub struct Challenges<'a> {
    client: &'a Client,
    service: &'a ServiceSid,
    identity: &'a Identity,
}

impl<'a> Challenges<'a> {
    pub(crate) fn new(client: &'a Client, service: &'a ServiceSid, identity: &'a Identity) -> Self {
        Self {
            client,
            service,
            identity,
        }
    }

    fn path(&self, rest: &[&'a str]) -> Vec<&str> {
        let mut path = vec![
            "Services",
            self.service.as_str(),
            "Entities",
            self.identity.as_str(),
            "Challenges",
        ];
        path.extend_from_slice(rest);
        path
    }

    /// Creates a challenge: a TOTP one is `approved` at once for the right
    /// code, `pending` for a wrong one; a push one is `pending` until the
    /// user answers. Never retried (a retry would push twice).
    pub async fn create(&self, challenge: &NewChallenge) -> Result<Challenge, VerifyError> {
        challenge.check()?;
        let mut call = Call::new("challenge.create", Kind::Write, &self.path(&[]))
            .param("FactorSid", challenge.factor_sid.as_str())
            .param_opt("AuthPayload", challenge.code.as_deref())
            .param_opt("Details.Message", challenge.message.as_deref())
            .param_opt(
                "ExpirationDate",
                challenge
                    .expires_at
                    .map(|at| crate::utc::DateTime::of(at).iso8601()),
            );
        for field in &challenge.fields {
            // Each line is JSON text in a repeated field (spec §1.3).
            call = call.param(
                "Details.Fields",
                serde_json::to_string(field).expect("strings serialise"),
            );
        }
        if !challenge.hidden_details.is_empty() {
            let hidden: serde_json::Map<String, serde_json::Value> = challenge
                .hidden_details
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect();
            let text = serde_json::Value::Object(hidden).to_string();
            if text.len() > 1024 {
                return Err(
                    InvalidInput::new("hidden_details", "at most 1024 characters as JSON").into(),
                );
            }
            call = call.param("HiddenDetails", text);
        }
        self.client.execute(call).await
    }

    /// The challenge `sid` as it stands (poll this for a push's answer).
    pub async fn fetch(&self, sid: &ChallengeSid) -> Result<Challenge, VerifyError> {
        let call = Call::new("challenge.fetch", Kind::Read, &self.path(&[sid.as_str()]));
        self.client.execute(call).await
    }

    /// The entity's challenges, newest first, of one factor and status if
    /// given.
    pub async fn list(
        &self,
        factor: Option<&FactorSid>,
        status: Option<ChallengeStatus>,
    ) -> Result<Vec<Challenge>, VerifyError> {
        let status = status.map(|status| match status {
            ChallengeStatus::Pending => "pending",
            ChallengeStatus::Expired => "expired",
            ChallengeStatus::Approved => "approved",
            ChallengeStatus::Denied => "denied",
            ChallengeStatus::Unknown => "unknown",
        });
        let call = Call::new("challenge.list", Kind::Read, &self.path(&[]))
            .param_opt("FactorSid", factor.map(FactorSid::as_str))
            .param_opt("Status", status)
            .param("Order", "desc");
        self.client.execute_list(call).await
    }

    /// Answers a pending TOTP challenge with a code (a wrong one leaves it
    /// `pending`; the 6th is refused with 60308).
    pub async fn update(&self, sid: &ChallengeSid, code: &str) -> Result<Challenge, VerifyError> {
        let call = Call::new("challenge.update", Kind::Write, &self.path(&[sid.as_str()]))
            .param("AuthPayload", code);
        self.client.execute(call).await
    }
}
