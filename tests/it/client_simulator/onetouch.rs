//! OneTouch (spec §2.4): create an approval request, then follow it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};
use tower_authy::authy::{ApprovalUuid, AuthyError, AuthyId, LogoResolution, NewApprovalRequest};
use tower_authy::simulator::{CallbackMethod, Simulator};
use tower_authy::store::ApprovalStatus;

use super::{World, api_error};
use crate::common;

/// A callback receiver that keeps every body it is sent.
async fn callback_sink() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    let app = axum::Router::new().route(
        "/callback",
        post(move |Json(body): Json<Value>| {
            let store = store.clone();
            async move { store.lock().unwrap().push(body) }
        }),
    );
    let addr = common::serve(app).await;
    (format!("http://{addr}/callback"), seen)
}

async fn decide(w: &World, uuid: &ApprovalUuid, decision: &str) {
    let body = w
        .phone(
            Method::POST,
            &format!("approval_requests/{uuid}/{decision}"),
        )
        .await;
    assert_eq!(body["uuid"], uuid.as_str());
}

#[tokio::test]
async fn onetouch_request_carries_details_hidden_details_logos_and_ttl() {
    let (url, seen) = callback_sink().await;
    let w = World::start_with(Simulator::builder().with_callback(url, CallbackMethod::Post)).await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let request = NewApprovalRequest::new("Sign in to Example?")
        .detail("Account Number", "981266321")
        .detail("location", "São Paulo, BR")
        .hidden_detail("ip_address", "10.0.0.7")
        .logo(LogoResolution::Default, "https://example.com/logo.png")
        .logo(LogoResolution::Low, "https://example.com/logo-low.png")
        .seconds_to_expire(120);
    let uuid = w.client.onetouch().create(id, &request).await.unwrap();

    let pending = w.client.onetouch().get(&uuid).await.unwrap();
    assert_eq!(pending.uuid, uuid);
    assert_eq!(pending.status, ApprovalStatus::Pending);
    assert_eq!(pending.seconds_to_expire, Some(120));
    assert_eq!(pending.authy_id, Some(id));
    assert_eq!(pending.user_email.as_deref(), Some("ada@example.com"));
    assert_eq!(pending.processed_at, None);

    // What the phone shows: the message and the visible details only.
    let shown = w
        .phone(Method::GET, &format!("users/{id}/approval_requests"))
        .await;
    assert_eq!(shown[0]["message"], "Sign in to Example?");
    assert_eq!(
        shown[0]["details"],
        json!({"Account Number": "981266321", "location": "São Paulo, BR"})
    );

    decide(&w, &uuid, "approve").await;
    let approved = w.client.onetouch().get(&uuid).await.unwrap();
    assert_eq!(approved.status, ApprovalStatus::Approved);
    assert!(approved.status.is_final());
    assert!(approved.processed_at.is_some());

    // The callback carries everything the request was created with.
    let seen = seen.lock().unwrap();
    let [callback] = seen.as_slice() else {
        panic!("one callback expected, got {seen:?}");
    };
    let sent = &callback["approval_request"];
    assert_eq!(
        sent["transaction"]["hidden_details"],
        json!({"ip_address": "10.0.0.7"})
    );
    assert_eq!(sent["transaction"]["details"]["location"], "São Paulo, BR");
    assert_eq!(
        sent["logos"],
        json!([
            {"res": "default", "url": "https://example.com/logo.png"},
            {"res": "low", "url": "https://example.com/logo-low.png"},
        ])
    );
    let created = sent["transaction"]["created_at_time"].as_u64().unwrap();
    assert_eq!(sent["expiration_timestamp"], created + 120);
}

#[tokio::test]
async fn onetouch_request_can_be_denied() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let request = NewApprovalRequest::new("Transfer 10 BTC?");
    let uuid = w.client.onetouch().create(id, &request).await.unwrap();
    decide(&w, &uuid, "deny").await;
    let denied = w.client.onetouch().get(&uuid).await.unwrap();
    assert_eq!(denied.status, ApprovalStatus::Denied);
    assert!(denied.processed_at.is_some());
}

#[tokio::test]
async fn onetouch_request_expires_after_its_ttl() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let short = NewApprovalRequest::new("Sign in?").seconds_to_expire(60);
    let default = NewApprovalRequest::new("Sign in?");
    let forever = NewApprovalRequest::new("Sign in?").seconds_to_expire(0);
    let onetouch = w.client.onetouch();
    let short = onetouch.create(id, &short).await.unwrap();
    let default = onetouch.create(id, &default).await.unwrap();
    let forever = onetouch.create(id, &forever).await.unwrap();
    assert_eq!(
        onetouch.get(&default).await.unwrap().seconds_to_expire,
        Some(86_400)
    );

    w.sim.advance_clock(Duration::from_secs(61));
    let expired = onetouch.get(&short).await.unwrap();
    assert_eq!(expired.status, ApprovalStatus::Expired);
    assert!(expired.processed_at.is_some());
    // Ten seconds of margin for a slow test machine.
    w.sim.advance_clock(Duration::from_secs(86_400 - 61 - 10));
    assert_eq!(
        onetouch.get(&default).await.unwrap().status,
        ApprovalStatus::Pending
    );
    w.sim.advance_clock(Duration::from_secs(10));
    assert_eq!(
        onetouch.get(&default).await.unwrap().status,
        ApprovalStatus::Expired
    );

    // Zero means it never expires.
    w.sim.advance_clock(Duration::from_secs(365 * 86_400));
    assert_eq!(
        onetouch.get(&forever).await.unwrap().status,
        ApprovalStatus::Pending
    );
}

#[tokio::test]
async fn onetouch_unknown_request_is_not_found() {
    let w = World::start().await;
    let uuid = ApprovalUuid::parse("8d031630-d15b-0134-b0a8-0a77bbe8093e").unwrap();
    let err = api_error(w.client.onetouch().get(&uuid).await, 404, "60049");
    assert_eq!(
        err.message,
        "Approval request not found: 8d031630-d15b-0134-b0a8-0a77bbe8093e"
    );
    assert!(err.error.is_not_found());
}

#[tokio::test]
async fn onetouch_needs_a_known_user_with_the_app() {
    let w = World::start().await;
    let request = NewApprovalRequest::new("Sign in?");
    api_error(
        w.client.onetouch().create(AuthyId(42), &request).await,
        404,
        "60026",
    );

    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    w.set_app(id, false).await;
    api_error(w.client.onetouch().create(id, &request).await, 403, "60050");
    w.set_app(id, true).await;
    w.client.onetouch().create(id, &request).await.unwrap();
}

#[tokio::test]
async fn onetouch_refuses_a_bad_request_before_any_call() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let request = NewApprovalRequest::new("Sign in?").detail("x".repeat(21), "too long a key");
    match w.client.onetouch().create(id, &request).await {
        Err(AuthyError::InvalidInput(invalid)) => assert_eq!(invalid.field(), "details"),
        other => panic!("expected invalid input, got {other:?}"),
    }
    let shown = w
        .phone(Method::GET, &format!("users/{id}/approval_requests"))
        .await;
    assert_eq!(shown, json!([]));
}
