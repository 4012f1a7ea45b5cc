//! Enrolling: the form, its checks, confirmation with a first code, opt-in
//! from a signed-in session, mandatory enrollment and its grace logins.

use crate::app::FirstFactor;
use reqwest::header::ORIGIN;
use serde_json::{Value, json};
use tower_authy::config::{ChannelMode, EnrollmentPolicy, Policy};
use tower_authy::store::FactorState;

use super::{enrollment_state, fresh_token, redirected_to, second_factor, simulator_users};
use crate::app::{TestApp, location};

fn mandatory(grace_logins: u32, allow_opt_out: bool) -> EnrollmentPolicy {
    EnrollmentPolicy::Mandatory {
        grace_logins,
        allow_opt_out,
    }
}

/// The simulator's Authy ID for a US number.
async fn authy_id_for(app: &TestApp, phone: &str) -> Option<u64> {
    let found = app
        .phone(&format!("users?country_code=1&phone_number={phone}"))
        .await;
    found
        .as_array()
        .unwrap()
        .first()
        .map(|u| u["authy_id"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_session_enrolls_and_a_texted_code_confirms_and_completes_it() {
    let policy = Policy::builder()
        .with_enrollment(mandatory(0, false))
        .with_sms(ChannelMode::Forced)
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    let browser = app.browser();
    app.sign_in(&browser, "alice").await;

    let blocked = browser.get(app.url("/protected")).send().await.unwrap();
    let challenge = browser
        .get(app.url(&location(&blocked)))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status(), 303);
    assert_eq!(location(&challenge), "/2fa/enroll");
    let form = browser.get(app.url("/2fa/enroll")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains("Turn on two-factor sign-in"), "{html}");
    assert!(html.contains("name=\"phone_number\""), "{html}");

    let enrolled = app
        .post_form(
            &browser,
            "/2fa/enroll",
            &[
                ("email", "alice@example.com"),
                ("country_code", "1"),
                ("phone_number", "555-010-0199"),
            ],
        )
        .await;
    assert_eq!(enrolled.status(), 303);
    assert_eq!(redirected_to(&enrolled), "/2fa/enroll?notice=enrolled");
    let authy_id = authy_id_for(&app, "5550100199")
        .await
        .expect("the simulator knows the user");
    assert_eq!(
        enrollment_state(&app, "alice").await,
        Some(FactorState::Pending)
    );
    let confirm = app.text(&browser, "/2fa/enroll?notice=enrolled").await;
    assert!(confirm.contains("Confirm your phone"), "{confirm}");
    assert!(confirm.contains("name=\"token\""), "{confirm}");
    assert!(confirm.contains("Text me a code"), "{confirm}");
    assert!(
        confirm.contains("XXXXXXXX99"),
        "the masked phone: {confirm}"
    );
    assert!(confirm.contains("Wrong number?"), "{confirm}");
    let still_blocked = browser.get(app.url("/protected")).send().await.unwrap();
    assert_eq!(still_blocked.status(), 303, "not through before confirming");

    let sent = app.post_form(&browser, "/2fa/sms", &[]).await;
    assert_eq!(redirected_to(&sent), "/2fa/enroll?notice=sms_sent");
    let code = app.last_code(authy_id).await;
    let confirmed = app
        .post_form(&browser, "/2fa/enroll/verify", &[("token", &code)])
        .await;
    assert_eq!(confirmed.status(), 303);
    assert_eq!(
        location(&confirmed),
        "/protected",
        "back where the user was going"
    );
    assert_eq!(
        enrollment_state(&app, "alice").await,
        Some(FactorState::Active)
    );
    let through = browser.get(app.url("/protected")).send().await.unwrap();
    assert_eq!(through.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_client_enrolls_and_confirms_with_the_app_code() {
    let app = TestApp::start(Policy::default()).await;
    let api = app.api();
    app.sign_in(&api, "bob").await;

    let form = app.get_json(&api, "/2fa/enroll").await;
    assert_eq!(form["status"], "enroll");
    assert!(form["csrf"].as_str().is_some_and(|c| !c.is_empty()));

    let enrolled = app
        .post_json(
            &api,
            "/2fa/enroll",
            json!({"email": "bob@example.com", "country_code": 44, "phone_number": "20 7946 0018"}),
        )
        .await;
    assert_eq!(enrolled.status(), 200);
    let enrolled: Value = enrolled.json().await.unwrap();
    assert_eq!(enrolled["status"], "confirm");
    assert_eq!(enrolled["verify"], "/2fa/enroll/verify");
    let users = app
        .phone("users?country_code=44&phone_number=2079460018")
        .await;
    let authy_id = users[0]["authy_id"].as_u64().expect("registered");
    assert_eq!(users[0]["email"], "bob@example.com");
    assert_eq!(app.get_json(&api, "/2fa/enroll").await["status"], "confirm");

    let token = fresh_token(&app, authy_id).await;
    let confirmed = app
        .post_json(&api, "/2fa/enroll/verify", json!({"token": token}))
        .await;
    assert_eq!(confirmed.status(), 200);
    let confirmed: Value = confirmed.json().await.unwrap();
    assert_eq!(confirmed["status"], "complete");
    assert_eq!(confirmed["method"], "code");
    assert_eq!(
        enrollment_state(&app, "bob").await,
        Some(FactorState::Active)
    );
    let me = api.get(app.url("/api/me")).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(app.get_json(&api, "/2fa/enroll").await["status"], "enabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_enrollment_input_is_named_and_nothing_is_stored() {
    let app = TestApp::start(Policy::default()).await;
    let browser = app.browser();
    let api = app.api();
    app.sign_in(&browser, "carol").await;
    app.sign_in(&api, "carol").await;
    let cases = [
        (
            "not-an-email",
            "1",
            "555-010-0177",
            "invalid_email",
            "e-mail",
        ),
        (
            "carol@example.com",
            "one",
            "555-010-0177",
            "invalid_country_code",
            "country",
        ),
        (
            "carol@example.com",
            "1",
            "555-O10-0177",
            "invalid_phone_number",
            "phone number",
        ),
        // Plausible here, refused by the provider (US numbers have ten digits).
        (
            "carol@example.com",
            "1",
            "555-0177",
            "phone_rejected",
            "phone number",
        ),
    ];
    for (email, country_code, phone, code, names) in cases {
        let form = [
            ("email", email),
            ("country_code", country_code),
            ("phone_number", phone),
        ];
        let page = app.post_form(&browser, "/2fa/enroll", &form).await;
        assert_eq!(page.status(), 303, "{code}");
        assert_eq!(redirected_to(&page), format!("/2fa/enroll?error={code}"));
        let shown = app.text(&browser, &location(&page)).await;
        let alert = shown
            .split_once("role=\"alert\">")
            .and_then(|(_, rest)| rest.split_once("</p>"))
            .map(|(message, _)| message.to_lowercase())
            .unwrap_or_else(|| panic!("{code}: no error shown: {shown}"));
        assert!(alert.contains(names), "{code} names the field: {alert}");
        let refilled = format!("value=\"{phone}\"");
        assert!(
            shown.contains(&refilled),
            "{code}: the form keeps what was typed"
        );
        let reloaded = app.text(&browser, &location(&page)).await;
        assert!(!reloaded.contains(&refilled), "{code}: only once");

        let body = json!({"email": email, "country_code": country_code, "phone_number": phone});
        let answer = app.post_json(&api, "/2fa/enroll", body).await;
        assert_eq!(answer.status(), 400, "{code}");
        let answer: Value = answer.json().await.unwrap();
        assert_eq!(answer["error"], code);
        assert!(
            answer["message"].as_str().unwrap().contains(names),
            "{answer}"
        );
    }
    let missing = app.post_json(&api, "/2fa/enroll", json!({})).await;
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"],
        "invalid_email"
    );
    assert_eq!(enrollment_state(&app, "carol").await, None);
    assert!(
        simulator_users(&app).await.is_empty(),
        "no user was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_confirmation_codes_count_towards_the_lockout() {
    let policy = Policy::builder()
        .with_lockout(
            2,
            std::time::Duration::from_secs(600),
            std::time::Duration::from_secs(600),
        )
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    let api = app.api();
    app.sign_in(&api, "dave").await;
    let enrolled = app
        .post_json(
            &api,
            "/2fa/enroll",
            json!({"email": "dave@example.com", "country_code": "1", "phone_number": "5550100155"}),
        )
        .await;
    assert_eq!(enrolled.status(), 200);
    let authy_id = authy_id_for(&app, "5550100155").await.unwrap();
    let right = fresh_token(&app, authy_id).await;
    // A code that differs from the right one in its last digit.
    let last = right.chars().last().unwrap().to_digit(10).unwrap();
    let wrong = format!("{}{}", &right[..right.len() - 1], (last + 1) % 10);

    let first = app
        .post_json(&api, "/2fa/enroll/verify", json!({"token": wrong}))
        .await;
    assert_eq!(first.status(), 401);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["error"], "code_rejected");
    assert_eq!(first["attempts_left"], 1);
    let second = app
        .post_json(&api, "/2fa/enroll/verify", json!({"token": wrong}))
        .await;
    assert_eq!(second.status(), 429);
    assert_eq!(second.json::<Value>().await.unwrap()["error"], "locked_out");
    let locked = app
        .post_json(&api, "/2fa/enroll/verify", json!({"token": right}))
        .await;
    assert_eq!(
        locked.status(),
        429,
        "the lockout holds for the right code too"
    );
    assert_eq!(
        app.get_json(&api, "/2fa").await["locked_for"]
            .as_u64()
            .map(|s| s > 0),
        Some(true),
        "the challenge shares the lockout"
    );
    assert_eq!(
        enrollment_state(&app, "dave").await,
        Some(FactorState::Pending)
    );

    let browser = app.browser();
    app.sign_in(&browser, "dave").await;
    let page = app
        .post_form(&browser, "/2fa/enroll/verify", &[("token", "12ab56")])
        .await;
    assert_eq!(redirected_to(&page), "/2fa/enroll?error=invalid_input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_user_opts_in_and_is_challenged_from_the_next_sign_in() {
    let policy = Policy::builder()
        .with_call(ChannelMode::Forced)
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    let browser = app.browser();
    app.sign_in(&browser, "erin").await;
    assert_eq!(second_factor(&app, &browser).await, "not_required");
    assert_eq!(app.status(&browser, "/protected").await, 200);

    let enrolled = app
        .post_form(
            &browser,
            "/2fa/enroll",
            &[
                ("email", "erin@example.com"),
                ("country_code", "1"),
                ("phone_number", "(555) 010-0144"),
            ],
        )
        .await;
    assert_eq!(redirected_to(&enrolled), "/2fa/enroll?notice=enrolled");
    let authy_id = authy_id_for(&app, "5550100144").await.unwrap();
    // The session already passed; it may still ask for the confirming code.
    let sent = app.post_form(&browser, "/2fa/call", &[]).await;
    assert_eq!(redirected_to(&sent), "/2fa/enroll?notice=call_sent");
    let code = app.last_code(authy_id).await;
    let confirmed = app
        .post_form(&browser, "/2fa/enroll/verify", &[("token", &code)])
        .await;
    assert_eq!(redirected_to(&confirmed), "/2fa/enroll?notice=enabled");
    assert_eq!(
        enrollment_state(&app, "erin").await,
        Some(FactorState::Active)
    );
    let on = app.text(&browser, "/2fa/enroll?notice=enabled").await;
    assert!(on.contains("Two-factor sign-in is on"), "{on}");

    let again = app.browser();
    app.sign_in(&again, "erin").await;
    assert_eq!(second_factor(&app, &again).await, "challenge");
    assert_eq!(app.status(&again, "/protected").await, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mandatory_enrollment_counts_down_grace_logins_then_blocks_until_enrolled() {
    let app = TestApp::start(
        Policy::builder()
            .with_enrollment(mandatory(2, false))
            .build()
            .unwrap(),
    )
    .await;
    for left in [1, 0] {
        let browser = app.browser();
        app.sign_in(&browser, "frank").await;
        assert_eq!(
            second_factor(&app, &browser).await,
            "grace_login",
            "{left} left"
        );
        assert_eq!(app.status(&browser, "/protected").await, 200);
    }
    let browser = app.browser();
    app.sign_in(&browser, "frank").await;
    let page = browser.get(app.url("/2fa")).send().await.unwrap();
    assert_eq!(location(&page), "/2fa/enroll");
    let blocked = browser.get(app.url("/protected")).send().await.unwrap();
    assert_eq!(blocked.status(), 303, "no access until enrolled");
    let api = app.api();
    app.sign_in(&api, "frank").await;
    let answer = api.get(app.url("/2fa")).send().await.unwrap();
    assert_eq!(answer.status(), 403);
    assert_eq!(
        answer.json::<Value>().await.unwrap()["status"],
        "enrollment_required"
    );
    assert_eq!(app.status(&api, "/api/me").await, 401);

    app.post_json(
        &api,
        "/2fa/enroll",
        json!({"email": "frank@example.com", "country_code": "1", "phone_number": "5550100133"}),
    )
    .await;
    let authy_id = authy_id_for(&app, "5550100133").await.unwrap();
    let token = fresh_token(&app, authy_id).await;
    let done = app
        .post_json(&api, "/2fa/enroll/verify", json!({"token": token}))
        .await;
    assert_eq!(done.status(), 200);
    assert_eq!(app.status(&api, "/api/me").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_alone_cannot_swap_in_another_phone() {
    let app = TestApp::start(Policy::default()).await;
    let phone_of_attacker =
        json!({"email": "x@example.com", "country_code": "1", "phone_number": "5550100122"});
    app.enroll("gina", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "gina").await;
    let swap = app
        .post_json(&api, "/2fa/enroll", phone_of_attacker.clone())
        .await;
    assert_eq!(swap.status(), 409);
    assert_eq!(
        swap.json::<Value>().await.unwrap()["error"],
        "already_enabled"
    );

    // Registered and awaiting confirmation by the user in another session.
    app.enroll("hank", FactorState::Pending).await;
    let api = app.api();
    app.sign_in(&api, "hank").await;
    let step = app.get_json(&api, "/2fa/enroll").await;
    assert_eq!(step["status"], "confirm");
    assert_eq!(step["can_replace"], false);
    let swap = app.post_json(&api, "/2fa/enroll", phone_of_attacker).await;
    assert_eq!(swap.status(), 401);
    assert_eq!(
        swap.json::<Value>().await.unwrap()["error"],
        "second_factor_required"
    );
    assert_eq!(
        authy_id_for(&app, "5550100122").await,
        None,
        "nothing reached the provider"
    );
    assert_eq!(
        enrollment_state(&app, "gina").await,
        Some(FactorState::Active)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_may_correct_the_number_it_registered_before_confirming() {
    let policy = Policy::builder()
        .with_enrollment(mandatory(0, false))
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    let api = app.api();
    app.sign_in(&api, "ivan").await;
    for phone in ["5550100111", "5550100112"] {
        let answer = app
            .post_json(
                &api,
                "/2fa/enroll",
                json!({"email": "ivan@example.com", "country_code": "1", "phone_number": phone}),
            )
            .await;
        assert_eq!(answer.status(), 200, "{phone}");
    }
    assert_eq!(app.get_json(&api, "/2fa/enroll").await["can_replace"], true);
    let second = authy_id_for(&app, "5550100112").await.unwrap();
    let enrollment = app
        .store
        .first_factor(&tower_authy::store::UserId::new("ivan"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(enrollment.provider_ref, second.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_change_nothing() {
    let app = TestApp::start(Policy::default()).await;
    let authy_id = app.enroll("judy", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "judy").await;
    let token = fresh_token(&app, authy_id).await;
    let passed = app
        .post_json(&api, "/2fa/token", json!({"token": token}))
        .await;
    assert_eq!(passed.status(), 200);
    let paths = [
        (
            "/2fa/enroll",
            json!({"email": "j@example.com", "country_code": "1", "phone_number": "5550100100"}),
        ),
        ("/2fa/enroll/verify", json!({"token": "123456"})),
        ("/2fa/disable", json!({})),
        ("/2fa/devices/forget", json!({})),
    ];
    for (path, body) in paths {
        let answer = api
            .post(app.url(path))
            .header(ORIGIN, "http://evil.example")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 403, "{path}");
        assert_eq!(answer.json::<Value>().await.unwrap()["error"], "cross_site");
    }
    assert_eq!(
        enrollment_state(&app, "judy").await,
        Some(FactorState::Active)
    );
    assert_eq!(simulator_users(&app).await, [authy_id]);
    let generation = app
        .store
        .device_generation(&tower_authy::store::UserId::new("judy"))
        .await
        .unwrap();
    assert_eq!(generation, 0, "no device was forgotten");
}
