//! Passkeys through a whole application: both ceremonies with a software
//! authenticator written from the spec, and every bad answer refused with
//! nothing changed — another request's challenge, a replayed answer,
//! another user's key, another site's origin or RP id, a counter gone
//! back, a ceremony answered twice or by another session.

use serde_json::{Value, json};
use tower_authy::config::Policy;
use tower_authy::method::passkey::{Passkeys, UserVerification};
use tower_authy::store::{Factor, FactorKind, UserId};

use crate::app::TestApp;
use crate::common::SECRET_KEY;

mod authenticator;

use authenticator::SoftKey;

const RP_ID: &str = "app.example.com";
const ORIGIN: &str = "https://app.example.com";

async fn app_with(policy: UserVerification) -> TestApp {
    TestApp::start_with(Policy::default(), move |builder| {
        builder
            .with_secret_key(SECRET_KEY)
            .with_backup_codes()
            .with_method(
                Passkeys::builder(ORIGIN)
                    .with_user_verification(policy)
                    .build()
                    .unwrap(),
            )
    })
    .await
}

async fn app() -> TestApp {
    app_with(UserVerification::Preferred).await
}

async fn post(app: &TestApp, http: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    let answer = app.post_json(http, path, body).await;
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn passkeys(app: &TestApp, user: &str) -> Vec<Factor> {
    app.store
        .factors(&UserId::new(user))
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.kind == FactorKind::Webauthn)
        .collect()
}

async fn me(app: &TestApp, http: &reqwest::Client) -> u16 {
    app.status(http, "/api/me").await.as_u16()
}

