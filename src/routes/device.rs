//! Remembered devices: the signed cookie set after a passed code when the
//! user ticks "remember this device", its check on `GET {prefix}`, and
//! `POST {prefix}/devices/forget`.
//!
//! The cookie is `base64url(claims) "." base64url(HMAC-SHA256(key, context
//! || base64url(claims)))`, where the claims name the user, the provider's id
//! for them, the store's device generation and an expiry. It is `HttpOnly`,
//! `SameSite=Lax`, `Secure` unless turned off, and scoped to the prefix so it
//! travels with the 2FA routes only. A cookie that fails any check is ignored:
//! the user is challenged as if it were not there.

use std::time::SystemTime;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use super::context::Post;
use super::reply::{self, Format, RouteError, refuse};
use super::{Shared, challenge::Empty};
use crate::config::RememberDevice;
use crate::session::unix;
use crate::store::{Enrollment, EnrollmentState, UserId};

/// The cookie's name.
const COOKIE: &str = "tower_authy_device";

/// Signed before the claims, so no other MAC made with the same key can pass
/// for a device cookie.
const CONTEXT: &[u8] = b"tower-authy remember-device v1\n";

/// What the cookie says. Short names keep the cookie small.
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

fn mac(remember: &RememberDevice, payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(remember.key.expose().as_bytes())
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

/// The claims of a cookie whose signature is right; nothing is parsed before
/// the signature is checked.
fn open(remember: &RememberDevice, value: &str) -> Option<Claims> {
    let (payload, tag) = value.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(remember, payload).verify_slice(&tag).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Every value the request carries under the cookie's name.
fn cookie_values(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then_some(value)
        })
}

fn set_cookie(shared: &Shared, remember: &RememberDevice, value: &str, max_age: u64) -> String {
    let secure = if remember.secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        shared.prefix
    )
}

fn add_cookie(response: &mut Response, cookie: &str) {
    match HeaderValue::from_str(cookie) {
        Ok(value) => {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        Err(_) => tracing::warn!("tower-authy: the device cookie is not a valid header"),
    }
}

/// Adds a device cookie for this enrollment to a successful answer, when the
/// policy remembers devices. A store failure costs only the cookie: the
/// second factor has already passed.
pub(crate) async fn remember(shared: &Shared, enrollment: &Enrollment, response: &mut Response) {
    let Some(remember) = &shared.policy.remember_device else {
        return;
    };
    let generation = match shared.store.device_generation(&enrollment.user_id).await {
        Ok(generation) => generation,
        Err(error) => {
            tracing::warn!(%error, "tower-authy: cannot remember the device");
            return;
        }
    };
    let claims = Claims {
        user: enrollment.user_id.as_str().to_owned(),
        provider_user_id: enrollment.provider_user_id.clone(),
        generation,
        expires: unix(SystemTime::now() + remember.lifetime),
    };
    let cookie = set_cookie(
        shared,
        remember,
        &sign(remember, &claims),
        remember.lifetime.as_secs(),
    );
    add_cookie(response, &cookie);
}

/// Whether unexpired claims name this enrollment's user and provider id.
fn names(claims: &Claims, enrollment: &Enrollment, now: u64) -> bool {
    claims.expires > now
        && claims.user == enrollment.user_id.as_str()
        && claims.provider_user_id == enrollment.provider_user_id
}

/// Whether the request carries a valid device cookie for this user's
/// enabled enrollment, issued in the current device generation. Anything
/// that cannot be checked (the store is down) counts as no.
pub(crate) async fn recognised(
    shared: &Shared,
    enrollment: &Enrollment,
    headers: &HeaderMap,
) -> bool {
    let Some(remember) = &shared.policy.remember_device else {
        return false;
    };
    if enrollment.state != EnrollmentState::Enabled {
        return false;
    }
    let now = unix(SystemTime::now());
    // Collected before the await: the future must not hold the iterator.
    let generations: Vec<u64> = cookie_values(headers)
        .filter_map(|value| open(remember, value))
        .filter(|c| names(c, enrollment, now))
        .map(|c| c.generation)
        .collect();
    if generations.is_empty() {
        return false;
    }
    match shared.store.device_generation(&enrollment.user_id).await {
        Ok(generation) => generations.contains(&generation),
        Err(error) => {
            tracing::warn!(%error, "tower-authy: cannot check a remembered device");
            false
        }
    }
}

/// `POST {prefix}/devices/forget`: voids every device the user had
/// remembered, on every browser, and clears this browser's cookie.
pub(crate) async fn forget(Post(ctx, _): Post<Empty>) -> Response {
    let shared = ctx.shared.clone();
    let back = format!("{}/enroll", shared.prefix);
    let result = async {
        let state = ctx.signed_in()?;
        if state.passed.is_none() {
            return Err(RouteError::SecondFactorRequired);
        }
        let user = UserId::new(state.user_id.clone());
        shared.store.revoke_devices(&user).await?;
        tracing::info!(user = %user, "tower-authy: remembered devices forgotten");
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            let mut response = match ctx.format {
                Format::Html => {
                    reply::see_other(&reply::with_query(&back, "notice", "devices_forgotten"))
                }
                Format::Json => reply::json(StatusCode::OK, json!({"status": "devices_forgotten"})),
            };
            clear(&shared, &mut response);
            response
        }
        Err(error) => refuse(ctx.format, &back, &error),
    }
}

/// Removes this browser's device cookie.
pub(crate) fn clear(shared: &Shared, response: &mut Response) {
    if let Some(remember) = &shared.policy.remember_device {
        add_cookie(response, &set_cookie(shared, remember, "", 0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn a_signed_cookie_opens_only_with_its_key_and_unchanged() {
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
        let enrollment = Enrollment::pending(UserId::new("alice"), "42", None, SystemTime::now());
        let c = claims();
        assert!(names(&c, &enrollment, c.expires - 1));
        assert!(!names(&c, &enrollment, c.expires), "expired");
        let bob = Enrollment::pending(UserId::new("bob"), "42", None, SystemTime::now());
        assert!(!names(&c, &bob, 0), "another user");
        let reenrolled = Enrollment::pending(UserId::new("alice"), "43", None, SystemTime::now());
        assert!(!names(&c, &reenrolled, 0), "another provider id");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("id=1; tower_authy_device=abc.def"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("tower_authy_device=x"),
        );
        let found: Vec<_> = cookie_values(&headers).collect();
        assert_eq!(found, ["abc.def", "x"]);
    }

    #[test]
    fn debug_of_the_policy_never_shows_the_key() {
        let remember = key("secret-secret-secret-secret-secret");
        assert!(!format!("{remember:?}").contains("secret"));
    }
}
