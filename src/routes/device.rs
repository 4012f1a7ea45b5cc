//! Remembered devices over HTTP: the `tower_authy_device` cookie that
//! carries the token the rules make and check (see
//! [`RememberDevice`](crate::config::RememberDevice)), and `POST
//! {prefix}/devices/forget`.
//!
//! The cookie is `HttpOnly`, `SameSite=Lax`, `Secure` unless turned off,
//! and scoped to the prefix so it travels with the 2FA routes only.

use std::time::SystemTime;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde_json::json;

use super::context::Post;
use super::forms::Empty;
use super::reply;
use crate::code::Code;
use crate::config::RememberDevice;
use crate::store::Factor;
use crate::two_factor::Shared;

/// The cookie's name.
const COOKIE: &str = "tower_authy_device";

/// Every value the request carries under the cookie's name.
fn cookie_values(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then_some(value)
        })
        .collect()
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
/// policy remembers devices.
pub(crate) async fn remember(shared: &Shared, enrollment: &Factor, response: &mut Response) {
    let Some(remember) = &shared.rules.policy.remember_device else {
        return;
    };
    let now = SystemTime::now();
    if let Some(token) = shared.rules.remember_device(enrollment, now).await {
        let cookie = set_cookie(shared, remember, &token, remember.lifetime.as_secs());
        add_cookie(response, &cookie);
    }
}

/// Whether the request carries a device cookie the rules recognise for this
/// enrollment.
pub(crate) async fn recognised(shared: &Shared, enrollment: &Factor, headers: &HeaderMap) -> bool {
    let tokens = cookie_values(headers);
    !tokens.is_empty()
        && shared
            .rules
            .recognises_device(enrollment, &tokens, SystemTime::now())
            .await
}

/// `POST {prefix}/devices/forget`: voids every device the user had
/// remembered, on every browser, and clears this browser's cookie.
pub(crate) async fn forget(Post(ctx, _): Post<Empty>) -> Response {
    let shared = ctx.shared.clone();
    let back = shared.settings_page();
    let result = async {
        let state = ctx.signed_in()?;
        let generation = shared
            .rules
            .forget_devices(&state.user_id, state.passed.map(|p| p.generation))
            .await?;
        ctx.keep_pass(generation).await
    }
    .await;
    match result {
        Ok(()) => {
            let mut response = reply::notice(ctx.format, &back, Code::DevicesForgotten, json!({}));
            clear(&shared, &mut response);
            response
        }
        Err(refusal) => reply::refuse(ctx.format, &back, &refusal),
    }
}

/// Removes this browser's device cookie.
pub(crate) fn clear(shared: &Shared, response: &mut Response) {
    if let Some(remember) = &shared.rules.policy.remember_device {
        add_cookie(response, &set_cookie(shared, remember, "", 0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(cookie_values(&headers), ["abc.def", "x"]);
    }
}
