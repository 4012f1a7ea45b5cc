//! Twilio Verify as methods: a [`Verify`] bundle serves phones
//! ([`FactorKind::VerifySms`]: codes by text or voice call) and push
//! factors the application's mobile app registered with Twilio's SDK
//! ([`FactorKind::VerifyPush`]), so that switching from Authy is one line:
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
//! waiting (20404) or too many checks (60202) is
//! [`ProviderError::CodeExpired`]; Verify's limits (60203, 60212, 20429)
//! are [`ProviderError::RateLimited`] with Twilio's `Retry-After`; 60200 is
//! invalid input; a landline or a disabled channel (60205, 60223) is not
//! possible for this user.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use super::{
    Ability, Channel, CodeSent, EnrollmentRequest, IntoMethods, Method, ProviderError, PushRequest,
    PushState,
};
use crate::store::{ApprovalStatus, Factor, FactorKind, UserId};
use crate::verify::{
    self, ChallengeStatus, Client, FactorSid, Identity, NewChallenge, ServiceSid,
    StartVerification, VerifyError, codes,
};

/// The longest a challenge may live at Verify (spec §5.2).
const MAX_PUSH_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

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
        vec![
            Arc::new(VerifyPhone(self.clone())),
            Arc::new(VerifyPush(self)),
        ]
    }
}

