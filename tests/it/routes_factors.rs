//! `GET /2fa/factors` and `POST /2fa/factors/{id}/remove` (design.md,
//! "More routes"), in JSON and HTML, with their bad inputs.

use serde_json::{Value, json};
use tower_authy::config::{EnrollmentPolicy, Policy};
use tower_authy::store::{FactorState, UserId};

use crate::app::{FirstFactor, TestApp, location};

/// Signs `user` in on an API client and passes a soft token.
async fn passed(app: &TestApp, user: &str, authy_id: u64) -> reqwest::Client {
    let api = app.api();
    app.sign_in(&api, user).await;
    let token = app.fresh_soft_token(authy_id).await;
    let answer = app
        .post_json(&api, "/2fa/token", json!({"token": token}))
        .await;
    assert_eq!(answer.status(), 200);
    api
}

async fn factor_id(app: &TestApp, user: &str) -> String {
    let factor = app.store.first_factor(&UserId::new(user)).await.unwrap();
    factor.expect("a factor").id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_factors_list_shows_what_the_user_may_see_once_passed() {
    let app = TestApp::start(Policy::default()).await;
    let authy_id = app.enroll("alice", FactorState::Active).await;
    let pending = app.api();
    app.sign_in(&pending, "alice").await;
    let refused = app.get(&pending, "/2fa/factors").await;
    assert_eq!(refused.status(), 401, "not before the second factor");
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "second_factor_required"
    );
    let anonymous = app.get(&app.api(), "/2fa/factors").await;
    assert_eq!(anonymous.status(), 401);

    let api = passed(&app, "alice", authy_id).await;
    let listed = app.get_json(&api, "/2fa/factors").await;
    let factors = listed["factors"].as_array().expect("a list");
    assert_eq!(factors.len(), 1, "{listed}");
    let factor = &factors[0];
    assert_eq!(factor["id"], factor_id(&app, "alice").await);
    assert_eq!(factor["kind"], "authy");
    assert_eq!(factor["label"], "Phone ending in 67");
    assert_eq!(factor["ending"], "67");
    assert_eq!(factor["state"], "active");
    for at in ["created_at", "last_used_at"] {
        let text = factor[at].as_str().unwrap_or_default();
        assert!(
            text.len() == 20 && text.ends_with('Z') && text.as_bytes()[10] == b'T',
            "{at} is an RFC 3339 UTC time: {factor}"
        );
    }
    assert_eq!(listed["backup_codes_left"], 0);
    let text = listed.to_string();
    assert!(
        !text.contains(&authy_id.to_string()),
        "the provider reference is not shown: {text}"
    );

    let browser = app.browser();
    app.sign_in(&browser, "alice").await;
    let redirected = app.get(&browser, "/2fa/factors").await;
    assert_eq!(redirected.status(), 303);
    assert_eq!(
        location(&redirected),
        "/2fa/enroll",
        "browsers see the settings page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_factor_needs_confirmation_and_a_current_code() {
    let app = TestApp::start(Policy::default()).await;
    let authy_id = app.enroll("bob", FactorState::Active).await;
    let other = app.enroll("eve", FactorState::Active).await;
    let id = factor_id(&app, "bob").await;
    let eves = factor_id(&app, "eve").await;
    let api = passed(&app, "bob", authy_id).await;
    let remove = |id: &str| format!("/2fa/factors/{id}/remove");
    let token = app.fresh_soft_token(authy_id).await;
    for (path, body, status, error) in [
        (
            remove("not.an.id"),
            json!({"confirm": true, "token": token}),
            404,
            "unknown_factor",
        ),
        (
            remove("AAAAAAAAAAAAAAAAAAAAAA"),
            json!({"confirm": true, "token": token}),
            404,
            "unknown_factor",
        ),
        (
            remove(&eves),
            json!({"confirm": true, "token": token}),
            404,
            "unknown_factor",
        ),
        (
            remove(&id),
            json!({"token": token}),
            400,
            "confirmation_required",
        ),
        (
            remove(&id),
            json!({"confirm": true}),
            403,
            "fresh_factor_required",
        ),
        (
            remove(&id),
            json!({"confirm": true, "token": "0000000"}),
            401,
            "code_rejected",
        ),
    ] {
        let answer = app.post_json(&api, &path, body.clone()).await;
        assert_eq!(answer.status(), status, "{path} {body}");
        assert_eq!(
            answer.json::<Value>().await.unwrap()["error"],
            error,
            "{path} {body}"
        );
        assert_eq!(
            app.get_json(&api, "/2fa/factors").await["factors"][0]["id"],
            id,
            "{path} {body}: nothing changed"
        );
    }
    assert!(
        app.store
            .first_factor(&UserId::new("eve"))
            .await
            .unwrap()
            .is_some(),
        "eve's factor is untouched"
    );
    let token = app.fresh_soft_token(authy_id).await;
    let done = app
        .post_json(&api, &remove(&id), json!({"confirm": true, "token": token}))
        .await;
    assert_eq!(done.status(), 200);
    assert_eq!(
        done.json::<Value>().await.unwrap()["status"],
        "factor_removed"
    );
    assert_eq!(
        app.get_json(&api, "/2fa/factors").await["factors"],
        json!([]),
        "the factor is gone"
    );
    let users = app.phone("users").await;
    let known = |id: u64| {
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["authy_id"].as_u64() == Some(id))
    };
    assert!(!known(authy_id), "its Authy user is deleted");
    assert!(known(other), "eve's stays");
    let again = app
        .post_json(&api, &remove(&id), json!({"confirm": true, "token": "1"}))
        .await;
    assert_eq!(again.status(), 404, "a removed factor is unknown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_removes_a_factor_by_form_and_is_told_on_the_settings_page() {
    let app = TestApp::start(Policy::default()).await;
    let authy_id = app.enroll("carl", FactorState::Active).await;
    let id = factor_id(&app, "carl").await;
    let browser = app.browser();
    app.sign_in(&browser, "carl").await;
    let token = app.fresh_soft_token(authy_id).await;
    let passed = app
        .post_form(&browser, "/2fa/token", &[("token", &token)])
        .await;
    assert_eq!(passed.status(), 303);
    let path = format!("/2fa/factors/{id}/remove");
    let refused = app.post_form(&browser, &path, &[("token", "")]).await;
    assert_eq!(
        location(&refused),
        "/2fa/enroll?error=confirmation_required"
    );
    let token = app.fresh_soft_token(authy_id).await;
    let done = app
        .post_form(&browser, &path, &[("token", &token), ("confirm", "true")])
        .await;
    assert_eq!(location(&done), "/2fa/enroll?notice=factor_removed");
    let page = app
        .text(&browser, "/2fa/enroll?notice=factor_removed")
        .await;
    assert!(page.contains("The factor was removed."), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_factor_stays_where_the_policy_forbids_opting_out() {
    let policy = Policy::builder()
        .with_enrollment(EnrollmentPolicy::Mandatory {
            grace_logins: 0,
            allow_opt_out: false,
        })
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    let authy_id = app.enroll("dora", FactorState::Active).await;
    let id = factor_id(&app, "dora").await;
    let api = passed(&app, "dora", authy_id).await;
    let token = app.fresh_soft_token(authy_id).await;
    let refused = app
        .post_json(
            &api,
            &format!("/2fa/factors/{id}/remove"),
            json!({"confirm": true, "token": token}),
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "opt_out_not_allowed"
    );
    assert!(
        app.store
            .first_factor(&UserId::new("dora"))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_needs_a_same_origin_post() {
    let app = TestApp::start(Policy::default()).await;
    let authy_id = app.enroll("finn", FactorState::Active).await;
    let id = factor_id(&app, "finn").await;
    let api = passed(&app, "finn", authy_id).await;
    let token = app.fresh_soft_token(authy_id).await;
    let cross = api
        .post(app.url(&format!("/2fa/factors/{id}/remove")))
        .header(reqwest::header::ORIGIN, "https://evil.example")
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&json!({"confirm": true, "token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert!(
        app.store
            .first_factor(&UserId::new("finn"))
            .await
            .unwrap()
            .is_some()
    );
}

/// Issue 9, item 7: a session that passed before a security change made in
/// another session (a factor removed, 2FA turned off, devices forgotten)
/// must pass again; the session that made the change keeps its pass.
/// Before, every other session went on as if nothing happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_sessions_must_pass_again_after_a_security_change() {
    let app = TestApp::start(Policy::default()).await;
    let authy_id = app.enroll("gail", FactorState::Active).await;
    let changer = passed(&app, "gail", authy_id).await;
    let other = passed(&app, "gail", authy_id).await;
    assert_eq!(app.status(&other, "/api/me").await, 200);

    let forgot = app
        .post_json(&changer, "/2fa/devices/forget", json!({}))
        .await;
    assert_eq!(forgot.status(), 200);
    assert_eq!(
        app.status(&changer, "/api/me").await,
        200,
        "the changer stays"
    );
    let voided = app.get(&other, "/api/me").await;
    assert_eq!(voided.status(), 401, "the other session must pass again");
    assert_eq!(
        voided.json::<Value>().await.unwrap()["error"],
        "second_factor_required"
    );
    assert_eq!(
        app.get(&other, "/2fa/factors").await.status(),
        401,
        "the crate's routes see the voided pass too"
    );
    let token = app.fresh_soft_token(authy_id).await;
    let again = app
        .post_json(&other, "/2fa/token", json!({"token": token}))
        .await;
    assert_eq!(again.status(), 200, "it passes again with a code");
    assert_eq!(app.status(&other, "/api/me").await, 200);

    let id = factor_id(&app, "gail").await;
    let token = app.fresh_soft_token(authy_id).await;
    let removed = app
        .post_json(
            &changer,
            &format!("/2fa/factors/{id}/remove"),
            json!({"confirm": true, "token": token}),
        )
        .await;
    assert_eq!(removed.status(), 200);
    assert_eq!(app.status(&changer, "/api/me").await, 200);
    assert_eq!(
        app.status(&other, "/api/me").await,
        401,
        "removing a factor voids the other pass"
    );
}

/// Issue 9, item 8: the settings page lists the factors ("Phone ending in
/// 67", when added and last used), removes each with a code, and links back
/// to the application's configured page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_page_lists_factors_and_links_back() {
    let app = TestApp::start_with(Policy::default(), |builder| {
        builder.with_return_path("/account")
    })
    .await;
    let authy_id = app.enroll("hana", FactorState::Active).await;
    let id = factor_id(&app, "hana").await;
    let browser = app.browser();
    app.sign_in(&browser, "hana").await;
    let before = app.text(&browser, "/2fa/enroll").await;
    assert!(
        !before.contains("Phone ending in 67"),
        "no list before the second factor: {before}"
    );
    let token = app.fresh_soft_token(authy_id).await;
    app.post_form(&browser, "/2fa/token", &[("token", &token)])
        .await;
    // minijinja escapes `/` in attributes.
    let page = app
        .text(&browser, "/2fa/enroll")
        .await
        .replace("&#x2f;", "/");
    assert!(page.contains("Your ways to sign in"), "{page}");
    assert!(
        page.contains("<strong>Phone ending in 67</strong>"),
        "{page}"
    );
    assert!(page.contains("last used "), "{page}");
    assert!(
        page.contains(&format!("action=\"/2fa/factors/{id}/remove\"")),
        "{page}"
    );
    assert!(
        page.contains("href=\"/account\">Back to the application"),
        "{page}"
    );
    let api = passed(&app, "hana", authy_id).await;
    let json = app.get_json(&api, "/2fa/enroll").await;
    assert_eq!(json["return"], "/account", "{json}");
    assert_eq!(json["factors"][0]["id"], id, "{json}");
    assert_eq!(json["factors"][0]["label"], "Phone ending in 67", "{json}");
}

#[test]
fn the_return_path_is_a_path_of_this_site() {
    use tower_authy::{TwoFactor, authy::Client, store::MemoryStore};
    let build = |path: &str| {
        let client = Client::builder("key").build().unwrap();
        TwoFactor::builder(client, std::sync::Arc::new(MemoryStore::new()))
            .with_policy(Policy::builder().with_onetouch(false).build().unwrap())
            .with_return_path(path)
            .build()
    };
    for good in ["/", "/account", "/settings?tab=security"] {
        assert!(build(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "account",
        "//evil.example",
        "https://evil.example/",
        "/\\evil",
        "/a#b",
    ] {
        assert!(build(bad).is_err(), "{bad:?}");
    }
}
