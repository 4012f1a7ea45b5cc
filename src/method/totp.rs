//! Authenticator apps as the [`Method`] of [`FactorKind::Totp`]: RFC 6238
//! with the parameters every app uses by default (SHA-1, 6 digits, 30 s),
//! one step of clock drift either way, the seed sealed in the factor and
//! each accepted step recorded in the store so that no code passes twice.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use subtle::ConstantTimeEq;

use super::{Ability, Method, ProviderError};
use crate::otp::hotp;
use crate::sealing::Sealer;
use crate::store::{Factor, FactorKind, SharedStore};

/// Seconds per step.
pub(crate) const STEP_SECS: u64 = 30;
/// Digits per code.
pub(crate) const DIGITS: u32 = 6;
/// Bytes of a new seed: 160 bits, as RFC 4226 recommends.
pub(crate) const SEED_LEN: usize = 20;

/// What the sealed seed of `factor` is bound to: its user and its id, so a
/// seed copied onto another factor does not open.
pub(crate) fn context(factor: &Factor) -> String {
    format!("totp:{}:{}", factor.user_id, factor.id)
}

/// The step a code matches around `unix_secs` (one step either way), if any.
/// Every candidate is compared, in constant time.
pub(crate) fn matching_step(seed: &[u8], unix_secs: u64, code: &str) -> Option<u64> {
    let now = unix_secs / STEP_SECS;
    let mut found = None;
    for step in now.saturating_sub(1)..=now + 1 {
        let expected = hotp(seed, step, DIGITS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// Authenticator-app codes, checked here: no vendor.
#[derive(Debug)]
pub(crate) struct Totp {
    store: SharedStore,
    sealer: Arc<Sealer>,
}

impl Totp {
    pub(crate) fn new(store: SharedStore, sealer: Arc<Sealer>) -> Self {
        Self { store, sealer }
    }
}

#[async_trait]
impl Method for Totp {
    fn kind(&self) -> FactorKind {
        FactorKind::Totp
    }

    fn abilities(&self) -> &[Ability] {
        &[Ability::CheckCode]
    }

    async fn check_code(&self, factor: &Factor, code: &str) -> Result<(), ProviderError> {
        let sealed = factor.secret.as_deref().unwrap_or_default();
        let seed = self.sealer.open(sealed, &context(factor)).map_err(|error| {
            tracing::error!(%error, user = %factor.user_id, "tower-authy: an authenticator-app seed did not open");
            ProviderError::Unavailable(Box::new(error))
        })?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let step = matching_step(&seed, now, code).ok_or(ProviderError::CodeRejected)?;
        match self
            .store
            .advance_step(&factor.user_id, &factor.id, step)
            .await
        {
            Ok(()) => Ok(()),
            // That step, or a later one, was accepted already: a replay.
            Err(error) if error.is_conflict() => Err(ProviderError::CodeRejected),
            Err(error) => Err(ProviderError::Unavailable(Box::new(error))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_step_and_one_either_side() {
        let seed = b"12345678901234567890";
        let at = 1_111_111_109;
        let step = at / STEP_SECS;
        for (offset, matched) in [
            (-2i64, None),
            (-1, Some(step - 1)),
            (0, Some(step)),
            (1, Some(step + 1)),
            (2, None),
        ] {
            let code = hotp(seed, (step as i64 + offset) as u64, DIGITS);
            assert_eq!(matching_step(seed, at, &code), matched, "offset {offset}");
        }
        assert_eq!(matching_step(seed, at, "12345"), None);
    }
}
