//! What goes on the wire: the key only in its header, the right request for
//! every endpoint, nothing leaked through redirects, errors or traces.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_authy::authy::{
    Activity, ActivityType, ApprovalUuid, AuthyError, NewApprovalRequest, NewUser, QrCodeOptions,
    SendOptions, StartVerification, Token, VerificationCode, Via,
};

use super::*;
use crate::common::serve;

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
