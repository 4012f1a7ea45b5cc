//! The quickstart's own pages over plain HTTP (no browser needed): what an
//! application author would copy from it.

use crate::app;
use crate::harness::serve_quickstart;
use crate::steps::PASSWORD;

/// The quickstart's own forms (sign-up, sign-in) refuse a POST that does
/// not show it comes from the site, by the crate's rule
/// (`tower_authy::origin::require_same_origin`): its copy of the rule let
/// a POST with neither `Origin` nor `Sec-Fetch-Site` through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_forms_refuse_posts_not_shown_same_origin() {
    let base = serve_quickstart(app::Provider::Local).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let host = base.trim_start_matches("http://").to_owned();
    let form = [("username", "kim"), ("password", PASSWORD)];
    for path in ["/login", "/register"] {
        let post = |headers: &[(&'static str, String)]| {
            let mut request = http.post(format!("{base}{path}")).form(&form);
            for (name, value) in headers {
                request = request.header(*name, value.clone());
            }
            request.send()
        };
        let status = |response: reqwest::Response| response.status().as_u16();
        let refused: [(&str, &[(&'static str, String)]); 3] = [
            ("no evidence", &[]),
            (
                "another origin",
                &[("origin", "http://evil.example".into())],
            ),
            (
                "a cross-site fetch",
                &[("sec-fetch-site", "cross-site".into())],
            ),
        ];
        for (what, headers) in refused {
            assert_eq!(status(post(headers).await.unwrap()), 403, "{path}: {what}");
        }
        assert_ne!(
            status(post(&[("origin", format!("http://{host}"))]).await.unwrap()),
            403,
            "{path}: this site"
        );
    }
}

/// The quickstart's sign-in keeps where the layer was taking the browser
/// (`/login?next=`) and hands it to the challenge, escaped on its page;
/// its copy ignored it and always went to `/protected`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_sign_in_keeps_next() {
    let base = serve_quickstart(app::Provider::Local).await;
    let browser = || {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap()
    };
    let registering = browser();
    let registered = registering
        .post(format!("{base}/register"))
        .header("origin", &base)
        .form(&[("username", "lou"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 303);

    let http = browser();
    let page = http
        .get(format!("{base}/login?next=%2Fprofile%3Ftab%3D1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("name=\"next\" value=\"/profile?tab=1\""),
        "{page}"
    );
    let hostile = http
        .get(format!("{base}/login?next=%22%3E%3Cscript%3E"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!hostile.contains("\"><script>"), "escaped: {hostile}");
    let signed_in = http
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[
            ("username", "lou"),
            ("password", PASSWORD),
            ("next", "/profile?tab=1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(
        signed_in.headers()["location"],
        "/2fa?next=%2Fprofile%3Ftab%3D1"
    );
}

/// A sign-up whose phone the provider refuses is rolled back; while the
/// provider is still answering, the name is reserved but nobody can sign in
/// to it (its copy created the account first, so a sign-in in that window
/// got a session that outlived the rollback).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_in_flight_cannot_be_signed_in_to() {
    use std::sync::Arc;
    use tokio::sync::Notify;
    // An Authy API that holds the registration until released, then
    // refuses the phone.
    let arrived = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let provider = {
        let (arrived, release) = (arrived.clone(), release.clone());
        axum::Router::new().fallback(move || {
            let (arrived, release) = (arrived.clone(), release.clone());
            async move {
                let released = release.notified();
                arrived.notify_one();
                released.await;
                (
                    axum::http::StatusCode::BAD_REQUEST,
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    r#"{"success":false,"message":"User was not valid","error_code":"60027","errors":{"message":"User was not valid"}}"#,
                )
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, provider).await });
    let base = serve_quickstart(app::Provider::AuthyApi { url }).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let registering = {
        let (http, base) = (http.clone(), base.clone());
        tokio::spawn(async move {
            let form = [
                ("username", "max"),
                ("password", PASSWORD),
                ("email", "max@example.com"),
                ("country_code", "1"),
                ("phone_number", "5551234567"),
            ];
            let answer = http
                .post(format!("{base}/register"))
                .header("origin", &base)
                .form(&form)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        })
    };
    let registration_at_the_provider = arrived.notified();
    registration_at_the_provider.await;
    let login = http
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[("username", "max"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "no session for an account being made");
    assert!(
        login
            .text()
            .await
            .unwrap()
            .contains("Wrong user name or password.")
    );

    release.notify_one();
    let (status, page) = registering.await.unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("could not be set up"), "{page}");
    let again = http
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[("username", "max"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200, "rolled back: no such user");
}

/// Sign-ins are limited per user name (a guesser of one account is slowed
/// to 5 tries in 5 minutes, then answered 429 with `Retry-After`, even with
/// the right password) and per client address (20 sign-ins and sign-ups a
/// minute, whatever the names); its copy let anyone try without end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_and_sign_ups_are_rate_limited() {
    let base = serve_quickstart(app::Provider::Local).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let answer = http
                .post(format!("{base}{path}"))
                .header("origin", &base)
                .form(&form)
                .send()
                .await
                .unwrap();
            let retry = answer
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (
                answer.status().as_u16(),
                retry,
                answer.text().await.unwrap(),
            )
        }
    };
    let sign_up = |name: &str| {
        vec![
            ("username", name.to_owned()),
            ("password", PASSWORD.to_owned()),
        ]
    };
    let sign_in = |name: &str, password: &str| {
        vec![
            ("username", name.to_owned()),
            ("password", password.to_owned()),
        ]
    };

    assert_eq!(post("/register", sign_up("nia")).await.0, 303);
    for _ in 0..5 {
        let (status, _, page) = post("/login", sign_in("nia", "not the password")).await;
        assert_eq!(status, 200);
        assert!(page.contains("Wrong user name or password."));
    }
    let (status, retry, page) = post("/login", sign_in("nia", PASSWORD)).await;
    assert_eq!(status, 429, "the sixth try of one name, right or wrong");
    assert!(retry.is_some_and(|s| s.parse::<u64>().unwrap() > 0));
    assert!(page.contains("Too many sign-in attempts"), "{page}");

    // Other names from the same client, up to the client's limit: the five
    // sign-ins above counted, the refused one did not.
    let mut statuses = Vec::new();
    for n in 0..16 {
        statuses.push(post("/login", sign_in(&format!("guess{n}"), "x")).await.0);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.last(),
        Some(&429),
        "the 21st attempt from one client"
    );
    // Sign-ups are counted apart from sign-ins.
    assert_eq!(post("/register", sign_up("ola")).await.0, 303);
}

/// Only wrong passwords count against a user name, so a stranger cannot
/// spend the owner's sign-ins by signing in themselves; and a name no
/// account can have (too long) is refused without becoming a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_wrong_passwords_count_against_a_name() {
    let base = serve_quickstart(app::Provider::Local).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |path: &str, name: &str, password: &str| {
        http.post(format!("{base}{path}"))
            .header("origin", &base)
            .form(&[("username", name), ("password", password)])
            .send()
    };
    assert_eq!(
        post("/register", "pam", PASSWORD).await.unwrap().status(),
        303
    );
    for _ in 0..6 {
        assert_eq!(post("/login", "pam", PASSWORD).await.unwrap().status(), 303);
    }
    let long = "x".repeat(10_000);
    let refused = post("/login", &long, "whatever").await.unwrap();
    assert_eq!(refused.status(), 200);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Wrong user name or password.")
    );
}
