//! Tracing: each provider call runs in a span that names the call and its
//! HTTP status, and never a key, token, code or URL; the operator's counters
//! and events (`telemetry.rs`).
//!
//! A test binary of its own: tracing caches, per call site, whether anyone
//! listens, and a test in a shared binary can lose that race to another
//! test's thread meeting the call site first with no subscriber.

#[path = "../it/app.rs"]
mod app;
#[path = "../it/common.rs"]
mod common;
mod telemetry;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{StatusCode, header};
use tower_authy::authy::{AuthyId, Token};
use tower_authy::verify::{Credentials, ServiceSid};

const AUTHY_KEY: &str = "spanTestKey0123456789abcdefABCDEF";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const VERIFY_TOKEN: &str = "spanTestVerifyToken0123456789abc";

/// Collects formatted trace output.
#[derive(Clone, Default)]
pub(crate) struct Captured(pub(crate) Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn serve(status: u16, body: &'static str) -> SocketAddr {
    let router = Router::new().fallback(move || async move {
        (
            StatusCode::from_u16(status).unwrap(),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

#[tokio::test]
async fn spans_name_the_call_and_never_a_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("tower_authy=trace,reqwest=trace,hyper_util=trace")
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // This test's runtime is single-threaded: the guard covers the clients.
    let _guard = tracing::subscriber::set_default(subscriber);

    let authy = serve(
        401,
        r#"{"message":"Token is invalid","token":"is invalid","success":false,"errors":{"message":"Token is invalid"},"error_code":"60020"}"#,
    )
    .await;
    let client = tower_authy::authy::Client::builder(AUTHY_KEY)
        .with_base_url(&format!("http://{authy}"))
        .build()
        .unwrap();
    let token = Token::parse("0098765").unwrap();
    let err = client
        .tokens()
        .verify(AuthyId(1635), &token, None)
        .await
        .unwrap_err();
    assert!(err.is_token_rejected());

    let verify = serve(
        404,
        r#"{"code":20404,"message":"The requested resource was not found","status":404}"#,
    )
    .await;
    let client =
        tower_authy::verify::Client::builder(Credentials::auth_token(ACCOUNT, VERIFY_TOKEN))
            .with_base_url(&format!("http://{verify}"))
            .build()
            .unwrap();
    let service: ServiceSid = "VA0123456789abcdef0123456789abcdef".parse().unwrap();
    let err = client
        .service(&service)
        .verifications()
        .check_to("+15017122661", "246810")
        .await
        .unwrap_err();
    assert!(err.is_not_found());

    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "authy.request",
        r#"endpoint="verify""#,
        "authy_id=1635",
        "http.status=401",
        "verify.request",
        r#"endpoint="verification.check""#,
        "http.status=404",
    ] {
        assert!(output.contains(expected), "{expected} missing: {output}");
    }
    for secret in [
        AUTHY_KEY,
        "0098765",
        VERIFY_TOKEN,
        "246810",
        "+15017122661",
        "15017122661",
    ] {
        assert!(!output.contains(secret), "{secret} in traces: {output}");
    }
}
