//! Remembered devices: the cookie after a passed code, skipping the
//! challenge with it, and every way it stops counting.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use tower_authy::config::{Policy, RememberDevice};
use tower_authy::store::FactorState;

use super::{
    DEVICE, browser_with_device, cookie_value, device_set_cookie, fresh_token, redirected_to,
    remember, second_factor,
};
use crate::app::{TestApp, location};

async fn app() -> TestApp {
    TestApp::start(
        Policy::builder()
            .with_remember_device(remember())
            .build()
            .unwrap(),
    )
    .await
}

/// Signs `user` in on a new browser, passes a soft token with "remember this
/// device", and returns the device cookie's value.
async fn remembered(app: &TestApp, user: &str, authy_id: u64) -> String {
    let browser = app.browser();
    app.sign_in(&browser, user).await;
    let token = fresh_token(app, authy_id).await;
    let passed = app
        .post_form(
            &browser,
            "/2fa/token",
            &[("token", &token), ("remember", "true")],
        )
        .await;
    assert_eq!(passed.status(), 303);
    cookie_value(&device_set_cookie(&passed).expect("a device cookie"))
}

/// How a fresh first factor of `user` on a browser holding only this device
/// cookie gets on at `GET /2fa`.
async fn with_cookie(app: &TestApp, user: &str, value: &str) -> String {
    let browser = browser_with_device(app, value);
    app.sign_in(&browser, user).await;
    second_factor(app, &browser).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_device_skips_the_challenge_until_forgotten() {
    let app = app().await;
    let authy_id = app.enroll("alice", FactorState::Active).await;
    let browser = app.browser();
    app.sign_in(&browser, "alice").await;
    let token = fresh_token(&app, authy_id).await;
    let passed = app
        .post_form(
            &browser,
            "/2fa/token",
            &[("token", &token), ("remember", "true")],
        )
        .await;
    let line = device_set_cookie(&passed).expect("a device cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/2fa", "Max-Age=3600"] {
        assert!(line.contains(attribute), "{attribute}: {line}");
    }
    assert!(
        !line.contains("Secure"),
        "turned off for plain http: {line}"
    );
    let value = cookie_value(&line);

    // The same browser, after signing out and in again: straight through.
    browser.post(app.url("/logout")).send().await.unwrap();
    app.sign_in(&browser, "alice").await;
    let page = browser
        .get(app.url("/2fa?next=%2Fprotected"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(location(&page), "/protected");
    assert_eq!(app.status(&browser, "/protected").await, 200);
    assert_eq!(
        with_cookie(&app, "alice", &value).await,
        "remembered_device"
    );

    let forgot = app.post_form(&browser, "/2fa/devices/forget", &[]).await;
    assert_eq!(
        redirected_to(&forgot),
        "/2fa/enroll?notice=devices_forgotten"
    );
    let cleared = device_set_cookie(&forgot).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // Every copy is void, not only this browser's.
    assert_eq!(with_cookie(&app, "alice", &value).await, "challenge");
    browser.post(app.url("/logout")).send().await.unwrap();
    app.sign_in(&browser, "alice").await;
    assert_eq!(second_factor(&app, &browser).await, "challenge");

    // A new cookie, issued after forgetting, works again.
    let renewed = remembered(&app, "alice", authy_id).await;
    assert_eq!(
        with_cookie(&app, "alice", &renewed).await,
        "remembered_device"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_remember_no_cookie_is_set() {
    let app = app().await;
    let authy_id = app.enroll("bob", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "bob").await;
    let token = fresh_token(&app, authy_id).await;
    let passed = app
        .post_json(&api, "/2fa/token", json!({"token": token}))
        .await;
    assert_eq!(passed.status(), 200);
    assert!(device_set_cookie(&passed).is_none());

    // Without the policy, asking does nothing either.
    let off = TestApp::start(Policy::default()).await;
    let authy_id = off.enroll("bob", FactorState::Active).await;
    let api = off.api();
    off.sign_in(&api, "bob").await;
    let token = fresh_token(&off, authy_id).await;
    let passed = off
        .post_json(
            &api,
            "/2fa/token",
            json!({"token": token, "remember": true}),
        )
        .await;
    assert_eq!(passed.status(), 200);
    assert!(device_set_cookie(&passed).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_cookie_is_void_for_another_user_and_when_tampered_with() {
    let app = app().await;
    let alice = app.enroll("alice", FactorState::Active).await;
    app.enroll("bob", FactorState::Active).await;
    let value = remembered(&app, "alice", alice).await;
    assert_eq!(
        with_cookie(&app, "alice", &value).await,
        "remembered_device"
    );
    assert_eq!(with_cookie(&app, "bob", &value).await, "challenge");

    let (payload, tag) = value.split_once('.').unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["e"] = json!(claims["e"].as_u64().unwrap() + 1);
    let longer = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    assert_eq!(
        with_cookie(&app, "alice", &format!("{longer}.{tag}")).await,
        "challenge",
        "claims changed under the old signature"
    );
    let mut flipped = tag.to_owned();
    let first = if flipped.starts_with('A') { "B" } else { "A" };
    flipped.replace_range(..1, first);
    assert_eq!(
        with_cookie(&app, "alice", &format!("{payload}.{flipped}")).await,
        "challenge",
        "a changed signature"
    );
    assert_eq!(with_cookie(&app, "alice", payload).await, "challenge");
    assert_eq!(with_cookie(&app, "alice", "garbage").await, "challenge");

    // Signed with another key: the same claims do not pass.
    let other_key = TestApp::start(
        Policy::builder()
            .with_remember_device(
                RememberDevice::new(std::time::Duration::from_secs(3600), "z".repeat(32))
                    .with_secure(false),
            )
            .build()
            .unwrap(),
    )
    .await;
    let id = other_key.enroll("alice", FactorState::Active).await;
    let foreign = remembered(&other_key, "alice", id).await;
    assert_eq!(with_cookie(&app, "alice", &foreign).await, "challenge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_cookie_is_secure_by_default() {
    let key = "s".repeat(32);
    let app = TestApp::start(
        Policy::builder()
            .with_remember_device(RememberDevice::new(
                std::time::Duration::from_secs(600),
                key.as_str(),
            ))
            .build()
            .unwrap(),
    )
    .await;
    let authy_id = app.enroll("carol", FactorState::Active).await;
    let browser = app.browser();
    app.sign_in(&browser, "carol").await;
    let token = fresh_token(&app, authy_id).await;
    let passed = app
        .post_form(
            &browser,
            "/2fa/token",
            &[("token", &token), ("remember", "true")],
        )
        .await;
    assert!(passed.headers().contains_key(LOCATION));
    let line = device_set_cookie(&passed).expect("a device cookie");
    assert!(line.contains("; Secure"), "{line}");
    assert!(line.contains("Max-Age=600"), "{line}");
    assert!(!line.contains(&key), "the key never leaves the server");
    assert!(line.starts_with(&format!("{DEVICE}=")));
}
