//! Services (spec §3.1), one service's handles, its webhooks (§5.6) and
//! access tokens (§5.1).

use super::Client;
use super::challenges::Challenges;
use super::entities::{Entities, Factors};
use super::error::{InvalidInput, VerifyError};
use super::resources::{AccessToken, Service, Webhook};
use super::sid::{Identity, ServiceSid, WebhookSid};
use super::transport::{Call, Kind};
use super::verifications::Verifications;

/// A new service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewService {
    /// The name in messages (≤ 30 characters).
    pub friendly_name: String,
    /// Digits per code (4–10, default 6).
    pub code_length: Option<u32>,
    /// The issuer authenticator apps show (default: the name).
    pub totp_issuer: Option<String>,
}

impl NewService {
    /// A service named `friendly_name`.
    pub fn new(friendly_name: impl Into<String>) -> Self {
        Self {
            friendly_name: friendly_name.into(),
            code_length: None,
            totp_issuer: None,
        }
    }

    /// Codes of this many digits.
    pub fn code_length(mut self, digits: u32) -> Self {
        self.code_length = Some(digits);
        self
    }

    /// This TOTP issuer.
    pub fn totp_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.totp_issuer = Some(issuer.into());
        self
    }
}

/// The account's services.
#[derive(Debug, Clone, Copy)]
pub struct Services<'a> {
    client: &'a Client,
}

impl<'a> Services<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Creates a service.
    pub async fn create(&self, service: &NewService) -> Result<Service, VerifyError> {
        let length = service.friendly_name.chars().count();
        if !(1..=30).contains(&length) {
            return Err(InvalidInput::new("friendly_name", "must be 1 to 30 characters").into());
        }
        if service.code_length.is_some_and(|n| !(4..=10).contains(&n)) {
            return Err(InvalidInput::new("code_length", "must be 4 to 10").into());
        }
        let call = Call::new("service.create", Kind::Write, &["Services"])
            .param("FriendlyName", &service.friendly_name)
            .param_opt("CodeLength", service.code_length.map(|n| n.to_string()))
            .param_opt("Totp.Issuer", service.totp_issuer.as_deref());
        self.client.execute(call).await
    }

    /// The service `sid`.
    pub async fn fetch(&self, sid: &ServiceSid) -> Result<Service, VerifyError> {
        let call = Call::new("service.fetch", Kind::Read, &["Services", sid.as_str()]);
        self.client.execute(call).await
    }

    /// Every service of the account.
    pub async fn list(&self) -> Result<Vec<Service>, VerifyError> {
        let call = Call::new("service.list", Kind::Read, &["Services"]);
        self.client.execute_list(call).await
    }

    /// Deletes the service `sid`.
    pub async fn delete(&self, sid: &ServiceSid) -> Result<(), VerifyError> {
        let call = Call::new("service.delete", Kind::Delete, &["Services", sid.as_str()]);
        self.client.execute_delete(call).await
    }
}

/// One service's resources.
#[derive(Debug, Clone, Copy)]
pub struct ServiceHandle<'a> {
    client: &'a Client,
    sid: &'a ServiceSid,
}

impl<'a> ServiceHandle<'a> {
    pub(crate) fn new(client: &'a Client, sid: &'a ServiceSid) -> Self {
        Self { client, sid }
    }

    /// Codes by SMS, voice, e-mail or WhatsApp, and their checks.
    pub fn verifications(&self) -> Verifications<'a> {
        Verifications::new(self.client, self.sid)
    }

    /// The service's entities (users).
    pub fn entities(&self) -> Entities<'a> {
        Entities::new(self.client, self.sid)
    }

    /// One entity's factors.
    pub fn factors(&self, identity: &'a Identity) -> Factors<'a> {
        Factors::new(self.client, self.sid, identity)
    }

    /// One entity's challenges.
    pub fn challenges(&self, identity: &'a Identity) -> Challenges<'a> {
        Challenges::new(self.client, self.sid, identity)
    }

    /// The service's webhooks.
    pub fn webhooks(&self) -> Webhooks<'a> {
        Webhooks {
            client: self.client,
            service: self.sid,
        }
    }

    /// Tokens for the mobile app to register push factors.
    pub fn access_tokens(&self) -> AccessTokens<'a> {
        AccessTokens {
            client: self.client,
            service: self.sid,
        }
    }
}

