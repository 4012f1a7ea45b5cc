//! The Authy client against hostile and broken servers: timeouts, refused
//! connections, HTML error pages, truncated JSON, rate limits, redirects,
//! oversized bodies; which calls are retried; and where the key travels.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_authy::authy::{
    Activity, ActivityType, ApprovalUuid, AuthyError, AuthyId, Client, NewApprovalRequest, NewUser,
    PhoneNumber, QrCodeOptions, RetryPolicy, SendOptions, StartVerification, Token, TransportKind,
    VerificationCode, Via, codes,
};

use crate::common::serve;

const KEY: &str = "faultTestKey0123456789abcdefABCD";
const ID: AuthyId = AuthyId(1635);
/// Guards every call so a broken timeout fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(10);

fn client(addr: SocketAddr) -> Client {
    builder(addr).build().expect("client")
}

fn builder(addr: SocketAddr) -> tower_authy::authy::ClientBuilder {
    Client::builder(KEY)
        .base_url(&format!("http://{addr}/prefix"))
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::new(2, Duration::from_millis(1)))
}

async fn guarded<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, call)
        .await
        .expect("the client's own timeout should have ended the call")
}

/// Neither `Display` nor `Debug` of an error may contain the key.
fn assert_no_key(error: &AuthyError) {
    let shown = format!(
        "{error} | {error:?} | {:?}",
        std::error::Error::source(error)
    );
    assert!(!shown.contains(KEY), "key leaked: {shown}");
}

fn phone() -> PhoneNumber {
    PhoneNumber::new(1, "555-010-0199").unwrap()
}

