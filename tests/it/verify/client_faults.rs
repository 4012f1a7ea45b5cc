//! The Verify client against hostile and broken servers: timeouts, refused
//! connections, HTML error pages, truncated JSON, rate limits, redirects,
//! oversized bodies, list pages pointing elsewhere; which calls are retried;
//! and where the credentials travel.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use tower_authy::authy::RetryPolicy;
use tower_authy::verify::{
    Channel, Client, ClientBuilder, Credentials, Identity, NewChallenge, NewWebhook, ServiceSid,
    StartVerification, TransportKind, VerificationStatus, VerifyError, codes,
};

use crate::common::serve;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "verifyFaultToken0123456789abcdef";
const SERVICE: &str = "VA0123456789abcdef0123456789abcdef";
const GUARD: Duration = Duration::from_secs(10);

fn builder(addr: SocketAddr) -> ClientBuilder {
    Client::builder(Credentials::auth_token(ACCOUNT, TOKEN))
        .with_base_url(&format!("http://{addr}/sim"))
        .with_timeout(Duration::from_secs(5))
        .with_retry(RetryPolicy::new(2, Duration::from_millis(1)))
}

fn client(addr: SocketAddr) -> Client {
    builder(addr).build().unwrap()
}

fn service() -> ServiceSid {
    SERVICE.parse().unwrap()
}

async fn guarded<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, call)
        .await
        .expect("the client's own timeout should have ended the call")
}

fn assert_no_secret(error: &VerifyError) {
    let shown = format!(
        "{error} | {error:?} | {:?}",
        std::error::Error::source(error)
    );
    assert!(!shown.contains(TOKEN), "secret leaked: {shown}");
}

/// A server answering every request with `status`, `headers` and `body`,
/// counting them.
async fn fixed(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            for (name, value) in headers {
                response
                    .headers_mut()
                    .insert(*name, header::HeaderValue::from_static(value));
            }
            response
        }
    });
    (serve(router).await, hits)
}

fn verification_json(status: &str) -> Value {
    json!({
        "sid": "VE0123456789abcdef0123456789abcdef", "service_sid": SERVICE,
        "account_sid": ACCOUNT, "to": "+15017122661", "channel": "sms",
        "status": status, "valid": status == "approved",
        "send_code_attempts": [{"time": "2015-07-30T20:00:00Z", "channel": "SMS", "attempt_sid": "VL0123456789abcdef0123456789abcdef"}],
        "date_created": "2015-07-30T20:00:00Z", "date_updated": "2015-07-30T20:00:00Z",
    })
}

