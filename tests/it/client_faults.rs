//! The Authy client against hostile and broken servers: timeouts, refused
//! connections, HTML error pages, truncated JSON, rate limits, redirects,
//! oversized bodies; which calls are retried; and where the key travels.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;
use tower_authy::authy::{
    ApprovalUuid, AuthyError, AuthyId, Client, NewApprovalRequest, NewUser, PhoneNumber,
    RetryPolicy, SendOptions, StartVerification, Token, TransportKind, VerificationCode, Via,
    codes,
};

use crate::common::serve;

mod verify;
mod wire;

pub(super) const KEY: &str = "faultTestKey0123456789abcdefABCD";
pub(super) const ID: AuthyId = AuthyId(1635);
/// Guards every call so a broken timeout fails the test instead of hanging it.
pub(super) const GUARD: Duration = Duration::from_secs(10);

pub(super) fn client(addr: SocketAddr) -> Client {
    builder(addr).build().expect("client")
}

pub(super) fn builder(addr: SocketAddr) -> tower_authy::authy::ClientBuilder {
    Client::builder(KEY)
        .with_base_url(&format!("http://{addr}/prefix"))
        .with_timeout(Duration::from_secs(5))
        .with_retry(RetryPolicy::new(2, Duration::from_millis(1)))
}

pub(super) async fn guarded<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, call)
        .await
        .expect("the client's own timeout should have ended the call")
}

/// Neither `Display` nor `Debug` of an error may contain the key.
pub(super) fn assert_no_key(error: &AuthyError) {
    let shown = format!(
        "{error} | {error:?} | {:?}",
        std::error::Error::source(error)
    );
    assert!(!shown.contains(KEY), "key leaked: {shown}");
}

pub(super) fn phone() -> PhoneNumber {
    PhoneNumber::new(1, "555-010-0199").unwrap()
}

/// A server answering every request with `status` and `body`, counting them.
pub(super) async fn fixed(
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
        .with_timeout(Duration::from_millis(200))
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
