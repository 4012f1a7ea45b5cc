//! The Verify factors through a whole application on Verify (its simulator
//! under `/verify`): adding an e-mail, a WhatsApp number or a Verify TOTP
//! app from the settings routes, signing in with each, and a Verify push
//! completing the waiting browser by long-poll and by event stream, with
//! the webhook and in polling mode.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tower_authy::config::{Policy, StatusMode};
use tower_authy::store::{Factor, FactorKind, FactorState, IdentityUse, UserId};
use tower_authy::verify::Identity;

use crate::app::TestApp;
use crate::common::{SECRET_KEY, app_code, now};

/// A long-poll that returns well before this was woken by the outcome.
const WOKEN_WITHIN: Duration = Duration::from_secs(15);

async fn app() -> TestApp {
    TestApp::start_verify(Policy::default(), true, |builder| {
        builder.with_secret_key(SECRET_KEY).with_backup_codes()
    })
    .await
}

fn polling() -> Policy {
    Policy::builder()
        .with_status_mode(StatusMode::Polling {
            every: Duration::from_secs(1),
        })
        .build()
        .unwrap()
}

async fn post(app: &TestApp, http: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    let answer = app.post_json(http, path, body).await;
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

async fn me(app: &TestApp, http: &reqwest::Client) -> u16 {
    app.status(http, "/api/me").await.as_u16()
}

async fn factors(app: &TestApp, user: &str) -> Vec<Factor> {
    app.store.factors(&UserId::new(user)).await.unwrap()
}

/// `user` adds `address` as a factor of `kind` from a signed-in session;
/// returns the session, the factor id and the code sent to `to` (the
/// address as Verify has it).
async fn add_contact(
    app: &TestApp,
    user: &str,
    kind: &str,
    address: &str,
    to: &str,
) -> (reqwest::Client, String, String) {
    let api = app.api();
    app.sign_in(&api, user).await;
    let (status, body) = post(
        app,
        &api,
        "/2fa/contact",
        json!({"kind": kind, "address": address}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["factor_id"].as_str().unwrap().to_owned();
    assert_eq!(body["confirm"], format!("/2fa/factors/{id}/confirm"));
    let code = app.verify_codes(to).await.pop().expect("a code was sent");
    (api, id, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_factor_is_added_confirmed_and_signs_in() {
    let app = app().await;
    let (api, id, code) = add_contact(
        &app,
        "erin",
        "verify_email",
        "erin@example.com",
        "erin@example.com",
    )
    .await;
    let stored = factors(&app, "erin").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].kind, FactorKind::VerifyEmail);
    assert_eq!(stored[0].state, FactorState::Pending);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = format!("/2fa/factors/{id}/confirm");
    let (status, body) = post(&app, &api, &confirm, json!({"code": wrong})).await;
    assert_eq!(body["error"], "code_rejected", "{status} {body}");
    assert_eq!(factors(&app, "erin").await[0].state, FactorState::Pending);
    let (status, body) = post(&app, &api, &confirm, json!({"code": code})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["backup_codes"].as_array().map(Vec::len),
        Some(10),
        "first factor: backup codes {body}"
    );
    assert_eq!(factors(&app, "erin").await[0].state, FactorState::Active);
    assert_eq!(me(&app, &api).await, 200);

    // Signing in again: the challenge offers e-mail and sends a code there.
    let next = app.api();
    app.sign_in(&next, "erin").await;
    assert_eq!(me(&app, &next).await, 401);
    let challenge = app.get_json(&next, "/2fa").await;
    assert!(
        challenge["ways"]
            .as_array()
            .unwrap()
            .contains(&json!("email")),
        "{challenge}"
    );
    assert_eq!(
        challenge["channels"]["sms"], false,
        "an e-mail gets no texts"
    );
    let (status, body) = post(&app, &next, "/2fa/email", json!({})).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("email_sent")),
        "{body}"
    );
    let code = app.verify_codes("erin@example.com").await.pop().unwrap();
    let (status, body) = post(&app, &next, "/2fa/token", json!({"token": code})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(me(&app, &next).await, 200);
    let (status, body) = post(&app, &next, "/2fa/sms", json!({})).await;
    assert_ne!(status, 200, "no phone to text: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_number_is_added_and_its_code_confirms_it() {
    let app = app().await;
    let (api, id, code) = add_contact(
        &app,
        "finn",
        "verify_whatsapp",
        "+44 7700 900789",
        "+447700900789",
    )
    .await;
    let sent = app.verify_phone("messages?to=%2B447700900789").await;
    assert_eq!(sent[0]["channel"], "whatsapp", "{sent}");
    let (status, body) = post(
        &app,
        &api,
        &format!("/2fa/factors/{id}/confirm"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let stored = &factors(&app, "finn").await;
    let number = stored
        .iter()
        .find(|f| f.kind == FactorKind::VerifyWhatsapp)
        .unwrap();
    assert_eq!(number.state, FactorState::Active);
    assert_eq!(number.identity.as_deref(), Some("tel:+447700900789"));
}

/// Each bad input gets its own answer, sends nothing and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_addresses_are_refused_and_change_nothing() {
    let app = app().await;
    let api = app.api();
    app.sign_in(&api, "gail").await;
    for (body, expected) in [
        (
            json!({"kind": "verify_email", "address": "gail-at-example"}),
            "invalid_address",
        ),
        (
            json!({"kind": "verify_whatsapp", "address": "07700 900789"}),
            "invalid_address",
        ),
        (
            json!({"kind": "verify_email", "address": ""}),
            "invalid_input",
        ),
        (
            json!({"kind": "carrier_pigeon", "address": "gail@example.com"}),
            "invalid_input",
        ),
        (
            json!({"kind": "verify_sms", "address": "+15017122661"}),
            "channel_off",
        ),
        (
            json!({"kind": "verify_email", "address": "gail@example.com", "label": "a\nb"}),
            "invalid_input",
        ),
    ] {
        let (status, answer) = post(&app, &api, "/2fa/contact", body.clone()).await;
        assert_eq!(answer["error"], expected, "{body}: {status} {answer}");
        assert!((400..500).contains(&status), "{body}: {status}");
    }
    assert!(factors(&app, "gail").await.is_empty(), "nothing stored");
    assert!(
        app.verify_codes("gail@example.com").await.is_empty(),
        "nothing sent"
    );

    // Another account's confirmed address: the code goes out (saying
    // otherwise would tell who has which address), but only the holder of
    // the mailbox has it, and confirming it is refused.
    let (hana, id, code) = add_contact(
        &app,
        "hana",
        "verify_email",
        "shared@example.com",
        "shared@example.com",
    )
    .await;
    let (status, answer) = post(
        &app,
        &hana,
        &format!("/2fa/factors/{id}/confirm"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = post(
        &app,
        &api,
        "/2fa/contact",
        json!({"kind": "verify_email", "address": "Shared@Example.com"}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let gail_id = answer["factor_id"].as_str().unwrap().to_owned();
    let code = app.verify_codes("Shared@Example.com").await.pop().unwrap();
    let (status, answer) = post(
        &app,
        &api,
        &format!("/2fa/factors/{gail_id}/confirm"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(answer["error"], "identity_in_use", "{status} {answer}");
    assert!(
        factors(&app, "gail").await.iter().all(|f| !f.is_active()),
        "nothing confirmed"
    );

    // A confirm for no such factor, or with a malformed id.
    for path in [
        "/2fa/factors/nope/confirm",
        "/2fa/factors/AAAAAAAAAAAAAAAAAAAAAA/confirm",
    ] {
        let (status, answer) = post(&app, &api, path, json!({"code": "123456"})).await;
        assert_eq!(
            answer["error"], "unknown_factor",
            "{path}: {status} {answer}"
        );
    }
}

/// Where the policy turns code entry off, no factor is added that only a
/// code would confirm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_code_entry_off_no_code_factor_is_added() {
    let policy = Policy::builder()
        .with_codes(false)
        .with_sms(tower_authy::config::ChannelMode::Off)
        .with_call(tower_authy::config::ChannelMode::Off)
        .build()
        .unwrap();
    let app = TestApp::start_verify(policy, true, |builder| builder).await;
    let api = app.api();
    app.sign_in(&api, "quin").await;
    for (path, body) in [
        (
            "/2fa/contact",
            json!({"kind": "verify_email", "address": "quin@example.com"}),
        ),
        ("/2fa/totp", json!({"kind": "verify_totp"})),
    ] {
        let (status, answer) = post(&app, &api, path, body).await;
        assert_eq!(answer["error"], "channel_off", "{path}: {status} {answer}");
    }
    assert!(factors(&app, "quin").await.is_empty());
    assert!(app.verify_codes("quin@example.com").await.is_empty());
}

/// An address typed and never confirmed binds nothing: its owner adds it
/// all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_address_holds_nothing() {
    let app = app().await;
    add_contact(
        &app,
        "mallory",
        "verify_email",
        "owner@example.com",
        "owner@example.com",
    )
    .await;
    let stored = factors(&app, "mallory").await;
    assert_eq!(stored[0].identity, None, "pending: no identity bound");
    let (owner, id, code) = add_contact(
        &app,
        "olga",
        "verify_email",
        "owner@example.com",
        "owner@example.com",
    )
    .await;
    let (status, answer) = post(
        &app,
        &owner,
        &format!("/2fa/factors/{id}/confirm"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let olga = factors(&app, "olga").await;
    let email = olga
        .iter()
        .find(|f| f.kind == FactorKind::VerifyEmail)
        .unwrap();
    assert!(email.is_active());
    assert_eq!(email.identity.as_deref(), Some("mailto:owner@example.com"));
}

/// Adding an address one already has is refused with a clear message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_one_has_already_is_refused() {
    let app = app().await;
    let (api, id, code) = add_contact(
        &app,
        "pia",
        "verify_whatsapp",
        "+15017122662",
        "+15017122662",
    )
    .await;
    post(
        &app,
        &api,
        &format!("/2fa/factors/{id}/confirm"),
        json!({"code": code}),
    )
    .await;
    let (status, answer) = post(
        &app,
        &api,
        "/2fa/contact",
        json!({"kind": "verify_call", "address": "+1 501 712 2662"}),
    )
    .await;
    assert_eq!(answer["error"], "invalid_input", "{status} {answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("already"),
        "{answer}"
    );
    let kinds: Vec<_> = factors(&app, "pia")
        .await
        .into_iter()
        .map(|f| f.kind)
        .filter(|kind| *kind != FactorKind::BackupCodes)
        .collect();
    assert_eq!(kinds, [FactorKind::VerifyWhatsapp], "nothing added");
}

/// A Verify TOTP app from `POST /2fa/totp` with its kind: the secret shown
/// once, confirmed by its first code, then a code signs in once only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_totp_app_signs_in_and_a_code_passes_once() {
    let app = app().await;
    let api = app.api();
    app.sign_in(&api, "ivan").await;
    let (status, body) = post(
        &app,
        &api,
        "/2fa/totp",
        json!({"kind": "verify_totp", "label": "Ivan's phone"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["kind"], "verify_totp");
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(
        body["otpauth_uri"].as_str().unwrap().contains(&secret),
        "{body}"
    );
    assert!(body["qr_svg"].as_str().unwrap().contains("<svg"));
    let id = body["factor_id"].as_str().unwrap().to_owned();
    let stored = factors(&app, "ivan").await;
    assert_eq!(stored[0].kind, FactorKind::VerifyTotp);
    assert!(stored[0].secret.is_none(), "Twilio keeps the seed, not us");

    let at = now();
    let first = app_code(&secret, at);
    let (status, body) = post(
        &app,
        &api,
        "/2fa/totp/confirm",
        json!({"factor_id": id, "code": first}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(factors(&app, "ivan").await[0].state, FactorState::Active);

    // The confirming code does not sign in a second session.
    let replay = app.api();
    app.sign_in(&replay, "ivan").await;
    let (_, body) = post(&app, &replay, "/2fa/token", json!({"token": first})).await;
    assert_eq!(body["error"], "code_rejected", "{body}");
    // The next step's code does (one step of skew), once.
    let next = app_code(&secret, at + 30);
    let (status, body) = post(&app, &replay, "/2fa/token", json!({"token": next})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(me(&app, &replay).await, 200);
    let again = app.api();
    app.sign_in(&again, "ivan").await;
    let (_, body) = post(&app, &again, "/2fa/token", json!({"token": next})).await;
    assert_eq!(body["error"], "code_rejected", "a replay: {body}");
    assert_eq!(me(&app, &again).await, 401);
}

/// The settings page offers each Verify way to add a factor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_page_offers_an_email_and_a_verify_app() {
    let app = app().await;
    let browser = app.browser();
    app.sign_in(&browser, "jo").await;
    let page = app.text(&browser, "/2fa/enroll").await;
    for needle in [
        "id=\"enroll-form\"",
        "id=\"verify-totp-start\"",
        "name=\"kind\" value=\"verify_totp\"",
        "id=\"contact-start\"",
        "<option value=\"verify_email\">E-mail</option>",
        "<option value=\"verify_whatsapp\">WhatsApp</option>",
    ] {
        assert!(page.contains(needle), "{needle} missing from\n{page}");
    }
    let answer = app
        .post_form(
            &browser,
            "/2fa/contact",
            &[("kind", "verify_email"), ("address", "jo@example.com")],
        )
        .await;
    assert_eq!(answer.status(), 200);
    let page = answer.text().await.unwrap();
    assert!(page.contains("A code is on its way by e-mail."), "{page}");
    assert!(page.contains("id=\"contact-confirm-form\""), "{page}");
    let settings = app.text(&browser, "/2fa/enroll").await;
    assert!(
        settings.contains("id=\"awaiting\""),
        "the waiting factor is listed: {settings}"
    );
}

/// A Verify push factor of `user`, registered at the simulator as the
/// mobile SDK would and stored active; returns its challenges' identity.
async fn push_factor(app: &TestApp, user: &str) -> String {
    let identity = Identity::for_user(user).to_string();
    let made = app
        .verify_phone_post(
            "push-factors",
            &[("identity", &identity), ("friendly_name", "Test phone")],
        )
        .await;
    let sid = made["sid"].as_str().unwrap();
    let reference = format!("{identity}:{sid}");
    let mut factor = Factor::pending(
        UserId::new(user),
        FactorKind::VerifyPush,
        "Test phone",
        &reference,
        SystemTime::now(),
    )
    .activated();
    factor.identity = Some(format!("verify-push:{reference}"));
    app.store
        .insert_factor(&factor, IdentityUse::Exclusive)
        .await
        .unwrap();
    identity
}

async fn pushed(app: &TestApp, http: &reqwest::Client) -> String {
    let (status, body) = post(app, http, "/2fa/onetouch", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending", "{body}");
    let uuid = body["uuid"].as_str().unwrap().to_owned();
    assert!(
        uuid.starts_with("YC"),
        "the request is the challenge: {uuid}"
    );
    uuid
}

async fn approve(app: &TestApp, sid: &str) {
    app.verify_phone_post(&format!("challenges/{sid}/approve"), &[])
        .await;
}

async fn long_poll_until_approved(app: &TestApp, http: &reqwest::Client, sid: &str) {
    let url = app.url("/2fa/status?wait=25");
    let client = http.clone();
    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        let answer = client.get(url).send().await.unwrap();
        let code = answer.status().as_u16();
        (
            code,
            answer.json::<Value>().await.unwrap(),
            started.elapsed(),
        )
    });
    approve(app, sid).await;
    let (code, body, took) = waiting.await.unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "complete", "{body}");
    assert!(took < WOKEN_WITHIN, "the long-poll waited {took:?}");
    assert_eq!(me(app, http).await, 200);
}

/// Reads `/2fa/events`, approving on the phone once it reports pending.
async fn stream_until_approved(app: &TestApp, http: &reqwest::Client, sid: &str) -> String {
    app.stream_events(http, approve(app, sid)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_push_wakes_the_long_poll_through_the_webhook() {
    let app = app().await;
    push_factor(&app, "kim").await;
    let api = app.api();
    app.sign_in(&api, "kim").await;
    let sid = pushed(&app, &api).await;
    long_poll_until_approved(&app, &api, &sid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_push_is_streamed_through_the_webhook() {
    let app = app().await;
    push_factor(&app, "lee").await;
    let api = app.api();
    app.sign_in(&api, "lee").await;
    let sid = pushed(&app, &api).await;
    let seen = stream_until_approved(&app, &api, &sid).await;
    assert!(seen.contains("\"status\":\"approved\""), "{seen}");
    assert_eq!(
        me(&app, &api).await,
        401,
        "the stream itself does not sign in"
    );
    let status = app.get_json(&api, "/2fa/status").await;
    assert_eq!(status["status"], "complete", "{status}");
    assert_eq!(me(&app, &api).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_push_completes_in_polling_mode() {
    let app = TestApp::start_verify(polling(), false, |builder| builder).await;
    push_factor(&app, "max").await;
    let api = app.api();
    app.sign_in(&api, "max").await;
    let sid = pushed(&app, &api).await;
    long_poll_until_approved(&app, &api, &sid).await;
    let record = app
        .store
        .approval(&sid, SystemTime::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.status,
        tower_authy::store::ApprovalStatus::Approved,
        "the poll recorded it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_push_is_streamed_in_polling_mode() {
    let app = TestApp::start_verify(polling(), false, |builder| builder).await;
    push_factor(&app, "ned").await;
    let api = app.api();
    app.sign_in(&api, "ned").await;
    let sid = pushed(&app, &api).await;
    let seen = stream_until_approved(&app, &api, &sid).await;
    assert!(seen.contains("\"status\":\"approved\""), "{seen}");
    let status = app.get_json(&api, "/2fa/status").await;
    assert_eq!(status["status"], "complete", "{status}");
    assert_eq!(me(&app, &api).await, 200);
}