/// A server answering every request with `status` and `body`, counting them.
async fn fixed(
    status: u16,
    content_type: &'static str,
    body: &'static str,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            (
                StatusCode::from_u16(status).unwrap(),
                [(header::CONTENT_TYPE, content_type)],
                body,
            )
        }
    });
    (serve(router).await, hits)
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
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let err = guarded(client.apps().details()).await.unwrap_err();
    assert!(
        matches!(
            err,
            AuthyError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_temporary());
    assert_no_key(&err);
    // A timed-out read has spent its budget: not retried.
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = client(addr);

    let err = guarded(client.apps().details()).await.unwrap_err();
    assert!(
        matches!(
            err,
            AuthyError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert_no_key(&err);

    let token = Token::parse("0012345").unwrap();
    let err = guarded(client.tokens().verify(ID, &token, None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AuthyError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    // The verify URL holds the token: reqwest's error must not carry it.
    let shown = format!("{err} | {err:?}");
    assert!(!shown.contains("0012345"), "token leaked: {shown}");
    assert!(!shown.contains("/verify/"), "URL leaked: {shown}");
    assert_no_key(&err);
}

#[tokio::test]
async fn an_html_error_page_is_a_decode_error_that_keeps_the_body() {
    for status in [500, 502] {
        let (addr, hits) =
            fixed(status, "text/html", "<html><body>Bad Gateway</body></html>").await;
        let err = guarded(client(addr).users().status(ID)).await.unwrap_err();
        match &err {
            AuthyError::Decode {
                status: got, body, ..
            } => {
                assert_eq!(got.as_u16(), status);
                assert!(body.contains("Bad Gateway"), "{body}");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!("unexpected answer from the Authy API: HTTP {status} with a non-JSON body")
        );
        // Only 503 is retried.
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_no_key(&err);
    }
}

#[tokio::test]
async fn a_read_is_retried_after_503_and_then_succeeds() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
            } else {
                axum::Json(json!({
                    "app": {"name": "Sample", "app_id": 1, "sms_enabled": true},
                    "message": "Application information.",
                    "success": true
                }))
                .into_response()
            }
        }
    });
    let addr = serve(router).await;

    let app = guarded(client(addr).apps().details()).await.unwrap();
    assert_eq!(app.name, "Sample");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_read_gives_up_after_its_retries() {
    let (addr, hits) = fixed(503, "text/plain", "busy").await;
    let uuid = ApprovalUuid::parse("ab-12").unwrap();
    let err = guarded(client(addr).onetouch().get(&uuid))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(err.is_temporary());
    // The first attempt and two retries.
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn gets_with_side_effects_are_not_retried_after_503() {
    let (addr, hits) = fixed(
        503,
        "application/json",
        r#"{"message":"Service unavailable","success":false}"#,
    )
    .await;
    let client = client(addr);
    let token = Token::parse("123456").unwrap();
    let code = VerificationCode::parse("1234").unwrap();

    let errors = [
        guarded(client.tokens().sms(ID, &SendOptions::new()))
            .await
            .map(drop),
        guarded(client.tokens().call(ID, &SendOptions::new()))
            .await
            .map(drop),
        guarded(client.tokens().verify(ID, &token, None))
            .await
            .map(drop),
        guarded(client.phones().check_verification(&phone(), &code))
            .await
            .map(drop),
    ];
    for err in errors {
        let err = err.unwrap_err();
        assert_eq!(
            err.status(),
            Some(StatusCode::SERVICE_UNAVAILABLE),
            "{err:?}"
        );
    }
    // One request per call: a code is never sent twice.
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn posts_are_never_retried() {
    let (addr, hits) = fixed(503, "text/plain", "busy").await;
    let client = client(addr);
    let user = NewUser::new("ada@example.com", phone());
    assert!(guarded(client.users().register(&user)).await.is_err());
    let request = NewApprovalRequest::new("Sign in");
    assert!(
        guarded(client.onetouch().create(ID, &request))
            .await
            .is_err()
    );
    let start = StartVerification::new(Via::Sms, phone());
    assert!(
        guarded(client.phones().start_verification(&start))
            .await
            .is_err()
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn truncated_json_is_a_decode_error() {
    let (addr, _) = fixed(
        200,
        "application/json",
        r#"{"success":true,"message":"SMS tok"#,
    )
    .await;
    let err = guarded(client(addr).tokens().sms(ID, &SendOptions::new()))
        .await
        .unwrap_err();
    match &err {
        AuthyError::Decode {
            status,
            reason,
            body,
            ..
        } => {
            assert_eq!(*status, StatusCode::OK);
            assert!(reason.contains("truncated JSON"), "{reason}");
            assert_eq!(body, r#"{"success":true,"message":"SMS tok"#);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_rate_limit_is_an_api_error_with_its_code() {
    let (addr, hits) = fixed(
        429,
        "application/json",
        r#"{"message":"Too many requests","success":false,"errors":{"message":"Too many requests"},"error_code":"60003"}"#,
    )
    .await;
    let err = guarded(client(addr).apps().stats()).await.unwrap_err();
    match &err {
        AuthyError::Api {
            status,
            code,
            message,
            ..
        } => {
            assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(code.as_deref(), Some(codes::RATE_LIMITED));
            assert_eq!(message, "Too many requests");
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert!(err.is_rate_limited());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// A verify endpoint answering `status` and `body`, recording the request
/// URI.
async fn verify_server(status: u16, body: &'static str) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let router = Router::new().fallback(move |uri: Uri| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(uri.to_string());
            (
                StatusCode::from_u16(status).unwrap(),
                [(header::CONTENT_TYPE, "text/html")],
                body,
            )
        }
    });
    (serve(router).await, seen)
}

#[tokio::test]
async fn verify_passes_only_on_200_with_is_valid() {
    let token = Token::parse("0012345").unwrap();
    // The real answer, served as text/html as Authy has done.
    let (addr, seen) = verify_server(
        200,
        r#"{"message":"Token is valid.","token":"is valid","success":"true","device":{"id":null,"os_type":"sms","registration_date":1500648405}}"#,
    )
    .await;
    let verified = guarded(client(addr).tokens().verify(ID, &token, Some("login")))
        .await
        .unwrap();
    assert_eq!(verified.message, "Token is valid.");
    assert_eq!(verified.device.unwrap().os_type.as_deref(), Some("sms"));
    let uri = seen.lock().unwrap()[0].clone();
    assert!(
        uri.starts_with("/prefix/protected/json/verify/0012345/1635?"),
        "{uri}"
    );
    assert!(uri.contains("force=true"), "{uri}");
    assert!(uri.contains("action=login"), "{uri}");

    for fake in [
        r#"{"message":"Token is valid.","success":true}"#,
        r#"{"message":"Token is valid.","token":"is not valid","success":"true"}"#,
        r#"{"message":"Token is valid.","token":"is valid","success":false}"#,
        r#"{"message":"Token is valid.","token":"is valid"}"#,
        r#"{"token":"is valid","success":"yes"}"#,
        "is valid",
    ] {
        let (addr, _) = verify_server(200, fake).await;
        let result = guarded(client(addr).tokens().verify(ID, &token, None)).await;
        assert!(result.is_err(), "accepted {fake}");
    }
}

#[tokio::test]
async fn a_wrong_token_is_rejected_by_code() {
    let token = Token::parse("123456").unwrap();
    for code in ["60020", "60019"] {
        let body: &'static str = if code == "60020" {
            r#"{"message":"Token is invalid","token":"is invalid","success":false,"errors":{"message":"Token is invalid"},"error_code":"60020"}"#
        } else {
            r#"{"message":"Token was used recently","success":false,"errors":{"message":"Token was used recently"},"error_code":"60019"}"#
        };
        let (addr, seen) = verify_server(401, body).await;
        let err = guarded(client(addr).tokens().verify(ID, &token, None))
            .await
            .unwrap_err();
        assert!(err.is_token_rejected(), "{err:?}");
        assert_eq!(err.code(), Some(code));
        assert!(!err.is_temporary());
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
    // An invalid API key is not a wrong token.
    let (addr, _) = verify_server(401, r#"{"message":"Invalid API key","success":false,"errors":{"message":"Invalid API key"},"error_code":"60001"}"#).await;
    let err = guarded(client(addr).tokens().verify(ID, &token, None))
        .await
        .unwrap_err();
    assert!(err.is_invalid_api_key());
    assert!(!err.is_token_rejected());
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let (addr, hits) = fixed(
        200,
        "application/json",
        r#"{"success":true,"message":"ok"}"#,
    )
    .await;
    let client = client(addr);

    assert_eq!(Token::parse("12ab56").unwrap_err().field(), "token");
    assert_eq!(Token::parse("12345").unwrap_err().field(), "token");

    let long = "x".repeat(256);
    let err = guarded(
        client
            .tokens()
            .sms(ID, &SendOptions::new().action(long.clone())),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, AuthyError::InvalidInput(e) if e.field() == "action"),
        "{err:?}"
    );
    let token = Token::parse("123456").unwrap();
    let err = guarded(client.tokens().verify(ID, &token, Some("")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AuthyError::InvalidInput(e) if e.field() == "action"),
        "{err:?}"
    );

    let err = guarded(
        client
            .onetouch()
            .create(ID, &NewApprovalRequest::new("m".repeat(201))),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, AuthyError::InvalidInput(e) if e.field() == "message"),
        "{err:?}"
    );
    let err = guarded(client.onetouch().create(ID, &NewApprovalRequest::new("")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AuthyError::InvalidInput(e) if e.field() == "message"),
        "{err:?}"
    );

    let start = StartVerification::new(Via::Sms, phone()).code_length(3);
    let err = guarded(client.phones().start_verification(&start))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AuthyError::InvalidInput(e) if e.field() == "code_length"),
        "{err:?}"
    );

    let err = guarded(
        client
            .users()
            .register(&NewUser::new("not-an-email", phone())),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, AuthyError::InvalidInput(e) if e.field() == "email"),
        "{err:?}"
    );
    let err = guarded(client.users().update_email(ID, ""))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AuthyError::InvalidInput(e) if e.field() == "email"),
        "{err:?}"
    );

    assert!(PhoneNumber::new(0, "5550100199").is_err());
    assert!(PhoneNumber::new(1, "555-CALL-NOW").is_err());
    assert!(ApprovalUuid::parse("../users/new").is_err());

    assert_eq!(hits.load(Ordering::SeqCst), 0, "a request was sent");
}

/// One request as a server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    uri: String,
    key_header: Option<String>,
    user_agent: String,
    content_type: Option<String>,
    body: String,
}

/// A server that records every request and answers with a body every typed
/// response of the client can read.
async fn recording_server() -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let router = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let text = |name: header::HeaderName| {
                    headers
                        .get(name)
                        .map(|v| v.to_str().unwrap_or("<binary>").to_owned())
                };
                log.lock().unwrap().push(Seen {
                    method,
                    uri: uri.to_string(),
                    key_header: text(header::HeaderName::from_static("x-authy-api-key")),
                    user_agent: text(header::USER_AGENT).unwrap_or_default(),
                    content_type: text(header::CONTENT_TYPE),
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                let body = if uri.path().ends_with("/verification/status") {
                    json!({"message": "Phone Verification status.", "status": "pending",
                       "seconds_to_expire": 598, "success": true})
                } else {
                    json!({
                        "success": true, "message": "ok", "token": "is valid",
                        "user": {"id": 1635},
                        "status": {"authy_id": 1635, "devices": ["sms"]},
                        "cellphone": "+1-XXX-XXX-0199", "email": "ada@example.com",
                        "qr_code": "https://example.com/qr.png",
                        "app": {"name": "Sample"}, "stats": [],
                        "uuid": "b8ebcd40-1234", "type": "voip",
                        "approval_request": {"uuid": "ab-12", "status": "pending"}
                    })
                };
                axum::Json(body).into_response()
            }
        },
    );
    (serve(router).await, seen)
}

