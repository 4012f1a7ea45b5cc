//! Backup codes as the [`Method`] of [`FactorKind::BackupCodes`]: each
//! code a factor whose secret is the code's keyed hash, recognised in
//! constant time; the crate removes a code once it passed (single use).

use std::sync::Arc;

use async_trait::async_trait;

use super::{Ability, Method, ProviderError};
use crate::sealing::Sealer;
use crate::store::{Factor, FactorKind};

/// Characters of a code: lower-case letters and digits without the ones
/// read alike (0/o, 1/l/i).
pub(crate) const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// Characters per code: 12 of 31, 59 bits.
pub(crate) const LEN: usize = 12;

/// Codes per set.
pub(crate) const SET: usize = 10;

/// What a code's hash is bound to: its user.
pub(crate) fn context(factor: &Factor) -> String {
    format!("backup:{}", factor.user_id)
}

/// A code as typed, in its stored form: lower case, without the spaces
/// and dashes of its groups; `None` when it cannot be a code.
pub(crate) fn normalized(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// A code for showing, in three groups of four: `abcd-efgh-jkmn`.
pub(crate) fn grouped(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-")
}

/// A new random code (stored form).
pub(crate) fn random_code() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Backup codes, recognised here: no vendor.
#[derive(Debug)]
pub(crate) struct BackupCodes {
    sealer: Arc<Sealer>,
}

impl BackupCodes {
    pub(crate) fn new(sealer: Arc<Sealer>) -> Self {
        Self { sealer }
    }
}

#[async_trait]
impl Method for BackupCodes {
    fn kind(&self) -> FactorKind {
        FactorKind::BackupCodes
    }

    fn abilities(&self) -> &[Ability] {
        &[Ability::RecoveryCode]
    }

    async fn check_code(&self, factor: &Factor, code: &str) -> Result<(), ProviderError> {
        let stored = factor.secret.as_deref().unwrap_or_default();
        let code = normalized(code).ok_or(ProviderError::CodeRejected)?;
        if self
            .sealer
            .matches(stored, code.as_bytes(), &context(factor))
        {
            Ok(())
        } else {
            Err(ProviderError::CodeRejected)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_unambiguous_and_typed_loosely() {
        let code = random_code();
        assert_eq!(code.len(), LEN);
        assert!(!code.contains(['0', 'o', '1', 'l', 'i']), "{code}");
        let bits = (LEN as f64) * (ALPHABET.len() as f64).log2();
        assert!(bits >= 50.0, "{bits} bits");
        let shown = grouped(&code);
        assert_eq!(shown.len(), LEN + 2, "{shown}");
        assert_eq!(
            normalized(&shown.to_uppercase()).as_deref(),
            Some(code.as_str())
        );
        assert_eq!(
            normalized(&format!(" {} ", shown.replace('-', " "))).as_deref(),
            Some(code.as_str())
        );
        for bad in [
            "",
            "abcd-efgh-jkm",
            "abcd-efgh-jkmn-p",
            "abcd-efgh-jkm0",
            "123456",
        ] {
            assert_eq!(normalized(bad), None, "{bad:?}");
        }
    }
}