/// `user`, signed in on a new session, adds `key`; returns the session.
async fn register(app: &TestApp, user: &str, key: &SoftKey) -> reqwest::Client {
    let api = app.api();
    app.sign_in(&api, user).await;
    let (status, options) = post(
        app,
        &api,
        "/2fa/webauthn/register/start",
        json!({"label": "My key"}),
    )
    .await;
    assert_eq!(status, 200, "{options}");
    let (status, body) = post(
        app,
        &api,
        "/2fa/webauthn/register/finish",
        json!({"credential": key.register(&options)}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    api
}

/// A new session of `user`, waiting on its challenge.
async fn challenged(app: &TestApp, user: &str) -> reqwest::Client {
    let api = app.api();
    app.sign_in(&api, user).await;
    assert_eq!(me(app, &api).await, 401, "two-factor sign-in is on");
    api
}

async fn auth_options(app: &TestApp, api: &reqwest::Client) -> Value {
    let (status, options) = post(app, api, "/2fa/webauthn/authenticate/start", json!({})).await;
    assert_eq!(status, 200, "{options}");
    options
}

async fn auth_finish(app: &TestApp, api: &reqwest::Client, answer: Value) -> (u16, Value) {
    post(
        app,
        api,
        "/2fa/webauthn/authenticate/finish",
        json!({"credential": answer}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_is_added_and_passes_the_challenge() {
    let app = app().await;
    let mut key = SoftKey::new(RP_ID, ORIGIN);
    let api = app.api();
    app.sign_in(&api, "ada").await;
    let (_, options) = post(
        &app,
        &api,
        "/2fa/webauthn/register/start",
        json!({"label": "YubiKey"}),
    )
    .await;
    let public_key = &options["publicKey"];
    assert_eq!(public_key["rp"]["id"], RP_ID, "{options}");
    assert!(public_key.get("hints").is_none(), "passkeys and keys alike");
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "preferred"
    );
    let (status, body) = post(
        &app,
        &api,
        "/2fa/webauthn/register/finish",
        json!({"credential": key.register(&options)}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["method"], "passkey", "{body}");
    assert_eq!(
        body["backup_codes"].as_array().map(Vec::len),
        Some(10),
        "a first factor comes with backup codes: {body}"
    );
    let stored = passkeys(&app, "ada").await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].is_active(), "the ceremony proved it");
    assert_eq!(stored[0].label, "YubiKey");
    assert!(
        stored[0]
            .identity
            .as_deref()
            .unwrap()
            .starts_with("webauthn:")
    );

    let next = challenged(&app, "ada").await;
    let challenge = app.get_json(&next, "/2fa").await;
    assert_eq!(
        challenge["ways"][0], "passkey",
        "strongest first: {challenge}"
    );
    let options = auth_options(&app, &next).await;
    let allowed = &options["publicKey"]["allowCredentials"];
    assert_eq!(allowed.as_array().map(Vec::len), Some(1), "{options}");
    let (status, body) = auth_finish(&app, &next, key.sign(&options)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["method"], "passkey");
    assert_eq!(me(&app, &next).await, 200);
    let stored = passkeys(&app, "ada").await;
    assert_eq!(stored[0].last_step, Some(1), "the counter is kept");
    assert!(stored[0].last_used_at.is_some());

    // Listed like every factor; with passkeys alone there is no code to
    // ask for, so the fresh passkey pass stands in for one.
    let listed = app.get_json(&next, "/2fa/factors").await;
    assert_eq!(listed["factors"][0]["kind"], "webauthn", "{listed}");
    let settings = app.get_json(&next, "/2fa/enroll").await;
    assert_eq!(settings["code_for_changes"], false, "{settings}");
    let id = stored[0].id.as_str().to_owned();
    let (status, body) = post(
        &app,
        &next,
        &format!("/2fa/factors/{id}/remove"),
        json!({"confirm": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(passkeys(&app, "ada").await.is_empty(), "removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_authentications_are_refused_and_change_nothing() {
    let app = app().await;
    let mut key = SoftKey::new(RP_ID, ORIGIN);
    register(&app, "bea", &key).await;
    let api = challenged(&app, "bea").await;

    // No ceremony begun.
    let (status, body) = auth_finish(&app, &api, json!({"id": "x"})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("no_ceremony")),
        "{body}"
    );

    // Another request's challenge: the first options, answered after a
    // second start replaced them.
    let stale = auth_options(&app, &api).await;
    let _fresh = auth_options(&app, &api).await;
    let (status, body) = auth_finish(&app, &api, key.sign(&stale)).await;
    assert_eq!(body["error"], "ceremony_refused", "{status} {body}");
    // That ceremony is spent: even the right answer is too late now.
    let (status, body) = auth_finish(&app, &api, key.sign(&_fresh)).await;
    assert_eq!(body["error"], "no_ceremony", "{status} {body}");

    // Another site's origin, and another RP id.
    for (origin, rp_id) in [("https://evil.example", RP_ID), (ORIGIN, "evil.example")] {
        let options = auth_options(&app, &api).await;
        let mut liar = SoftKey::new(rp_id, origin);
        liar.cred_id = key.cred_id.clone();
        let mut signed = key.sign(&options);
        let lied = liar.sign(&options);
        signed["response"]["clientDataJSON"] = lied["response"]["clientDataJSON"].clone();
        if rp_id != RP_ID {
            signed["response"]["authenticatorData"] = lied["response"]["authenticatorData"].clone();
        }
        let (status, body) = auth_finish(&app, &api, signed).await;
        assert_eq!(
            body["error"], "ceremony_refused",
            "{origin} {rp_id}: {status} {body}"
        );
    }
    assert_eq!(me(&app, &api).await, 401, "nothing passed");

    // The right answer passes; replayed to a new ceremony, it does not.
    let options = auth_options(&app, &api).await;
    let answer = key.sign(&options);
    let (status, body) = auth_finish(&app, &api, answer.clone()).await;
    assert_eq!(status, 200, "{body}");
    let counter = passkeys(&app, "bea").await[0].last_step;
    let again = challenged(&app, "bea").await;
    auth_options(&app, &again).await;
    let (status, body) = auth_finish(&app, &again, answer).await;
    assert_eq!(
        body["error"], "ceremony_refused",
        "a replay: {status} {body}"
    );
    assert_eq!(me(&app, &again).await, 401);

    // A counter gone back: a copied key.
    let options = auth_options(&app, &again).await;
    key.counter = 1;
    let (status, body) = auth_finish(&app, &again, key.sign(&options)).await;
    assert_eq!(body["error"], "ceremony_refused", "{status} {body}");
    assert_eq!(
        passkeys(&app, "bea").await[0].last_step,
        counter,
        "unchanged"
    );
    assert_eq!(me(&app, &again).await, 401);
    assert_eq!(
        me(&app, &api).await,
        401,
        "the copy may have answered first: the passes made before are void"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_key_or_session_cannot_answer() {
    let app = app().await;
    let mut mine = SoftKey::new(RP_ID, ORIGIN);
    let mut theirs = SoftKey::new(RP_ID, ORIGIN);
    register(&app, "cy", &mine).await;
    register(&app, "dee", &theirs).await;

    let api = challenged(&app, "cy").await;
    let options = auth_options(&app, &api).await;
    let (status, body) = auth_finish(&app, &api, theirs.sign(&options)).await;
    assert_eq!(
        body["error"], "ceremony_refused",
        "dee's key for cy: {status} {body}"
    );
    assert_eq!(me(&app, &api).await, 401);

    // A ceremony begun by one session is not answered from another.
    let options = auth_options(&app, &api).await;
    let other = challenged(&app, "cy").await;
    let (status, body) = auth_finish(&app, &other, mine.sign(&options)).await;
    assert_eq!(body["error"], "no_ceremony", "{status} {body}");
    assert_eq!(me(&app, &other).await, 401);

    // Registering dee's key on cy's account is refused: a credential
    // belongs to one user.
    let (_, body) = auth_finish(&app, &api, mine.sign(&auth_options(&app, &api).await)).await;
    assert_eq!(body["status"], "complete", "{body}");
    let (status, options) = post(&app, &api, "/2fa/webauthn/register/start", json!({})).await;
    assert_eq!(status, 200, "{options}");
    let (status, body) = post(
        &app,
        &api,
        "/2fa/webauthn/register/finish",
        json!({"credential": theirs.register(&options)}),
    )
    .await;
    assert_eq!(body["error"], "identity_in_use", "{status} {body}");
    assert_eq!(passkeys(&app, "cy").await.len(), 1, "nothing added");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_registrations_are_refused_and_change_nothing() {
    let app = app().await;
    let api = app.api();
    app.sign_in(&api, "eve").await;
    let (status, body) = post(
        &app,
        &api,
        "/2fa/webauthn/register/finish",
        json!({"credential": SoftKey::new(RP_ID, ORIGIN).register(&json!({"publicKey": {"challenge": "AAAA"}}))}),
    )
    .await;
    assert_eq!(body["error"], "no_ceremony", "{status} {body}");
    for (rp_id, origin) in [(RP_ID, "https://evil.example"), ("evil.example", ORIGIN)] {
        let (_, options) = post(&app, &api, "/2fa/webauthn/register/start", json!({})).await;
        let (status, body) = post(
            &app,
            &api,
            "/2fa/webauthn/register/finish",
            json!({"credential": SoftKey::new(rp_id, origin).register(&options)}),
        )
        .await;
        assert_eq!(
            body["error"], "ceremony_refused",
            "{rp_id} {origin}: {status} {body}"
        );
    }
    let (_, options) = post(&app, &api, "/2fa/webauthn/register/start", json!({})).await;
    for bad in [json!("not json"), json!({"id": "x"}), Value::Null] {
        let (status, body) = post(
            &app,
            &api,
            "/2fa/webauthn/register/finish",
            json!({"credential": bad}),
        )
        .await;
        assert!((400..500).contains(&status), "{body}");
    }
    let _ = options;
    let (status, body) = post(
        &app,
        &api,
        "/2fa/webauthn/register/start",
        json!({"label": "a\nb"}),
    )
    .await;
    assert_eq!(body["error"], "invalid_input", "{status} {body}");
    assert!(passkeys(&app, "eve").await.is_empty(), "nothing stored");

    // With two-factor sign-in on, a password alone adds no passkey.
    let key = SoftKey::new(RP_ID, ORIGIN);
    register(&app, "fay", &key).await;
    let password_only = challenged(&app, "fay").await;
    let (status, body) = post(
        &app,
        &password_only,
        "/2fa/webauthn/register/start",
        json!({}),
    )
    .await;
    assert_eq!(body["error"], "second_factor_required", "{status} {body}");
}

/// With user verification required, a key that only sees its user present
/// is refused, at registration and at sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_user_verification_refuses_presence_alone() {
    let app = app_with(UserVerification::Required).await;
    let api = app.api();
    app.sign_in(&api, "gus").await;
    let (_, options) = post(&app, &api, "/2fa/webauthn/register/start", json!({})).await;
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    let mut key = SoftKey::new(RP_ID, ORIGIN);
    key.verifies = false;
    let (status, body) = post(
        &app,
        &api,
        "/2fa/webauthn/register/finish",
        json!({"credential": key.register(&options)}),
    )
    .await;
    assert_eq!(body["error"], "ceremony_refused", "{status} {body}");
    assert!(passkeys(&app, "gus").await.is_empty());

    key.verifies = true;
    register(&app, "gus", &key).await;
    let next = challenged(&app, "gus").await;
    let options = auth_options(&app, &next).await;
    assert_eq!(options["publicKey"]["userVerification"], "required");
    key.verifies = false;
    let (status, body) = auth_finish(&app, &next, key.sign(&options)).await;
    assert_eq!(body["error"], "ceremony_refused", "{status} {body}");
    assert_eq!(me(&app, &next).await, 401);
}

/// The challenge page as a browser without script gets it: the passkey
/// first, saying it needs JavaScript, and the other ways right there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_script_the_page_says_so_and_offers_the_other_ways() {
    let app = app().await;
    register(&app, "hal", &SoftKey::new(RP_ID, ORIGIN)).await;
    let browser = app.browser();
    app.sign_in(&browser, "hal").await;
    let page = app.text(&browser, "/2fa").await;
    let passkey = page.find("id=\"passkey\"").expect("the passkey section");
    let backup = page.find("id=\"backup\"").expect("the backup codes");
    assert!(passkey < backup, "the passkey comes first");
    assert!(page.contains("Passkeys need JavaScript"), "{page}");
    assert!(
        page.contains("id=\"passkey-button\" hidden"),
        "no dead button without script"
    );
    assert!(
        page.contains("passkey_script") || page.contains("navigator.credentials"),
        "{page}"
    );
}