#[tokio::test]
async fn every_endpoint_sends_the_key_in_its_header_only_and_the_right_request() {
    let (addr, seen) = recording_server().await;
    let client = client(addr);
    let users = client.users().with_user_ip("203.0.113.9".parse().unwrap());
    let token = Token::parse("0012345").unwrap();
    let code = VerificationCode::parse("0421").unwrap();
    let uuid = ApprovalUuid::parse("ab-12").unwrap();

    let user = NewUser::new("ada@example.com", phone()).send_install_link_via_sms(false);
    assert_eq!(guarded(users.register(&user)).await.unwrap().id, ID);
    assert_eq!(guarded(users.status(ID)).await.unwrap().authy_id, ID);
    guarded(users.remove(ID)).await.unwrap();
    let activity = Activity::new(ActivityType::PasswordReset).data("by", "support");
    guarded(users.register_activity(ID, &activity))
        .await
        .unwrap();
    let qr = QrCodeOptions::new().label("Example").qr_size(300);
    guarded(users.qr_code(ID, &qr)).await.unwrap();
    guarded(users.update_email(ID, "ada@example.org"))
        .await
        .unwrap();
    guarded(users.registration_status("user-7")).await.unwrap();

    let options = SendOptions::new().force(true).action("login").locale("fr");
    guarded(client.tokens().sms(ID, &options)).await.unwrap();
    guarded(client.tokens().call(ID, &SendOptions::new()))
        .await
        .unwrap();
    guarded(client.tokens().email(ID)).await.unwrap();
    guarded(client.tokens().verify(ID, &token, None))
        .await
        .unwrap();

    guarded(client.apps().details()).await.unwrap();
    guarded(client.apps().stats()).await.unwrap();

    let start = StartVerification::new(Via::Call, phone()).code_length(6);
    guarded(client.phones().start_verification(&start))
        .await
        .unwrap();
    guarded(client.phones().check_verification(&phone(), &code))
        .await
        .unwrap();
    guarded(client.phones().verification_status_by_uuid("b8ebcd40-1234"))
        .await
        .unwrap();
    guarded(client.phones().verification_status_by_phone(&phone()))
        .await
        .unwrap();
    guarded(client.phones().info(&phone())).await.unwrap();

    let request = NewApprovalRequest::new("Sign in").detail("User", "ada");
    assert_eq!(
        guarded(client.onetouch().create(ID, &request))
            .await
            .unwrap(),
        uuid
    );
    guarded(client.onetouch().get(&uuid)).await.unwrap();

    let seen = seen.lock().unwrap().clone();
    for request in &seen {
        assert_eq!(request.key_header.as_deref(), Some(KEY), "{request:?}");
        assert!(!request.uri.contains(KEY), "key in URL: {request:?}");
        assert!(!request.uri.contains("api_key"), "key in URL: {request:?}");
        assert!(!request.body.contains(KEY), "key in body: {request:?}");
        assert!(
            request.user_agent.starts_with("tower-authy/"),
            "{request:?}"
        );
        if request.method == Method::POST {
            assert_eq!(
                request.content_type.as_deref(),
                Some("application/json"),
                "{request:?}"
            );
            assert!(serde_json::from_str::<serde_json::Value>(&request.body).is_ok());
        } else {
            assert!(request.body.is_empty(), "{request:?}");
        }
    }

    let p = "/prefix/protected/json";
    let expected: Vec<(Method, String)> = vec![
        (Method::POST, format!("{p}/users/new")),
        (
            Method::GET,
            format!("{p}/users/1635/status?user_ip=203.0.113.9"),
        ),
        (Method::POST, format!("{p}/users/1635/remove")),
        (Method::POST, format!("{p}/users/1635/register_activity")),
        (Method::POST, format!("{p}/users/1635/secret")),
        (Method::POST, format!("{p}/users/1635/update")),
        (
            Method::GET,
            format!("{p}/registrations/status?custom_user_id=user-7"),
        ),
        (
            Method::GET,
            format!("{p}/sms/1635?action=login&force=true&locale=fr"),
        ),
        (Method::GET, format!("{p}/call/1635?force=false")),
        (Method::POST, format!("{p}/email/1635")),
        (Method::GET, format!("{p}/verify/0012345/1635?force=true")),
        (Method::GET, format!("{p}/app/details")),
        (Method::GET, format!("{p}/app/stats")),
        (Method::POST, format!("{p}/phones/verification/start")),
        (
            Method::GET,
            format!(
                "{p}/phones/verification/check?country_code=1&phone_number=555-010-0199&verification_code=0421"
            ),
        ),
        (
            Method::GET,
            format!("{p}/phones/verification/status?uuid=b8ebcd40-1234"),
        ),
        (
            Method::GET,
            format!("{p}/phones/verification/status?country_code=1&phone_number=555-010-0199"),
        ),
        (
            Method::GET,
            format!("{p}/phones/info?country_code=1&phone_number=555-010-0199"),
        ),
        (
            Method::POST,
            "/prefix/onetouch/json/users/1635/approval_requests".to_owned(),
        ),
        (
            Method::GET,
            "/prefix/onetouch/json/approval_requests/ab-12".to_owned(),
        ),
    ];
    let got: Vec<(Method, String)> = seen
        .iter()
        .map(|s| (s.method.clone(), s.uri.clone()))
        .collect();
    assert_eq!(got, expected);

    let body = |i: usize| serde_json::from_str::<serde_json::Value>(&seen[i].body).unwrap();
    assert_eq!(
        body(0),
        json!({"user": {"email": "ada@example.com", "cellphone": "555-010-0199", "country_code": 1},
               "send_install_link_via_sms": false})
    );
    assert_eq!(body(2), json!({"user_ip": "203.0.113.9"}));
    assert_eq!(
        body(3),
        json!({"type": "password_reset", "user_ip": "203.0.113.9", "data": {"by": "support"}})
    );
    assert_eq!(body(4), json!({"label": "Example", "qr_size": 300}));
    assert_eq!(body(5), json!({"email": "ada@example.org"}));
    assert_eq!(
        body(13),
        json!({"via": "call", "country_code": 1, "phone_number": "555-010-0199", "code_length": 6})
    );
    assert_eq!(
        body(18),
        json!({"message": "Sign in", "details": {"User": "ada"}})
    );
}

