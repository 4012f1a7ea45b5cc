//! Authenticator apps (issue 10): setup shows the secret once, the first
//! code confirms it, codes then pass the challenge once each, and a seed
//! that does not open passes nothing.

use std::time::SystemTime;

use serde_json::{Value, json};
use tower_authy::config::Policy;
use tower_authy::store::{FactorKind, FactorState, UserId};

use crate::app::TestApp;
use crate::common::{SECRET_KEY as KEY, app_code, now};

async fn app() -> TestApp {
    TestApp::start_with(Policy::default(), |builder| {
        builder.with_secret_key(KEY).with_authenticator_apps()
    })
    .await
}

/// Starts an app for `user` on a fresh signed-in client; the answer's JSON.
async fn start(app: &TestApp, user: &str) -> (reqwest::Client, Value) {
    let api = app.api();
    app.sign_in(&api, user).await;
    let started = app
        .post_json(&api, "/2fa/totp", json!({"label": "Phone"}))
        .await;
    assert_eq!(started.status(), 201);
    (api, started.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_shows_the_secret_once_and_the_first_code_confirms() {
    let app = app().await;
    let (api, setup) = start(&app, "tina").await;
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "160 bits in base32: {setup}");
    let uri = setup["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(setup["qr_svg"].as_str().unwrap().contains("<svg"));
    let id = setup["factor_id"].as_str().unwrap().to_owned();

    let stored = app.store.factors(&UserId::new("tina")).await.unwrap();
    assert_eq!(stored[0].kind, FactorKind::Totp);
    assert_eq!(stored[0].state, FactorState::Pending);
    let sealed = stored[0].secret.clone().unwrap();
    assert!(!sealed.contains(&secret), "the store keeps it sealed");
    assert!(
        !format!("{:?}", stored[0]).contains(&sealed),
        "Debug hides it"
    );

    let wrong = app
        .post_json(
            &api,
            "/2fa/totp/confirm",
            json!({"factor_id": id, "code": "000000"}),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    let code = app_code(&secret, now());
    let confirmed = app
        .post_json(
            &api,
            "/2fa/totp/confirm",
            json!({"factor_id": id, "code": code}),
        )
        .await;
    assert_eq!(confirmed.status(), 200);
    assert_eq!(
        confirmed.json::<Value>().await.unwrap()["status"],
        "complete"
    );

    let listed = app.text(&api, "/2fa/factors").await;
    assert!(listed.contains("\"totp\""), "{listed}");
    for page in ["/2fa/factors", "/2fa/enroll", "/2fa"] {
        let body = app.text(&api, page).await;
        assert!(!body.contains(&secret), "{page} shows the secret: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_code_passes_once_and_never_an_earlier_step() {
    let app = app().await;
    let (api, setup) = start(&app, "uli").await;
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let id = setup["factor_id"].as_str().unwrap();
    let first = app_code(&secret, now());
    let confirmed = app
        .post_json(
            &api,
            "/2fa/totp/confirm",
            json!({"factor_id": id, "code": first}),
        )
        .await;
    assert_eq!(confirmed.status(), 200);

    let token = |code: &str| json!({"token": code});
    let again = app.api();
    app.sign_in(&again, "uli").await;
    let challenge = app.get_json(&again, "/2fa").await;
    assert_eq!(challenge["ways"], json!(["code"]), "{challenge}");
    let replay = app.post_json(&again, "/2fa/token", token(&first)).await;
    assert_eq!(
        replay.status(),
        401,
        "the confirming code does not pass again"
    );
    let next = app_code(&secret, now() + 30);
    assert_eq!(
        app.post_json(&again, "/2fa/token", token(&next))
            .await
            .status(),
        200
    );

    let third = app.api();
    app.sign_in(&third, "uli").await;
    let earlier = app_code(&secret, now());
    if earlier != next {
        let refused = app.post_json(&third, "/2fa/token", token(&earlier)).await;
        assert_eq!(refused.status(), 401, "an earlier step after a later one");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_racing_one_code_pass_once() {
    let app = app().await;
    let (api, setup) = start(&app, "xena").await;
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let id = setup["factor_id"].as_str().unwrap();
    let first = app_code(&secret, now());
    let confirmed = app
        .post_json(
            &api,
            "/2fa/totp/confirm",
            json!({"factor_id": id, "code": first}),
        )
        .await;
    assert_eq!(confirmed.status(), 200);
    let token = |code: &str| json!({"token": code});
    let racers = [app.api(), app.api()];
    for racer in &racers {
        app.sign_in(racer, "xena").await;
    }
    // The next step: later than the confirming one, within the window.
    let fresh = app_code(&secret, now() + 30);
    let (a, b) = tokio::join!(
        app.post_json(&racers[0], "/2fa/token", token(&fresh)),
        app.post_json(&racers[1], "/2fa/token", token(&fresh)),
    );
    let passed = [a.status(), b.status()]
        .iter()
        .filter(|s| s.as_u16() == 200)
        .count();
    assert_eq!(passed, 1, "{} {}", a.status(), b.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_that_does_not_open_passes_nothing() {
    let app = app().await;
    let (api, setup) = start(&app, "vic").await;
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let user = UserId::new("vic");
    let mut factor = app.store.factors(&user).await.unwrap().remove(0);
    let sealed = factor.secret.take().unwrap();
    // Another factor's sealed seed, or a flipped byte: neither opens.
    let mut bytes = sealed.into_bytes();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    factor.secret = Some(String::from_utf8(bytes).unwrap());
    app.admin.put_factor(&factor).await.unwrap();
    let code = app_code(&secret, now());
    let refused = app
        .post_json(
            &api,
            "/2fa/totp/confirm",
            json!({"factor_id": factor.id.as_str(), "code": code}),
        )
        .await;
    assert_eq!(refused.status(), 503);
    let still = app.store.factors(&user).await.unwrap();
    assert_eq!(still[0].state, FactorState::Pending, "nothing confirmed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_setup_is_refused() {
    let app = app().await;
    let api = app.api();
    app.sign_in(&api, "wes").await;
    let refused = api
        .post(app.url("/2fa/totp"))
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(
        app.store
            .factors(&UserId::new("wes"))
            .await
            .unwrap()
            .is_empty()
    );
}

/// An authenticator app stored for a user, but the application has
/// authenticator apps turned off: nobody passes as that user (before the
/// fix the challenge found no factor it could check and let the session
/// through as if two-factor sign-in were off).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_factor_no_method_serves_lets_nobody_through() {
    use tower_authy::store::Factor;
    let app = TestApp::start(Policy::default()).await;
    let user = UserId::new("yan");
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
    let api = app.api();
    app.sign_in(&api, "yan").await;
    let page = app.get(&api, "/2fa").await;
    let status = page.status();
    let body: Value = page.json().await.unwrap();
    assert_eq!(body["error"], "not_possible", "{status} {body}");
    assert_eq!(app.status(&api, "/api/me").await, 401);
}

/// In a browser: the setup page shows the QR code as an image of its own
/// (no script in it), the key in groups, under a content security policy,
/// never cached; a wrong code sends the user back to the settings page
/// with the reason, and the settings page never shows the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_page_shows_the_key_once_in_html() {
    let app = app().await;
    let browser = app.browser();
    app.sign_in(&browser, "zoe").await;
    let page = app
        .post_form(&browser, "/2fa/totp", &[("label", "Work phone")])
        .await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'nonce-")
    );
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let html = page.text().await.unwrap();
    // The image is a data URI (`/` may come HTML-escaped in the attribute).
    assert!(html.contains("<img id=\"qr\" src=\"data:image"), "{html}");
    assert!(html.contains("svg+xml;base64,"), "{html}");
    let secret = html
        .split("aria-describedby=\"secret-hint\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the key is shown")
        .to_owned();
    assert_eq!(
        secret.split(' ').count(),
        8,
        "eight groups of four: {secret}"
    );
    let compact: String = secret.split(' ').collect();
    let id = html
        .split("name=\"factor_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    let wrong = app
        .post_form(
            &browser,
            "/2fa/totp/confirm",
            &[("factor_id", &id), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status(), 303);
    let back = crate::app::location(&wrong);
    assert!(
        back.starts_with("/2fa/enroll?error=code_rejected"),
        "{back}"
    );
    let settings = app.text(&browser, &back).await;
    assert!(!settings.contains(&secret) && !settings.contains(&compact));

    let right = app
        .post_form(
            &browser,
            "/2fa/totp/confirm",
            &[("factor_id", &id), ("code", &app_code(&compact, now()))],
        )
        .await;
    assert_eq!(right.status(), 303, "no backup codes here: on to the app");
}

/// Wrong app codes count toward the lockout like every other code: after
/// five, even the right one is refused until the lockout ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_app_codes_lock_the_account_out() {
    let app = app().await;
    let (api, setup) = start(&app, "ugo").await;
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let id = setup["factor_id"].as_str().unwrap();
    let first = app_code(&secret, now());
    let confirm = json!({"factor_id": id, "code": first});
    assert_eq!(
        app.post_json(&api, "/2fa/totp/confirm", confirm)
            .await
            .status(),
        200
    );
    let guesser = app.api();
    app.sign_in(&guesser, "ugo").await;
    let right = app_code(&secret, now() + 30);
    let mut statuses = Vec::new();
    for guess in 0..5 {
        let code = format!(
            "{:06}",
            (right.parse::<u32>().unwrap() + 1 + guess) % 1_000_000
        );
        let answer = app
            .post_json(&guesser, "/2fa/token", json!({"token": code}))
            .await;
        statuses.push(answer.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let refused = app
        .post_json(&guesser, "/2fa/token", json!({"token": right}))
        .await;
    assert_eq!(
        refused.status(),
        429,
        "locked out: the right code waits too"
    );
}

/// Rotating the secret key: an instance with a new key and the old one
/// listed still checks an app set up under the old key; without the old
/// key, the app fails closed (no pass), with a clear answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_still_opens_seeds_sealed_before() {
    use std::sync::Arc;
    use tower_authy::Secret;
    use tower_authy::store::MemoryStore;
    let store = Arc::new(MemoryStore::new());
    let old = TestApp::start_on_with(Policy::default(), store.clone(), |b| {
        b.with_secret_key(KEY).with_authenticator_apps()
    })
    .await;
    let (api, setup) = start(&old, "val").await;
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let id = setup["factor_id"].as_str().unwrap();
    let code = app_code(&secret, now());
    let confirm = json!({"factor_id": id, "code": code});
    assert_eq!(
        old.post_json(&api, "/2fa/totp/confirm", confirm)
            .await
            .status(),
        200
    );

    const NEW: &str = "the next application secret key, 32+ bytes";
    let rotated = TestApp::start_on_with(Policy::default(), store.clone(), |b| {
        b.with_secret_key(NEW)
            .with_old_secret_keys([Secret::new(KEY)])
            .with_authenticator_apps()
    })
    .await;
    let session = rotated.api();
    rotated.sign_in(&session, "val").await;
    let next = app_code(&secret, now() + 30);
    let passed = rotated
        .post_json(&session, "/2fa/token", json!({"token": next}))
        .await;
    assert_eq!(passed.status(), 200);

    let forgot = TestApp::start_on_with(Policy::default(), store, |b| {
        b.with_secret_key(NEW).with_authenticator_apps()
    })
    .await;
    let session = forgot.api();
    forgot.sign_in(&session, "val").await;
    let code = app_code(&secret, now() + 30);
    let refused = forgot
        .post_json(&session, "/2fa/token", json!({"token": code}))
        .await;
    assert_eq!(
        refused.status(),
        503,
        "a seed that does not open passes nothing"
    );
    assert_eq!(forgot.status(&session, "/api/me").await, 401);
}
