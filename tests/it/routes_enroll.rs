//! Enrollment, remembered devices and turning 2FA off, through a whole
//! application: the routes `/2fa/enroll`, `/2fa/enroll/verify`,
//! `/2fa/devices/forget` and `/2fa/disable`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::SET_COOKIE;
use tower_authy::config::RememberDevice;
use tower_authy::store::{FactorState, UserId};

use crate::app::{FirstFactor, TestApp};

mod disable;
mod enrollment;
mod identities;
mod remember;

/// Where a redirect goes, with its query decoded (`?error=code_rejected`).
fn redirected_to(response: &reqwest::Response) -> String {
    let location = crate::app::location(response);
    percent_encoding::percent_decode_str(&location)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// The device cookie's name.
const DEVICE: &str = "tower_authy_device";

/// Remembered devices for an hour; without `Secure`, as the harness runs
/// over plain http.
fn remember() -> RememberDevice {
    RememberDevice::new(Duration::from_secs(3600), "k".repeat(32)).with_secure(false)
}

/// How `GET /2fa` decides for this session: `challenge`, or the method the
/// session completed with.
async fn second_factor(app: &TestApp, http: &reqwest::Client) -> String {
    let answer = app.get_json(http, "/2fa").await;
    match answer["status"].as_str() {
        Some("complete") => answer["method"].as_str().unwrap().to_owned(),
        Some(other) => other.to_owned(),
        None => panic!("{answer}"),
    }
}

/// The state of the user's stored enrollment.
async fn enrollment_state(app: &TestApp, user: &str) -> Option<FactorState> {
    app.store
        .first_factor(&UserId::new(user))
        .await
        .unwrap()
        .map(|e| e.state)
}

/// The Authy IDs the simulator's phone lists.
async fn simulator_users(app: &TestApp) -> Vec<u64> {
    app.phone("users")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["authy_id"].as_u64().unwrap())
        .collect()
}

/// The app's soft token, after moving the simulator's clock past the window
/// in which earlier tokens count as used.
async fn fresh_token(app: &TestApp, authy_id: u64) -> String {
    app.fresh_soft_token(authy_id).await
}

/// The `Set-Cookie` line that sets the device cookie, if any.
fn device_set_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|line| line.starts_with(&format!("{DEVICE}=")))
}

/// The device cookie's value from a `Set-Cookie` line.
fn cookie_value(line: &str) -> String {
    line.split(';').next().unwrap()[DEVICE.len() + 1..].to_owned()
}

/// A browser that holds only this device cookie.
fn browser_with_device(app: &TestApp, value: &str) -> reqwest::Client {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(
        &format!("{DEVICE}={value}; Path=/2fa"),
        &app.base.parse().unwrap(),
    );
    app.browser_with(jar)
}
