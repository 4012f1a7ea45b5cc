//! Adding an authenticator app (local, or one whose seed a provider keeps)
//! or an address that gets codes: who may, what a new one looks like, and
//! confirming it with its first code.

use std::time::SystemTime;

use super::{Refusal, Rules, is_stale, label};
use crate::code::Code;
use crate::config::ChannelMode;
use crate::method::totp::{SEED_LEN, context};
use crate::method::{Ability, AppBinding, ProviderError};
use crate::session::SecondFactorMethod;
use crate::store::{Factor, FactorId, FactorKind, IdentityUse, StoreError, UserId};

/// The label of an authenticator app the user did not name.
const DEFAULT_LABEL: &str = "Authenticator app";

/// A new authenticator-app factor, pending, and its secret: the one time
/// the secret is seen in the clear (to show it to the user). `Debug` hides
/// it.
pub(crate) struct TotpSetup {
    pub(crate) factor: Factor,
    pub(crate) secret: AppSecret,
}

/// What the user types in or scans.
pub(crate) enum AppSecret {
    /// A local app's seed (the page encodes it and builds the URI).
    Seed(Vec<u8>),
    /// A provider's app, as the provider bound it.
    Bound(AppBinding),
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpSetup")
            .field("factor", &self.factor)
            .finish_non_exhaustive()
    }
}

impl Rules {
    /// Starts an authenticator app for `user`, named `label`, for a session
    /// that passed its second factor as `passed` (method, when; `None`: not
    /// yet), as [`may_add`](Self::may_add) allows: with two-factor sign-in
    /// on, only just after a checked factor. Counted like a phone
    /// enrollment. An earlier setup never confirmed is replaced.
    ///
    /// `kind` picks the app: [`FactorKind::Totp`] (local, its seed sealed
    /// here) or a provider's that can [`Ability::EnrollApp`] (a Verify
    /// TOTP factor); `None` takes the local one if it is on, else the
    /// first provider's.
    pub(crate) async fn start_totp(
        &self,
        user: &UserId,
        kind: Option<FactorKind>,
        label_typed: &str,
        passed: Option<(SecondFactorMethod, SystemTime)>,
        now: SystemTime,
    ) -> Result<TotpSetup, Refusal> {
        let kind = match kind {
            Some(kind) => kind,
            None if self.offers_authenticator_apps() => FactorKind::Totp,
            None => self
                .methods
                .kinds_that_can(Ability::EnrollApp)
                .next()
                .ok_or(Refusal::ChannelOff)?,
        };
        if !self.policy.codes {
            return Err(Refusal::ChannelOff);
        }
        let local = kind == FactorKind::Totp;
        if local && !self.offers_authenticator_apps()
            || !local && !self.methods.can(kind, Ability::EnrollApp)
        {
            return Err(Refusal::ChannelOff);
        }
        let label = label(label_typed, DEFAULT_LABEL)?;
        let factors = self.store.factors(user).await?;
        self.may_add(&factors, passed, now)?;
        self.reserve_enrollment(user, now).await?;
        self.drop_unconfirmed(user, &factors, kind).await?;
        let (factor, secret) = match self.sealer.as_ref().filter(|_| local) {
            Some(sealer) => {
                let seed: [u8; SEED_LEN] = rand::random();
                let mut factor = Factor::pending(user.clone(), kind, label, "", now);
                factor.secret = Some(sealer.seal(&seed, &context(&factor)));
                (factor, AppSecret::Seed(seed.to_vec()))
            }
            None => {
                let method = self.methods.of(kind).ok_or(Refusal::ChannelOff)?;
                let (factor, binding) = method.start_app(user, &label, now).await?;
                (factor, AppSecret::Bound(binding))
            }
        };
        if let Err(refusal) = self.insert_new(&factor, IdentityUse::Exclusive).await {
            self.forget_at_provider(&factor).await;
            return Err(refusal);
        }
        tracing::info!(user = %user, %kind, "tower-authy: authenticator app started; awaiting its first code");
        Ok(TotpSetup { factor, secret })
    }

