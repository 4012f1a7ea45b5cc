//! The method registry's seam: what each kind of factor can do.
//!
//! A [`Method`] serves one [`FactorKind`]: it says what it can do (its
//! [`Ability`]s: check a code, send one by a channel, push an approval,
//! run a ceremony, register a phone) and does it for a [`Factor`] of its
//! kind. The challenge, the layer and the store know factors and
//! abilities, never a vendor: a new kind plugs in a `Method`
//! ([`TwoFactorBuilder::with_method`](crate::TwoFactorBuilder::with_method))
//! without touching them. The Authy client is the first implementation (and
//! reaches the simulator by its base URL).
//!
//! Nothing here names Authy: references are strings, codes are digit
//! strings, and errors say what the rules need to decide (wrong code, try
//! later, not possible for this user).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::store::{ApprovalStatus, Factor, FactorKind, UserId};

mod authy;
pub(crate) mod backup;
#[cfg(feature = "webauthn")]
pub mod passkey;
mod registry;
pub(crate) mod totp;
pub mod verify;

pub(crate) use registry::Methods;

/// How a one-time code reaches the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Channel {
    /// A text message.
    Sms,
    /// A voice call that reads the code.
    Call,
    /// An e-mail.
    Email,
    /// A WhatsApp message.
    Whatsapp,
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Channel {
    /// `sms`, `call`, `email` or `whatsapp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Call => "call",
            Self::Email => "email",
            Self::Whatsapp => "whatsapp",
        }
    }
}

/// Who to enroll.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnrollmentRequest {
    /// The user's e-mail address.
    pub email: String,
    /// The country calling code (`1`, `44`, …).
    pub country_code: u16,
    /// The phone number, separators allowed.
    pub phone_number: String,
}

impl EnrollmentRequest {
    /// A request to enroll this e-mail and phone number.
    pub fn new(
        email: impl Into<String>,
        country_code: u16,
        phone_number: impl Into<String>,
    ) -> Self {
        Self {
            email: email.into(),
            country_code,
            phone_number: phone_number.into(),
        }
    }

    /// The phone number with all but its last two digits hidden.
    pub fn masked_phone(&self) -> String {
        let digits: Vec<char> = self
            .phone_number
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let shown = digits.len().saturating_sub(2);
        let masked: String = digits
            .iter()
            .enumerate()
            .map(|(i, d)| if i < shown { 'X' } else { *d })
            .collect();
        format!("+{} {masked}", self.country_code)
    }
}

// Contact details are personal data: keep them out of logs.
impl fmt::Debug for EnrollmentRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollmentRequest")
            .field("email", &"[redacted]")
            .field("country_code", &self.country_code)
            .field("phone_number", &self.masked_phone())
            .finish()
    }
}

/// What sending a code did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodeSent {
    /// The provider did not send it because the user has the app, where the
    /// code already is (Authy's behaviour without `force`).
    pub ignored: bool,
}

/// A OneTouch-style push asking the user to approve a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushRequest {
    /// Shown in the push and in the app.
    pub message: String,
    /// Shown to the user, in order.
    pub details: Vec<(String, String)>,
    /// Kept with the request, not shown.
    pub hidden_details: Vec<(String, String)>,
    /// How long the user has to answer.
    pub ttl: Duration,
}

impl PushRequest {
    /// A push with this message and time to live.
    pub fn new(message: impl Into<String>, ttl: Duration) -> Self {
        Self {
            message: message.into(),
            details: Vec::new(),
            hidden_details: Vec::new(),
            ttl,
        }
    }

    /// Adds a detail shown to the user.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.details.push((key.into(), value.into()));
        self
    }

    /// Adds a detail kept with the request but not shown.
    pub fn hidden_detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.hidden_details.push((key.into(), value.into()));
        self
    }
}

/// A push request as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushState {
    /// Where it stands.
    pub status: ApprovalStatus,
    /// Whose request it is, as the provider says: the
    /// [`provider_ref`](Factor::provider_ref) of the factor it was pushed to.
    pub provider_user_id: Option<String>,
}