#[tokio::test]
async fn an_echoed_key_never_reaches_an_error() {
    let router = Router::new().fallback(|headers: HeaderMap| async move {
        let key = headers
            .get("x-authy-api-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if key.is_empty() {
            return (StatusCode::BAD_REQUEST, "no key").into_response();
        }
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({
                "message": format!("Invalid API key {key}"),
                "errors": {"message": "Invalid API key", "api_key": key},
                "success": false, "error_code": "60001"
            })),
        )
            .into_response()
    });
    let addr = serve(router).await;
    let err = guarded(client(addr).apps().details()).await.unwrap_err();
    assert!(err.is_invalid_api_key(), "{err:?}");
    assert_no_key(&err);

    let router = Router::new().fallback(|headers: HeaderMap| async move {
        let key = headers.get("x-authy-api-key").cloned();
        let key = key
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        (
            StatusCode::BAD_GATEWAY,
            format!("<pre>X-Authy-API-Key: {key}</pre>"),
        )
            .into_response()
    });
    let addr = serve(router).await;
    let err = guarded(client(addr).users().status(ID)).await.unwrap_err();
    assert!(
        matches!(&err, AuthyError::Decode { body, .. } if body.contains("[redacted]")),
        "{err:?}"
    );
    assert_no_key(&err);
}

