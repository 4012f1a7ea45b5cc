//! Remembered devices: a signed token naming the user, their provider id,
//! the store's device generation and an expiry. The routes carry it in a
//! cookie; here it is made and checked.
//!
//! The token is `base64url(claims) "." base64url(HMAC-SHA256(key, context
//! || base64url(claims)))`. Nothing is parsed before the signature is
//! checked, and a token that fails any check is as good as none.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::Refusal;
use super::Rules;
use crate::config::RememberDevice;
use crate::store::{Factor, UserId};

/// Signed before the claims, so no other MAC made with the same key can pass
/// for a device token.
const CONTEXT: &[u8] = b"tower-authy remember-device v1\n";

/// What the token says. Short names keep the cookie small.
#[derive(Serialize, Deserialize)]
struct Claims {
    #[serde(rename = "u")]
    user: String,
    #[serde(rename = "p")]
    provider_user_id: String,
    #[serde(rename = "g")]
    generation: u64,
    #[serde(rename = "e")]
    expires: u64,
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn mac(remember: &RememberDevice, payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(remember.key.expose())
        .expect("HMAC accepts keys of any length");
    mac.update(CONTEXT);
    mac.update(payload.as_bytes());
    mac
}

fn sign(remember: &RememberDevice, claims: &Claims) -> String {
    let json = serde_json::to_vec(claims).expect("claims serialize");
    let payload = URL_SAFE_NO_PAD.encode(json);
    let tag = URL_SAFE_NO_PAD.encode(mac(remember, &payload).finalize().into_bytes());
    format!("{payload}.{tag}")
}

/// The claims of a token whose signature is right.
fn open(remember: &RememberDevice, value: &str) -> Option<Claims> {
    let (payload, tag) = value.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(remember, payload).verify_slice(&tag).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Whether unexpired claims name this enrollment's user and provider id.
fn names(claims: &Claims, enrollment: &Factor, now: u64) -> bool {
    claims.expires > now
        && claims.user == enrollment.user_id.as_str()
        && claims.provider_user_id == enrollment.provider_ref
}

impl Rules {
    /// Forgets every device the user remembered, for a session that passed
    /// its second factor; every other session that passed must pass again.
    /// The answer is the new security generation, for the caller's session.
    pub(crate) async fn forget_devices(
        &self,
        user: &UserId,
        passed: Option<u64>,
    ) -> Result<u64, Refusal> {
        let since = passed.ok_or(Refusal::SecondFactorRequired)?;
        self.unchanged_since(user, since).await?;
        let generation = self.store.revoke_devices(user).await?;
        tracing::info!(user = %user, "tower-authy: remembered devices forgotten");
        Ok(generation)
    }

    /// A token remembering this device for the enrollment's user, when the
    /// policy remembers devices. A store failure costs only the token: the
    /// second factor has already passed.
    pub(crate) async fn remember_device(
        &self,
        enrollment: &Factor,
        now: SystemTime,
    ) -> Option<String> {
        let remember = self.policy.remember_device.as_ref()?;
        let generation = match self.store.device_generation(&enrollment.user_id).await {
            Ok(generation) => generation,
            Err(error) => {
                tracing::warn!(%error, "tower-authy: cannot remember the device");
                return None;
            }
        };
        let claims = Claims {
            user: enrollment.user_id.as_str().to_owned(),
            provider_user_id: enrollment.provider_ref.clone(),
            generation,
            expires: unix(now + remember.lifetime),
        };
        self.events
            .tell(crate::events::SecurityEvent::DeviceRemembered {
                user: enrollment.user_id.clone(),
            });
        Some(sign(remember, &claims))
    }

    /// Whether one of `tokens` is valid for this user's confirmed
    /// enrollment, issued in the current device generation. Anything that
    /// cannot be checked (the store is down) counts as no.
    pub(crate) async fn recognises_device(
        &self,
        enrollment: &Factor,
        tokens: &[&str],
        now: SystemTime,
    ) -> bool {
        let Some(remember) = &self.policy.remember_device else {
            return false;
        };
        if !enrollment.is_active() {
            return false;
        }
        let now = unix(now);
        let generations: Vec<u64> = tokens
            .iter()
            .filter_map(|value| open(remember, value))
            .filter(|c| names(c, enrollment, now))
            .map(|c| c.generation)
            .collect();
        if generations.is_empty() {
            return false;
        }
        match self.store.device_generation(&enrollment.user_id).await {
            Ok(generation) => generations.contains(&generation),
            Err(error) => {
                tracing::warn!(%error, "tower-authy: cannot check a remembered device");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UserId;
    use std::time::Duration;

    fn key(k: &str) -> RememberDevice {
        RememberDevice::new(Duration::from_secs(60), k)
    }

    fn claims() -> Claims {
        Claims {
            user: "alice".into(),
            provider_user_id: "42".into(),
            generation: 3,
            expires: 2_000_000_000,
        }
    }

    #[test]
    fn a_signed_token_opens_only_with_its_key_and_unchanged() {
        let remember = key("k".repeat(32).as_str());
        let value = sign(&remember, &claims());
        let opened = open(&remember, &value).expect("opens");
        assert_eq!(opened.user, "alice");
        assert_eq!(opened.generation, 3);

        assert!(open(&key("j".repeat(32).as_str()), &value).is_none());
        let (payload, tag) = value.split_once('.').unwrap();
        let mut forged = claims();
        forged.user = "mallory".into();
        let other = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(open(&remember, &format!("{other}.{tag}")).is_none());
        assert!(open(&remember, payload).is_none(), "no signature");
        assert!(open(&remember, &format!("{payload}.")).is_none());
        assert!(open(&remember, &format!("{payload}.{tag}x")).is_none());
    }

    #[test]
    fn claims_must_be_unexpired_and_name_the_enrollment() {
        let enrollment = Factor::authy(UserId::new("alice"), "42", None, SystemTime::now());
        let c = claims();
        assert!(names(&c, &enrollment, c.expires - 1));
        assert!(!names(&c, &enrollment, c.expires), "expired");
        let bob = Factor::authy(UserId::new("bob"), "42", None, SystemTime::now());
        assert!(!names(&c, &bob, 0), "another user");
        let reenrolled = Factor::authy(UserId::new("alice"), "43", None, SystemTime::now());
        assert!(!names(&c, &reenrolled, 0), "another provider id");
    }

    #[test]
    fn debug_of_the_policy_never_shows_the_key() {
        let remember = key("secret-secret-secret-secret-secret");
        assert!(!format!("{remember:?}").contains("secret"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// A token changed in any one byte (payload, separator or tag)
            /// never opens, whatever the claims.
            #[test]
            fn no_tampered_token_opens(
                user in any::<String>(),
                provider in "[0-9]{1,12}",
                generation in any::<u64>(),
                expires in any::<u64>(),
                at in any::<usize>(),
                to in any::<u8>(),
            ) {
                let remember = key(&"k".repeat(32));
                let claims = Claims { user, provider_user_id: provider, generation, expires };
                let value = sign(&remember, &claims);
                prop_assert!(open(&remember, &value).is_some());
                let mut bytes = value.clone().into_bytes();
                let index = at % bytes.len();
                prop_assume!(bytes[index] != to);
                bytes[index] = to;
                // Not UTF-8 cannot come in as a cookie value at all.
                if let Ok(tampered) = String::from_utf8(bytes) {
                    prop_assert!(open(&remember, &tampered).is_none(), "{} opened", tampered);
                }
            }

            /// Any cookie value at all: refused or opened, never a panic;
            /// and only a token this key signed opens.
            #[test]
            fn an_arbitrary_cookie_never_opens(value in any::<String>()) {
                prop_assert!(open(&key(&"k".repeat(32)), &value).is_none());
            }
        }
    }
}
