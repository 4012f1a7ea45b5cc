//! Who may add a factor, and what turning two-factor sign-in on or off
//! does to what came before: found by a review of issue 10; each test
//! failed before its fix.

use std::time::SystemTime;

use serde_json::{Value, json};
use tower_authy::config::Policy;
use tower_authy::store::{FactorKind, FactorState, UserId};

use crate::app::TestApp;
use crate::common::{SECRET_KEY as KEY, app_code, now};

/// Authy (simulator) plus authenticator apps plus backup codes: the
/// quickstart's default set-up.
async fn app_with(policy: Policy) -> TestApp {
    TestApp::start_with(policy, |builder| {
        builder
            .with_secret_key(KEY)
            .with_authenticator_apps()
            .with_backup_codes()
    })
    .await
}

/// Starts an authenticator app on `api`: (secret, factor id).
async fn start_totp(app: &TestApp, api: &reqwest::Client) -> (u16, String, String) {
    let started = app.post_json(api, "/2fa/totp", json!({})).await;
    let status = started.status().as_u16();
    let body: Value = started.json().await.unwrap();
    (
        status,
        body["secret"].as_str().unwrap_or_default().to_owned(),
        body["factor_id"].as_str().unwrap_or_default().to_owned(),
    )
}

/// `user` turns two-factor sign-in on with an authenticator app.
async fn owner_adds_app(app: &TestApp, user: &str) -> (reqwest::Client, String, Value) {
    let (api, secret, _, answer) = app.add_authenticator_app(user).await;
    (api, secret, answer)
}

/// A user protected by an authenticator app only. An attacker with
/// the password alone registers *their own* phone at POST /2fa/enroll (the
/// phone enrollment only asks whether the user has an active *phone*) and
/// confirms it at POST /2fa/enroll/verify with a code from their own Authy
/// app: the confirmation completes the session's second factor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_alone_enrolls_a_phone_on_an_app_protected_account() {
    let app = app_with(Policy::default()).await;
    owner_adds_app(&app, "pat").await;

    let attacker = app.api();
    app.sign_in(&attacker, "pat").await;
    assert_eq!(app.status(&attacker, "/api/me").await, 401, "2FA is on");
    let enrolled = app
        .post_json(
            &attacker,
            "/2fa/enroll",
            json!({"email": "mallory@example.com", "country_code": "1", "phone_number": "5550001234"}),
        )
        .await;
    let enrolled_status = enrolled.status().as_u16();
    let enrolled_body = enrolled.text().await.unwrap();
    let phone = app
        .store
        .factors(&UserId::new("pat"))
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.kind == FactorKind::Authy);
    if let Some(phone) = phone {
        let token = app
            .fresh_soft_token(phone.provider_ref.parse().unwrap())
            .await;
        let verified = app
            .post_json(&attacker, "/2fa/enroll/verify", json!({"token": token}))
            .await;
        assert_ne!(verified.status(), 200, "{enrolled_body}");
    }
    assert_eq!(
        app.status(&attacker, "/api/me").await,
        401,
        "a password alone passed two-factor sign-in (enroll answered {enrolled_status})"
    );
    let phones: Vec<_> = app
        .store
        .factors(&UserId::new("pat"))
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.kind == FactorKind::Authy && f.state == FactorState::Active)
        .collect();
    assert!(
        phones.is_empty(),
        "the attacker's phone is now a factor: {phones:?}"
    );
}