#[tokio::test]
async fn redirects_are_not_followed_so_the_key_stays_home() {
    let (elsewhere, elsewhere_hits) = fixed(200, "application/json", r#"{"success":true}"#).await;
    let router = Router::new().fallback(move || async move {
        Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header(header::LOCATION, format!("http://{elsewhere}/steal"))
            .body(axum::body::Body::empty())
            .unwrap()
    });
    let addr = serve(router).await;
    let err = guarded(client(addr).apps().details()).await.unwrap_err();
    assert_eq!(
        err.status(),
        Some(StatusCode::TEMPORARY_REDIRECT),
        "{err:?}"
    );
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let router = Router::new().fallback(|| async {
        let padding = "x".repeat(2 * 1024 * 1024);
        format!(r#"{{"success":true,"message":"{padding}"}}"#)
    });
    let addr = serve(router).await;
    let err = guarded(client(addr).apps().details()).await.unwrap_err();
    assert!(
        matches!(&err, AuthyError::Decode { reason, .. } if reason.contains("over 1 MiB")),
        "{err:?}"
    );
}

/// Collects formatted trace output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_span_names_the_call_and_never_the_key_or_the_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("tower_authy=trace,reqwest=trace,hyper_util=trace")
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // This test's runtime is single-threaded: the guard covers the client.
    let _guard = tracing::subscriber::set_default(subscriber);

    let (addr, _) = verify_server(
        401,
        r#"{"message":"Token is invalid","token":"is invalid","success":false,"errors":{"message":"Token is invalid"},"error_code":"60020"}"#,
    )
    .await;
    let token = Token::parse("0098765").unwrap();
    let err = guarded(client(addr).tokens().verify(ID, &token, None))
        .await
        .unwrap_err();
    assert!(err.is_token_rejected());

    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(output.contains("authy.request"), "{output}");
    assert!(output.contains(r#"endpoint="verify""#), "{output}");
    assert!(output.contains("authy_id=1635"), "{output}");
    assert!(output.contains("http.status=401"), "{output}");
    assert!(!output.contains(KEY), "key in traces: {output}");
    assert!(!output.contains("0098765"), "token in traces: {output}");
}

#[tokio::test]
async fn a_verify_answer_without_is_valid_keeps_its_body_for_diagnosis() {
    let (addr, _) = verify_server(200, r#"{"message":"Token is valid.","success":true}"#).await;
    let token = Token::parse("123456").unwrap();
    let err = guarded(client(addr).tokens().verify(ID, &token, None))
        .await
        .unwrap_err();
    match &err {
        AuthyError::Decode {
            status,
            reason,
            body,
            ..
        } => {
            assert_eq!(*status, StatusCode::OK);
            assert!(reason.contains(r#""token":"is valid""#), "{reason}");
            assert_eq!(body, r#"{"message":"Token is valid.","success":true}"#);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(!err.is_token_rejected());
}
