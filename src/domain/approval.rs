//! Push approvals (OneTouch): sending one bound to the session that asked,
//! finding it again only through that binding, and waiting for its outcome
//! — recorded by the webhook, or asked of the provider in polling mode.

use std::time::{Duration, Instant, SystemTime};

use subtle::ConstantTimeEq;

use super::challenge::Challenge;
use super::refusal::Send;
use super::{Refusal, Requester, Rules};
use crate::config::StatusMode;
use crate::method::{Ability, PushRequest};
use crate::session::{AuthState, random_token};
use crate::store::{ApprovalRecord, ApprovalStatus, FactorId, UserId};
use crate::webhook::{PollError, poll_approval};

/// The longest a wait for an outcome is held open: below the idle timeouts
/// of common proxies, so a long-poll is answered rather than cut.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(25);

/// The detail that shows whose sign-in the push is for.
const USERNAME: &str = "Username";

/// The detail that names the application.
const APP: &str = "App";

/// What ties a push request to the session that made it: its uuid and a
/// random value only that session and the store know; and what it was
/// pushed to, when: the factor and the user's security generation.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    pub(crate) uuid: String,
    pub(crate) secret: String,
    pub(crate) factor: Option<FactorId>,
    pub(crate) generation: Option<u64>,
}

impl Binding {
    /// The push request the session is waiting on, if any.
    pub(crate) fn of(state: &AuthState) -> Option<Self> {
        state.approval.as_ref().map(|pending| Self {
            uuid: pending.uuid.clone(),
            secret: pending.binding.clone(),
            factor: pending.factor.as_deref().map(FactorId::new),
            generation: pending.generation,
        })
    }
}

impl std::fmt::Debug for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binding")
            .field("uuid", &self.uuid)
            .finish_non_exhaustive()
    }
}

/// Whether the stored request is the one this session made, for this user.
fn belongs(record: &ApprovalRecord, user: &UserId, binding: &Binding) -> bool {
    let same_secret: bool = record
        .session_binding
        .as_bytes()
        .ct_eq(binding.secret.as_bytes())
        .into();
    same_secret && record.uuid == binding.uuid && record.user_id == *user
}

impl Rules {
    /// The request `binding` names, as the store has it at `now`, if it is
    /// this user's and this session's.
    pub(crate) async fn bound_request(
        &self,
        user: &UserId,
        binding: Option<&Binding>,
        now: SystemTime,
    ) -> Result<ApprovalRecord, Refusal> {
        let binding = binding.ok_or(Refusal::NoApprovalRequest)?;
        let record = self
            .store
            .approval(&binding.uuid, now)
            .await?
            .ok_or(Refusal::NoApprovalRequest)?;
        if belongs(&record, user, binding) {
            Ok(record)
        } else {
            tracing::warn!(
                user = %user,
                "tower-authy: a session named an approval request that is not bound to it"
            );
            Err(Refusal::NoApprovalRequest)
        }
    }

    /// Pushes an approval request to the challenge's first factor that can
    /// push, unless `current` (the session's last request) can still be
    /// answered: a reload must not push again and spend the send limit.
    /// Returns the request and, for a new one, the binding the session
    /// keeps.
    pub(crate) async fn push(
        &self,
        challenge: &Challenge,
        current: Option<ApprovalRecord>,
        requester: &Requester,
        now: SystemTime,
    ) -> Result<(ApprovalRecord, Option<Binding>), Refusal> {
        let policy = &self.policy;
        if !policy.onetouch {
            return Err(Refusal::ChannelOff);
        }
        if let Some(record) = current.filter(|r| r.status == ApprovalStatus::Pending) {
            return Ok((record, None));
        }
        let enrollment = self
            .able(challenge, Ability::Push)
            .ok_or(Refusal::ChannelOff)?;
        // Read before the push: any change from now on voids its approval.
        let generation = self.generation(&enrollment.user_id).await?;
        let method = self
            .methods
            .of(enrollment.kind)
            .ok_or(Refusal::ChannelOff)?;
        self.reserve_send(
            &enrollment.user_id,
            enrollment.identity.as_deref(),
            Send::Push,
            now,
        )
        .await?;
        // Who asks, where from, with what and when, and for which site:
        // what lets the phone's owner tell their own sign-in from a stale or
        // a foreign one. A policy detail of the same name never replaces these.
        let mut ours: Vec<(&str, String)> = vec![(USERNAME, enrollment.user_id.to_string())];
        ours.extend(requester.details(now));
        if let Some(app) = &policy.app_name {
            ours.push((APP, app.clone()));
        }
        let mut request = PushRequest::new(&policy.onetouch_message, policy.onetouch_ttl);
        for (key, value) in &ours {
            request = request.detail(*key, value);
        }
        for (key, value) in &policy.onetouch_details {
            if !ours.iter().any(|(ours, _)| key.eq_ignore_ascii_case(ours)) {
                request = request.detail(key, value);
            }
        }
        let uuid = method.start_push(enrollment, &request).await?;
        crate::telemetry::sent("push");
        let binding = Binding {
            uuid: uuid.clone(),
            secret: random_token(),
            factor: Some(enrollment.id.clone()),
            generation: Some(generation),
        };
        let record = ApprovalRecord::pending(
            uuid,
            enrollment.user_id.clone(),
            binding.secret.clone(),
            now,
            Some(policy.onetouch_ttl),
        );
        self.store.insert_approval(&record).await?;
        tracing::info!(user = %enrollment.user_id, "tower-authy: OneTouch request sent");
        Ok((record, Some(binding)))
    }