#[tokio::test]
async fn a_server_that_never_answers_hits_the_timeout_once() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
        }
    });
    let addr = serve(router).await;
    let client = builder(addr)
        .with_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = guarded(client.services().fetch(&service()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_temporary());
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "a timed-out read is not retried"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error_without_the_secret() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = guarded(
        client(addr)
            .service(&service())
            .verifications()
            .check_to("+15017122661", "123456"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    let shown = format!("{err} | {err:?}");
    assert!(
        !shown.contains("123456") && !shown.contains("VerificationCheck"),
        "{shown}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn html_pages_and_truncated_json_are_decode_errors() {
    for status in [500, 502] {
        let (addr, hits) = fixed(
            status,
            &[("content-type", "text/html")],
            "<html>Bad Gateway</html>",
        )
        .await;
        let err = guarded(client(addr).services().fetch(&service()))
            .await
            .unwrap_err();
        match &err {
            VerifyError::Decode {
                status: got, body, ..
            } => {
                assert_eq!(got.as_u16(), status);
                assert!(body.contains("Bad Gateway"));
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!("unexpected answer from the Verify API: HTTP {status} with a non-JSON body")
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1, "only 503 is retried");
    }
    let (addr, _) = fixed(200, &[], r#"{"sid": "VE01"#).await;
    let err = guarded(
        client(addr)
            .service(&service())
            .verifications()
            .fetch(&"VE0123456789abcdef0123456789abcdef".parse().unwrap()),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("truncated JSON"), "{err}");
    // A 200 that is not a verification at all.
    let (addr, _) = fixed(200, &[], r#"{"hello": "world"}"#).await;
    let err = guarded(
        client(addr)
            .service(&service())
            .verifications()
            .start(&StartVerification::new("+15017122661", Channel::Sms)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, VerifyError::Decode { .. }), "{err:?}");
}

/// What a decode error keeps of a body: nothing of a success (it may hold
/// a seed), a bounded head of a failure, and never the credentials, plain
/// or as the Base64 of the Basic header.
#[tokio::test]
async fn decode_errors_keep_no_secret_and_a_bounded_body() {
    let seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let body: &'static str = Box::leak(
        format!(r#"{{"sid": "YF01", "binding": {{"secret": "{seed}"}}"#).into_boxed_str(),
    );
    let (addr, _) = fixed(201, &[], body).await;
    let err = guarded(client(addr).services().fetch(&service()))
        .await
        .unwrap_err();
    let shown = format!("{err} | {err:?}");
    assert!(matches!(err, VerifyError::Decode { .. }), "{shown}");
    assert!(
        !shown.contains(seed),
        "a success's body is not kept: {shown}"
    );

    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{ACCOUNT}:{TOKEN}"),
    );
    let echoed: &'static str = Box::leak(
        format!("<p>Authorization: Basic {basic}</p>{}", "x".repeat(10_000)).into_boxed_str(),
    );
    let (addr, _) = fixed(500, &[("content-type", "text/html")], echoed).await;
    let err = guarded(client(addr).services().fetch(&service()))
        .await
        .unwrap_err();
    let VerifyError::Decode { body, .. } = &err else {
        panic!("expected a decode error, got {err:?}");
    };
    assert!(!body.contains(&basic), "{body}");
    assert!(body.contains("Basic [redacted]"), "{body}");
    assert!(body.len() <= 4096 + 64, "kept {} bytes", body.len());
    assert_no_secret(&err);
}

#[tokio::test]
async fn reads_retry_after_503_and_sends_never_do() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
            } else {
                axum::Json(verification_json("pending")).into_response()
            }
        }
    });
    let addr = serve(router).await;
    let sid = "VE0123456789abcdef0123456789abcdef".parse().unwrap();
    let fetched = guarded(client(addr).service(&service()).verifications().fetch(&sid))
        .await
        .unwrap();
    assert_eq!(fetched.status, VerificationStatus::Pending);
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    let (addr, hits) = fixed(503, &[], "busy").await;
    let err = guarded(
        client(addr)
            .service(&service())
            .verifications()
            .start(&StartVerification::new("+15017122661", Channel::Sms)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a send is never retried");
    let err = guarded(
        client(addr)
            .service(&service())
            .verifications()
            .check_to("+15017122661", "123456"),
    )
    .await
    .unwrap_err();
    assert!(err.is_temporary());
    assert_eq!(hits.load(Ordering::SeqCst), 2, "a check is never retried");
}

#[tokio::test]
async fn a_rate_limit_is_an_api_error_with_its_code_and_retry_after() {
    let (addr, hits) = fixed(
        429,
        &[("retry-after", "30"), ("content-type", "application/json")],
        r#"{"code":60203,"message":"Max send attempts reached","more_info":"https://www.twilio.com/docs/errors/60203","status":429}"#,
    )
    .await;
    let err = guarded(
        client(addr)
            .service(&service())
            .verifications()
            .start(&StartVerification::new("+15017122661", Channel::Call)),
    )
    .await
    .unwrap_err();
    match &err {
        VerifyError::Api {
            code,
            retry_after,
            more_info,
            ..
        } => {
            assert_eq!(*code, Some(codes::MAX_SEND_ATTEMPTS));
            assert_eq!(*retry_after, Some(Duration::from_secs(30)));
            assert_eq!(
                more_info.as_deref(),
                Some("https://www.twilio.com/docs/errors/60203")
            );
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert!(err.is_rate_limited() && err.is_temporary());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_echoed_secret_is_scrubbed_from_errors() {
    let body: &'static str = Box::leak(
        format!(r#"{{"code":20003,"message":"Authenticate {TOKEN}","status":401}}"#)
            .into_boxed_str(),
    );
    let (addr, _) = fixed(401, &[], body).await;
    let err = guarded(client(addr).services().list()).await.unwrap_err();
    assert_eq!(err.code(), Some(codes::AUTHENTICATE));
    assert!(err.to_string().contains("[redacted]"), "{err}");
    assert_no_secret(&err);
    let page: &'static str = Box::leak(format!("<html>{TOKEN}</html>").into_boxed_str());
    let (addr, _) = fixed(502, &[], page).await;
    let err = guarded(client(addr).services().list()).await.unwrap_err();
    assert_no_secret(&err);
}

#[tokio::test]
async fn redirects_are_not_followed_and_the_credentials_stay_home() {
    let elsewhere_hits = Arc::new(Mutex::new(Vec::<Option<String>>::new()));
    let log = elsewhere_hits.clone();
    let elsewhere = serve(Router::new().fallback(move |headers: HeaderMap| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(
                headers
                    .get(header::AUTHORIZATION)
                    .map(|v| v.to_str().unwrap().to_owned()),
            );
            axum::Json(verification_json("approved"))
        }
    }))
    .await;
    let target = format!("http://{elsewhere}/v2/steal");
    let redirecting =
        serve(
            Router::new().fallback(move || {
                let target = target.clone();
                async move {
                    (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response()
                }
            }),
        )
        .await;
    let err = guarded(
        client(redirecting)
            .service(&service())
            .verifications()
            .check_to("+15017122661", "123456"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.status(),
        Some(StatusCode::TEMPORARY_REDIRECT),
        "{err:?}"
    );
    assert!(
        elsewhere_hits.lock().unwrap().is_empty(),
        "the redirect was followed"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let big: &'static str =
        Box::leak(format!("{{\"pad\": \"{}\"}}", "x".repeat(2 * 1024 * 1024)).into_boxed_str());
    let (addr, _) = fixed(200, &[], big).await;
    let err = guarded(client(addr).services().fetch(&service()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("over 1 MiB"), "{err}");
}

#[tokio::test]
async fn a_next_page_outside_the_api_is_not_followed() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            axum::Json(json!({
                "services": [],
                "meta": {"key": "services", "next_page_url": "http://evil.example/v2/Services?Page=1"},
            }))
        }
    });
    let addr = serve(router).await;
    let err = guarded(client(addr).services().list()).await.unwrap_err();
    assert!(err.to_string().contains("outside"), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// A server whose list has `pages` pages, each naming the next within the
/// API but the last.
async fn paged(pages: usize) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            let page = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let next = (page < pages)
                .then(|| format!("http://{addr}/sim/v2/Services?Page={page}&PageSize=50"));
            axum::Json(json!({
                "services": [],
                "meta": {"key": "services", "next_page_url": next},
            }))
        }
    });
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, hits)
}

