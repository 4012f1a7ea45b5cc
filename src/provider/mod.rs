//! The second-factor provider seam. The routes talk to a
//! [`SecondFactorProvider`]; the Authy client implements it (and reaches the
//! simulator by its base URL). Twilio Verify v2 or a local TOTP provider can
//! implement it later without touching the layer or the routes.
//!
//! Nothing here names Authy: ids are strings, codes are digit strings, and
//! errors say what the routes need to decide (wrong code, try later, not
//! possible for this user).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::store::ApprovalStatus;

mod authy;

/// How a one-time code reaches the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Channel {
    /// A text message.
    Sms,
    /// A voice call that reads the code.
    Call,
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Channel {
    /// `sms` or `call`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Call => "call",
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

/// A user the provider now knows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Enrolled {
    /// The provider's id for the user (the Authy ID).
    pub provider_user_id: String,
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
    /// Whose request it is, as the provider says.
    pub provider_user_id: Option<String>,
}

/// What the provider knows of a user's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Devices {
    /// The user has the provider's app, so pushes and soft tokens work.
    pub has_app: bool,
}

/// Why a provider call did not succeed, sorted by what the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The code is wrong, expired or already used.
    #[error("the code was not accepted")]
    CodeRejected,
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
    /// The provider could not be reached or failed; try again or another channel.
    #[error("the second-factor provider is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A second-factor service: registration, codes, pushes.
///
/// Every method fails closed: anything but a clear success is an error.
#[async_trait]
pub trait SecondFactorProvider: Send + Sync + fmt::Debug {
    /// Registers the user and returns the provider's id for them. Registering
    /// the same phone number again returns the same id.
    async fn enroll(&self, request: &EnrollmentRequest) -> Result<Enrolled, ProviderError>;

    /// Sends a code by `channel`. With `force`, it is sent even to users who
    /// have the app.
    async fn send_code(
        &self,
        provider_user_id: &str,
        channel: Channel,
        force: bool,
    ) -> Result<CodeSent, ProviderError>;

    /// Checks a code from an SMS, a call or the app. `Ok` only for a valid code.
    async fn verify_code(&self, provider_user_id: &str, code: &str) -> Result<(), ProviderError>;

    /// Pushes an approval request; returns its id.
    async fn start_push(
        &self,
        provider_user_id: &str,
        request: &PushRequest,
    ) -> Result<String, ProviderError>;

    /// Asks where a push request stands (for applications without callbacks).
    async fn push_state(&self, request_id: &str) -> Result<PushState, ProviderError>;

    /// What the user has: the app or not.
    async fn devices(&self, provider_user_id: &str) -> Result<Devices, ProviderError>;

    /// Deletes the user at the provider.
    async fn remove(&self, provider_user_id: &str) -> Result<(), ProviderError>;
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