/// Why a provider call did not succeed, sorted by what the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The code is wrong, expired or already used.
    #[error("the code was not accepted")]
    CodeRejected,
    /// No code is waiting to be checked any more (it expired, or too many
    /// wrong ones were tried): the user needs a new one. Providers that say
    /// so (Twilio Verify) answer this; others answer
    /// [`CodeRejected`](Self::CodeRejected).
    #[error("no code is waiting any more")]
    CodeExpired,
    /// The provider does not know the user (deleted, say).
    #[error("the provider does not know this user")]
    UnknownUser,
    /// The request cannot work for this user (no app for a push, a landline
    /// for SMS): offer another channel.
    #[error("not possible for this user: {0}")]
    NotPossible(String),
    /// The provider refused the input (an invalid phone number, say); the
    /// message is safe to show.
    #[error("{0}")]
    InvalidInput(String),
    /// The provider asks to slow down.
    #[error("too many requests; try again later")]
    RateLimited {
        /// How long the provider asked to wait, when it said (Authy never
        /// does); nobody is told a wait the provider did not give.
        retry_after: Option<Duration>,
    },
    /// The credential answered with a signature counter that went back: a
    /// copy of the key may be in use. The crate refuses it and voids every
    /// pass of the user.
    #[error("the key may have been copied")]
    Compromised,
    /// The provider could not be reached or failed; try again or another channel.
    #[error("the second-factor provider is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A new authenticator app as its provider made it: what the user types
/// in or scans, shown once. `Debug` hides both.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppBinding {
    /// The seed, RFC 4648 base32, for typing in.
    pub secret: String,
    /// The `otpauth://` URI apps scan.
    pub uri: String,
}

impl AppBinding {
    /// A binding of this secret and URI.
    pub fn new(secret: impl Into<String>, uri: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
            uri: uri.into(),
        }
    }
}

impl fmt::Debug for AppBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppBinding").finish_non_exhaustive()
    }
}

/// A browser ceremony begun (WebAuthn): what the browser is handed, and
/// what the server keeps until the answer. `Debug` shows neither.
#[derive(Clone)]
#[non_exhaustive]
pub struct Ceremony {
    /// The options for `navigator.credentials.create` or `.get`, as JSON
    /// (`{"publicKey": {…}}`, binary fields in base64url).
    pub options: serde_json::Value,
    /// The method's own state of the ceremony, to hand back at its end;
    /// the crate keeps it server-side, bound to the session, single use.
    pub state: String,
}

impl Ceremony {
    /// A ceremony with these options and state.
    pub fn new(options: serde_json::Value, state: impl Into<String>) -> Self {
        Self {
            options,
            state: state.into(),
        }
    }
}

impl fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ceremony").finish_non_exhaustive()
    }
}

/// What an authentication ceremony proved: which of the user's factors
/// answered, and what to record of it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Asserted {
    /// The factor whose credential signed.
    pub factor: Factor,
    /// The signature counter it reported (0: the authenticator keeps none).
    pub counter: u32,
    /// The factor with its credential updated (flags, counter), when the
    /// library says it changed.
    pub updated: Option<Factor>,
}

impl Asserted {
    /// `factor` answered with `counter`; `updated` is its new record, if any.
    pub fn new(factor: Factor, counter: u32, updated: Option<Factor>) -> Self {
        Self {
            factor,
            counter,
            updated,
        }
    }
}

/// What a [`Method`] can do; the challenge offers the ways these allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ability {
    /// Checks a code the user types (from an app, a text or a call):
    /// [`Method::check_code`].
    CheckCode,
    /// Sends a code by this channel: [`Method::send_code`].
    SendCode(Channel),
    /// Pushes an approval request to the user's device:
    /// [`Method::start_push`], [`Method::push_state`].
    Push,
    /// Proves the factor in a browser ceremony (WebAuthn), with its own
    /// routes: the challenge ranks it strongest.
    Ceremony,
    /// Checks a single-use recovery code (`POST /2fa/backup`), offered
    /// beside the other ways while two-factor sign-in is on:
    /// [`Method::check_code`], after which the crate removes the factor.
    RecoveryCode,
    /// Registers a phone number as a new factor (`POST /2fa/enroll`,
    /// [`TwoFactor::enroll`](crate::TwoFactor::enroll)):
    /// [`Method::enroll_phone`].
    EnrollPhone,
    /// Pairs a device the provider already knows (a Verify push factor the
    /// application's mobile app registered) as a new factor
    /// ([`TwoFactor::pair_device`](crate::TwoFactor::pair_device)):
    /// [`Method::register_device`].
    RegisterDevice,
    /// Registers an address the user types (an e-mail address, a WhatsApp
    /// or voice-only number) as a new factor, confirmed with the first code
    /// sent to it (`POST /2fa/contact`): [`Method::enroll_contact`].
    EnrollContact,
    /// Starts an authenticator app whose seed the provider keeps (a Twilio
    /// Verify TOTP factor), confirmed with its first code (`POST /2fa/totp`
    /// with its `kind`): [`Method::start_app`].
    EnrollApp,
}

