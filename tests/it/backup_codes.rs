//! Backup codes (issue 10): issued with the first factor, shown once,
//! counted, used once each (in parallel too), renewed only with a fresh
//! second factor, and never enough alone to keep two-factor sign-in on.

use serde_json::{Value, json};
use tower_authy::config::Policy;

use crate::app::TestApp;
use crate::common::{SECRET_KEY as KEY, app_code, now};

async fn app() -> TestApp {
    TestApp::start_with(Policy::default(), |builder| {
        builder
            .with_secret_key(KEY)
            .with_authenticator_apps()
            .with_backup_codes()
    })
    .await
}

/// `user` adds an authenticator app; the session that confirmed it, the
/// app's secret, its factor id and the backup codes the answer carried.
async fn with_app(app: &TestApp, user: &str) -> (reqwest::Client, String, String, Vec<String>) {
    let (api, secret, id, body) = app.add_authenticator_app(user).await;
    assert_eq!(body["status"], "complete", "{body}");
    let codes = body["backup_codes"]
        .as_array()
        .expect("the first factor comes with backup codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (api, secret, id, codes)
}

async fn backup(app: &TestApp, user: &str, code: &str) -> (u16, Value) {
    let api = app.api();
    app.sign_in(&api, user).await;
    let answer = app
        .post_json(&api, "/2fa/backup", json!({"code": code}))
        .await;
    (answer.status().as_u16(), answer.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_factor_comes_with_ten_codes_each_good_once() {
    let app = app().await;
    let (api, _, id, codes) = with_app(&app, "ada").await;
    assert_eq!(codes.len(), 10);
    for code in &codes {
        assert_eq!(code.len(), 14, "three groups of four: {code}");
        assert!(!code.contains(['0', 'o', '1', 'l', 'i']), "{code}");
    }
    let listed = app.get_json(&api, "/2fa/factors").await;
    assert_eq!(listed["backup_codes_left"], 10, "{listed}");
    assert_eq!(
        listed["factors"].as_array().unwrap().len(),
        1,
        "the codes are counted, not listed"
    );
    assert_eq!(listed["factors"][0]["id"], id.as_str());
    let settings = app.text(&api, "/2fa/enroll").await;
    for code in &codes {
        assert!(
            !settings.contains(code.as_str()),
            "codes are shown once only"
        );
    }

    let session = app.api();
    app.sign_in(&session, "ada").await;
    let challenge = app.get_json(&session, "/2fa").await;
    assert_eq!(challenge["ways"], json!(["code", "backup"]), "{challenge}");
    assert_eq!(challenge["backup_codes_left"], 10);

    let typed = codes[0].to_uppercase().replace('-', " ");
    let (status, used) = backup(&app, "ada", &typed).await;
    assert_eq!(status, 200, "{used}");
    assert_eq!(used["method"], "backup_code");
    let (status, again) = backup(&app, "ada", &codes[0]).await;
    assert_eq!(
        (status, &again["error"]),
        (401, &json!("code_rejected")),
        "{again}"
    );
    let (status, shape) = backup(&app, "ada", "not-a-code").await;
    assert_eq!(
        (status, &shape["error"]),
        (400, &json!("invalid_input")),
        "{shape}"
    );
    assert_eq!(
        app.get_json(&api, "/2fa/factors").await["backup_codes_left"],
        9
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_uses_of_one_code_at_once_pass_once() {
    let app = app().await;
    let (_, _, _, codes) = with_app(&app, "bea").await;
    let (a, b) = tokio::join!(
        backup(&app, "bea", &codes[3]),
        backup(&app, "bea", &codes[3])
    );
    let passed = [a.0, b.0].iter().filter(|s| **s == 200).count();
    assert_eq!(passed, 1, "{a:?} {b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_set_needs_a_fresh_factor_and_voids_the_old() {
    let app = app().await;
    let (api, _, _, old) = with_app(&app, "cy").await;
    let stranger = app.api();
    app.sign_in(&stranger, "cy").await;
    let refused = app
        .post_json(&stranger, "/2fa/backup-codes", json!({}))
        .await;
    assert_eq!(refused.status(), 401, "a password alone makes no codes");

    let renewed = app.post_json(&api, "/2fa/backup-codes", json!({})).await;
    assert_eq!(renewed.status(), 200);
    let new: Vec<String> = renewed.json::<Value>().await.unwrap()["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(new.len(), 10);
    assert_eq!(
        backup(&app, "cy", &old[0]).await.0,
        401,
        "the old set stopped working"
    );
    assert_eq!(backup(&app, "cy", &new[0]).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_says_when_two_or_fewer_are_left() {
    let app = app().await;
    let (_, _, _, codes) = with_app(&app, "dot").await;
    for code in &codes[..8] {
        assert_eq!(backup(&app, "dot", code).await.0, 200);
    }
    let browser = app.browser();
    app.sign_in(&browser, "dot").await;
    let page = app.text(&browser, "/2fa").await;
    assert!(page.contains("Use a backup code"), "{page}");
    assert!(page.contains("You have 2 left"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_codes_alone_do_not_keep_two_factor_sign_in_on() {
    let app = app().await;
    let (api, secret, id, _) = with_app(&app, "eli").await;
    let code = app_code(&secret, now() + 30);
    let removed = app
        .post_json(
            &api,
            &format!("/2fa/factors/{id}/remove"),
            json!({"confirm": true, "token": code}),
        )
        .await;
    assert_eq!(removed.status(), 200);
    let again = app.api();
    app.sign_in(&again, "eli").await;
    let page = app.get_json(&again, "/2fa").await;
    assert_eq!(page["method"], "not_required", "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_to_backup_routes_are_refused() {
    let app = app().await;
    let (api, _, _, codes) = with_app(&app, "fay").await;
    for (path, body) in [
        ("/2fa/backup-codes", json!({})),
        ("/2fa/backup", json!({"code": codes[0]})),
    ] {
        let refused = api
            .post(app.url(path))
            .header("origin", "https://evil.example")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{path}");
    }
    assert_eq!(
        app.get_json(&api, "/2fa/factors").await["backup_codes_left"],
        10
    );
}

/// A phone confirmed through the challenge is a first factor too: the code
/// or the approval that confirms it comes with the backup codes, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_confirmed_at_the_challenge_comes_with_backup_codes() {
    use tower_authy::store::FactorState;
    let app = TestApp::start_with(Policy::default(), |builder| {
        builder.with_secret_key(KEY).with_backup_codes()
    })
    .await;
    let by_code = app.enroll("gus", FactorState::Pending).await;
    let api = app.api();
    app.sign_in(&api, "gus").await;
    let token = app.fresh_soft_token(by_code).await;
    let first: Value = app
        .post_json(&api, "/2fa/token", json!({"token": token}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["status"], "complete", "{first}");
    assert_eq!(
        first["backup_codes"].as_array().map(Vec::len),
        Some(10),
        "{first}"
    );
    let again = app.api();
    app.sign_in(&again, "gus").await;
    let token = app.fresh_soft_token(by_code).await;
    let later: Value = app
        .post_json(&again, "/2fa/token", json!({"token": token}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(later["status"], "complete");
    assert!(later.get("backup_codes").is_none(), "once only: {later}");

    app.enroll("hal", FactorState::Pending).await;
    let api = app.api();
    app.sign_in(&api, "hal").await;
    let pushed: Value = app
        .post_json(&api, "/2fa/onetouch", json!({}))
        .await
        .json()
        .await
        .unwrap();
    app.answer(pushed["uuid"].as_str().unwrap(), "approve")
        .await;
    let approved = app.get_json(&api, "/2fa/status").await;
    assert_eq!(approved["status"], "complete", "{approved}");
    assert_eq!(approved["backup_codes"].as_array().map(Vec::len), Some(10));
}
