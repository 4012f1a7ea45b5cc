//! Turning two-factor sign-in on: what a new enrollment must look like,
//! when one may replace another, who may add a factor and how fresh their
//! second factor must be. Taking factors away is `removal.rs`.

use std::time::{Duration, SystemTime};

use super::{Refusal, Rules};
use crate::code::Code;
use crate::method::{Ability, EnrollmentRequest, Method, ProviderError};
use crate::session::SecondFactorMethod;
use crate::store::{Factor, StoreError, UserId};

/// Why an enrollment ([`TwoFactor::enroll`](crate::TwoFactor::enroll))
/// did not happen. Nothing was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollError {
    /// The user already has a confirmed second factor.
    #[error("the user is already enrolled")]
    AlreadyEnrolled,
    /// The user has a phone registered and awaiting its first code, which
    /// this caller may not replace (changing it needs a second factor).
    #[error("the user has an enrollment awaiting confirmation")]
    AwaitingConfirmation,
    /// The enrollment changed during the provider call (a confirmation in
    /// another tab, another registration); nothing was overwritten.
    #[error("the enrollment changed meanwhile")]
    ChangedMeanwhile,
    /// The provider identity (the phone's Authy ID) belongs to another
    /// user, and the policy does not let accounts share one
    /// ([`PolicyBuilder::with_shared_identities`](crate::config::PolicyBuilder::with_shared_identities)).
    #[error("that phone is set up on another account")]
    IdentityInUse,
    /// The provider refused or could not be reached.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Too many enrollments of this user lately; try again after `until`.
    #[error("too many enrollments; try again later")]
    TooMany {
        /// When the pause ends.
        until: std::time::SystemTime,
    },
    /// The store could not count the enrollment; nothing was enrolled.
    #[error("the enrollment could not be counted; try again")]
    Unavailable,
}

impl EnrollError {
    fn from_refusal(refusal: Refusal) -> Self {
        match refusal {
            Refusal::TooManyEnrollments { until } => Self::TooMany { until },
            _ => Self::Unavailable,
        }
    }
}

impl From<EnrollError> for Refusal {
    fn from(error: EnrollError) -> Self {
        match error {
            EnrollError::AlreadyEnrolled => Self::AlreadyEnabled,
            EnrollError::AwaitingConfirmation => Self::SecondFactorRequired,
            EnrollError::ChangedMeanwhile => Self::ChangedMeanwhile,
            EnrollError::IdentityInUse => Self::IdentityInUse,
            EnrollError::Provider(ProviderError::InvalidInput(message)) => Self::InvalidField {
                code: Code::PhoneRejected,
                message,
            },
            EnrollError::Provider(other) => other.into(),
            EnrollError::Store(error) => error.into(),
            EnrollError::TooMany { until } => Self::TooManyEnrollments { until },
            EnrollError::Unavailable => Self::Storage,
        }
    }
}

/// Which existing enrollment a new one may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replace {
    /// None: the user must have no active enrollment.
    Nothing,
    /// One awaiting its first code (the caller proved it may: it passed the
    /// second factor, or registered that one itself).
    Unconfirmed,
}

/// A plausible address: one `@`, a local part, a dotted domain of letters,
/// digits and hyphens, no spaces.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

fn invalid(code: Code, message: &str) -> Refusal {
    Refusal::InvalidField {
        code,
        message: message.into(),
    }
}

/// Checks what a user typed before anything is sent to the provider.
pub(crate) fn validate(
    email: &str,
    country_code: &str,
    phone_number: &str,
) -> Result<EnrollmentRequest, Refusal> {
    let email = email.trim();
    if !valid_email(email) {
        return Err(invalid(
            Code::InvalidEmail,
            "the e-mail address must look like name@example.com",
        ));
    }
    let code = country_code.trim();
    let code = code.strip_prefix('+').unwrap_or(code);
    let country_code =
        (!code.is_empty() && code.len() <= 3 && code.bytes().all(|b| b.is_ascii_digit()))
            .then(|| code.parse::<u16>().ok())
            .flatten()
            .filter(|c| (1..=999).contains(c))
            .ok_or_else(|| {
                invalid(
                    Code::InvalidCountryCode,
                    "the country calling code must be a number from 1 to 999, like 1 or 44",
                )
            })?;
    let phone = phone_number.trim();
    let separators = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')');
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !phone.chars().all(separators) || !(4..=15).contains(&digits) {
        return Err(invalid(
            Code::InvalidPhoneNumber,
            "the phone number must be 4 to 15 digits; spaces, dashes, dots and brackets are allowed",
        ));
    }
    Ok(EnrollmentRequest::new(email, country_code, phone))
}

/// Whether a session passed a real second factor (a code or an approval,
/// not a grace login or a remembered device) within `window` before `now`.
pub(crate) fn is_fresh(
    method: SecondFactorMethod,
    at: SystemTime,
    now: SystemTime,
    window: Duration,
) -> bool {
    method.is_checked() && now.duration_since(at).unwrap_or_default() <= window
}

