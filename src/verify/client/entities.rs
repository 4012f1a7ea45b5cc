//! Entities and their factors (spec §4.1–§4.3, §5.1).

use super::Client;
use super::error::{InvalidInput, VerifyError};
use super::resources::{Entity, Factor};
use super::sid::{FactorSid, Identity, ServiceSid};
use super::transport::{Call, Kind};

/// The entities (users) of one service.
#[derive(Debug, Clone, Copy)]
pub struct Entities<'a> {
    client: &'a Client,
    service: &'a ServiceSid,
}

impl<'a> Entities<'a> {
    pub(crate) fn new(client: &'a Client, service: &'a ServiceSid) -> Self {
        Self { client, service }
    }

    /// Creates the entity `identity`.
    pub async fn create(&self, identity: &Identity) -> Result<Entity, VerifyError> {
        let call = Call::new(
            "entity.create",
            Kind::Write,
            &["Services", self.service.as_str(), "Entities"],
        )
        .param("Identity", identity.as_str());
        self.client.execute(call).await
    }

    /// The entity `identity`.
    pub async fn fetch(&self, identity: &Identity) -> Result<Entity, VerifyError> {
        let call = Call::new(
            "entity.fetch",
            Kind::Read,
            &[
                "Services",
                self.service.as_str(),
                "Entities",
                identity.as_str(),
            ],
        );
        self.client.execute(call).await
    }

    /// Every entity of the service.
    pub async fn list(&self) -> Result<Vec<Entity>, VerifyError> {
        let call = Call::new(
            "entity.list",
            Kind::Read,
            &["Services", self.service.as_str(), "Entities"],
        );
        self.client.execute_list(call).await
    }

    /// Deletes the entity and its factors.
    pub async fn delete(&self, identity: &Identity) -> Result<(), VerifyError> {
        let call = Call::new(
            "entity.delete",
            Kind::Delete,
            &[
                "Services",
                self.service.as_str(),
                "Entities",
                identity.as_str(),
            ],
        );
        self.client.execute_delete(call).await
    }
}

/// A new TOTP factor (spec §4.2); the service's TOTP settings apply unless
/// given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewTotpFactor {
    /// Its name, the account name in authenticator apps (≤ 64 characters).
    pub friendly_name: String,
    /// Seconds per code (20–60).
    pub time_step: Option<u32>,
    /// Steps accepted either side (0–2).
    pub skew: Option<u32>,
    /// Digits per code (3–8).
    pub code_length: Option<u32>,
}

impl NewTotpFactor {
    /// A TOTP factor named `friendly_name`.
    pub fn new(friendly_name: impl Into<String>) -> Self {
        Self {
            friendly_name: friendly_name.into(),
            time_step: None,
            skew: None,
            code_length: None,
        }
    }

    /// Seconds per code.
    pub fn time_step(mut self, seconds: u32) -> Self {
        self.time_step = Some(seconds);
        self
    }

    /// Steps accepted either side.
    pub fn skew(mut self, steps: u32) -> Self {
        self.skew = Some(steps);
        self
    }

    /// Digits per code.
    pub fn code_length(mut self, digits: u32) -> Self {
        self.code_length = Some(digits);
        self
    }
}

fn check_name(name: &str) -> Result<(), InvalidInput> {
    if name.is_empty() || name.chars().count() > 64 {
        Err(InvalidInput::new(
            "friendly_name",
            "must be 1 to 64 characters",
        ))
    } else {
        Ok(())
    }
}

/// The factors of one entity.
#[derive(Debug, Clone, Copy)]
pub struct Factors<'a> {
    client: &'a Client,
    service: &'a ServiceSid,
    identity: &'a Identity,
}

impl<'a> Factors<'a> {
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
            "Factors",
        ];
        path.extend_from_slice(rest);
        path
    }

    /// Creates an unverified TOTP factor; the answer carries its
    /// [`Binding`](super::Binding) (seed and `otpauth://` URI), this once.
    pub async fn create_totp(&self, factor: &NewTotpFactor) -> Result<Factor, VerifyError> {
        check_name(&factor.friendly_name)?;
        let call = Call::new("factor.create", Kind::Write, &self.path(&[]))
            .param("FriendlyName", &factor.friendly_name)
            .param("FactorType", "totp")
            .param_opt("Config.TimeStep", factor.time_step.map(|v| v.to_string()))
            .param_opt("Config.Skew", factor.skew.map(|v| v.to_string()))
            .param_opt(
                "Config.CodeLength",
                factor.code_length.map(|v| v.to_string()),
            );
        self.client.execute(call).await
    }

    /// Creates a push factor from the server, as a device would with
    /// Twilio's SDK (the Verify simulator accepts it; Twilio may not: real
    /// push factors come from the application's mobile app).
    pub async fn create_push(
        &self,
        friendly_name: &str,
        public_key: &str,
    ) -> Result<Factor, VerifyError> {
        check_name(friendly_name)?;
        let call = Call::new("factor.create", Kind::Write, &self.path(&[]))
            .param("FriendlyName", friendly_name)
            .param("FactorType", "push")
            .param("Binding.Alg", "ES256")
            .param("Binding.PublicKey", public_key)
            .param("Config.SdkVersion", "tower-authy")
            .param("Config.AppId", "tower-authy")
            .param("Config.NotificationPlatform", "none");
        self.client.execute(call).await
    }

    /// Confirms a TOTP factor with a code from the app. A wrong code is `Ok`
    /// with status `unverified` (decide on `status`); the 6th wrong one is
    /// refused with 60310.
    pub async fn verify(&self, sid: &FactorSid, code: &str) -> Result<Factor, VerifyError> {
        let length = code.chars().count();
        if !(3..=8).contains(&length) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidInput::new("code", "must be 3 to 8 digits").into());
        }
        let call = Call::new("factor.verify", Kind::Write, &self.path(&[sid.as_str()]))
            .param("AuthPayload", code);
        self.client.execute(call).await
    }

    /// The factor `sid` (without its binding).
    pub async fn fetch(&self, sid: &FactorSid) -> Result<Factor, VerifyError> {
        let call = Call::new("factor.fetch", Kind::Read, &self.path(&[sid.as_str()]));
        self.client.execute(call).await
    }

    /// Every factor of the entity.
    pub async fn list(&self) -> Result<Vec<Factor>, VerifyError> {
        let call = Call::new("factor.list", Kind::Read, &self.path(&[]));
        self.client.execute_list(call).await
    }

    /// Deletes the factor `sid`.
    pub async fn delete(&self, sid: &FactorSid) -> Result<(), VerifyError> {
        let call = Call::new("factor.delete", Kind::Delete, &self.path(&[sid.as_str()]));
        self.client.execute_delete(call).await
    }
}
