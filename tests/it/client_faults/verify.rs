//! Token verification fails closed, and bad input never leaves the client.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{StatusCode, Uri, header};
use tower_authy::authy::{
    ApprovalUuid, AuthyError, NewApprovalRequest, NewUser, PhoneNumber, SendOptions,
    StartVerification, Token, Via,
};

use super::*;
use crate::common::serve;

/// A verify endpoint answering `status` and `body`, recording the request
/// URI.
pub(super) async fn verify_server(
    status: u16,
    body: &'static str,
) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
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
