//! What a security change voids, found by a review of issue 9: an
//! approval collected after the phone it came from was removed, and a
//! return path that a browser would read as another site.

use std::time::SystemTime;

use serde_json::{Value, json};
use tower_authy::config::Policy;
use tower_authy::method::{EnrollmentRequest, Method};
use tower_authy::store::{FactorState, UserId};

use crate::app::TestApp;

/// A thief with the password and phone A approves a push and waits; the
/// owner removes phone A from another session; the approval must pass
/// nothing (before: `GET /2fa/status` completed the thief's session).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_approved_on_a_removed_phone_passes_nothing() {
    let app = TestApp::start(Policy::default()).await;
    let stolen = app.enroll("olga", FactorState::Active).await;
    let second = app
        .client
        .enroll_phone(
            &UserId::new("olga"),
            &EnrollmentRequest::new("olga2@example.com", 1, "5550199077"),
            SystemTime::now(),
        )
        .await
        .unwrap()
        .activated();
    app.admin.put_factor(&second).await.unwrap();
    let kept: u64 = second.provider_ref.parse().unwrap();
    let factors = app.store.factors(&UserId::new("olga")).await.unwrap();
    let stolen_factor = factors
        .iter()
        .find(|f| f.provider_ref == stolen.to_string())
        .unwrap()
        .id
        .to_string();

    let thief = app.api();
    app.sign_in(&thief, "olga").await;
    let pushed = app.post_json(&thief, "/2fa/onetouch", json!({})).await;
    assert_eq!(pushed.status(), 200);
    let uuid = pushed.json::<Value>().await.unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let on_a = app
        .phone(&format!("users/{stolen}/approval_requests"))
        .await;
    assert_eq!(on_a[0]["uuid"], uuid.as_str(), "the push went to phone A");
    app.answer(&uuid, "approve").await;

    let owner = app.api();
    app.sign_in(&owner, "olga").await;
    let token = app.fresh_soft_token(kept).await;
    let passed = app
        .post_json(&owner, "/2fa/token", json!({"token": token}))
        .await;
    assert_eq!(passed.status(), 200);
    let token = app.fresh_soft_token(kept).await;
    let removed = app
        .post_json(
            &owner,
            &format!("/2fa/factors/{stolen_factor}/remove"),
            json!({"confirm": true, "token": token}),
        )
        .await;
    assert_eq!(removed.status(), 200, "phone A is removed");

    let collected = app.get(&thief, "/2fa/status").await;
    let status = collected.status();
    let body: Value = collected.json().await.unwrap();
    assert_ne!(body["status"], "complete", "{status} {body}");
    assert_eq!(app.status(&thief, "/api/me").await, 401);
    assert_eq!(
        app.status(&owner, "/api/me").await,
        200,
        "the owner stays in"
    );
}

#[test]
fn the_return_path_refuses_what_a_browser_reads_as_another_site() {
    use tower_authy::{TwoFactor, authy::Client, store::MemoryStore};
    for bad in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r/evil.example",
        "/ /x",
    ] {
        let built = TwoFactor::builder(
            Client::builder("key").build().unwrap(),
            std::sync::Arc::new(MemoryStore::new()),
        )
        .with_policy(Policy::builder().with_onetouch(false).build().unwrap())
        .with_return_path(bad)
        .build();
        assert!(
            built.is_err(),
            "{bad:?} was accepted as a path of this site"
        );
    }
}
