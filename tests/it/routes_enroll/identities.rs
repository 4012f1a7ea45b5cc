//! Issue 9, item 4: a phone (its Authy ID) belongs to one account. Before,
//! two accounts registering one phone shared one Authy ID, and turning 2FA
//! off in one deleted the other's Authy user, locking that person out.

use serde_json::{Value, json};
use tower_authy::config::Policy;
use tower_authy::store::FactorState;

use super::{enrollment_state, fresh_token, simulator_users};
use crate::app::TestApp;

const PHONE: &str = "5550166001";

/// Signs `user` in on a new API client and registers the shared phone.
async fn register(app: &TestApp, user: &str) -> (reqwest::Client, reqwest::Response) {
    let api = app.api();
    app.sign_in(&api, user).await;
    let answer = app
        .post_json(
            &api,
            "/2fa/enroll",
            json!({"email": format!("{user}@example.com"), "country_code": "1", "phone_number": PHONE}),
        )
        .await;
    (api, answer)
}

async fn authy_id(app: &TestApp) -> u64 {
    let users = app
        .phone(&format!("users?country_code=1&phone_number={PHONE}"))
        .await;
    users[0]["authy_id"].as_u64().expect("registered")
}

/// Confirms the pending phone with a current code.
async fn confirm(app: &TestApp, api: &reqwest::Client, authy_id: u64) {
    let token = fresh_token(app, authy_id).await;
    let confirmed = app
        .post_json(api, "/2fa/enroll/verify", json!({"token": token}))
        .await;
    assert_eq!(confirmed.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_of_another_account_is_refused_and_nothing_is_stored() {
    let app = TestApp::start(Policy::default()).await;
    let (_alice, first) = register(&app, "alice").await;
    assert_eq!(first.status(), 200);
    let (_bob, second) = register(&app, "bob").await;
    assert_eq!(second.status(), 409);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"], "identity_in_use", "{body}");
    assert_eq!(
        enrollment_state(&app, "bob").await,
        None,
        "bob has no factor"
    );
    assert_eq!(
        enrollment_state(&app, "alice").await,
        Some(FactorState::Pending),
        "alice's phone is untouched"
    );
    assert!(
        simulator_users(&app).await.contains(&authy_id(&app).await),
        "alice's Authy user stays"
    );
}

/// Where the application lets accounts share a phone, turning 2FA off in
/// one keeps the Authy user the other still uses; the last one out
/// deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_phone_outlives_one_account_turning_off() {
    let policy = Policy::builder()
        .with_shared_identities(true)
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    let (alice, first) = register(&app, "alice").await;
    assert_eq!(first.status(), 200);
    let (bob, second) = register(&app, "bob").await;
    assert_eq!(second.status(), 200, "sharing is allowed");
    let authy_id = authy_id(&app).await;
    confirm(&app, &alice, authy_id).await;
    confirm(&app, &bob, authy_id).await;

    let off = |api: reqwest::Client| {
        let app = &app;
        async move {
            let token = fresh_token(app, authy_id).await;
            let done = app
                .post_json(
                    &api,
                    "/2fa/disable",
                    json!({"confirm": true, "token": token}),
                )
                .await;
            assert_eq!(done.status(), 200);
        }
    };
    off(alice).await;
    assert_eq!(enrollment_state(&app, "alice").await, None);
    assert!(
        simulator_users(&app).await.contains(&authy_id),
        "bob still uses the Authy user"
    );
    let again = app.api();
    app.sign_in(&again, "bob").await;
    let token = fresh_token(&app, authy_id).await;
    let passed = app
        .post_json(&again, "/2fa/token", json!({"token": token}))
        .await;
    assert_eq!(passed.status(), 200, "bob still signs in with his phone");
    off(bob).await;
    assert!(
        !simulator_users(&app).await.contains(&authy_id),
        "the last account out deletes it"
    );
}