/// Whether two-factor sign-in is on for the owner of `factors`: any active
/// factor that turns it on, whether or not a method here serves it.
pub(crate) fn is_on(factors: &[Factor]) -> bool {
    factors
        .iter()
        .any(|factor| factor.is_active() && factor.kind.turns_on_two_factor())
}

impl Rules {
    /// Whether a session that passed as `passed` (method, when) may add a
    /// factor for the owner of `factors`, now: while two-factor sign-in is
    /// on, only with a checked second factor passed within
    /// `fresh_for_changes` (a password alone, a skip, a remembered device or
    /// a pass from hours ago adds nothing that would outlast it); while it
    /// is off, the first factor may be added after the password.
    pub(crate) fn may_add(
        &self,
        factors: &[Factor],
        passed: Option<(SecondFactorMethod, SystemTime)>,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        if !is_on(factors) {
            return Ok(());
        }
        match passed {
            Some((method, at)) if is_fresh(method, at, now, self.policy.fresh_for_changes) => {
                Ok(())
            }
            Some((method, _)) if method.is_checked() => Err(Refusal::FreshFactorRequired),
            _ => Err(Refusal::SecondFactorRequired),
        }
    }

    /// The method that registers phones (`POST /2fa/enroll`).
    fn phone_method(&self) -> Result<&dyn Method, EnrollError> {
        self.methods
            .first_that_can(Ability::EnrollPhone)
            .ok_or_else(|| {
                EnrollError::Provider(ProviderError::NotPossible(
                    "this application does not register phones".into(),
                ))
            })
    }

    /// Confirms the user's phone awaiting its first code with `code`,
    /// checked (and counted) like any code, for a session that passed as
    /// `passed`: while another factor keeps two-factor sign-in on, only a
    /// session that just proved one confirms a new phone. The answer is the
    /// phone, now active, and the new security generation if this turned
    /// two-factor sign-in on (see [`used`](Self::used)).
    pub(crate) async fn confirm_phone(
        &self,
        user: &UserId,
        passed: Option<(SecondFactorMethod, SystemTime)>,
        code: &str,
        now: SystemTime,
    ) -> Result<(Factor, Option<u64>), Refusal> {
        let factors = self.store.factors(user).await?;
        let phone = match self.phone_of(factors.clone()) {
            Some(phone) if phone.is_active() => return Err(Refusal::AlreadyEnabled),
            Some(phone) => phone,
            None => return Err(Refusal::NotEnrolled),
        };
        self.may_add(&factors, passed, now)?;
        self.check_code(std::slice::from_ref(&phone), code, now)
            .await?;
        let turned_on = self.used(&phone, now).await?;
        self.events.tell(crate::events::SecurityEvent::FactorAdded {
            user: user.clone(),
            kind: phone.kind,
            label: phone.label.clone(),
        });
        Ok((phone.activated(), turned_on))
    }

    /// Whether a method here registers phones (`POST /2fa/enroll`).
    pub(crate) fn registers_phones(&self) -> bool {
        self.phone_method().is_ok()
    }

    /// The user's phone among `factors`, as the phone enrollment sees it:
    /// a factor of the phone method's kind, an active one before one
    /// awaiting its first code, the oldest first.
    pub(crate) fn phone_of(&self, factors: Vec<Factor>) -> Option<Factor> {
        let kind = self.phone_method().ok()?.kind();
        let (active, pending): (Vec<_>, Vec<_>) = factors
            .into_iter()
            .filter(|factor| factor.kind == kind)
            .partition(Factor::is_active);
        active.into_iter().chain(pending).next()
    }

    /// The user's phone, if they registered one.
    pub(crate) async fn phone(&self, user: &UserId) -> Result<Option<Factor>, Refusal> {
        Ok(self.phone_of(self.store.factors(user).await?))
    }

