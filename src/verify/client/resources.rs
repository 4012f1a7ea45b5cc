//! The resources Verify answers with (spec §3–§5), as typed values. Readers
//! are lenient where Twilio is (unknown members are ignored, unknown enum
//! values kept as `Unknown`), strict where a decision hangs on a value.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::sid::{
    AccessTokenSid, AccountSid, ChallengeSid, EntitySid, FactorSid, Identity, ServiceSid,
    VerificationSid, WebhookSid,
};

/// Reads an optional ISO 8601 date (`null`, absent or unreadable: `None`).
fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<SystemTime>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    Ok(text.as_deref().and_then(crate::utc::parse_iso8601))
}

/// A Verify service (spec §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Service {
    /// Its SID.
    pub sid: ServiceSid,
    /// Its account.
    pub account_sid: AccountSid,
    /// The name shown in messages.
    pub friendly_name: String,
    /// How many digits its codes have.
    #[serde(default)]
    pub code_length: u32,
    /// Its TOTP defaults.
    #[serde(default)]
    pub totp: Option<TotpSettings>,
    /// When it was made.
    #[serde(default, deserialize_with = "date")]
    pub date_created: Option<SystemTime>,
}

/// A service's TOTP defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TotpSettings {
    /// The issuer in authenticator apps.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Seconds per code.
    #[serde(default)]
    pub time_step: u32,
    /// Digits per code.
    #[serde(default)]
    pub code_length: u32,
    /// Steps accepted either side.
    #[serde(default)]
    pub skew: u32,
}

/// Where a code goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Channel {
    /// A text message.
    Sms,
    /// A voice call.
    Call,
    /// An e-mail.
    Email,
    /// A WhatsApp message.
    Whatsapp,
}

impl Channel {
    /// The wire value (`sms`, `call`, `email`, `whatsapp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Call => "call",
            Self::Email => "email",
            Self::Whatsapp => "whatsapp",
        }
    }

    /// Reads a channel whatever its case (Twilio writes `SMS` and `sms`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "sms" => Some(Self::Sms),
            "call" => Some(Self::Call),
            "email" => Some(Self::Email),
            "whatsapp" => Some(Self::Whatsapp),
            _ => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verification's status (spec §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VerificationStatus {
    /// Waiting for the code.
    Pending,
    /// The right code was given.
    Approved,
    /// Canceled.
    Canceled,
    /// Too many wrong codes.
    MaxAttemptsReached,
    /// Deleted.
    Deleted,
    /// Delivery failed.
    Failed,
    /// Its time ran out.
    Expired,
    /// A status this crate does not know.
    #[serde(other)]
    Unknown,
}

/// One delivery of a verification's code.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SendCodeAttempt {
    /// When.
    #[serde(default, deserialize_with = "date")]
    pub time: Option<SystemTime>,
    /// On which channel, as Twilio wrote it (`SMS`, `whatsapp`…).
    #[serde(default)]
    pub channel: String,
    /// The attempt's SID (`VL…`).
    #[serde(default)]
    pub attempt_sid: String,
}

/// A verification: a code sent to a phone or an e-mail (spec §3.2). The
/// code itself is never in it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Verification {
    /// Its SID.
    pub sid: VerificationSid,
    /// Its service.
    pub service_sid: ServiceSid,
    /// The phone (E.164) or e-mail.
    pub to: String,
    /// The last channel, as Twilio wrote it.
    #[serde(default)]
    pub channel: String,
    /// Where it stands.
    pub status: VerificationStatus,
    /// Legacy: use `status`.
    #[serde(default)]
    pub valid: bool,
    /// Each delivery of the code, oldest first.
    #[serde(default)]
    pub send_code_attempts: Vec<SendCodeAttempt>,
    /// When it was made.
    #[serde(default, deserialize_with = "date")]
    pub date_created: Option<SystemTime>,
}

/// The answer to a code check (spec §3.4). Only `status == Approved` means
/// the code was right.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct VerificationCheck {
    /// The verification's SID.
    pub sid: VerificationSid,
    /// Its service.
    pub service_sid: ServiceSid,
    /// The phone or e-mail.
    pub to: String,
    /// The channel, as Twilio wrote it.
    #[serde(default)]
    pub channel: String,
    /// `Approved` for the right code; `Pending` for a wrong one.
    pub status: VerificationStatus,
}

impl VerificationCheck {
    /// Whether the code was right.
    pub fn is_approved(&self) -> bool {
        self.status == VerificationStatus::Approved
    }
}

/// An entity: the user as Verify knows them (spec §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Entity {
    /// Its SID.
    pub sid: EntitySid,
    /// The application's key for the user.
    pub identity: Identity,
    /// Its service.
    pub service_sid: ServiceSid,
    /// When it was made.
    #[serde(default, deserialize_with = "date")]
    pub date_created: Option<SystemTime>,
}

