//! Twilio Verify as methods: a [`Verify`] bundle serves every kind of
//! Verify factor, so that switching from Authy is one line:
//!
//! | kind | what | added by |
//! |---|---|---|
//! | [`VerifySms`](crate::store::FactorKind::VerifySms) | a phone: codes by text or voice call | `POST /2fa/enroll` |
//! | [`VerifyCall`](crate::store::FactorKind::VerifyCall) | a phone that takes calls only (a landline) | `POST /2fa/contact` |
//! | [`VerifyEmail`](crate::store::FactorKind::VerifyEmail) | an e-mail address: codes by e-mail | `POST /2fa/contact` |
//! | [`VerifyWhatsapp`](crate::store::FactorKind::VerifyWhatsapp) | a WhatsApp number: codes by WhatsApp | `POST /2fa/contact` |
//! | [`VerifyTotp`](crate::store::FactorKind::VerifyTotp) | an authenticator app whose seed Twilio keeps | `POST /2fa/totp` with `kind=verify_totp` |
//! | [`VerifyPush`](crate::store::FactorKind::VerifyPush) | a push factor the application's mobile app registered with Twilio's SDK | [`TwoFactor::pair_device`](crate::TwoFactor::pair_device) |
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tower_authy::config::{Policy, StatusMode};
//! use tower_authy::method::verify::Verify;
//! use tower_authy::store::MemoryStore;
//! use tower_authy::verify::{Client, Credentials};
//! use tower_authy::TwoFactor;
//!
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder(Credentials::auth_token(
//!     "AC0123456789abcdef0123456789abcdef",
//!     "auth-token",
//! ))
//! .build()?;
//! let verify = Verify::new(client, "VA0123456789abcdef0123456789abcdef".parse()?);
//! let policy = Policy::builder()
//!     .with_status_mode(StatusMode::Polling { every: Duration::from_secs(2) })
//!     .build()?;
//! let two_factor = TwoFactor::builder(verify, Arc::new(MemoryStore::new()))
//!     .with_policy(policy)
//!     .build()?;
//! # let _ = two_factor;
//! # Ok(()) }
//! ```
//!
//! Verify's answers become the crate's outcomes: a wrong code (`pending`)
//! is [`ProviderError::CodeRejected`], counted like any wrong code; no code
//! waiting (20404 on a check) or too many checks (60202) is
//! [`ProviderError::CodeExpired`]; a factor Verify no longer has (20404
//! elsewhere) is [`ProviderError::UnknownUser`]; Verify's limits (60203, 60212, 20429)
//! are [`ProviderError::RateLimited`] with Twilio's `Retry-After`; 60200 is
//! invalid input; a landline or a disabled channel (60205, 60223) is not
//! possible for this user.

use std::sync::Arc;

use super::{IntoMethods, Method, ProviderError};
use crate::store::Factor;
use crate::verify::{Client, FactorSid, Identity, ServiceSid, VerifyError, codes};

mod codes_to;
mod push;
mod totp;

/// Twilio Verify's methods for one service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Verify {
    client: Client,
    service: Arc<ServiceSid>,
}

impl Verify {
    /// The methods of Verify service `service`, called through `client`.
    pub fn new(client: Client, service: ServiceSid) -> Self {
        Self {
            client,
            service: Arc::new(service),
        }
    }
}

impl IntoMethods for Verify {
    fn into_methods(self) -> Vec<Arc<dyn Method>> {
        let mut methods: Vec<Arc<dyn Method>> = codes_to::KINDS
            .iter()
            .map(|&kind| Arc::new(codes_to::VerifyTo::new(self.clone(), kind)) as Arc<dyn Method>)
            .collect();
        methods.push(Arc::new(totp::VerifyTotp(self.clone())));
        methods.push(Arc::new(push::VerifyPush(self)));
        methods
    }
}

/// Deletes an entity's factor at Verify; one already gone is forgotten.
async fn forget_entity_factor(verify: &Verify, factor: &Factor) -> Result<(), ProviderError> {
    let (identity, sid) = entity_ref(factor)?;
    match verify
        .client
        .service(&verify.service)
        .factors(&identity)
        .delete(&sid)
        .await
    {
        Ok(()) => Ok(()),
        Err(error) if error.is_not_found() => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// A factor Verify files under an entity: `provider_ref` is
/// `{entity identity}:{factor SID}`.
fn entity_ref(factor: &Factor) -> Result<(Identity, FactorSid), ProviderError> {
    let bad = || ProviderError::InvalidInput("the stored Verify factor is not identity:sid".into());
    let (identity, sid) = factor.provider_ref.split_once(':').ok_or_else(bad)?;
    Ok((
        identity.parse().map_err(|_| bad())?,
        sid.parse().map_err(|_| bad())?,
    ))
}

impl From<VerifyError> for ProviderError {
    fn from(error: VerifyError) -> Self {
        match (&error, error.code()) {
            (VerifyError::InvalidInput(input), _) => Self::InvalidInput(input.to_string()),
            // A code check answers 404 when no code is waiting (mapped by
            // the check itself); anywhere else the factor or entity is gone.
            (_, Some(codes::NOT_FOUND)) => Self::UnknownUser,
            (_, Some(codes::MAX_CHECK_ATTEMPTS)) => Self::CodeExpired,
            (_, Some(codes::INVALID_PARAMETER)) => {
                Self::InvalidInput("the phone number or e-mail address is not valid".into())
            }
            (_, Some(codes::LANDLINE | codes::CHANNEL_DISABLED)) => {
                Self::NotPossible("this phone number cannot receive that".into())
            }
            (_, Some(codes::FACTOR_UNVERIFIED)) => {
                Self::NotPossible("the device has not finished registering".into())
            }
            (VerifyError::Api { retry_after, .. }, _) if error.is_rate_limited() => {
                Self::RateLimited {
                    retry_after: *retry_after,
                }
            }
            _ => Self::Unavailable(Box::new(error)),
        }
    }
}