/// How strong a kind of factor is, strongest first (design.md, "The
/// challenge"): a ceremony (phishing-resistant), then a push, then codes
/// from an app, then codes sent by text, call or e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Strength {
    /// A passkey or security key.
    Ceremony,
    /// An approval pushed to a device.
    Push,
    /// A code shown by an app on the user's device.
    AppCode,
    /// A code sent to a phone number or e-mail address.
    SentCode,
    /// A single-use recovery code, the way of last resort.
    Recovery,
}

impl Strength {
    /// The strength of a kind that can do `abilities`.
    pub fn of(abilities: &[Ability]) -> Self {
        let can = |ability| abilities.contains(&ability);
        if can(Ability::Ceremony) {
            Self::Ceremony
        } else if can(Ability::Push) {
            Self::Push
        } else if abilities.iter().any(|a| matches!(a, Ability::SendCode(_))) {
            Self::SentCode
        } else if can(Ability::CheckCode) {
            Self::AppCode
        } else {
            Self::Recovery
        }
    }
}

fn cannot(what: &str) -> ProviderError {
    ProviderError::NotPossible(format!("this kind of factor cannot {what}"))
}

/// One kind of second factor: what it can do, done for a factor of its
/// kind.
///
/// Every operation fails closed: anything but a clear success is an error.
/// An operation outside [`abilities`](Self::abilities) is never called by
/// the crate; its default answers [`ProviderError::NotPossible`].
#[async_trait]
pub trait Method: Send + Sync + fmt::Debug {
    /// The kind of factor this method serves; one method per kind.
    fn kind(&self) -> FactorKind;

    /// What it can do, for every factor of its kind.
    fn abilities(&self) -> &[Ability];

    /// Registers `user`'s phone with the provider and returns the new
    /// factor, pending. Registering the same phone number again reaches
    /// the same provider identity.
    async fn enroll_phone(
        &self,
        user: &UserId,
        request: &EnrollmentRequest,
        now: std::time::SystemTime,
    ) -> Result<Factor, ProviderError> {
        let _ = (user, request, now);
        Err(cannot("register a phone"))
    }

    /// Checks with the provider that `device_ref` is a device ready for
    /// challenges and `user`'s, and returns it as a new factor, active.
    async fn register_device(
        &self,
        user: &UserId,
        device_ref: &str,
        now: std::time::SystemTime,
    ) -> Result<Factor, ProviderError> {
        let _ = (user, device_ref, now);
        Err(cannot("pair a device"))
    }

    /// Registers `address` (an e-mail address, or a phone number in E.164
    /// form) as `user`'s new factor of this kind, pending until the first
    /// code sent to it is checked. `label` is the user's name for it, or
    /// empty.
    async fn enroll_contact(
        &self,
        user: &UserId,
        address: &str,
        label: &str,
        now: std::time::SystemTime,
    ) -> Result<Factor, ProviderError> {
        let _ = (user, address, label, now);
        Err(cannot("register an address"))
    }

    /// Starts an authenticator app for `user` at the provider, named
    /// `label`: the new factor, pending until [`check_code`](Self::check_code)
    /// accepts its first code, and what the user scans.
    async fn start_app(
        &self,
        user: &UserId,
        label: &str,
        now: std::time::SystemTime,
    ) -> Result<(Factor, AppBinding), ProviderError> {
        let _ = (user, label, now);
        Err(cannot("start an authenticator app"))
    }

    /// Sends a code by `channel`. With `force`, it is sent even where the
    /// provider would rather not (Authy skips users who have its app).
    async fn send_code(
        &self,
        factor: &Factor,
        channel: Channel,
        force: bool,
    ) -> Result<CodeSent, ProviderError> {
        let _ = (factor, channel, force);
        Err(cannot("send a code"))
    }

    /// Checks a code the user typed. `Ok` only for a valid code; a wrong one
    /// is [`ProviderError::CodeRejected`]. For a pending factor this is its
    /// confirmation (a provider that confirms apart, like a Verify TOTP
    /// factor, does so here).
    async fn check_code(&self, factor: &Factor, code: &str) -> Result<(), ProviderError> {
        let _ = (factor, code);
        Err(cannot("check a code"))
    }

