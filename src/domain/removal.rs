//! Taking factors away: removing one, turning two-factor sign-in off, and
//! what a session must prove for either (a current code, or a fresh pass
//! where there is no code to ask for).

use std::time::SystemTime;

use super::enrollment::is_fresh;
use super::{Refusal, Rules};
use crate::config::EnrollmentPolicy;
use crate::method::{Ability, ProviderError};
use crate::session::SecondFactorMethod;
use crate::store::{Factor, FactorId, FactorKind, UserId};

impl Rules {
    /// Whether a change to the factors of the owner of `factors` asks for a
    /// current code: while the policy takes codes and one of their active
    /// factors does (a user with passkeys alone proves a fresh pass
    /// instead).
    pub(crate) fn asks_code_for_changes(&self, factors: &[Factor]) -> bool {
        self.policy.codes
            && factors
                .iter()
                .any(|f| f.is_active() && self.methods.can(f.kind, Ability::CheckCode))
    }

    /// Whether the policy lets this user turn two-factor sign-in off.
    pub(crate) async fn opt_out_allowed(&self, user: &UserId) -> Result<bool, Refusal> {
        Ok(match self.policy.enrollment {
            EnrollmentPolicy::OptIn => true,
            EnrollmentPolicy::Mandatory {
                allow_opt_out: false,
                ..
            } => false,
            EnrollmentPolicy::Mandatory {
                grace_logins,
                allow_opt_out: true,
            } => self.store.grace_logins_used(user).await? < grace_logins,
        })
    }

    /// Turns two-factor sign-in off: removes every factor of the user, as
    /// [`remove`](Self::remove) does one; the answer is the new security
    /// generation.
    pub(crate) async fn turn_off(
        &self,
        user: &UserId,
        passed: Option<(SecondFactorMethod, SystemTime, u64)>,
        confirmed: bool,
        code: &str,
        now: SystemTime,
    ) -> Result<u64, Refusal> {
        let generation = self
            .remove(user, None, passed, confirmed, code, now)
            .await?;
        tracing::info!(user = %user, "tower-authy: two-factor sign-in turned off");
        Ok(generation)
    }

    /// Removes the user's factor `id` (`None`: every factor) for a session
    /// that passed its second factor as `passed` (method, when), once the
    /// user `confirmed` it and proved a current second factor: `code`,
    /// checked (and counted) like any code — a factor passed minutes ago is
    /// not enough, so an unattended signed-in browser cannot lower the
    /// protection in one click. Only where there is no code to ask for (the
    /// policy turns codes off, or the user's factors are passkeys) does a
    /// factor passed within `fresh_for_changes` stand in. Removing
    /// the last factor turns two-factor sign-in off, which the policy may
    /// forbid.
    ///
    /// The store forgets the factor first (that is what the user asked);
    /// then the provider forgets its user unless another factor still holds
    /// the same identity (a failure there is logged: no factor refers to
    /// that provider user any more). Every remembered device and every
    /// session that passed before is voided: the answer is the new security
    /// generation, for the caller's own session to keep its pass.
    pub(crate) async fn remove(
        &self,
        user: &UserId,
        id: Option<&FactorId>,
        passed: Option<(SecondFactorMethod, SystemTime, u64)>,
        confirmed: bool,
        code: &str,
        now: SystemTime,
    ) -> Result<u64, Refusal> {
        let Some((method, at, since)) = passed else {
            return Err(Refusal::SecondFactorRequired);
        };
        let factors = self.store.factors(user).await?;
        let mut doomed: Vec<&Factor> = match id {
            None => factors.iter().collect(),
            Some(id) => factors.iter().filter(|factor| &factor.id == id).collect(),
        };
        if doomed.is_empty() {
            return Err(match id {
                None => Refusal::NotEnrolled,
                Some(_) => Refusal::UnknownFactor,
            });
        }
        let kept_on = factors.iter().any(|factor| {
            factor.is_active()
                && factor.kind.turns_on_two_factor()
                && !doomed.iter().any(|gone| gone.id == factor.id)
        });
        if !kept_on && !self.opt_out_allowed(user).await? {
            return Err(Refusal::OptOutNotAllowed);
        }
        if !kept_on {
            // Two-factor sign-in goes off: its backup codes go too, so a
            // set the user may have thrown away never comes back with a
            // later factor.
            let codes: Vec<&Factor> = factors
                .iter()
                .filter(|factor| {
                    factor.kind == FactorKind::BackupCodes
                        && !doomed.iter().any(|gone| gone.id == factor.id)
                })
                .collect();
            doomed.extend(codes);
        }
        if !confirmed {
            return Err(Refusal::ConfirmationRequired);
        }
        let challenge = self
            .challenge_of(factors.clone())
            .ok_or(Refusal::NotEnrolled)?;
        if self.asks_code_for_changes(&factors) {
            if code.trim().is_empty() {
                return Err(Refusal::FreshFactorRequired);
            }
            self.check_code(challenge.factors(), code, now).await?;
        } else if !is_fresh(method, at, now, self.policy.fresh_for_changes) {
            // No code to ask for (codes are off, or the user's factors are
            // passkeys): a factor passed just now stands in.
            return Err(Refusal::FreshFactorRequired);
        }
        // A change made by another session meanwhile voided this session's
        // pass: it changes nothing more (and cannot outlive that change).
        self.unchanged_since(user, since).await?;
        // The generation moves on first: should the removal fail half-way,
        // every other session has lost its pass all the same (fail closed).
        let generation = self.store.revoke_devices(user).await?;
        for factor in doomed {
            let removed = match self.store.remove_factor(user, &factor.id).await {
                Ok(removed) => removed,
                // Removed meanwhile (another tab): the same outcome.
                Err(error) if error.is_not_found() => continue,
                Err(error) => return Err(error.into()),
            };
            if !removed.identity_still_used {
                self.forget_provider_user(&removed.factor).await;
            }
            if removed.factor.kind != FactorKind::BackupCodes {
                self.events
                    .tell(crate::events::SecurityEvent::FactorRemoved {
                        user: user.clone(),
                        kind: removed.factor.kind,
                        label: removed.factor.label.clone(),
                    });
            }
        }
        if !kept_on {
            self.events
                .tell(crate::events::SecurityEvent::TwoFactorOff { user: user.clone() });
        }
        Ok(generation)
    }

    /// Asks the factor's method to forget it at the provider; a user it no
    /// longer knows is already what we want.
    async fn forget_provider_user(&self, factor: &Factor) {
        let Some(method) = self.methods.of(factor.kind) else {
            tracing::warn!(
                user = %factor.user_id,
                kind = %factor.kind,
                "tower-authy: no method forgets a removed factor of this kind"
            );
            return;
        };
        match method.forget(factor).await {
            Ok(()) | Err(ProviderError::UnknownUser) => {}
            Err(error) => tracing::warn!(
                %error,
                user = %factor.user_id,
                "tower-authy: the provider did not forget a removed factor's user"
            ),
        }
    }
}
