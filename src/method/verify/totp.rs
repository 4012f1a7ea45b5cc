//! Authenticator apps whose seed Twilio keeps (Verify TOTP factors): made
//! at Verify, confirmed with the first code (`AuthPayload` on the factor),
//! then checked with TOTP challenges.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{Verify, entity_ref};
use crate::method::{Ability, AppBinding, Method, ProviderError};
use crate::store::{Factor, FactorKind, UserId};
use crate::verify::{
    ChallengeStatus, FactorStatus, Identity, NewChallenge, NewTotpFactor, VerifyError,
};

/// The factor's time step, set explicitly (a service may default to 60 s).
const STEP_SECS: u32 = 30;
/// Steps accepted either side, set explicitly (a service may allow 2).
const SKEW: u32 = 1;

/// How long an accepted code stays acceptable at Verify: its own step and
/// [`SKEW`] either side of [`STEP_SECS`], and a margin for clocks. Twilio
/// documents no replay protection, so the rules add theirs.
const REPLAYABLE_FOR: Duration = Duration::from_secs((2 * SKEW as u64 + 1) * STEP_SECS as u64 + 30);

/// A Verify TOTP factor: `provider_ref` is `{entity identity}:{factor SID}`.
#[derive(Debug)]
pub(super) struct VerifyTotp(pub(super) Verify);

/// A wrong code, whatever Verify calls it; anything else as it maps.
fn rejected(error: VerifyError) -> ProviderError {
    match error {
        // A code of the wrong shape can never be right.
        VerifyError::InvalidInput(input) if input.field == "code" => ProviderError::CodeRejected,
        other => other.into(),
    }
}

#[async_trait]
impl Method for VerifyTotp {
    fn kind(&self) -> FactorKind {
        FactorKind::VerifyTotp
    }

    fn abilities(&self) -> &[Ability] {
        &[Ability::CheckCode, Ability::EnrollApp]
    }

    /// The factor is made under the user's entity
    /// ([`Identity::for_user`]); Verify answers its binding this once.
    async fn start_app(
        &self,
        user: &UserId,
        label: &str,
        now: SystemTime,
    ) -> Result<(Factor, AppBinding), ProviderError> {
        let identity = Identity::for_user(user.as_str());
        let made = self
            .0
            .client
            .service(&self.0.service)
            .factors(&identity)
            .create_totp(&NewTotpFactor::new(label).time_step(STEP_SECS).skew(SKEW))
            .await?;
        let binding = made.binding.ok_or_else(|| {
            ProviderError::Unavailable("Verify made a TOTP factor without its binding".into())
        })?;
        let provider_ref = format!("{identity}:{}", made.sid);
        let mut factor = Factor::pending(
            user.clone(),
            FactorKind::VerifyTotp,
            label,
            &provider_ref,
            now,
        );
        factor.identity = Some(format!("verify-totp:{provider_ref}"));
        Ok((factor, AppBinding::new(binding.secret, binding.uri)))
    }

    /// A pending factor is confirmed (verified at Verify) by its first
    /// code; an active one is checked with a TOTP challenge.
    async fn check_code(&self, factor: &Factor, code: &str) -> Result<(), ProviderError> {
        let (identity, sid) = entity_ref(factor)?;
        let service = self.0.client.service(&self.0.service);
        let approved = if factor.is_active() {
            let challenge = service
                .challenges(&identity)
                .create(&NewChallenge::totp(sid, code))
                .await
                .map_err(rejected)?;
            challenge.status == ChallengeStatus::Approved
        } else {
            let verified = service
                .factors(&identity)
                .verify(&sid, code)
                .await
                .map_err(rejected)?;
            verified.status == FactorStatus::Verified
        };
        if approved {
            Ok(())
        } else {
            Err(ProviderError::CodeRejected)
        }
    }

    fn replayable_for(&self) -> Option<Duration> {
        Some(REPLAYABLE_FOR)
    }

    async fn forget(&self, factor: &Factor) -> Result<(), ProviderError> {
        super::forget_entity_factor(&self.0, factor).await
    }
}
