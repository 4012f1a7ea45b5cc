//! Backup codes: a set of single-use codes for when no other factor is at
//! hand. Issued when a user's first factor is confirmed, renewed only with a
//! fresh second factor, used once each during the challenge.

use std::time::SystemTime;

use super::challenge::Challenge;
use super::enrollment::is_fresh;
use super::{Refusal, Rules};
use crate::method::Ability;
use crate::method::backup::{self, SET, grouped, normalized, random_code};
use crate::session::SecondFactorMethod;
use crate::store::{Factor, FactorKind, IdentityUse, UserId};

/// How many of `factors` are unused backup codes.
pub(crate) fn backup_codes_left(factors: &[Factor]) -> usize {
    factors
        .iter()
        .filter(|factor| factor.kind == FactorKind::BackupCodes)
        .count()
}

impl Rules {
    /// Whether this set-up lets users add authenticator apps.
    pub(crate) fn offers_authenticator_apps(&self) -> bool {
        self.sealer.is_some() && self.methods.of(FactorKind::Totp).is_some()
    }

    /// Whether this set-up issues backup codes (a secret key and
    /// [`with_backup_codes`](crate::TwoFactorBuilder::with_backup_codes)).
    pub(crate) fn offers_backup_codes(&self) -> bool {
        self.sealer.is_some() && self.methods.of(FactorKind::BackupCodes).is_some()
    }

    /// Replaces `user`'s backup codes with a new set, shown once (grouped
    /// for reading); the old codes stop working. Only for a session that
    /// passed a checked second factor within `fresh_for_changes` (`passed`:
    /// method and when).
    pub(crate) async fn renew_backup_codes(
        &self,
        user: &UserId,
        passed: Option<(SecondFactorMethod, SystemTime)>,
        now: SystemTime,
    ) -> Result<Vec<String>, Refusal> {
        let (method, at) = passed.ok_or(Refusal::SecondFactorRequired)?;
        if !is_fresh(method, at, now, self.policy.fresh_for_changes) {
            return Err(Refusal::FreshFactorRequired);
        }
        let codes = self.issue_backup_codes(user, now).await?;
        self.events
            .tell(crate::events::SecurityEvent::BackupCodesRenewed { user: user.clone() });
        Ok(codes)
    }

    /// A first set of backup codes for a user who has none, when this
    /// set-up issues them: what confirming a first factor hands out.
    pub(crate) async fn first_backup_codes(
        &self,
        user: &UserId,
        now: SystemTime,
    ) -> Result<Option<Vec<String>>, Refusal> {
        if !self.offers_backup_codes() {
            return Ok(None);
        }
        if backup_codes_left(&self.store.factors(user).await?) > 0 {
            return Ok(None);
        }
        Ok(Some(self.issue_backup_codes(user, now).await?))
    }

    /// Forgets the user's backup codes and stores a new set (each code
    /// its own factor, its secret the code's keyed hash).
    async fn issue_backup_codes(
        &self,
        user: &UserId,
        now: SystemTime,
    ) -> Result<Vec<String>, Refusal> {
        let sealer = self.sealer.as_ref().ok_or(Refusal::ChannelOff)?;
        if self.methods.of(FactorKind::BackupCodes).is_none() {
            return Err(Refusal::ChannelOff);
        }
        for old in self
            .store
            .factors(user)
            .await?
            .iter()
            .filter(|factor| factor.kind == FactorKind::BackupCodes)
        {
            match self.store.remove_factor(user, &old.id).await {
                Ok(_) => {}
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(error.into()),
            }
        }
        let mut codes = Vec::with_capacity(SET);
        for _ in 0..SET {
            let code = random_code();
            let mut factor = Factor::pending(
                user.clone(),
                FactorKind::BackupCodes,
                "Backup code",
                "",
                now,
            )
            .activated();
            factor.secret = Some(sealer.digest(code.as_bytes(), &backup::context(&factor)));
            self.store
                .insert_factor(&factor, IdentityUse::Exclusive)
                .await?;
            codes.push(grouped(&code));
        }
        tracing::info!(user = %user, "tower-authy: new backup codes issued");
        Ok(codes)
    }

    /// Passes the challenge with one of the user's backup codes, which is
    /// then gone (of two uses of one code at once, one passes). Counted
    /// against the lockout like any code. The answer is how many are left.
    pub(crate) async fn use_backup_code(
        &self,
        challenge: &Challenge,
        typed: &str,
        now: SystemTime,
    ) -> Result<usize, Refusal> {
        let codes: Vec<&Factor> = challenge
            .factors()
            .iter()
            .filter(|factor| self.methods.can(factor.kind, Ability::RecoveryCode))
            .collect();
        let Some(first) = codes.first() else {
            return Err(Refusal::ChannelOff);
        };
        let user = &first.user_id;
        if normalized(typed).is_none() {
            return Err(Refusal::InvalidInput(
                "a backup code is 12 letters and digits, like abcd-efgh-jkmn".into(),
            ));
        }
        let method = self
            .methods
            .of(FactorKind::BackupCodes)
            .ok_or(Refusal::ChannelOff)?;
        let remaining = self.reserve_code_attempt(user, now).await?;
        // Every code is compared, so the time taken says nothing of which.
        let mut matched = None;
        for factor in &codes {
            if method.check_code(factor, typed).await.is_ok() {
                matched = Some(*factor);
            }
        }
        let Some(factor) = matched else {
            tracing::info!(user = %user, "tower-authy: wrong backup code");
            return Err(self.wrong_code(remaining));
        };
        match self.store.remove_factor(user, &factor.id).await {
            Ok(_) => {}
            // Used meanwhile, in another request: once only.
            Err(error) if error.is_not_found() => return Err(self.wrong_code(remaining)),
            Err(error) => return Err(error.into()),
        }
        self.clear_code_attempts(user).await?;
        tracing::info!(user = %user, "tower-authy: a backup code was used");
        self.events
            .tell(crate::events::SecurityEvent::BackupCodeUsed {
                user: user.clone(),
                left: codes.len() - 1,
            });
        Ok(codes.len() - 1)
    }
}