    /// Registers `user` with the provider and stores a pending enrollment,
    /// which the first passed code or approval confirms. The one path for
    /// [`TwoFactor::enroll`](crate::TwoFactor::enroll) and the enrollment
    /// route. The store write is a compare-and-set against what was read
    /// before the provider call, so a confirmation or another registration
    /// made meanwhile is never overwritten.
    pub(crate) async fn enroll(
        &self,
        user: &UserId,
        request: &EnrollmentRequest,
        replace: Replace,
        passed: Option<(SecondFactorMethod, SystemTime)>,
        now: SystemTime,
    ) -> Result<Factor, EnrollError> {
        let method = self.phone_method()?;
        let factors = self.store.factors(user).await?;
        if is_on(&factors) && self.may_add(&factors, passed, now).is_err() {
            // Two-factor sign-in is on (an authenticator app, say): a phone
            // is added only by a session that just proved a factor.
            return Err(EnrollError::AlreadyEnrolled);
        }
        let current = self.phone_of(factors);
        match (&current, replace) {
            (Some(factor), _) if factor.is_active() => return Err(EnrollError::AlreadyEnrolled),
            (Some(_), Replace::Nothing) => return Err(EnrollError::AwaitingConfirmation),
            _ => {}
        }
        self.reserve_enrollment(user, now)
            .await
            .map_err(EnrollError::from_refusal)?;
        let factor = method.enroll_phone(user, request, now).await?;
        let stored = match &current {
            None => self.store.insert_factor(&factor, self.identity_use()).await,
            Some(pending) => {
                self.store
                    .replace_factor(pending, &factor, self.identity_use())
                    .await
            }
        };
        match stored {
            Ok(()) => {
                tracing::info!(user = %user, "tower-authy: enrolled; awaiting the first code");
                Ok(factor)
            }
            Err(StoreError::IdentityInUse) => {
                // The Authy user is the other account's: it stays.
                tracing::warn!(user = %user, "tower-authy: refused a phone another account holds");
                Err(EnrollError::IdentityInUse)
            }
            Err(error) if error.is_conflict() => Err(EnrollError::ChangedMeanwhile),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(email: &str, country_code: &str, phone: &str) -> &'static str {
        match validate(email, country_code, phone) {
            Ok(_) => "ok",
            Err(e) => e.code().as_str(),
        }
    }

    #[test]
    fn enrollment_input_is_checked_field_by_field() {
        assert_eq!(code_of("a@example.com", "1", "555-123-4567"), "ok");
        assert_eq!(code_of(" a@example.com ", "+44", "(20) 7946 0018"), "ok");
        for email in [
            "",
            "a",
            "a@b",
            "@example.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@.com",
            "a@example..com",
            "a@b@example.com",
        ] {
            assert_eq!(
                code_of(email, "1", "5551234567"),
                "invalid_email",
                "{email:?}"
            );
        }
        for cc in ["", "0", "1000", "x", "1a", "-1", "+"] {
            assert_eq!(
                code_of("a@example.com", cc, "5551234567"),
                "invalid_country_code",
                "{cc:?}"
            );
        }
        for phone in [
            "",
            "123",
            "555-123-456a",
            "+15551234567",
            "1234567890123456",
        ] {
            assert_eq!(
                code_of("a@example.com", "1", phone),
                "invalid_phone_number",
                "{phone:?}"
            );
        }
    }

    /// With two-factor sign-in on, a factor is added only just after a
    /// checked one (a pass from long ago, a skip or a password alone adds
    /// nothing that would outlast it); with it off, the first one may be.
    #[test]
    fn adding_a_factor_needs_a_fresh_checked_one_while_2fa_is_on() {
        let rules = Rules {
            store: std::sync::Arc::new(crate::store::MemoryStore::new()),
            methods: crate::method::Methods::default(),
            policy: crate::config::Policy::default(),
            sealer: None,
            events: crate::events::Listener::default(),
        };
        let now = SystemTime::now();
        let user = UserId::new("a");
        let phone = Factor::authy(user.clone(), "1", None, now).activated();
        let on = [phone.clone()];
        let long_ago = now - Duration::from_secs(3600);
        assert!(
            rules
                .may_add(&on, Some((SecondFactorMethod::Code, now)), now)
                .is_ok()
        );
        assert!(matches!(
            rules.may_add(&on, Some((SecondFactorMethod::Code, long_ago)), now),
            Err(Refusal::FreshFactorRequired)
        ));
        for method in [
            SecondFactorMethod::NotRequired,
            SecondFactorMethod::RememberedDevice,
        ] {
            assert!(matches!(
                rules.may_add(&on, Some((method, now)), now),
                Err(Refusal::SecondFactorRequired)
            ));
        }
        assert!(matches!(
            rules.may_add(&on, None, now),
            Err(Refusal::SecondFactorRequired)
        ));
        let off = [Factor::authy(user, "2", None, now)];
        assert!(rules.may_add(&off, None, now).is_ok(), "the first factor");
    }

    #[test]
    fn only_real_recent_factors_are_fresh() {
        let now = SystemTime::now();
        let window = Duration::from_secs(300);
        let ago = |secs| now - Duration::from_secs(secs);
        assert!(is_fresh(SecondFactorMethod::Code, ago(10), now, window));
        assert!(is_fresh(SecondFactorMethod::OneTouch, now, now, window));
        assert!(!is_fresh(SecondFactorMethod::Code, ago(301), now, window));
        for method in [
            SecondFactorMethod::NotRequired,
            SecondFactorMethod::GraceLogin,
            SecondFactorMethod::RememberedDevice,
        ] {
            assert!(!is_fresh(method, now, now, window), "{method:?}");
        }
    }
}