/// An authenticator app started with the password alone while
/// two-factor sign-in was off stays pending. After the owner turns 2FA on
/// (here with a phone), the attacker signs in with the password again and
/// confirms the pending app: confirm_totp does not ask again whether 2FA is
/// on, so the session passes and the attacker's app becomes a factor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_planted_before_2fa_was_on_confirms_after() {
    let app = app_with(Policy::default()).await;
    let planting = app.api();
    app.sign_in(&planting, "quin").await;
    let (status, secret, id) = start_totp(&app, &planting).await;
    assert_eq!(status, 201, "2FA off: a first app may be started");

    // The owner turns two-factor sign-in on with a phone.
    app.enroll("quin", FactorState::Active).await;

    let attacker = app.api();
    app.sign_in(&attacker, "quin").await;
    assert_eq!(app.status(&attacker, "/api/me").await, 401, "2FA is on");
    let confirmed = app
        .post_json(
            &attacker,
            "/2fa/totp/confirm",
            json!({"factor_id": id, "code": app_code(&secret, now())}),
        )
        .await;
    let status = confirmed.status();
    let body = confirmed.text().await.unwrap();
    assert_eq!(
        app.status(&attacker, "/api/me").await,
        401,
        "the planted app passed a password-only session: {status} {body}"
    );
}

/// Removing the last real factor leaves the backup codes stored; when
/// the user turns 2FA on again they get no new set (they "have" codes) and
/// the old set, which the user may have thrown away, passes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_backup_codes_come_back_with_a_new_factor() {
    let app = app_with(Policy::default()).await;
    let (owner, secret, body) = owner_adds_app(&app, "sol").await;
    let old: Vec<String> = body["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let listed = app.get_json(&owner, "/2fa/factors").await;
    let id = listed["factors"][0]["id"].as_str().unwrap().to_owned();
    let removed = app
        .post_json(
            &owner,
            &format!("/2fa/factors/{id}/remove"),
            json!({"confirm": true, "token": app_code(&secret, now() + 30)}),
        )
        .await;
    assert_eq!(removed.status(), 200);

    // Later: 2FA on again with a new app, and a new set of codes.
    let (_, _, again) = owner_adds_app(&app, "sol").await;
    assert!(
        again["backup_codes"].is_array(),
        "a new set with the new factor: {again}"
    );
    let session = app.api();
    app.sign_in(&session, "sol").await;
    let used = app
        .post_json(&session, "/2fa/backup", json!({"code": old[0]}))
        .await;
    assert_ne!(
        used.status(),
        200,
        "a code from the set issued with the removed factor passed"
    );
}

/// Fail-open beside the fail-closed fix: a user whose active factor
/// no method here serves (an authenticator app, apps turned off) is refused
/// by `need` only while they have nothing else. With a phone registered and
/// never confirmed (which a password alone can register, see above), the
/// challenge becomes "confirm this phone", and POST /2fa/skip lets the
/// session through as if two-factor sign-in were off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unserved_factor_plus_pending_phone_skips_through() {
    use tower_authy::store::Factor;
    let app = TestApp::start(Policy::default()).await;
    let user = UserId::new("una");
    let mut factor = Factor::pending(
        user.clone(),
        FactorKind::Totp,
        "Phone",
        "",
        SystemTime::now(),
    )
    .activated();
    factor.secret = Some("v1.sealed-elsewhere".into());
    app.admin.put_factor(&factor).await.unwrap();
    app.enroll("una", FactorState::Pending).await;
    let api = app.api();
    app.sign_in(&api, "una").await;
    let skipped = app.post_json(&api, "/2fa/skip", json!({})).await;
    let status = skipped.status();
    let body = skipped.text().await.unwrap();
    assert_eq!(
        app.status(&api, "/api/me").await,
        401,
        "an account with an active authenticator app passed by skipping: {status} {body}"
    );
}

/// A session that went through while 2FA was off ("not required")
/// keeps its access after the owner turns 2FA on: enabling a factor does
/// not move the security generation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_required_pass_survives_turning_2fa_on() {
    let app = app_with(Policy::default()).await;
    let early = app.api();
    app.sign_in(&early, "val").await;
    let _ = app.get_json(&early, "/2fa").await;
    assert_eq!(app.status(&early, "/api/me").await, 200, "2FA off");
    owner_adds_app(&app, "val").await;
    assert_eq!(
        app.status(&early, "/api/me").await,
        401,
        "the pre-2FA session still passes"
    );
}