/// The event types a webhook may receive (spec §5.6).
const EVENT_TYPES: &[&str] = &[
    "*",
    "factor.created",
    "factor.verified",
    "factor.deleted",
    "challenge.approved",
    "challenge.denied",
];

/// A new webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewWebhook {
    /// Its name.
    pub friendly_name: String,
    /// The events it receives.
    pub event_types: Vec<String>,
    /// Where they go (the application's `/2fa/verify/callback`).
    pub webhook_url: String,
}

impl NewWebhook {
    /// A webhook for the challenge events, which is what this crate needs.
    pub fn challenges(friendly_name: impl Into<String>, webhook_url: impl Into<String>) -> Self {
        Self {
            friendly_name: friendly_name.into(),
            event_types: vec!["challenge.approved".into(), "challenge.denied".into()],
            webhook_url: webhook_url.into(),
        }
    }
}

/// The webhooks of one service.
#[derive(Debug, Clone, Copy)]
pub struct Webhooks<'a> {
    client: &'a Client,
    service: &'a ServiceSid,
}

impl Webhooks<'_> {
    /// Creates a webhook (enabled, version 2).
    pub async fn create(&self, webhook: &NewWebhook) -> Result<Webhook, VerifyError> {
        if webhook.event_types.is_empty()
            || !webhook
                .event_types
                .iter()
                .all(|t| EVENT_TYPES.contains(&t.as_str()))
        {
            return Err(InvalidInput::new(
                "event_types",
                "one or more of *, factor.created, factor.verified, factor.deleted, challenge.approved, challenge.denied",
            )
            .into());
        }
        crate::config::absolute_url("webhook URL", &webhook.webhook_url)
            .map_err(|_| InvalidInput::new("webhook_url", "must be an absolute http(s) URL"))?;
        let mut call = Call::new(
            "webhook.create",
            Kind::Write,
            &["Services", self.service.as_str(), "Webhooks"],
        )
        .param("FriendlyName", &webhook.friendly_name)
        .param("WebhookUrl", &webhook.webhook_url)
        .param("Status", "enabled")
        .param("Version", "v2");
        for kind in &webhook.event_types {
            call = call.param("EventTypes", kind);
        }
        self.client.execute(call).await
    }

    /// Every webhook of the service.
    pub async fn list(&self) -> Result<Vec<Webhook>, VerifyError> {
        let call = Call::new(
            "webhook.list",
            Kind::Read,
            &["Services", self.service.as_str(), "Webhooks"],
        );
        self.client.execute_list(call).await
    }

    /// Deletes the webhook `sid`.
    pub async fn delete(&self, sid: &WebhookSid) -> Result<(), VerifyError> {
        let call = Call::new(
            "webhook.delete",
            Kind::Delete,
            &["Services", self.service.as_str(), "Webhooks", sid.as_str()],
        );
        self.client.execute_delete(call).await
    }
}

/// Access tokens of one service.
#[derive(Debug, Clone, Copy)]
pub struct AccessTokens<'a> {
    client: &'a Client,
    service: &'a ServiceSid,
}

impl AccessTokens<'_> {
    /// A token for `identity`'s device to register a push factor named
    /// `friendly_name`, living `ttl_seconds` (60–300).
    pub async fn create(
        &self,
        identity: &Identity,
        friendly_name: &str,
        ttl_seconds: u32,
    ) -> Result<AccessToken, VerifyError> {
        if !(60..=300).contains(&ttl_seconds) {
            return Err(InvalidInput::new("ttl", "must be 60 to 300 seconds").into());
        }
        let call = Call::new(
            "access_token.create",
            Kind::Write,
            &["Services", self.service.as_str(), "AccessTokens"],
        )
        .param("Identity", identity.as_str())
        .param("FactorType", "push")
        .param("FactorFriendlyName", friendly_name)
        .param("Ttl", ttl_seconds.to_string());
        self.client.execute(call).await
    }
}