    /// Records an approved push as the use of the factor it went to (its
    /// confirmation, the first time) and answers the security generation
    /// the pass gets (the one read before the push, or the new one when
    /// this approval turned two-factor sign-in on) and whether it did. A factor removed since,
    /// or any other security change since, passes nothing: the approval
    /// may have come from a phone the owner just took away.
    pub(crate) async fn approved(
        &self,
        user: &UserId,
        binding: &Binding,
        now: SystemTime,
    ) -> Result<(u64, bool), Refusal> {
        let (Some(id), Some(generation)) = (&binding.factor, binding.generation) else {
            // Pushed before this was recorded: push again.
            return Err(Refusal::NoApprovalRequest);
        };
        if self.generation(user).await? != generation {
            tracing::warn!(user = %user, "tower-authy: an approval from before a security change passes nothing");
            return Err(Refusal::ChangedMeanwhile);
        }
        let factor = self
            .store
            .factors(user)
            .await?
            .into_iter()
            .find(|factor| &factor.id == id)
            .ok_or(Refusal::NotEnrolled)?;
        Ok(match self.used(&factor, now).await? {
            Some(turned_on) => (turned_on, true),
            None => (generation, false),
        })
    }

    /// Waits up to `wait` for the request to leave `pending` and returns it
    /// as it then stands. In polling mode the provider is asked every
    /// `every`; a status recorded meanwhile by a callback (or another
    /// instance) wakes the wait at once in either mode.
    pub(crate) async fn settle(
        &self,
        uuid: &str,
        wait: Duration,
    ) -> Result<ApprovalRecord, Refusal> {
        let store = &self.store;
        let every = match self.policy.status_mode {
            StatusMode::Polling { every } => every,
            StatusMode::Callback => {
                let record = if wait.is_zero() {
                    store.approval(uuid, SystemTime::now()).await?
                } else {
                    store.wait_for_approval(uuid, wait).await?
                };
                return record.ok_or(Refusal::NoApprovalRequest);
            }
        };
        // Approval records do not name their factor's kind: the method that
        // pushes to a kind the user holds answers for them.
        let record = store
            .approval(uuid, SystemTime::now())
            .await?
            .ok_or(Refusal::NoApprovalRequest)?;
        let factors = store.factors(&record.user_id).await?;
        let method = factors
            .iter()
            .filter(|factor| self.methods.can(factor.kind, Ability::Push))
            .find_map(|factor| self.methods.of(factor.kind))
            .ok_or(Refusal::NoApprovalRequest)?;
        let deadline = Instant::now() + wait;
        loop {
            let polled = poll_approval(method, store.as_ref(), uuid, SystemTime::now()).await;
            let left = deadline.saturating_duration_since(Instant::now());
            match polled {
                Ok(record) if record.status.is_final() || left.is_zero() => return Ok(record),
                Ok(_) => {}
                // A passing provider failure: the next poll may work.
                Err(PollError::Provider(error)) if !left.is_zero() => {
                    tracing::warn!(%error, "tower-authy: asking for a OneTouch status failed; retrying");
                }
                Err(PollError::Provider(error)) => return Err(error.into()),
                Err(PollError::Store(error)) => return Err(error.into()),
                Err(error) => {
                    tracing::warn!(%error, "tower-authy: OneTouch status refused");
                    return Err(Refusal::NoApprovalRequest);
                }
            }
            store.wait_for_approval(uuid, every.min(left)).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_belongs_only_to_its_session_and_user() {
        let now = SystemTime::now();
        let record = ApprovalRecord::pending("u-1", UserId::new("alice"), "b-1", now, None);
        let binding = |uuid: &str, secret: &str| Binding {
            uuid: uuid.into(),
            secret: secret.into(),
            factor: None,
            generation: None,
        };
        let alice = UserId::new("alice");
        assert!(belongs(&record, &alice, &binding("u-1", "b-1")));
        assert!(
            !belongs(&record, &alice, &binding("u-1", "b-2")),
            "another session"
        );
        assert!(!belongs(
            &record,
            &UserId::new("mallory"),
            &binding("u-1", "b-1")
        ));
        assert!(!belongs(&record, &alice, &binding("u-2", "b-1")));
    }
}
