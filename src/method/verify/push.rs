//! Push factors the application's mobile app registered with Twilio's
//! SDK: pairing one, pushing a challenge to it, asking where it stands.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{Verify, entity_ref};
use crate::method::{Ability, Method, ProviderError, PushRequest, PushState};
use crate::store::{ApprovalStatus, Factor, FactorKind, UserId};
use crate::verify::{self, ChallengeStatus, FactorSid, Identity, NewChallenge};

/// The longest a challenge may live at Verify (spec §5.2).
const MAX_PUSH_TTL: Duration = Duration::from_secs(3600);

/// A push factor: `provider_ref` is `{entity identity}:{factor SID}`.
#[derive(Debug)]
pub(super) struct VerifyPush(pub(super) Verify);

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
        let (identity, sid) = entity_ref(factor)?;
        let mut push = NewChallenge::push(sid, &request.message).expires_at(
            SystemTime::now() + request.ttl.clamp(Duration::from_secs(1), MAX_PUSH_TTL),
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
        let (identity, _) = entity_ref(factor)?;
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
        super::forget_entity_factor(&self.0, factor).await
    }
}
