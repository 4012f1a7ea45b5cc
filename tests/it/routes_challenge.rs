//! The challenge and its code channels, through a whole application.

use serde_json::Value;
use tower_authy::config::{ChannelMode, Policy};
use tower_authy::store::EnrollmentState;

use crate::app::{TestApp, location};

fn policy() -> Policy {
    Policy::builder().build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soft_token_passes_and_returns_to_the_page_first_asked_for() {
    let app = TestApp::start(policy()).await;
    let authy_id = app.enroll("alice", EnrollmentState::Enabled).await;
    let browser = app.browser();
    app.sign_in(&browser, "alice").await;

    let first = browser
        .get(app.url("/protected?tab=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 303);
    assert_eq!(location(&first), "/2fa?next=%2Fprotected%3Ftab%3D2");
    let page = browser
        .get(app.url(&location(&first)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("autocomplete=\"one-time-code\""), "{html}");

    let token = app.soft_token(authy_id).await;
    let passed = browser
        .post(app.url("/2fa/token"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(passed.status(), 303);
    assert_eq!(location(&passed), "/protected?tab=2");
    let protected = browser
        .get(app.url("/protected?tab=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(protected.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_code_passes_for_api_clients() {
    let policy = Policy::builder()
        .with_sms(ChannelMode::Forced)
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    let authy_id = app.enroll("bob", EnrollmentState::Enabled).await;
    let api = app.api();
    app.sign_in(&api, "bob").await;
    let blocked = api.get(app.url("/api/me")).send().await.unwrap();
    assert_eq!(blocked.status(), 401);
    assert_eq!(
        blocked.json::<Value>().await.unwrap()["error"],
        "second_factor_required"
    );

    let challenge: Value = api
        .get(app.url("/2fa"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(challenge["status"], "challenge");
    let sent = api
        .post(app.url("/2fa/sms"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert_eq!(sent.json::<Value>().await.unwrap()["status"], "sms_sent");
    let code = app.last_code(authy_id).await;
    let passed = api
        .post(app.url("/2fa/token"))
        .json(&serde_json::json!({"token": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(passed.status(), 200);
    assert_eq!(passed.json::<Value>().await.unwrap()["status"], "complete");
    let me: Value = api
        .get(app.url("/api/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"], "bob");
}
