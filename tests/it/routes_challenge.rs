//! The challenge and its code channels, through a whole application.

use crate::app::FirstFactor;
use std::time::Duration;

use serde_json::Value;
use tower_authy::config::{ChannelMode, Policy};
use tower_authy::store::FactorState;

use crate::app::{TestApp, location};

fn policy() -> Policy {
    Policy::builder().build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soft_token_passes_and_returns_to_the_page_first_asked_for() {
    let app = TestApp::start(policy()).await;
    let authy_id = app.enroll("alice", FactorState::Active).await;
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
    let authy_id = app.enroll("bob", FactorState::Active).await;
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

/// Signs `user` in (first factor only) with an enabled enrollment; returns
/// the app, the browser and the Authy ID.
async fn pending(user: &str, policy: Policy) -> (TestApp, reqwest::Client, u64) {
    let app = TestApp::start(policy).await;
    let authy_id = app.enroll(user, FactorState::Active).await;
    let browser = app.browser();
    app.sign_in(&browser, user).await;
    (app, browser, authy_id)
}

async fn post_token(app: &TestApp, http: &reqwest::Client, token: &str) -> reqwest::Response {
    http.post(app.url("/2fa/token"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_protected_is_reachable_with_the_first_factor_only() {
    let (app, browser, _) = pending("carol", policy()).await;
    for path in ["/protected", "/api/me", "/2fa/../protected", "/protected/"] {
        let answer = browser.get(app.url(path)).send().await.unwrap();
        assert_ne!(answer.status(), 200, "{path} must not be served");
    }
    let api = app.api();
    app.sign_in(&api, "carol").await;
    let answer = api.get(app.url("/api/me")).send().await.unwrap();
    assert_eq!(answer.status(), 401);
    // Anonymous clients go to the login, never to the challenge.
    let anonymous = app
        .browser()
        .get(app.url("/protected"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&anonymous), "/login?next=%2Fprotected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_is_refused_and_counted_until_lockout() {
    let policy = Policy::builder()
        .with_lockout(
            3,
            std::time::Duration::from_secs(600),
            std::time::Duration::from_secs(600),
        )
        .build()
        .unwrap();
    let (app, browser, authy_id) = pending("dave", policy).await;
    let api = app.api();
    app.sign_in(&api, "dave").await;
    let wrong = api
        .post(app.url("/2fa/token"))
        .json(&serde_json::json!({"token": "0000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), body["attempts_left"].as_u64()),
        (Some("code_rejected"), Some(2))
    );
    let challenge: Value = api
        .get(app.url("/2fa"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(challenge["attempts_left"], 2, "{challenge}");
    let html = post_token(&app, &browser, "0000000").await;
    assert_eq!(
        (html.status().as_u16(), location(&html)),
        (303, "/2fa?error=code_rejected".into())
    );
    let page = app.text(&browser, "/2fa?error=code_rejected").await;
    assert!(page.contains("One attempt is left"), "{page}");
    let locked = post_token(&app, &browser, "0000000").await;
    assert_eq!(location(&locked), "/2fa?error=locked_out");
    // Locked: even the right code is refused, and the page says so.
    let token = app.soft_token(authy_id).await;
    let refused = api
        .post(app.url("/2fa/token"))
        .json(&serde_json::json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let page = app.text(&browser, "/2fa?error=locked_out").await;
    assert!(page.contains("Too many wrong codes"), "{page}");
    assert!(page.contains("try again in 10 minutes"), "{page}");
    assert_eq!(app.status(&browser, "/protected").await, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_codes_are_refused_without_counting() {
    let (app, browser, authy_id) = pending("erin", policy()).await;
    for bad in ["", "12345", "1234567890123", "12a4567", "１２３４５６７"] {
        let answer = post_token(&app, &browser, bad).await;
        assert_eq!(location(&answer), "/2fa?error=invalid_input", "{bad:?}");
    }
    let state = app
        .store
        .attempt_state(
            &tower_authy::store::AttemptKey::user(
                tower_authy::store::AttemptKind::Code,
                &tower_authy::store::UserId::new("erin"),
            ),
            std::time::SystemTime::now(),
        )
        .await
        .unwrap();
    assert_eq!(state.failures, 0, "malformed input changes nothing");
    // A code with a leading zero is a string, not a number: it still works.
    let token = app.soft_token(authy_id).await;
    assert_eq!(
        post_token(&app, &browser, &format!(" {token} "))
            .await
            .status(),
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_works_once() {
    let (app, browser, authy_id) = pending("frank", policy()).await;
    let token = app.soft_token(authy_id).await;
    assert_eq!(location(&post_token(&app, &browser, &token).await), "/");
    // Another session replays the same code: refused.
    let other = app.browser();
    app.sign_in(&other, "frank").await;
    let replay = post_token(&app, &other, &token).await;
    assert_eq!(location(&replay), "/2fa?error=code_rejected");
    assert_eq!(app.status(&other, "/protected").await, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_stays_on_this_site() {
    for (next, expected) in [
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/%2F%2Fevil.example", "/"),
        ("/\\evil.example", "/"),
        ("/settings?tab=security", "/settings?tab=security"),
    ] {
        let (app, browser, authy_id) = pending("gina", policy()).await;
        let page = browser
            .get(app.url("/2fa"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let token = app.soft_token(authy_id).await;
        assert_eq!(
            location(&post_token(&app, &browser, &token).await),
            expected,
            "{next}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused_and_change_nothing() {
    let (app, _, authy_id) = pending("hank", policy()).await;
    // A browser that sends no Origin: only the session's token may vouch.
    let bare = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    app.sign_in(&bare, "hank").await;
    let token = app.soft_token(authy_id).await;
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("x-none", ""),
    ] {
        let answer = bare
            .post(app.url("/2fa/token"))
            .header(header, value)
            .header("accept", "application/json")
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 403, "{header}");
        assert_eq!(answer.json::<Value>().await.unwrap()["error"], "cross_site");
    }
    assert_eq!(app.status(&bare, "/api/me").await, 401, "still pending");
    // With the session's CSRF token (from the challenge), the same POST works.
    let challenge: Value = bare
        .get(app.url("/2fa"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = challenge["csrf"].as_str().unwrap();
    let answer = bare
        .post(app.url("/2fa/token"))
        .header("accept", "application/json")
        .form(&[("token", token.as_str()), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_ends_everything() {
    let (app, browser, authy_id) = pending("ivy", policy()).await;
    let token = app.soft_token(authy_id).await;
    post_token(&app, &browser, &token).await;
    assert_eq!(app.status(&browser, "/protected").await, 200);
    browser.post(app.url("/logout")).send().await.unwrap();
    let after = browser.get(app.url("/protected")).send().await.unwrap();
    assert_eq!(
        location(&after),
        "/login?next=%2Fprotected",
        "back to the login, not even the challenge"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_who_never_enrolled_pass_under_opt_in() {
    let app = TestApp::start(policy()).await;
    let browser = app.browser();
    app.sign_in(&browser, "jack").await;
    let challenge = browser
        .get(app.url("/2fa?next=/protected"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&challenge), "/protected");
    assert_eq!(app.status(&browser, "/protected").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_id_changes_when_the_second_factor_passes() {
    let (app, browser, authy_id) = pending("kate", policy()).await;
    let before = browser.get(app.url("/2fa")).send().await.unwrap();
    assert_eq!(before.status(), 200);
    let token = app.soft_token(authy_id).await;
    let passed = post_token(&app, &browser, &token).await;
    let cookie = passed
        .headers()
        .get("set-cookie")
        .expect("a new session id is issued");
    assert!(cookie.to_str().unwrap().starts_with("id="), "{cookie:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_channels_are_refused() {
    let policy = Policy::builder()
        .with_call(ChannelMode::Off)
        .build()
        .unwrap();
    let (app, browser, _) = pending("liam", policy).await;
    let page = app.text(&browser, "/2fa").await;
    assert!(!page.contains("/2fa/call"), "the page does not offer it");
    let call = browser.post(app.url("/2fa/call")).send().await.unwrap();
    assert_eq!(location(&call), "/2fa?error=channel_off");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_never_pass_the_lockout() {
    let policy = Policy::builder()
        .with_lockout(
            3,
            std::time::Duration::from_secs(600),
            std::time::Duration::from_secs(600),
        )
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    app.enroll("nina", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "nina").await;
    let guesses: Vec<_> = (0..30)
        .map(|i| {
            let request = api
                .post(app.url("/2fa/token"))
                .json(&serde_json::json!({"token": format!("{:07}", 1000 + i)}));
            tokio::spawn(
                async move { request.send().await.unwrap().json::<Value>().await.unwrap() },
            )
        })
        .collect();
    let mut answers = Vec::new();
    for guess in guesses {
        answers.push(guess.await.unwrap()["error"].as_str().unwrap().to_owned());
    }
    let checked = answers.iter().filter(|a| *a == "code_rejected").count();
    // Each attempt is counted before it is checked: two wrong answers, the
    // third locks, and every other guess is refused without being checked.
    assert_eq!(checked, 2, "{answers:?}");
    assert_eq!(
        answers.iter().filter(|a| *a == "locked_out").count(),
        28,
        "{answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_planted_with_the_password_alone_cannot_lock_the_owner_out() {
    let app = TestApp::start(policy()).await;
    // Someone with the password registers their own phone and never confirms.
    let attacker = app.api();
    app.sign_in(&attacker, "olga").await;
    let planted = attacker
        .post(app.url("/2fa/enroll"))
        .json(&serde_json::json!({"email": "x@example.com", "country_code": "1", "phone_number": "5550142001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(planted.status(), 200);

    // The owner is offered the unconfirmed phone and may skip it, so it
    // cannot lock them out; a skip is no second factor, so it replaces
    // nothing (else the password alone could swap phones, below).
    let owner = app.api();
    app.sign_in(&owner, "olga").await;
    let challenge: Value = owner
        .get(app.url("/2fa"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            challenge["status"].as_str(),
            challenge["skippable"].as_bool()
        ),
        (Some("challenge"), Some(true))
    );
    let skipped = owner
        .post(app.url("/2fa/skip"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        skipped.json::<Value>().await.unwrap()["method"],
        "not_required"
    );
    assert_eq!(app.status(&owner, "/api/me").await, 200);
    let replaced = owner
        .post(app.url("/2fa/enroll"))
        .json(&serde_json::json!({"email": "olga@example.com", "country_code": "1", "phone_number": "5550142002"}))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 401, "{}", replaced.text().await.unwrap());
    let enrollment = app
        .store
        .first_factor(&tower_authy::store::UserId::new("olga"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(enrollment.hint.as_deref(), Some("+1 XXXXXXXX01"));
    // Signing in again, the owner still goes on.
    let later = app.api();
    app.sign_in(&later, "olga").await;
    let skipped = later
        .post(app.url("/2fa/skip"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(skipped.status(), 200);
}

/// Issue 9: the owner registered a phone and has not confirmed it yet;
/// someone with the password signs in, skips it ("Not now") and tries to
/// put their own phone in its place. Before: the skip counted as a passed
/// second factor and the swap went through, locking the owner out once the
/// intruder confirmed. Now a skip may use the app but change no factor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_alone_cannot_swap_an_unconfirmed_phone() {
    let app = TestApp::start(policy()).await;
    app.enroll("quinn", FactorState::Pending).await;
    let before = app
        .store
        .first_factor(&tower_authy::store::UserId::new("quinn"))
        .await
        .unwrap()
        .unwrap();
    let intruder = app.api();
    app.sign_in(&intruder, "quinn").await;
    let skipped = app
        .post_json(&intruder, "/2fa/skip", serde_json::json!({}))
        .await;
    assert_eq!(skipped.status(), 200);
    assert_eq!(
        app.status(&intruder, "/api/me").await,
        200,
        "a skip may use the app"
    );
    let page = app.get_json(&intruder, "/2fa/enroll").await;
    assert_eq!(page["can_replace"], false, "{page}");
    let swapped = app
        .post_json(
            &intruder,
            "/2fa/enroll",
            serde_json::json!({"email": "x@example.com", "country_code": "1", "phone_number": "5550199001"}),
        )
        .await;
    assert_eq!(swapped.status(), 401);
    assert_eq!(
        swapped.json::<Value>().await.unwrap()["error"],
        "second_factor_required"
    );
    let after = app
        .store
        .first_factor(&tower_authy::store::UserId::new("quinn"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_phone_cannot_be_skipped() {
    let (app, browser, _) = pending("pete", policy()).await;
    let page = app.text(&browser, "/2fa").await;
    assert!(!page.contains("/2fa/skip"), "not offered");
    let skip = browser.post(app.url("/2fa/skip")).send().await.unwrap();
    assert_eq!(location(&skip), "/2fa?error=not_possible");
    assert_eq!(app.status(&browser, "/protected").await, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overridden_template_is_the_page_the_route_shows() {
    let own = r#"{% extends "base.html" %}{% block content %}<h1 id="acme">Acme check</h1>
<form method="post" action="{{ prefix }}/token"><input name="token"></form>{% endblock %}"#;
    let app = TestApp::start_with(policy(), |builder| {
        builder.with_template("challenge.html", own)
    })
    .await;
    app.enroll("zoe", FactorState::Active).await;
    let browser = app.browser();
    app.sign_in(&browser, "zoe").await;
    let page = app.text(&browser, "/2fa?error=code_rejected").await;
    assert!(page.contains(r#"<h1 id="acme">Acme check</h1>"#), "{page}");
    assert!(!page.contains("Confirm it is you"), "{page}");
    assert!(
        page.contains("That code is not right"),
        "the default layout still shows the message: {page}"
    );
}

/// A store that stops working under a running app (its table dropped behind
/// its back) turns the challenge and settings pages into a page that says
/// so, with the status and a way to try again — not a redirect to a home
/// page that cannot show why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_store_shows_a_page_that_says_so() {
    use tower_authy::store::SqliteStore;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("broken-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("app.db").display());
    let _ = std::fs::remove_file(dir.join("app.db"));
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let pool = store.pool().clone();
    let app = TestApp::start_on(Policy::default(), std::sync::Arc::new(store)).await;
    let browser = app.browser();
    app.sign_in(&browser, "alice").await;
    sqlx::query("DROP TABLE tower_authy_factors")
        .execute(&pool)
        .await
        .unwrap();

    for (page, again) in [
        ("/2fa", "href=\"/2fa\""),
        ("/2fa/enroll", "href=\"/2fa/enroll\""),
    ] {
        let answer = app.get(&browser, page).await;
        assert_eq!(answer.status(), 503, "{page}");
        // minijinja escapes `/` in attributes.
        let html = answer.text().await.unwrap().replace("&#x2f;", "/");
        assert!(
            html.contains("Sign-in cannot be checked right now"),
            "{page}: {html}"
        );
        assert!(html.contains(again), "{page}: {html}");
        let json = app.get_json(&browser, page).await;
        assert_eq!(json["error"], "storage_unavailable", "{page}");
    }
}

/// One content negotiation for the layer and the routes: a client that does
/// not ask for HTML (`*/*`, as curl and `fetch` send, or no `Accept`) gets
/// JSON from both, and a browser gets pages and redirects from both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_and_the_routes_answer_in_the_same_format() {
    let (app, browser, _) = pending("alice", Policy::default()).await;
    for accept in ["*/*", ""] {
        for path in ["/protected", "/2fa"] {
            let mut request = browser.get(app.url(path));
            request = request.header(reqwest::header::ACCEPT, accept);
            let answer = request.send().await.unwrap();
            let kind = answer.headers()[reqwest::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                kind.starts_with("application/json"),
                "{path} {accept:?}: {kind}"
            );
        }
    }
    assert_eq!(app.status(&browser, "/protected").await, 303);
    let page = app.get(&browser, "/2fa").await;
    assert!(
        page.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

/// The crate's pages run only their own inline script and style (a nonce
/// fresh on every page, named in the Content-Security-Policy), refuse to be
/// framed, and every answer refuses MIME sniffing and cross-site referrers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_send_a_content_security_policy_with_a_fresh_nonce() {
    let (app, browser, _) = pending("csp", Policy::default()).await;
    let mut nonces = Vec::new();
    for path in ["/2fa", "/2fa", "/2fa/enroll"] {
        let page = app.get(&browser, path).await;
        assert_eq!(page.status(), 200, "{path}");
        let header = |name: &str| {
            page.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        let csp = header("content-security-policy");
        for directive in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce in script-src")
            .to_owned();
        let html = page.text().await.unwrap();
        assert!(
            html.contains(&format!("<style nonce=\"{nonce}\">")),
            "{path}: the style carries the header's nonce"
        );
        for tag in ["<script", "<style"] {
            for found in html.split(tag).skip(1) {
                assert!(
                    found.starts_with(&format!(" nonce=\"{nonce}\"")),
                    "{path}: every inline {tag} carries the nonce"
                );
            }
        }
        nonces.push(nonce);
    }
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "a fresh nonce for every page");
    let json = browser
        .get(app.url("/2fa"))
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.headers()["x-content-type-options"], "nosniff");
}

/// Seeds 002 and 004: a user who asks for a text message gets one, even with
/// the Authy app installed (the default policy, not `Forced`); the default
/// limit is Twilio Verify's five sends in ten minutes, and the refusal says
/// what was limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asked_for_sms_arrives_even_with_the_app_and_the_limit_names_it() {
    let app = TestApp::start(Policy::default()).await;
    let authy_id = app.enroll("sam", FactorState::Active).await;
    let users = app.phone("users").await;
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["authy_id"] == authy_id && u["app_installed"] == true),
        "the simulator's users have the app: {users}"
    );
    let api = app.api();
    app.sign_in(&api, "sam").await;
    for sent in 1..=5 {
        let answer = app.post_json(&api, "/2fa/sms", serde_json::json!({})).await;
        assert_eq!(answer.status(), 200, "send {sent}");
        assert_eq!(answer.json::<Value>().await.unwrap()["status"], "sms_sent");
        let messages = app.phone(&format!("users/{authy_id}/messages")).await;
        assert_eq!(messages.as_array().unwrap().len(), sent, "the text arrived");
    }
    let refused = app.post_json(&api, "/2fa/sms", serde_json::json!({})).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "too_many_texts"
    );

    let browser = app.browser();
    app.sign_in(&browser, "sam").await;
    let answer = app.post_form(&browser, "/2fa/call", &[]).await;
    assert_eq!(location(&answer), "/2fa?error=too_many_calls");
    let page = app.text(&browser, "/2fa?error=too_many_calls").await;
    assert!(
        page.contains("Too many calls were made. You can ask again in 10 minutes."),
        "{page}"
    );
}

/// Two accounts bound to one phone (one Authy ID) share its counters: more
/// accounts multiply neither the guesses at the identity nor the messages
/// sent to it (before: four accounts made 20 wrong guesses, six sent 18 SMS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_accounts_on_one_phone_get_no_more_guesses_or_messages() {
    use tower_authy::method::{EnrollmentRequest, Method};
    use tower_authy::store::{Factor, UserId};
    let policy = Policy::builder()
        .with_lockout(3, Duration::from_secs(900), Duration::from_secs(900))
        .with_send_limit(2, Duration::from_secs(600), Duration::from_secs(600))
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    let shared = app
        .client
        .enroll_phone(
            &UserId::new("uma"),
            &EnrollmentRequest::new("one@example.com", 1, "5550177001"),
            std::time::SystemTime::now(),
        )
        .await
        .unwrap();
    for user in ["uma", "uma2"] {
        let mut enrollment = Factor::authy(
            UserId::new(user),
            shared.provider_ref.clone(),
            None,
            std::time::SystemTime::now(),
        );
        enrollment.state = FactorState::Active;
        app.admin.put_factor(&enrollment).await.unwrap();
    }
    let first = app.api();
    app.sign_in(&first, "uma").await;
    let second = app.api();
    app.sign_in(&second, "uma2").await;

    let wrong = serde_json::json!({"token": "0000000"});
    for _ in 0..3 {
        app.post_json(&first, "/2fa/token", wrong.clone()).await;
    }
    let other = app.post_json(&second, "/2fa/token", wrong.clone()).await;
    assert_eq!(
        other.status(),
        429,
        "the identity is locked for every account"
    );
    assert_eq!(other.json::<Value>().await.unwrap()["error"], "locked_out");
    let page = app.get_json(&second, "/2fa").await;
    assert!(page["locked_for"].as_u64().is_some(), "{page}");

    let sms = serde_json::json!({});
    for _ in 0..2 {
        let sent = app.post_json(&first, "/2fa/sms", sms.clone()).await;
        assert_eq!(sent.status(), 200);
    }
    let more = app.post_json(&second, "/2fa/sms", sms).await;
    assert_eq!(more.status(), 429);
    assert_eq!(
        more.json::<Value>().await.unwrap()["error"],
        "too_many_texts"
    );
    let authy_id: u64 = shared.provider_ref.parse().unwrap();
    let messages = app.phone(&format!("users/{authy_id}/messages")).await;
    assert_eq!(messages.as_array().unwrap().len(), 2, "{messages}");
}

/// Each enrollment creates a user at the provider: an account may start
/// only a few (before: 30 enrollments created 30 Authy users).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollments_are_limited_per_account() {
    let policy = Policy::builder()
        .with_enroll_limit(2, Duration::from_secs(3600), Duration::from_secs(3600))
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    let api = app.api();
    app.sign_in(&api, "vera").await;
    for n in 1..=2 {
        let phone = format!("555018800{n}");
        let answer = app
            .post_json(
                &api,
                "/2fa/enroll",
                serde_json::json!({"email": "vera@example.com", "country_code": "1", "phone_number": phone}),
            )
            .await;
        assert_eq!(answer.status(), 200, "enrollment {n}");
    }
    let users = app.phone("users").await.as_array().unwrap().len();
    let refused = app
        .post_json(
            &api,
            "/2fa/enroll",
            serde_json::json!({"email": "vera@example.com", "country_code": "1", "phone_number": "5550188009"}),
        )
        .await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "too_many_enrollments"
    );
    assert_eq!(
        app.phone("users").await.as_array().unwrap().len(),
        users,
        "no provider user was created"
    );
}

/// Sign-out is one click away on the challenge: a button that posts to the
/// application's logout route (which the layer lets through).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_challenge_offers_a_sign_out() {
    let (app, browser, _) = pending("wendy", policy()).await;
    let page = app.text(&browser, "/2fa").await.replace("&#x2f;", "/");
    assert!(
        page.contains(r#"<form id="sign-out" method="post" action="/logout">"#),
        "{page}"
    );
    let out = app.post_form(&browser, "/logout", &[]).await;
    assert_eq!(out.status(), 303);
    assert_eq!(
        app.status(&browser, "/2fa").await,
        303,
        "signed out: to the login"
    );
    let json = app.get_json(&app.api(), "/2fa").await;
    assert_eq!(json["error"], "login_required");
}