    /// How long a code this method accepted stays acceptable at the
    /// provider when the provider does not refuse it a second time (a TOTP
    /// code within its skew, at Twilio Verify): the rules then remember
    /// each accepted code of a factor that long and refuse it again. The
    /// default, `None`: the method refuses replays itself.
    fn replayable_for(&self) -> Option<Duration> {
        None
    }

    /// Starts registering a new credential for `user` in the browser
    /// ([`Ability::Ceremony`]); `existing` are the user's credentials of
    /// this kind, which the browser is told not to register again.
    async fn start_registration(
        &self,
        user: &UserId,
        existing: &[Factor],
    ) -> Result<Ceremony, ProviderError> {
        let _ = (user, existing);
        Err(cannot("register a credential"))
    }

    /// Finishes a registration begun with `state`: `response` is the
    /// browser's answer (`PublicKeyCredential.toJSON()`). The answer is the
    /// new factor, active (the ceremony proved it), named `label`. A wrong
    /// answer is [`ProviderError::InvalidInput`].
    async fn finish_registration(
        &self,
        user: &UserId,
        label: &str,
        response: &serde_json::Value,
        state: &str,
        now: std::time::SystemTime,
    ) -> Result<Factor, ProviderError> {
        let _ = (user, label, response, state, now);
        Err(cannot("register a credential"))
    }

    /// Starts an authentication ceremony with any of `factors` (the user's
    /// active credentials of this kind).
    async fn start_authentication(&self, factors: &[Factor]) -> Result<Ceremony, ProviderError> {
        let _ = factors;
        Err(cannot("authenticate in the browser"))
    }

    /// Finishes an authentication begun with `state` over `factors`: which
    /// one answered, checked by signature. A wrong answer is
    /// [`ProviderError::InvalidInput`].
    async fn finish_authentication(
        &self,
        factors: &[Factor],
        response: &serde_json::Value,
        state: &str,
    ) -> Result<Asserted, ProviderError> {
        let _ = (factors, response, state);
        Err(cannot("authenticate in the browser"))
    }

    /// Whether a push can reach this factor now (Authy: the user has its
    /// app). The default: whenever the kind can push.
    async fn can_push(&self, factor: &Factor) -> Result<bool, ProviderError> {
        let _ = factor;
        Ok(self.abilities().contains(&Ability::Push))
    }

    /// Pushes an approval request; returns its id.
    async fn start_push(
        &self,
        factor: &Factor,
        request: &PushRequest,
    ) -> Result<String, ProviderError> {
        let _ = (factor, request);
        Err(cannot("push"))
    }

    /// Asks where a push request stands (for applications without
    /// callbacks). `factor` is one of the request's user's factors of this
    /// kind (a provider that files requests per user needs it); the answer
    /// names the factor the provider says it was for, which the crate
    /// checks against the user's.
    async fn push_state(
        &self,
        factor: &Factor,
        request_id: &str,
    ) -> Result<PushState, ProviderError> {
        let _ = (factor, request_id);
        Err(cannot("push"))
    }

    /// Forgets a removed factor at the provider (Authy deletes its user).
    /// The crate calls it only when no other factor holds the same
    /// identity. The default, for local factors: nothing to do.
    async fn forget(&self, factor: &Factor) -> Result<(), ProviderError> {
        let _ = factor;
        Ok(())
    }
}

/// One or more [`Method`]s to register at once: a method, or a provider's
/// bundle of them (Twilio Verify serves several kinds of factor), so that
/// switching provider is one builder line.
pub trait IntoMethods {
    /// The methods, one per kind.
    fn into_methods(self) -> Vec<Arc<dyn Method>>;
}

impl<M: Method + 'static> IntoMethods for M {
    fn into_methods(self) -> Vec<Arc<dyn Method>> {
        vec![Arc::new(self)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_details_stay_out_of_debug() {
        let request = EnrollmentRequest::new("alice@example.com", 1, "555-123-4567");
        let debug = format!("{request:?}");
        assert!(!debug.contains("alice"), "{debug}");
        assert!(!debug.contains("5551234"), "{debug}");
        assert!(debug.contains("+1 XXXXXXXX67"), "{debug}");
    }
}
