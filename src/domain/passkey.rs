//! Passkeys and security keys: the two browser ceremonies (registering a
//! credential, answering the challenge with one), each begun for one user
//! and one session, answered once, within a few minutes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::enrollment::is_on;
use super::{Refusal, Rules, label};
use crate::method::{Ability, Method, ProviderError};
use crate::session::SecondFactorMethod;
use crate::store::{Factor, FactorKind, IdentityUse, NonceInsert, StoreError, UserId};

/// How long a ceremony may wait for its answer.
pub(crate) const CEREMONY_TTL: Duration = Duration::from_secs(300);

/// The label of a passkey the user did not name.
const DEFAULT_LABEL: &str = "Passkey";

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Purpose {
    /// Adding a credential.
    Register,
    /// Passing the challenge with one.
    Authenticate,
}

/// A ceremony begun, as the session keeps it until its answer: for whom,
/// what for, since when, the method's state, and a random id that makes
/// its answer single use in the store as well (a session restored from a
/// copy cannot answer it twice).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct KeptCeremony {
    purpose: Purpose,
    user: String,
    label: String,
    started_at: u64,
    id: String,
    state: String,
}

impl std::fmt::Debug for KeptCeremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptCeremony")
            .field("purpose", &self.purpose)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl KeptCeremony {
    /// A ceremony of `user` for `purpose`, begun `now`, with a fresh id.
    fn new(purpose: Purpose, user: &UserId, label: String, now: SystemTime, state: String) -> Self {
        Self {
            purpose,
            user: user.as_str().to_owned(),
            label,
            started_at: unix(now),
            id: crate::store::FactorId::random().as_str().to_owned(),
            state,
        }
    }
}