/// A list of exactly the most pages followed is whole; one more is refused.
#[tokio::test]
async fn a_list_is_followed_up_to_a_hundred_pages() {
    let (addr, hits) = paged(100).await;
    let listed = guarded(client(addr).services().list()).await;
    assert!(listed.is_ok(), "{listed:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 100);
    let (addr, hits) = paged(101).await;
    let err = guarded(client(addr).services().list()).await.unwrap_err();
    assert!(err.to_string().contains("longer than 100 pages"), "{err}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        100,
        "the 101st is not asked for"
    );
}

/// One request as a server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    uri: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: String,
}

async fn recording(answer: Value) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let router = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            let answer = answer.clone();
            async move {
                let header = |name| {
                    headers
                        .get(name)
                        .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
                };
                log.lock().unwrap().push(Seen {
                    method,
                    uri: uri.to_string(),
                    authorization: header(header::AUTHORIZATION),
                    content_type: header(header::CONTENT_TYPE),
                    body: String::from_utf8(body.to_vec()).unwrap(),
                });
                axum::Json(answer).into_response()
            }
        },
    );
    (serve(router).await, seen)
}

#[tokio::test]
async fn requests_are_forms_with_basic_credentials_and_escaped_paths() {
    let (addr, seen) = recording(verification_json("pending")).await;
    let check = guarded(
        client(addr)
            .service(&service())
            .verifications()
            .check_to("+15017122661", "654321"),
    )
    .await
    .unwrap();
    assert!(!check.is_approved(), "a pending check is not a pass");
    let request = seen.lock().unwrap()[0].clone();
    assert_eq!(request.method, Method::POST);
    assert_eq!(
        request.uri,
        format!("/sim/v2/Services/{SERVICE}/VerificationCheck")
    );
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let expected = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{ACCOUNT}:{TOKEN}"),
    );
    assert_eq!(request.authorization, Some(format!("Basic {expected}")));
    assert_eq!(request.body, "To=%2B15017122661&Code=654321");

    // Repeated keys for arrays, JSON text for detail lines.
    let (addr, seen) = recording(json!({})).await;
    let webhook = NewWebhook::challenges("app", "https://app.example.com/2fa/verify/callback");
    let _ = guarded(client(addr).service(&service()).webhooks().create(&webhook)).await;
    let identity: Identity = "0123456789abcdef0123456789abcdef".parse().unwrap();
    let push = NewChallenge::push(
        "YF0123456789abcdef0123456789abcdef".parse().unwrap(),
        "Sign in?",
    )
    .field("IP", "127.0.0.1");
    let _ = guarded(
        client(addr)
            .service(&service())
            .challenges(&identity)
            .create(&push),
    )
    .await;
    let seen = seen.lock().unwrap();
    assert!(
        seen[0]
            .body
            .contains("EventTypes=challenge.approved&EventTypes=challenge.denied"),
        "{}",
        seen[0].body
    );
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&seen[1].body).unwrap();
    assert!(pairs.contains(&(
        "Details.Fields".into(),
        r#"{"label":"IP","value":"127.0.0.1"}"#.into()
    )));
    assert!(
        seen[1]
            .uri
            .ends_with(&format!("/Entities/{identity}/Challenges"))
    );
}

#[tokio::test]
async fn bad_inputs_are_refused_before_anything_is_sent() {
    let (addr, seen) = recording(json!({})).await;
    let client = client(addr);
    let sid = service();
    let verifications = client.service(&sid).verifications();
    for result in [
        guarded(verifications.start(&StartVerification::new("5017122661", Channel::Sms))).await,
        guarded(verifications.start(&StartVerification::new("+15017122661", Channel::Email))).await,
    ] {
        assert!(
            matches!(result, Err(VerifyError::InvalidInput(_))),
            "{result:?}"
        );
    }
    let check = guarded(verifications.check_to("+15017122661", "12")).await;
    assert!(matches!(check, Err(VerifyError::InvalidInput(_))));
    assert!("VA../../etc".parse::<ServiceSid>().is_err());
    assert!(seen.lock().unwrap().is_empty());
}
