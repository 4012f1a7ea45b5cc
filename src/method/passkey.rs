//! Passkeys and security keys (WebAuthn) as the [`Method`] of
//! [`FactorKind::Webauthn`], with `webauthn-rs` (feature `webauthn`).
//!
//! ```
//! use std::sync::Arc;
//! use tower_authy::method::passkey::{Passkeys, UserVerification};
//! use tower_authy::store::MemoryStore;
//! use tower_authy::TwoFactor;
//!
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let passkeys = Passkeys::builder("https://app.example.com")
//!     .with_rp_name("Example")
//!     .with_user_verification(UserVerification::Preferred)
//!     .build()?;
//! let two_factor = TwoFactor::local(Arc::new(MemoryStore::new()))
//!     .with_method(passkeys)
//!     .build()?;
//! # let _ = two_factor;
//! # Ok(()) }
//! ```
//!
//! Which of webauthn-rs's APIs, and why: its *security key* ceremonies
//! (`start_securitykey_registration`, `…_authentication`), meant for "a
//! security token along with an external password" — a second factor,
//! which is what this is. They take any authenticator, a platform passkey
//! as well as a USB key; the browser hint that favours USB keys is dropped
//! from the options so that browsers offer both. They ask for user
//! verification as *preferred*; [`UserVerification::Required`] asks for it
//! as required and refuses a credential or an assertion without it (the
//! flag is read with the library's `danger-credential-internals`). The
//! ceremony state is serialised (`danger-allow-state-serialisation`) so
//! that the crate keeps it server-side, in the session, single use.
//!
//! The relying party id is the public URL's host and the origin its
//! scheme, host and port: an answer made for another origin or RP id is
//! refused by the library.

use std::time::SystemTime;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use webauthn_rs::prelude::{
    Credential, PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey,
    SecurityKeyAuthentication, SecurityKeyRegistration, Url, Uuid, Webauthn, WebauthnBuilder,
    WebauthnError,
};

use super::{Ability, Asserted, Ceremony, Method, ProviderError};
use crate::config::ConfigError;
use crate::store::{Factor, FactorKind, UserId};

/// Whether the authenticator must verify its user (a PIN, a fingerprint)
/// besides their presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UserVerification {
    /// Asked for where the authenticator can; not required (the password
    /// was the first factor). The default.
    #[default]
    Preferred,
    /// Required: a credential or an assertion without it is refused.
    Required,
}

impl UserVerification {
    fn as_str(self) -> &'static str {
        match self {
            Self::Preferred => "preferred",
            Self::Required => "required",
        }
    }
}

/// Builds [`Passkeys`] from the application's public URL.
#[derive(Debug, Clone)]
pub struct PasskeysBuilder {
    public_url: String,
    rp_name: Option<String>,
    user_verification: UserVerification,
}

/// Passkeys and security keys for one relying party. Cheap to clone.
#[derive(Clone)]
pub struct Passkeys {
    webauthn: std::sync::Arc<Webauthn>,
    user_verification: UserVerification,
    rp_id: String,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys")
            .field("rp_id", &self.rp_id)
            .field("user_verification", &self.user_verification)
            .finish_non_exhaustive()
    }
}

impl Passkeys {
    /// Starts from the application's public URL (`https://app.example.com`;
    /// `http://localhost:3000` for development): the relying party id is
    /// its host, the one origin accepted its scheme, host and port.
    pub fn builder(public_url: impl Into<String>) -> PasskeysBuilder {
        PasskeysBuilder {
            public_url: public_url.into(),
            rp_name: None,
            user_verification: UserVerification::default(),
        }
    }
}

impl PasskeysBuilder {
    /// The name browsers show for the site (default: the host).
    pub fn with_rp_name(mut self, name: impl Into<String>) -> Self {
        self.rp_name = Some(name.into());
        self
    }

    /// Whether user verification is preferred (the default) or required.
    pub fn with_user_verification(mut self, policy: UserVerification) -> Self {
        self.user_verification = policy;
        self
    }