    /// Registers an address the user typed (an e-mail address, a WhatsApp
    /// or voice-only number) as a factor of `kind`, pending, and sends its
    /// first code, counted against the send limit. Who may is as for an
    /// authenticator app; an earlier one of that kind never confirmed is
    /// replaced. Should the code not go out, the factor goes again.
    pub(crate) async fn start_contact(
        &self,
        user: &UserId,
        kind: FactorKind,
        address: &str,
        label_typed: &str,
        passed: Option<(SecondFactorMethod, SystemTime)>,
        now: SystemTime,
    ) -> Result<(Factor, Code), Refusal> {
        let method = self
            .methods
            .of(kind)
            .filter(|method| method.abilities().contains(&Ability::EnrollContact))
            .ok_or(Refusal::ChannelOff)?;
        let channel = method
            .abilities()
            .iter()
            .find_map(|ability| match ability {
                Ability::SendCode(channel) => Some(*channel),
                _ => None,
            })
            .filter(|channel| self.policy.channel(*channel) != ChannelMode::Off)
            .ok_or(Refusal::ChannelOff)?;
        if !self.policy.codes {
            return Err(Refusal::ChannelOff);
        }
        let label = label(label_typed, "")?;
        if address.trim().is_empty() {
            return Err(Refusal::InvalidInput(
                "type the address to send codes to".into(),
            ));
        }
        let factors = self.store.factors(user).await?;
        self.may_add(&factors, passed, now)?;
        // Checked and shaped before anything is counted or replaced: a typo
        // costs nothing.
        let factor = method
            .enroll_contact(user, address, &label, now)
            .await
            .map_err(address_refused)?;
        if factors
            .iter()
            .any(|own| own.identity.is_some() && own.identity == factor.identity)
        {
            return Err(Refusal::InvalidInput(
                "that address is one of your ways to sign in already".into(),
            ));
        }
        self.reserve_enrollment(user, now).await?;
        self.drop_unconfirmed(user, &factors, kind).await?;
        // Stored without its identity until confirmed: an address typed and
        // never confirmed binds nothing, so nobody can hold another
        // person's address by typing it.
        let mut unbound = factor.clone();
        unbound.identity = None;
        self.insert_new(&unbound, IdentityUse::Shared).await?;
        match self
            .send_to(method, &factor, channel, now)
            .await
            .map_err(|refusal| match refusal {
                Refusal::InvalidInput(message) => Refusal::InvalidField {
                    code: Code::InvalidAddress,
                    message,
                },
                other => other,
            }) {
            Ok(sent) => {
                tracing::info!(user = %user, %kind, "tower-authy: address added; awaiting its first code");
                Ok((unbound, sent))
            }
            Err(refusal) => {
                // Nothing to confirm with: the factor goes (nothing stays).
                match self.store.remove_factor(user, &factor.id).await {
                    Ok(_) => {}
                    Err(error) if error.is_not_found() => {}
                    Err(error) => return Err(error.into()),
                }
                Err(refusal)
            }
        }
    }

    /// The kinds of address a user may add here (`POST /2fa/contact`):
    /// those whose method registers one and whose channel the policy allows.
    pub(crate) fn contact_kinds(&self) -> Vec<FactorKind> {
        self.methods
            .kinds_that_can(Ability::EnrollContact)
            .filter(|kind| {
                self.methods.of(*kind).is_some_and(|method| {
                    method.abilities().iter().any(|ability| {
                        matches!(ability, Ability::SendCode(channel)
                            if self.policy.channel(*channel) != ChannelMode::Off)
                    })
                })
            })
            .collect()
    }

    /// The kinds of provider authenticator app a user may add here (a
    /// Verify TOTP factor), besides the local one.
    pub(crate) fn provider_app_kinds(&self) -> Vec<FactorKind> {
        if !self.policy.codes {
            return Vec::new();
        }
        self.methods.kinds_that_can(Ability::EnrollApp).collect()
    }

