//! Turning 2FA off: confirmed, with a current code, every time; then the
//! provider's user, the enrollment and every remembered device are gone.

use serde_json::{Value, json};
use tower_authy::config::{EnrollmentPolicy, Policy};
use tower_authy::store::FactorState;

use super::{
    browser_with_device, cookie_value, device_set_cookie, enrollment_state, fresh_token,
    redirected_to, remember, second_factor, simulator_users,
};
use crate::app::{TestApp, location};

/// Signs `user` in on a new API client and passes a soft token.
async fn passed_with_code(app: &TestApp, user: &str, authy_id: u64) -> reqwest::Client {
    let api = app.api();
    app.sign_in(&api, user).await;
    let token = fresh_token(app, authy_id).await;
    let passed = app
        .post_json(&api, "/2fa/token", json!({"token": token}))
        .await;
    assert_eq!(passed.status(), 200);
    api
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_off_needs_a_fresh_second_factor_and_then_removes_everything() {
    let app = TestApp::start(
        Policy::builder()
            .with_remember_device(remember())
            .build()
            .unwrap(),
    )
    .await;
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
    let device = cookie_value(&device_set_cookie(&passed).unwrap());

    // Signed in again by the remembered device: not a fresh factor.
    let api = browser_with_device(&app, &device);
    app.sign_in(&api, "alice").await;
    assert_eq!(second_factor(&app, &api).await, "remembered_device");
    let refused = api
        .post(app.url("/2fa/disable"))
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&json!({"confirm": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "fresh_factor_required"
    );
    let page = app
        .post_form(&api, "/2fa/disable", &[("confirm", "true")])
        .await;
    assert_eq!(
        redirected_to(&page),
        "/2fa/enroll?error=fresh_factor_required"
    );
    let right = fresh_token(&app, authy_id).await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let page = app
        .post_form(
            &api,
            "/2fa/disable",
            &[("token", wrong), ("confirm", "true")],
        )
        .await;
    assert_eq!(redirected_to(&page), "/2fa/enroll?error=code_rejected");
    assert_eq!(
        enrollment_state(&app, "alice").await,
        Some(FactorState::Active)
    );
    assert_eq!(simulator_users(&app).await, [authy_id]);

    // Not confirmed: refused, even with the right code.
    let unconfirmed = app
        .post_form(&api, "/2fa/disable", &[("token", &right)])
        .await;
    assert_eq!(
        redirected_to(&unconfirmed),
        "/2fa/enroll?error=confirmation_required"
    );
    // Confirmed, with a current code, it goes through.
    let done = app
        .post_form(
            &api,
            "/2fa/disable",
            &[("token", &right), ("confirm", "true")],
        )
        .await;
    assert_eq!(redirected_to(&done), "/2fa/enroll?notice=disabled");
    assert!(
        device_set_cookie(&done).is_some_and(|c| c.contains("Max-Age=0")),
        "the cookie is cleared"
    );
    assert_eq!(enrollment_state(&app, "alice").await, None);
    assert!(
        simulator_users(&app).await.is_empty(),
        "the Authy user is deleted"
    );

    // The next sign-in is not challenged (opt-in), and the old device
    // cookie no longer counts.
    assert_eq!(with_device(&app, &device).await, "not_required");
    let again = app.browser();
    app.sign_in(&again, "alice").await;
    let next = again.get(app.url("/2fa")).send().await.unwrap();
    assert_eq!(location(&next), "/");
    assert_eq!(app.status(&again, "/protected").await, 200);

    // Enrolled again (a new Authy user), the old cookie still does not count.
    let new_id = app.enroll("alice", FactorState::Active).await;
    assert_ne!(new_id, authy_id);
    assert_eq!(with_device(&app, &device).await, "challenge");
}

async fn with_device(app: &TestApp, device: &str) -> String {
    let browser = browser_with_device(app, device);
    app.sign_in(&browser, "alice").await;
    second_factor(app, &browser).await
}

/// A code passed a moment ago is not enough: one click in a signed-in
/// browser left alone must not turn 2FA off (before: within five minutes an
/// empty field sufficed). A current code and the confirmation are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_off_always_needs_confirmation_and_a_current_code() {
    let app = TestApp::start(Policy::default()).await;
    let authy_id = app.enroll("bob", FactorState::Active).await;
    let api = passed_with_code(&app, "bob", authy_id).await;
    assert_eq!(app.get_json(&api, "/2fa/enroll").await["can_disable"], true);
    for (body, refused) in [
        (json!({}), "confirmation_required"),
        (json!({"confirm": true}), "fresh_factor_required"),
        (
            json!({"confirm": false, "token": "123456"}),
            "confirmation_required",
        ),
    ] {
        let answer = app.post_json(&api, "/2fa/disable", body.clone()).await;
        assert_eq!(
            answer.json::<Value>().await.unwrap()["error"],
            refused,
            "{body}"
        );
        assert_eq!(
            enrollment_state(&app, "bob").await,
            Some(FactorState::Active),
            "{body}: nothing changed"
        );
    }
    let token = fresh_token(&app, authy_id).await;
    let done = app
        .post_json(
            &api,
            "/2fa/disable",
            json!({"confirm": true, "token": token}),
        )
        .await;
    assert_eq!(done.status(), 200);
    assert_eq!(done.json::<Value>().await.unwrap()["status"], "disabled");
    assert!(!simulator_users(&app).await.contains(&authy_id));
    assert_eq!(enrollment_state(&app, "bob").await, None);
    assert_eq!(app.get_json(&api, "/2fa/enroll").await["status"], "enroll");
    let again = app.api();
    app.sign_in(&again, "bob").await;
    assert_eq!(second_factor(&app, &again).await, "not_required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_skipped_the_second_factor_cannot_turn_it_off() {
    let app = TestApp::start(Policy::default()).await;
    let api = app.api();
    app.sign_in(&api, "carol").await;
    let pending = app.post_json(&api, "/2fa/disable", json!({})).await;
    assert_eq!(pending.status(), 401, "the second factor is still pending");
    // Enrolled after this session passed as "not required".
    assert_eq!(second_factor(&app, &api).await, "not_required");
    let authy_id = app.enroll("carol", FactorState::Active).await;
    let refused = app
        .post_json(&api, "/2fa/disable", json!({"confirm": true}))
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "fresh_factor_required"
    );
    assert_eq!(simulator_users(&app).await, [authy_id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mandatory_enrollment_allows_opting_out_only_as_the_policy_says() {
    let opt_out = |allow_opt_out| {
        Policy::builder()
            .with_enrollment(EnrollmentPolicy::Mandatory {
                grace_logins: 1,
                allow_opt_out,
            })
            .build()
            .unwrap()
    };

    // Opting out not allowed.
    let strict = TestApp::start(opt_out(false)).await;
    let id = strict.enroll("dave", FactorState::Active).await;
    let api = passed_with_code(&strict, "dave", id).await;
    assert_eq!(
        strict.get_json(&api, "/2fa/enroll").await["can_disable"],
        false
    );
    let refused = strict.post_json(&api, "/2fa/disable", json!({})).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "opt_out_not_allowed"
    );
    assert_eq!(simulator_users(&strict).await, [id]);

    // Allowed while a grace login remains; afterwards sign-ins use them up.
    let lenient = TestApp::start(opt_out(true)).await;
    let id = lenient.enroll("erin", FactorState::Active).await;
    let api = passed_with_code(&lenient, "erin", id).await;
    let token = fresh_token(&lenient, id).await;
    let done = lenient
        .post_json(
            &api,
            "/2fa/disable",
            json!({"confirm": true, "token": token}),
        )
        .await;
    assert_eq!(done.status(), 200);
    assert!(simulator_users(&lenient).await.is_empty());
    let next = lenient.api();
    lenient.sign_in(&next, "erin").await;
    assert_eq!(second_factor(&lenient, &next).await, "grace_login");

    // No grace login left: opting out is over.
    let id = lenient.enroll("erin", FactorState::Active).await;
    let api = passed_with_code(&lenient, "erin", id).await;
    let refused = lenient.post_json(&api, "/2fa/disable", json!({})).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "opt_out_not_allowed"
    );
    assert_eq!(
        enrollment_state(&lenient, "erin").await,
        Some(FactorState::Active)
    );
}