    /// Checks the URL and makes the relying party.
    pub fn build(self) -> Result<Passkeys, ConfigError> {
        const SETTING: &str = "passkeys public URL";
        let invalid = |reason: &str| ConfigError::OutOfRange {
            setting: SETTING,
            reason: reason.into(),
        };
        let url = Url::parse(&self.public_url).map_err(|_| invalid("an absolute URL"))?;
        let host = url
            .host_str()
            .ok_or_else(|| invalid("a URL with a host"))?
            .to_owned();
        let secure = url.scheme() == "https" || (url.scheme() == "http" && host == "localhost");
        if !secure {
            return Err(invalid(
                "https (browsers allow WebAuthn over http only on localhost)",
            ));
        }
        let origin =
            Url::parse(&url.origin().ascii_serialization()).map_err(|_| invalid("an origin"))?;
        let name = self.rp_name.unwrap_or_else(|| host.clone());
        let webauthn = WebauthnBuilder::new(&host, &origin)
            .and_then(|builder| builder.rp_name(&name).build())
            .map_err(|_| invalid("a host WebAuthn accepts as relying party id"))?;
        Ok(Passkeys {
            webauthn: std::sync::Arc::new(webauthn),
            user_verification: self.user_verification,
            rp_id: host,
        })
    }
}

/// A bad answer from the browser, said without its content.
fn refused(error: WebauthnError) -> ProviderError {
    tracing::info!(%error, "tower-authy: a WebAuthn answer was refused");
    if matches!(error, WebauthnError::CredentialPossibleCompromise) {
        return ProviderError::Compromised;
    }
    ProviderError::InvalidInput(match error {
        WebauthnError::InvalidRPOrigin | WebauthnError::InvalidRPIDHash => {
            "the key answered for another site".into()
        }
        WebauthnError::MismatchedChallenge => "the answer is not for this request".into(),
        _ => "the key's answer was not accepted".into(),
    })
}

fn failed(error: impl std::error::Error + Send + Sync + 'static) -> ProviderError {
    ProviderError::Unavailable(Box::new(error))
}

/// The stored credential of a factor, its counter the store's (which
/// moves forward atomically; the copy in the credential may lag).
fn credential(factor: &Factor) -> Result<SecurityKey, ProviderError> {
    let text = factor.secret.as_deref().unwrap_or_default();
    let key: SecurityKey = serde_json::from_str(text).map_err(failed)?;
    let mut inner = Credential::from(key);
    if let Some(counter) = factor.last_step.and_then(|n| u32::try_from(n).ok()) {
        inner.counter = inner.counter.max(counter);
    }
    Ok(SecurityKey::from(inner))
}

/// A WebAuthn user handle for one registration: random, so that it says
/// nothing of the user and links no two sites (the crate never reads it:
/// security keys are found by their credential id).
fn user_handle() -> Uuid {
    uuid_v8(rand::random())
}