    /// Removes the user's factors of `kind` never confirmed (a setup begun
    /// again replaces the last), at the provider too.
    async fn drop_unconfirmed(
        &self,
        user: &UserId,
        factors: &[Factor],
        kind: FactorKind,
    ) -> Result<(), Refusal> {
        for unconfirmed in factors
            .iter()
            .filter(|factor| factor.kind == kind && !factor.is_active())
        {
            match self.store.remove_factor(user, &unconfirmed.id).await {
                Ok(_) => self.forget_at_provider(unconfirmed).await,
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// Asks the factor's method to forget a factor the store no longer has
    /// (a failure is logged: nothing here refers to it any more).
    async fn forget_at_provider(&self, factor: &Factor) {
        if let Some(method) = self.methods.of(factor.kind) {
            if let Err(error) = method.forget(factor).await {
                tracing::warn!(%error, user = %factor.user_id, "tower-authy: the provider did not forget an unconfirmed factor");
            }
        }
    }

    /// The identity a pending address binds once confirmed (it is stored
    /// without one until then); `None` for other factors, which carry
    /// theirs from the start.
    async fn identity_to_bind(&self, pending: &Factor) -> Result<Option<String>, Refusal> {
        if pending.identity.is_some() {
            return Ok(None);
        }
        let Some(method) = self
            .methods
            .of(pending.kind)
            .filter(|method| method.abilities().contains(&Ability::EnrollContact))
        else {
            return Ok(None);
        };
        let shaped = method
            .enroll_contact(
                &pending.user_id,
                &pending.provider_ref,
                &pending.label,
                pending.created_at,
            )
            .await
            .map_err(address_refused)?;
        Ok(shaped.identity)
    }

    /// Stores a new factor; its identity held by another account is a
    /// refusal, as is a conflicting write.
    async fn insert_new(&self, factor: &Factor, identity: IdentityUse) -> Result<(), Refusal> {
        match self.store.insert_factor(factor, identity).await {
            Ok(()) => Ok(()),
            Err(StoreError::IdentityInUse) => Err(Refusal::IdentityInUse),
            Err(StoreError::Conflict(_)) => Err(Refusal::ChangedMeanwhile),
            Err(error) => Err(error.into()),
        }
    }

    /// Confirms the user's pending factor `id` (an authenticator app, an
    /// address) with its first code, checked (and counted) like any code,
    /// for a session that passed as `passed`: who may add a factor is asked
    /// again here (two-factor sign-in may have come on since the setup
    /// began), and a setup older than `pending_ttl` is void. The answer is
    /// the factor, now active, and the new security generation if this
    /// turned two-factor sign-in on.
    pub(crate) async fn confirm_added(
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
            .find(|factor| factor.id == FactorId::new(id) && factor.kind.turns_on_two_factor())
            .cloned()
            .ok_or(Refusal::UnknownFactor)?;
        if pending.is_active() {
            return Err(Refusal::InvalidInput(
                "that factor is confirmed already".into(),
            ));
        }
        if is_stale(pending.created_at, now, self.policy.pending_ttl) {
            return Err(Refusal::InvalidInput(
                "that setup has expired: start again".into(),
            ));
        }
        if !self.policy.codes {
            return Err(Refusal::ChannelOff);
        }
        self.may_add(&factors, passed, now)?;
        self.check_code(std::slice::from_ref(&pending), code, now)
            .await?;
        // Asked again after the check: two-factor sign-in may have come on
        // meanwhile (another tab, another session), and then only a
        // session that just passed a factor adds one.
        self.may_add(&self.store.factors(user).await?, passed, now)?;
        let pending = match self.identity_to_bind(&pending).await? {
            None => pending,
            Some(identity) => {
                let mut bound = pending.clone();
                bound.identity = Some(identity);
                match self
                    .store
                    .replace_factor(&pending, &bound, self.identity_use())
                    .await
                {
                    Ok(()) => bound,
                    Err(StoreError::IdentityInUse) => return Err(Refusal::IdentityInUse),
                    Err(error) if error.is_conflict() => return Err(Refusal::ChangedMeanwhile),
                    Err(error) => return Err(error.into()),
                }
            }
        };
        let turned_on = self.used(&pending, now).await?;
        tracing::info!(user = %user, kind = %pending.kind, "tower-authy: factor confirmed");
        self.events.tell(crate::events::SecurityEvent::FactorAdded {
            user: user.clone(),
            kind: pending.kind,
            label: pending.label.clone(),
        });
        Ok((pending.activated(), turned_on))
    }
}

/// A provider's "not a valid address", said of the address field.
fn address_refused(error: ProviderError) -> Refusal {
    match error {
        ProviderError::InvalidInput(message) => Refusal::InvalidField {
            code: Code::InvalidAddress,
            message,
        },
        other => other.into(),
    }
}
