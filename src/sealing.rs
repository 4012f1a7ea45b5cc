//! Local secrets at rest (authenticator-app seeds): sealed with AES-256-GCM
//! under a key derived from the application's secret key, bound to the
//! record they belong to, and opened with the current key or any old one
//! still listed (key rotation: new seals always use the current key).

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Secret;

/// The prefix of every sealed text, for a later format to tell itself apart.
const VERSION: &str = "v1.";

/// Bytes of an AES-GCM nonce.
const NONCE_LEN: usize = 12;

/// The shortest application secret key accepted: 32 bytes.
pub(crate) const MIN_KEY_LEN: usize = 32;

/// Why a sealed secret did not open. Either way nothing passes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SealError {
    /// The stored text is not a sealed secret of this crate.
    #[error("the stored secret is not in the sealed format")]
    Malformed,
    /// No configured key opens it: the secret key changed (without the old
    /// one listed), or the record was tampered with or moved to another
    /// factor.
    #[error("the stored secret does not open with the configured secret keys")]
    WrongKeyOrTampered,
}

/// Seals and opens local secrets, and hashes the ones that need only be
/// recognised (backup codes). `Debug` shows no key.
pub(crate) struct Sealer {
    current: Aes256Gcm,
    old: Vec<Aes256Gcm>,
    /// Keys of the keyed hash, the current first.
    digest_keys: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("old_keys", &self.old.len())
            .finish_non_exhaustive()
    }
}

/// A key for one use, derived from the application's secret key (which
/// also signs other things: each use gets its own key).
fn derive(secret: &Secret, purpose: &[u8]) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose()).expect("HMAC takes keys of any length");
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}

/// The AES-256 key for sealing.
fn cipher(secret: &Secret) -> Aes256Gcm {
    let key = derive(secret, b"tower-authy sealing key v1");
    Aes256Gcm::new_from_slice(&key).expect("an HMAC-SHA256 output is 32 bytes")
}

impl Sealer {
    /// Seals with `current`; opens with it or any of `old`.
    pub(crate) fn new(current: &Secret, old: &[Secret]) -> Self {
        Self {
            current: cipher(current),
            old: old.iter().map(cipher).collect(),
            digest_keys: std::iter::once(current)
                .chain(old)
                .map(|key| derive(key, b"tower-authy digest key v1"))
                .collect(),
        }
    }

    /// The keyed hash of `data` for the record `context` names, under the
    /// current key: what is stored to recognise `data` later.
    pub(crate) fn digest(&self, data: &[u8], context: &str) -> String {
        digest_with(&self.digest_keys[0], data, context)
    }

    /// Whether `stored` is the keyed hash of `data` for `context` under the
    /// current key or an old one, compared in constant time.
    pub(crate) fn matches(&self, stored: &str, data: &[u8], context: &str) -> bool {
        use subtle::ConstantTimeEq;
        let mut found = subtle::Choice::from(0);
        for key in &self.digest_keys {
            found |= digest_with(key, data, context)
                .as_bytes()
                .ct_eq(stored.as_bytes());
        }
        found.into()
    }

    /// Seals `plain` for the record `context` names (its user and id): the
    /// sealed text opens only for the same context.
    pub(crate) fn seal(&self, plain: &[u8], context: &str) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .current
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM seals any message this small");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Opens what [`seal`](Self::seal) made for `context`, with the current
    /// key or an old one.
    pub(crate) fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, SealError> {
        let bytes = sealed
            .strip_prefix(VERSION)
            .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
            .filter(|bytes| bytes.len() > NONCE_LEN)
            .ok_or(SealError::Malformed)?;
        let (nonce, message) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| SealError::Malformed)?;
        std::iter::once(&self.current)
            .chain(&self.old)
            .find_map(|key| {
                key.decrypt(
                    &nonce,
                    Payload {
                        msg: message,
                        aad: context.as_bytes(),
                    },
                )
                .ok()
            })
            .ok_or(SealError::WrongKeyOrTampered)
    }
}

/// HMAC-SHA256 over the context and the data, each length-prefixed so no
/// two pairs hash alike.
fn digest_with(key: &[u8; 32], data: &[u8], context: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(&(context.len() as u64).to_be_bytes());
    mac.update(context.as_bytes());
    mac.update(&(data.len() as u64).to_be_bytes());
    mac.update(data);
    format!("h1.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_recognises_its_data_under_current_and_old_keys_only() {
        let before = Sealer::new(&key("a"), &[]);
        let stored = before.digest(b"code", "backup:alice");
        assert!(!stored.contains("code"));
        assert!(before.matches(&stored, b"code", "backup:alice"));
        assert!(!before.matches(&stored, b"cod", "backup:alice"));
        assert!(!before.matches(&stored, b"code", "backup:mallory"));
        let rotated = Sealer::new(&key("b"), &[key("a")]);
        assert!(rotated.matches(&stored, b"code", "backup:alice"));
        assert!(!Sealer::new(&key("b"), &[]).matches(&stored, b"code", "backup:alice"));
    }

    fn key(text: &str) -> Secret {
        Secret::new(text.repeat(32))
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let sealer = Sealer::new(&key("a"), &[]);
        let sealed = sealer.seal(b"seed", "totp:alice:f1");
        assert!(!sealed.contains("seed"));
        assert_ne!(sealed, sealer.seal(b"seed", "totp:alice:f1"), "fresh nonce");
        assert_eq!(sealer.open(&sealed, "totp:alice:f1").unwrap(), b"seed");
        assert!(matches!(
            sealer.open(&sealed, "totp:mallory:f1"),
            Err(SealError::WrongKeyOrTampered)
        ));
        assert!(matches!(
            Sealer::new(&key("b"), &[]).open(&sealed, "totp:alice:f1"),
            Err(SealError::WrongKeyOrTampered)
        ));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(sealer.open(&tampered, "totp:alice:f1").is_err());
        for bad in ["", "seed", "v1.", "v1.!!!", "v2.AAAA"] {
            assert!(
                matches!(sealer.open(bad, "c"), Err(SealError::Malformed)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rotation_opens_old_seals_and_seals_with_the_new_key() {
        let before = Sealer::new(&key("a"), &[]);
        let sealed = before.seal(b"seed", "c");
        let after = Sealer::new(&key("b"), &[key("a")]);
        assert_eq!(after.open(&sealed, "c").unwrap(), b"seed");
        let resealed = after.seal(b"seed", "c");
        assert!(
            before.open(&resealed, "c").is_err(),
            "new seals use the new key"
        );
        assert!(Sealer::new(&key("b"), &[]).open(&resealed, "c").is_ok());
    }
}