/// `bytes` as a version 8 (custom) UUID.
fn uuid_v8(mut bytes: [u8; 16]) -> Uuid {
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// The browser's options as the crate hands them out: without the hint
/// that favours USB keys, and with the policy's user verification (and,
/// where it is only preferred, without asking keys to require it).
fn shaped(mut options: Value, registration: bool, policy: UserVerification) -> Value {
    if let Some(public_key) = options.get_mut("publicKey").and_then(Value::as_object_mut) {
        public_key.remove("hints");
        let uv = Value::String(policy.as_str().into());
        if registration && policy == UserVerification::Preferred {
            // The library asks keys to require verification for this
            // credential (credProtect); with verification only preferred,
            // browsers refuse that as inconsistent for a credential that is
            // not discoverable, so it is not asked for.
            if let Some(extensions) = public_key
                .get_mut("extensions")
                .and_then(Value::as_object_mut)
            {
                extensions.remove("credentialProtectionPolicy");
                extensions.remove("enforceCredentialProtectionPolicy");
            }
        }
        if registration {
            if let Some(selection) = public_key
                .get_mut("authenticatorSelection")
                .and_then(Value::as_object_mut)
            {
                selection.insert("userVerification".into(), uv);
            }
        } else {
            public_key.insert("userVerification".into(), uv);
        }
    }
    options
}

#[async_trait]
impl Method for Passkeys {
    fn kind(&self) -> FactorKind {
        FactorKind::Webauthn
    }

    fn abilities(&self) -> &[Ability] {
        &[Ability::Ceremony]
    }

    async fn start_registration(
        &self,
        user: &UserId,
        existing: &[Factor],
    ) -> Result<Ceremony, ProviderError> {
        let exclude = existing
            .iter()
            .map(credential)
            .map(|key| key.map(|key| key.cred_id().clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let (options, state) = self
            .webauthn
            .start_securitykey_registration(
                user_handle(),
                user.as_str(),
                user.as_str(),
                Some(exclude),
                None,
                None,
            )
            .map_err(failed)?;
        let options = serde_json::to_value(options).map_err(failed)?;
        let state = serde_json::to_string(&state).map_err(failed)?;
        Ok(Ceremony::new(
            shaped(options, true, self.user_verification),
            state,
        ))
    }

    async fn finish_registration(
        &self,
        user: &UserId,
        label: &str,
        response: &Value,
        state: &str,
        now: SystemTime,
    ) -> Result<Factor, ProviderError> {
        let state: SecurityKeyRegistration = serde_json::from_str(state).map_err(failed)?;
        let answer: RegisterPublicKeyCredential = serde_json::from_value(response.clone())
            .map_err(|_| ProviderError::InvalidInput("not a WebAuthn registration".into()))?;
        let key = self
            .webauthn
            .finish_securitykey_registration(&answer, &state)
            .map_err(refused)?;
        let inner = Credential::from(key.clone());
        if self.user_verification == UserVerification::Required && !inner.user_verified {
            return Err(ProviderError::InvalidInput(
                "the key did not verify you (a PIN or a fingerprint is required)".into(),
            ));
        }
        let id = URL_SAFE_NO_PAD.encode(key.cred_id().as_ref());
        let mut factor = Factor::pending(user.clone(), FactorKind::Webauthn, label, &id, now);
        factor.identity = Some(format!("webauthn:{id}"));
        factor.secret = Some(serde_json::to_string(&key).map_err(failed)?);
        factor.last_step = (inner.counter > 0).then_some(u64::from(inner.counter));
        Ok(factor.activated())
    }

    async fn start_authentication(&self, factors: &[Factor]) -> Result<Ceremony, ProviderError> {
        let keys = factors
            .iter()
            .map(credential)
            .collect::<Result<Vec<_>, _>>()?;
        let (options, state) = self
            .webauthn
            .start_securitykey_authentication(&keys)
            .map_err(failed)?;
        let options = serde_json::to_value(options).map_err(failed)?;
        let state = serde_json::to_string(&state).map_err(failed)?;
        Ok(Ceremony::new(
            shaped(options, false, self.user_verification),
            state,
        ))
    }

    async fn finish_authentication(
        &self,
        factors: &[Factor],
        response: &Value,
        state: &str,
    ) -> Result<Asserted, ProviderError> {
        let state: SecurityKeyAuthentication = serde_json::from_str(state).map_err(failed)?;
        let answer: PublicKeyCredential = serde_json::from_value(response.clone())
            .map_err(|_| ProviderError::InvalidInput("not a WebAuthn assertion".into()))?;
        let result = self
            .webauthn
            .finish_securitykey_authentication(&answer, &state)
            .map_err(refused)?;
        if self.user_verification == UserVerification::Required && !result.user_verified() {
            return Err(ProviderError::InvalidInput(
                "the key did not verify you (a PIN or a fingerprint is required)".into(),
            ));
        }
        let id = URL_SAFE_NO_PAD.encode(result.cred_id().as_ref());
        let factor = factors
            .iter()
            .find(|factor| factor.provider_ref == id)
            .cloned()
            .ok_or_else(|| ProviderError::InvalidInput("that key is not one of yours".into()))?;
        let mut key = credential(&factor)?;
        let backed_up = Credential::from(key.clone()).backup_state;
        key.update_credential(&result);
        // Written back only when a flag changed: the counter is the
        // store's, moved atomically, never by a whole-record write.
        let updated = if Credential::from(key.clone()).backup_state == backed_up {
            None
        } else {
            let mut updated = factor.clone();
            updated.secret = Some(serde_json::to_string(&key).map_err(failed)?);
            Some(updated)
        };
        Ok(Asserted::new(factor, result.counter(), updated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_comes_from_the_public_url() {
        let keys = Passkeys::builder("https://app.example.com:8443/base")
            .build()
            .unwrap();
        assert_eq!(keys.rp_id, "app.example.com");
        assert!(Passkeys::builder("http://localhost:3000").build().is_ok());
        for bad in [
            "app.example.com",
            "http://app.example.com",
            "ftp://x.example",
        ] {
            assert!(Passkeys::builder(bad).build().is_err(), "{bad}");
        }
    }

    #[test]
    fn user_handles_are_random() {
        assert_ne!(user_handle(), user_handle());
        assert_eq!(user_handle().get_version_num(), 8);
    }
}
