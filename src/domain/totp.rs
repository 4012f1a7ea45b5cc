//! Adding an authenticator app: who may, what a new one looks like, and
//! confirming it with its first code.

use std::time::SystemTime;

use super::{Refusal, Rules, is_stale};
use crate::method::totp::{SEED_LEN, context};
use crate::session::SecondFactorMethod;
use crate::store::{Factor, FactorId, FactorKind, IdentityUse, StoreError, UserId};

/// The label of an authenticator app the user did not name.
const DEFAULT_LABEL: &str = "Authenticator app";

/// The longest label, in characters.
const MAX_LABEL: usize = 64;

/// A new authenticator-app factor, pending, and its seed: the one time the
/// seed is seen in the clear (to show it to the user). `Debug` hides it.
pub(crate) struct TotpSetup {
    pub(crate) factor: Factor,
    pub(crate) seed: Vec<u8>,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpSetup")
            .field("factor", &self.factor)
            .finish_non_exhaustive()
    }
}

/// A label as the user typed it, trimmed; empty gives the default.
fn label(typed: &str) -> Result<String, Refusal> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(DEFAULT_LABEL.to_owned());
    }
    if typed.chars().count() > MAX_LABEL || typed.chars().any(char::is_control) {
        return Err(Refusal::InvalidInput(format!(
            "a label is up to {MAX_LABEL} characters, on one line"
        )));
    }
    Ok(typed.to_owned())
}

impl Rules {
    /// Starts an authenticator app for `user`, named `label`, for a session
    /// that passed its second factor as `passed` (method, when; `None`: not
    /// yet), as [`may_add`](Self::may_add) allows: with two-factor sign-in
    /// on, only just after a checked factor. Counted like a phone
    /// enrollment. An earlier setup never confirmed is replaced.
    pub(crate) async fn start_totp(
        &self,
        user: &UserId,
        label_typed: &str,
        passed: Option<(SecondFactorMethod, SystemTime)>,
        now: SystemTime,
    ) -> Result<TotpSetup, Refusal> {
        let sealer = self.sealer.as_ref().ok_or(Refusal::ChannelOff)?;
        if self.methods.of(FactorKind::Totp).is_none() {
            return Err(Refusal::ChannelOff);
        }
        let label = label(label_typed)?;
        let factors = self.store.factors(user).await?;
        self.may_add(&factors, passed, now)?;
        self.reserve_enrollment(user, now).await?;
        for unconfirmed in factors
            .iter()
            .filter(|factor| factor.kind == FactorKind::Totp && !factor.is_active())
        {
            match self.store.remove_factor(user, &unconfirmed.id).await {
                Ok(_) => {}
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(error.into()),
            }
        }
        let seed: [u8; SEED_LEN] = rand::random();
        let mut factor = Factor::pending(user.clone(), FactorKind::Totp, label, "", now);
        factor.secret = Some(sealer.seal(&seed, &context(&factor)));
        match self
            .store
            .insert_factor(&factor, IdentityUse::Exclusive)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(Refusal::ChangedMeanwhile),
            Err(error) => return Err(error.into()),
        }
        tracing::info!(user = %user, "tower-authy: authenticator app started; awaiting its first code");
        Ok(TotpSetup {
            factor,
            seed: seed.to_vec(),
        })
    }

    /// Confirms the user's pending authenticator app `id` with its first
    /// code, checked (and counted) like any code, for a session that passed
    /// as `passed`: who may add a factor is asked again here (two-factor
    /// sign-in may have come on since the setup began), and a setup older
    /// than `pending_ttl` is void. The answer is the factor, now active, and
    /// the new security generation if this turned two-factor sign-in on.
    pub(crate) async fn confirm_totp(
        &self,
        user: &UserId,
        id: &str,
        code: &str,
        passed: Option<(SecondFactorMethod, SystemTime)>,
        now: SystemTime,
    ) -> Result<(Factor, Option<u64>), Refusal> {
        let factors = self.store.factors(user).await?;
        let pending = factors
            .iter()
            .find(|factor| factor.kind == FactorKind::Totp && factor.id == FactorId::new(id))
            .cloned()
            .ok_or(Refusal::UnknownFactor)?;
        if pending.is_active() {
            return Err(Refusal::InvalidInput(
                "that authenticator app is confirmed already".into(),
            ));
        }
        if is_stale(pending.created_at, now, self.policy.pending_ttl) {
            return Err(Refusal::InvalidInput(
                "that setup has expired: start again".into(),
            ));
        }
        self.may_add(&factors, passed, now)?;
        self.check_code(std::slice::from_ref(&pending), code, now)
            .await?;
        let turned_on = self.used(&pending, now).await?;
        tracing::info!(user = %user, "tower-authy: authenticator app confirmed");
        Ok((pending.activated(), turned_on))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_one_short_line() {
        assert_eq!(label("  ").unwrap(), DEFAULT_LABEL);
        assert_eq!(label(" Work phone ").unwrap(), "Work phone");
        assert!(label("a\nb").is_err());
        assert!(label(&"x".repeat(65)).is_err());
        assert!(label(&"é".repeat(64)).is_ok());
    }
}