fn unix(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// A refusal of the browser's answer, or the provider's failure.
fn answer_refused(error: ProviderError) -> Refusal {
    match error {
        ProviderError::InvalidInput(message) => Refusal::CeremonyRefused(message),
        other => other.into(),
    }
}

impl Rules {
    /// The method of passkeys, if this set-up has one.
    fn passkeys(&self) -> Result<&dyn Method, Refusal> {
        self.methods
            .of(FactorKind::Webauthn)
            .filter(|method| method.abilities().contains(&Ability::Ceremony))
            .ok_or(Refusal::ChannelOff)
    }

    /// Whether this set-up offers passkeys.
    pub(crate) fn offers_passkeys(&self) -> bool {
        self.passkeys().is_ok()
    }

    /// Begins adding a passkey named `label_typed` for `user`, for a
    /// session that passed as `passed`: who may is as for any factor
    /// ([`may_add`](Self::may_add)), and each start counts as an
    /// enrollment. The answer is the browser's options, and what the
    /// session must keep for the finish.
    pub(crate) async fn start_passkey_registration(
        &self,
        user: &UserId,
        label_typed: &str,
        passed: Option<(SecondFactorMethod, SystemTime)>,
        now: SystemTime,
    ) -> Result<(Value, KeptCeremony), Refusal> {
        let method = self.passkeys()?;
        let label = label(label_typed, DEFAULT_LABEL)?;
        let factors = self.store.factors(user).await?;
        self.may_add(&factors, passed, now)?;
        self.reserve_enrollment(user, now).await?;
        let existing: Vec<Factor> = factors
            .into_iter()
            .filter(|factor| factor.kind == FactorKind::Webauthn)
            .collect();
        let ceremony = method.start_registration(user, &existing).await?;
        Ok((
            ceremony.options,
            KeptCeremony::new(Purpose::Register, user, label, now, ceremony.state),
        ))
    }

    /// Checks that `kept` is a live ceremony of `user` for `purpose`, and
    /// spends it: of two answers to one ceremony, only the first is read.
    async fn spend(
        &self,
        kept: Option<KeptCeremony>,
        user: &UserId,
        purpose: Purpose,
        now: SystemTime,
    ) -> Result<KeptCeremony, Refusal> {
        let kept = kept.ok_or(Refusal::NoCeremony)?;
        if kept.purpose != purpose || kept.user != user.as_str() {
            return Err(Refusal::NoCeremony);
        }
        let started = UNIX_EPOCH + Duration::from_secs(kept.started_at);
        if super::is_stale(started, now, CEREMONY_TTL) {
            return Err(Refusal::CeremonyExpired);
        }
        let nonce = format!("webauthn:{}", kept.id);
        match self
            .store
            .insert_nonce(&nonce, started + CEREMONY_TTL, now)
            .await?
        {
            NonceInsert::Fresh => Ok(kept),
            NonceInsert::Seen => Err(Refusal::NoCeremony),
        }
    }

    /// Finishes adding a passkey with the browser's `response` to the
    /// ceremony the session kept: the credential is checked by the
    /// method, stored active (its id is the identity: one user's alone),
    /// and who may add is asked again. The answer is the new factor and the
    /// new security generation if this turned two-factor sign-in on.
    pub(crate) async fn finish_passkey_registration(
        &self,
        user: &UserId,
        kept: Option<KeptCeremony>,
        response: &Value,
        passed: Option<(SecondFactorMethod, SystemTime)>,
        now: SystemTime,
    ) -> Result<(Factor, Option<u64>), Refusal> {
        let method = self.passkeys()?;
        let kept = self.spend(kept, user, Purpose::Register, now).await?;
        let factors = self.store.factors(user).await?;
        self.may_add(&factors, passed, now)?;
        let factor = method
            .finish_registration(user, &kept.label, response, &kept.state, now)
            .await
            .map_err(answer_refused)?;
        let was_on = is_on(&factors);
        match self
            .store
            .insert_factor(&factor, IdentityUse::Exclusive)
            .await
        {
            Ok(()) => {}
            Err(StoreError::IdentityInUse) => return Err(Refusal::IdentityInUse),
            Err(StoreError::Conflict(_)) => {
                return Err(Refusal::CeremonyRefused(
                    "that key is one of your ways to sign in already".into(),
                ));
            }
            Err(error) => return Err(error.into()),
        }
        tracing::info!(user = %user, "tower-authy: passkey added");
        self.events.tell(crate::events::SecurityEvent::FactorAdded {
            user: user.clone(),
            kind: factor.kind,
            label: factor.label.clone(),
        });
        let turned_on = if was_on {
            None
        } else {
            Some(self.store.revoke_devices(user).await?)
        };
        Ok((factor, turned_on))
    }

    /// The user's active passkeys, which the challenge can ask for.
    async fn active_passkeys(&self, user: &UserId) -> Result<Vec<Factor>, Refusal> {
        let challenge = self.challenge(user).await?;
        let keys: Vec<Factor> = challenge
            .factors()
            .iter()
            .filter(|factor| factor.kind == FactorKind::Webauthn && factor.is_active())
            .cloned()
            .collect();
        if keys.is_empty() {
            return Err(Refusal::ChannelOff);
        }
        Ok(keys)
    }

    /// The refusal of an answer whose counter went back: whoever answered
    /// first may have been a copy of the key, so every pass and remembered
    /// device of the user is voided.
    async fn copied(&self, user: &UserId, counted: super::attempts::Counted) -> Refusal {
        tracing::warn!(user = %user, "tower-authy: a passkey's counter went back; voiding the user's passes");
        if let Err(error) = self.store.revoke_devices(user).await {
            return error.into();
        }
        self.wrong_attempt(counted, |_| {
            Refusal::CeremonyRefused("the key's counter went back: it may have been copied".into())
        })
    }

    /// Begins answering the challenge with one of `user`'s passkeys.
    pub(crate) async fn start_passkey_authentication(
        &self,
        user: &UserId,
        now: SystemTime,
    ) -> Result<(Value, KeptCeremony), Refusal> {
        let method = self.passkeys()?;
        let keys = self.active_passkeys(user).await?;
        let ceremony = method.start_authentication(&keys).await?;
        Ok((
            ceremony.options,
            KeptCeremony::new(
                Purpose::Authenticate,
                user,
                String::new(),
                now,
                ceremony.state,
            ),
        ))
    }

    /// Checks the browser's `response` to the ceremony the session kept:
    /// counted like a code (a wrong answer is a failed attempt towards the
    /// lockout), signed by one of the user's passkeys, its signature
    /// counter moving forward (atomically: of two answers racing, one
    /// passes). The answer is the factor that passed.
    pub(crate) async fn finish_passkey_authentication(
        &self,
        user: &UserId,
        kept: Option<KeptCeremony>,
        response: &Value,
        now: SystemTime,
    ) -> Result<Factor, Refusal> {
        let method = self.passkeys()?;
        let kept = self.spend(kept, user, Purpose::Authenticate, now).await?;
        let keys = self.active_passkeys(user).await?;
        let counted = self.reserve_code_attempt(user, now).await?;
        let asserted = match method
            .finish_authentication(&keys, response, &kept.state)
            .await
        {
            Ok(asserted) => asserted,
            Err(ProviderError::InvalidInput(message)) => {
                tracing::info!(user = %user, "tower-authy: a passkey answer was refused");
                return Err(self.wrong_attempt(counted, |_| Refusal::CeremonyRefused(message)));
            }
            Err(ProviderError::Compromised) => return Err(self.copied(user, counted).await),
            Err(other) => return Err(other.into()),
        };
        let factor = &asserted.factor;
        let stored = factor.last_step.unwrap_or(0);
        if asserted.counter > 0 || stored > 0 {
            // A counter that does not move forward is a copied key, or a
            // replayed answer.
            match self
                .store
                .advance_step(user, &factor.id, u64::from(asserted.counter))
                .await
            {
                Ok(()) => {}
                Err(error) if error.is_conflict() => return Err(self.copied(user, counted).await),
                Err(error) => return Err(error.into()),
            }
        }
        if let Some(updated) = &asserted.updated {
            // The flags as they are now, on the record as it is now (its
            // counter moved on above, maybe by a racing answer too).
            let current = self
                .store
                .factors(user)
                .await?
                .into_iter()
                .find(|stored| stored.id == factor.id);
            if let Some(current) = current {
                let mut updated = updated.clone();
                updated.last_step = current.last_step;
                updated.label = current.label.clone();
                updated.last_used_at = current.last_used_at;
                if let Err(error) = self
                    .store
                    .replace_factor(&current, &updated, IdentityUse::Exclusive)
                    .await
                {
                    tracing::warn!(%error, user = %user, "tower-authy: a passkey's flags were not updated");
                }
            }
        }
        self.clear_code_attempts(user).await?;
        self.used(factor, now).await?;
        tracing::info!(user = %user, "tower-authy: passed with a passkey");
        Ok(factor.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            store: std::sync::Arc::new(crate::store::MemoryStore::new()),
            methods: crate::method::Methods::default(),
            policy: crate::config::Policy::default(),
            sealer: None,
            events: crate::events::Listener::default(),
        }
    }

    fn kept(purpose: Purpose, user: &str, started: SystemTime) -> KeptCeremony {
        KeptCeremony::new(
            purpose,
            &UserId::new(user),
            String::new(),
            started,
            String::new(),
        )
    }

    /// A ceremony is answered once, by its user, for its purpose, within
    /// its time; anything else is refused before the answer is read.
    #[tokio::test]
    async fn a_ceremony_is_spent_once_in_time_by_its_own_user() {
        let rules = rules();
        let now = SystemTime::now();
        let alice = UserId::new("alice");
        let spend = |kept| rules.spend(Some(kept), &alice, Purpose::Authenticate, now);

        let late = kept(Purpose::Authenticate, "alice", now - CEREMONY_TTL);
        assert!(matches!(spend(late).await, Err(Refusal::CeremonyExpired)));
        let other_purpose = kept(Purpose::Register, "alice", now);
        assert!(matches!(
            spend(other_purpose).await,
            Err(Refusal::NoCeremony)
        ));
        let other_user = kept(Purpose::Authenticate, "bob", now);
        assert!(matches!(spend(other_user).await, Err(Refusal::NoCeremony)));
        assert!(matches!(
            rules.spend(None, &alice, Purpose::Authenticate, now).await,
            Err(Refusal::NoCeremony)
        ));

        let live = kept(
            Purpose::Authenticate,
            "alice",
            now - Duration::from_secs(60),
        );
        assert!(spend(live.clone()).await.is_ok());
        assert!(
            matches!(spend(live).await, Err(Refusal::NoCeremony)),
            "a copy of the session answers nothing twice"
        );
    }
}