/// What kind of factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FactorType {
    /// An authenticator app's codes.
    Totp,
    /// Push approvals through the application's mobile app.
    Push,
    /// Passkeys.
    Passkeys,
    /// A type this crate does not know.
    #[serde(other)]
    Unknown,
}

/// A factor's status (spec §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FactorStatus {
    /// Not yet confirmed with a code (TOTP) or a signature (push).
    Unverified,
    /// Ready for challenges.
    Verified,
    /// A status this crate does not know.
    #[serde(other)]
    Unknown,
}

/// A TOTP factor's seed, returned once, when it is created. `Debug` shows
/// neither the secret nor the URI (which holds it).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Binding {
    /// The Base32 seed.
    pub secret: String,
    /// The `otpauth://` URI for a QR code.
    pub uri: String,
}

impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Binding([redacted])")
    }
}

/// A factor (spec §4.2, §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Factor {
    /// Its SID.
    pub sid: FactorSid,
    /// Its entity.
    pub entity_sid: EntitySid,
    /// Its entity's identity.
    pub identity: Identity,
    /// Its service.
    pub service_sid: ServiceSid,
    /// Its name.
    #[serde(default)]
    pub friendly_name: String,
    /// Where it stands.
    pub status: FactorStatus,
    /// What it is.
    pub factor_type: FactorType,
    /// Its settings (TOTP: `time_step`, `skew`, `code_length`, `alg`; push:
    /// the device's platform and SDK).
    #[serde(default)]
    pub config: Option<Value>,
    /// The seed: only in the answer to creating a TOTP factor.
    #[serde(default)]
    pub binding: Option<Binding>,
    /// When it was made.
    #[serde(default, deserialize_with = "date")]
    pub date_created: Option<SystemTime>,
}

/// A challenge's status (spec §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChallengeStatus {
    /// Waiting for the user.
    Pending,
    /// Its time ran out.
    Expired,
    /// Approved (the right TOTP code, or the user said yes).
    Approved,
    /// The user said no.
    Denied,
    /// A status this crate does not know.
    #[serde(other)]
    Unknown,
}

/// One line of a push's details.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct DetailField {
    /// Its label (≤ 36 characters).
    pub label: String,
    /// Its value (≤ 128 characters).
    pub value: String,
}

impl DetailField {
    /// A detail line.
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// What a push shows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ChallengeDetails {
    /// The message.
    #[serde(default)]
    pub message: String,
    /// The detail lines.
    #[serde(default)]
    pub fields: Vec<DetailField>,
}

/// A challenge (spec §4.4, §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Challenge {
    /// Its SID.
    pub sid: ChallengeSid,
    /// Its factor.
    pub factor_sid: FactorSid,
    /// Its entity's identity.
    pub identity: Identity,
    /// Its service.
    pub service_sid: ServiceSid,
    /// Where it stands.
    pub status: ChallengeStatus,
    /// Its factor's type.
    pub factor_type: FactorType,
    /// What a push shows.
    #[serde(default)]
    pub details: Option<ChallengeDetails>,
    /// What the application attached, not shown.
    #[serde(default)]
    pub hidden_details: Option<Value>,
    /// When it stops being answerable.
    #[serde(default, deserialize_with = "date")]
    pub expiration_date: Option<SystemTime>,
    /// When the user answered.
    #[serde(default, deserialize_with = "date")]
    pub date_responded: Option<SystemTime>,
    /// When it was made.
    #[serde(default, deserialize_with = "date")]
    pub date_created: Option<SystemTime>,
}

/// A service webhook (spec §5.6).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Webhook {
    /// Its SID.
    pub sid: WebhookSid,
    /// Its service.
    pub service_sid: ServiceSid,
    /// Its name.
    #[serde(default)]
    pub friendly_name: String,
    /// The events it receives (`*`, `challenge.approved`…).
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Where they go.
    pub webhook_url: String,
    /// `POST`.
    #[serde(default)]
    pub webhook_method: String,
    /// `enabled` or `disabled`.
    #[serde(default)]
    pub status: String,
    /// `v2` or `v1`.
    #[serde(default)]
    pub version: String,
}

/// A token for the application's mobile app to register a push factor
/// (spec §5.1). `Debug` hides the token.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AccessToken {
    /// Its SID.
    pub sid: AccessTokenSid,
    /// The entity the device will register for.
    pub entity_identity: Identity,
    /// The opaque token to hand to the app.
    pub token: String,
    /// Seconds it lives.
    #[serde(default)]
    pub ttl: u32,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("sid", &self.sid)
            .field("entity_identity", &self.entity_identity)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A page of a list: the items under `key`, and where the next page is.
#[derive(Debug, Deserialize)]
pub(crate) struct Meta {
    #[serde(default)]
    pub(crate) next_page_url: Option<String>,
    pub(crate) key: String,
}