impl From<VerifyError> for ProviderError {
    fn from(error: VerifyError) -> Self {
        match (&error, error.code()) {
            (VerifyError::InvalidInput(input), _) => Self::InvalidInput(input.to_string()),
            (_, Some(codes::NOT_FOUND | codes::MAX_CHECK_ATTEMPTS)) => Self::CodeExpired,
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

/// A phone, by its E.164 number: codes by text message or voice call.
#[derive(Debug)]
struct VerifyPhone(Verify);

const PHONE_ABILITIES: &[Ability] = &[
    Ability::CheckCode,
    Ability::SendCode(Channel::Sms),
    Ability::SendCode(Channel::Call),
    Ability::EnrollPhone,
];

/// The E.164 form of an enrolment's number: `+`, the country code, the
/// digits (separators dropped).
fn e164(request: &EnrollmentRequest) -> Result<String, ProviderError> {
    let digits: String = request
        .phone_number
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let number = format!("+{}{digits}", request.country_code);
    let ok = request
        .phone_number
        .chars()
        .all(|c| c.is_ascii_digit() || " -.()".contains(c))
        && verify::is_e164(&number);
    if ok {
        Ok(number)
    } else {
        Err(ProviderError::InvalidInput(
            "the phone number is not valid".into(),
        ))
    }
}

#[async_trait]
impl Method for VerifyPhone {
    fn kind(&self) -> FactorKind {
        FactorKind::VerifySms
    }

    fn abilities(&self) -> &[Ability] {
        PHONE_ABILITIES
    }

    /// Verify keeps no users: the phone is the factor; its first approved
    /// code confirms it.
    async fn enroll_phone(
        &self,
        user: &UserId,
        request: &EnrollmentRequest,
        now: SystemTime,
    ) -> Result<Factor, ProviderError> {
        let number = e164(request)?;
        let ending = &number[number.len() - 2..];
        let mut factor = Factor::pending(
            user.clone(),
            FactorKind::VerifySms,
            format!("Phone ending in {ending}"),
            number.clone(),
            now,
        );
        factor.identity = Some(format!("tel:{number}"));
        factor.hint = Some(request.masked_phone());
        Ok(factor)
    }

    async fn send_code(
        &self,
        factor: &Factor,
        channel: Channel,
        _force: bool,
    ) -> Result<CodeSent, ProviderError> {
        let channel = match channel {
            Channel::Sms => verify::Channel::Sms,
            Channel::Call => verify::Channel::Call,
        };
        self.0
            .client
            .service(&self.0.service)
            .verifications()
            .start(&StartVerification::new(&factor.provider_ref, channel))
            .await?;
        Ok(CodeSent { ignored: false })
    }

    async fn check_code(&self, factor: &Factor, code: &str) -> Result<(), ProviderError> {
        let check = self
            .0
            .client
            .service(&self.0.service)
            .verifications()
            .check_to(&factor.provider_ref, code)
            .await;
        match check {
            Ok(check) if check.is_approved() => Ok(()),
            Ok(_) => Err(ProviderError::CodeRejected),
            // A code of the wrong shape can never be right.
            Err(VerifyError::InvalidInput(input)) if input.field == "code" => {
                Err(ProviderError::CodeRejected)
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// A push factor: `provider_ref` is `{entity identity}:{factor SID}`.
#[derive(Debug)]
struct VerifyPush(Verify);

fn push_ref(factor: &Factor) -> Result<(Identity, FactorSid), ProviderError> {
    let bad = || ProviderError::InvalidInput("the stored push factor is not identity:sid".into());
    let (identity, sid) = factor.provider_ref.split_once(':').ok_or_else(bad)?;
    Ok((
        identity.parse().map_err(|_| bad())?,
        sid.parse().map_err(|_| bad())?,
    ))
}

#[async_trait]
impl Method for VerifyPush {
    fn kind(&self) -> FactorKind {
        FactorKind::VerifyPush
    }

    fn abilities(&self) -> &[Ability] {
        &[Ability::Push, Ability::RegisterDevice]
    }

    /// `device_ref` is the factor SID the mobile app got from Twilio's SDK,
    /// registered under the user's entity ([`Identity::for_user`]): a
    /// factor of another entity is not found there.
    async fn register_device(
        &self,
        user: &UserId,
        device_ref: &str,
        now: SystemTime,
    ) -> Result<Factor, ProviderError> {
        let sid: FactorSid = device_ref
            .parse()
            .map_err(|_| ProviderError::InvalidInput("not a Verify factor SID (YF…)".into()))?;
        let identity = Identity::for_user(user.as_str());
        let fetched = self
            .0
            .client
            .service(&self.0.service)
            .factors(&identity)
            .fetch(&sid)
            .await;
        let device = match fetched {
            Ok(device) => device,
            Err(error) if error.is_not_found() => {
                return Err(ProviderError::InvalidInput(
                    "no such device for this user at Verify".into(),
                ));
            }
            Err(error) => return Err(error.into()),
        };
        if device.identity != identity || device.factor_type != verify::FactorType::Push {
            return Err(ProviderError::InvalidInput(
                "no such push device for this user at Verify".into(),
            ));
        }
        if device.status != verify::FactorStatus::Verified {
            return Err(ProviderError::NotPossible(
                "the device has not finished registering".into(),
            ));
        }
        let label = if device.friendly_name.is_empty() {
            "Phone (push)".to_owned()
        } else {
            device.friendly_name.clone()
        };
        let provider_ref = format!("{identity}:{sid}");
        let mut factor = Factor::pending(
            user.clone(),
            FactorKind::VerifyPush,
            label,
            &provider_ref,
            now,
        )
        .activated();
        factor.identity = Some(format!("verify-push:{provider_ref}"));
        Ok(factor)
    }

    async fn start_push(
        &self,
        factor: &Factor,
        request: &PushRequest,
    ) -> Result<String, ProviderError> {
        let (identity, sid) = push_ref(factor)?;
        let mut push = NewChallenge::push(sid, &request.message).expires_at(
            SystemTime::now()
                + request
                    .ttl
                    .clamp(std::time::Duration::from_secs(1), MAX_PUSH_TTL),
        );
        for (label, value) in &request.details {
            push = push.field(label, value);
        }
        for (key, value) in &request.hidden_details {
            push = push.hidden(key, value);
        }
        let challenge = self
            .0
            .client
            .service(&self.0.service)
            .challenges(&identity)
            .create(&push)
            .await?;
        Ok(challenge.sid.to_string())
    }

    async fn push_state(
        &self,
        factor: &Factor,
        request_id: &str,
    ) -> Result<PushState, ProviderError> {
        let (identity, _) = push_ref(factor)?;
        let sid = request_id
            .parse()
            .map_err(|_| ProviderError::InvalidInput("not a challenge SID".into()))?;
        let challenge = self
            .0
            .client
            .service(&self.0.service)
            .challenges(&identity)
            .fetch(&sid)
            .await?;
        let status = match challenge.status {
            ChallengeStatus::Pending => ApprovalStatus::Pending,
            ChallengeStatus::Approved => ApprovalStatus::Approved,
            ChallengeStatus::Denied => ApprovalStatus::Denied,
            ChallengeStatus::Expired => ApprovalStatus::Expired,
            // Fail closed: an unknown state is never an approval.
            _ => ApprovalStatus::Pending,
        };
        Ok(PushState {
            status,
            provider_user_id: Some(format!("{}:{}", challenge.identity, challenge.factor_sid)),
        })
    }

    async fn forget(&self, factor: &Factor) -> Result<(), ProviderError> {
        let (identity, sid) = push_ref(factor)?;
        match self
            .0
            .client
            .service(&self.0.service)
            .factors(&identity)
            .delete(&sid)
            .await
        {
            Ok(()) => Ok(()),
            // Already gone at Verify: nothing left to forget.
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}
