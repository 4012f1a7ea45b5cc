//! The OneTouch webhook: genuine callbacks are recorded once; every bad input
//! is refused and changes nothing.
//!
//! Signatures here never come from the crate's own signer: the shared
//! vectors were produced by an independent implementation (and accepted by
//! Authy's Python library), and fresh callbacks are signed by
//! [`independent_sign`], written separately from `webhook::signature` on a
//! different encoder.

use crate::app::FirstFactor;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tower_authy::store::{
    AdminStore, ApprovalRecord, ApprovalStatus, AuthyStore, Factor, MemoryStore, SharedStore,
    UserId,
};
use tower_authy::webhook::{CallbackRequest, Outcome, Webhook, WebhookError};

mod route;
mod vectors;

pub(super) const KEY: &str = "sIm0KeYfOrTeStS00000000000000009";
pub(super) const URL: &str = "https://app.example.com/2fa/callback";
pub(super) const AUTHY_ID: &str = "688611";
pub(super) const UUID: &str = "4a725520-bff5-0135-eb01-0e5d90336a8c";

pub(super) fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub(super) const T0: u64 = 1_800_000_000;

/// Signs like Authy (spec §4.3), independently of the crate: flattened
/// bracket keys, `serde_urlencoded` for the encoding, plain sort.
pub(super) fn independent_sign(
    key: &str,
    nonce: &str,
    method: &str,
    url: &str,
    params: &Value,
) -> String {
    fn flatten(prefix: String, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}[{k}]")
                    };
                    flatten(key, v, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    flatten(format!("{prefix}[]"), item, out);
                }
            }
            Value::Null => out.push((prefix, String::new())),
            Value::String(s) => out.push((prefix, s.clone())),
            other => out.push((prefix, other.to_string())),
        }
    }
    let mut pairs = Vec::new();
    flatten(String::new(), params, &mut pairs);
    // Test payloads keep to what every implementation agrees on: no arrays
    // of objects, no `*` or `~` (spec §4.4).
    let mut encoded: Vec<String> = pairs
        .iter()
        .map(|pair| serde_urlencoded::to_string([pair]).unwrap())
        .collect();
    encoded.sort();
    let data = format!("{nonce}|{method}|{url}|{}", encoded.join("&"));
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(super) fn callback_body(uuid: &str, status: &str, authy_id: &str) -> Value {
    json!({
        "authy_id": authy_id.parse::<u64>().unwrap(),
        "device_uuid": 2102943,
        "callback_action": "approval_request_status",
        "uuid": uuid,
        "status": status,
        "approval_request": {
            "transaction": {
                "details": {"Username": "alice"},
                "hidden_details": {"ip": "127.0.0.1"},
                "message": "Log in?",
                "status": status,
                "uuid": uuid,
                "encrypted": false,
                "requester_details": null,
            },
            "expiration_timestamp": T0 + 300,
            "logos": null,
        },
        "signature": "ZGV2aWNlLXNpZw==",
        "device": {"id": 2102943, "os_type": "android", "city": null},
    })
}

pub(super) struct Fixture {
    pub(super) store: SharedStore,
    pub(super) webhook: Webhook,
}

impl Fixture {
    /// Alice is enrolled with Authy ID 688611 and has one pending request.
    pub(super) async fn new() -> Self {
        let memory = Arc::new(MemoryStore::new());
        seed(&*memory, "alice", AUTHY_ID, UUID, at(T0)).await;
        let store: SharedStore = memory;
        let webhook = Webhook::builder(KEY)
            .with_public_url(URL)
            .build(store.clone())
            .unwrap();
        Self { store, webhook }
    }

    pub(super) async fn snapshot(&self) -> (Option<ApprovalRecord>, Option<Factor>) {
        (
            self.store.approval(UUID, at(T0)).await.unwrap(),
            self.store
                .first_factor(&UserId::new("alice"))
                .await
                .unwrap(),
        )
    }

    pub(super) async fn post(
        &self,
        body: &Value,
        nonce: &str,
        signature: &str,
        now: u64,
    ) -> Result<Outcome, WebhookError> {
        let body = serde_json::to_vec(body).unwrap();
        let request = CallbackRequest {
            method: &http::Method::POST,
            query: None,
            body: &body,
            signature: Some(signature),
            nonce: Some(nonce),
            request_url: None,
        };
        self.webhook.handle(&request, at(now)).await
    }

    pub(super) async fn signed_post(
        &self,
        body: &Value,
        now: u64,
    ) -> Result<Outcome, WebhookError> {
        let nonce = now.to_string();
        let signature = independent_sign(KEY, &nonce, "POST", URL, body);
        self.post(body, &nonce, &signature, now).await
    }

    /// Asserts that `result` is refused with `status`, and that neither the
    /// request nor the enrollment changed.
    pub(super) async fn assert_refused(&self, result: Result<Outcome, WebhookError>, status: u16) {
        let before = self.snapshot().await;
        match result {
            Err(error) => assert_eq!(error.status().as_u16(), status, "{error}"),
            Ok(outcome) => panic!("expected a refusal with {status}, got {outcome:?}"),
        }
        assert_eq!(
            self.snapshot().await,
            before,
            "a refused callback changes nothing"
        );
        assert_eq!(before.0.unwrap().status, ApprovalStatus::Pending);
    }
}

pub(super) async fn seed(
    store: &(impl AuthyStore + AdminStore),
    user: &str,
    authy_id: &str,
    uuid: &str,
    now: SystemTime,
) {
    let user = UserId::new(user);
    let mut enrollment = Factor::authy(user.clone(), authy_id, None, now);
    enrollment.state = tower_authy::store::FactorState::Active;
    store.put_factor(&enrollment).await.unwrap();
    let record = ApprovalRecord::pending(
        uuid,
        user,
        "session-binding",
        now,
        Some(Duration::from_secs(600)),
    );
    store.insert_approval(&record).await.unwrap();
}

#[tokio::test]
async fn records_a_genuine_callback_exactly_once() {
    let fixture = Fixture::new().await;
    let body = callback_body(UUID, "approved", AUTHY_ID);
    let nonce = T0.to_string();
    let signature = independent_sign(KEY, &nonce, "POST", URL, &body);
    let outcome = fixture.post(&body, &nonce, &signature, T0).await.unwrap();
    let Outcome::Recorded(record) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(record.status, ApprovalStatus::Approved);
    assert_eq!(record.processed_at, Some(at(T0)));
    // The exact same delivery again: 200, nothing changes.
    let again = fixture
        .post(&body, &nonce, &signature, T0 + 5)
        .await
        .unwrap();
    assert!(
        matches!(again, Outcome::Duplicate(ref r) if r.status == ApprovalStatus::Approved),
        "{again:?}"
    );
    // A redelivery of the same outcome with a new nonce: 200 too.
    let redelivered = fixture.signed_post(&body, T0 + 10).await.unwrap();
    assert!(
        matches!(redelivered, Outcome::Duplicate(_)),
        "{redelivered:?}"
    );
    assert_eq!(
        fixture.snapshot().await.0.unwrap(),
        record,
        "duplicates change nothing"
    );
}

#[tokio::test]
async fn a_different_outcome_for_a_final_request_is_refused() {
    let fixture = Fixture::new().await;
    fixture
        .signed_post(&callback_body(UUID, "approved", AUTHY_ID), T0)
        .await
        .unwrap();
    let denied = fixture
        .signed_post(&callback_body(UUID, "denied", AUTHY_ID), T0 + 1)
        .await;
    assert!(
        matches!(denied, Err(WebhookError::AlreadyFinal("approved"))),
        "{denied:?}"
    );
    assert_eq!(denied.unwrap_err().status().as_u16(), 409);
    let stored = fixture
        .store
        .approval(UUID, at(T0 + 2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.status,
        ApprovalStatus::Approved,
        "the first outcome stands"
    );
}

#[tokio::test]
async fn refuses_missing_and_bad_signatures() {
    let fixture = Fixture::new().await;
    let body = callback_body(UUID, "approved", AUTHY_ID);
    let nonce = T0.to_string();
    let good = independent_sign(KEY, &nonce, "POST", URL, &body);
    let bytes = serde_json::to_vec(&body).unwrap();
    let without = |signature: Option<&'static str>, nonce: Option<&'static str>| CallbackRequest {
        method: &http::Method::POST,
        query: None,
        body: &bytes,
        signature,
        nonce,
        request_url: None,
    };
    let missing_signature = fixture
        .webhook
        .handle(&without(None, Some("1800000000")), at(T0))
        .await;
    fixture.assert_refused(missing_signature, 401).await;
    let missing_nonce = fixture
        .webhook
        .handle(&without(Some("c2ln"), None), at(T0))
        .await;
    fixture.assert_refused(missing_nonce, 401).await;
    fixture
        .assert_refused(fixture.post(&body, &nonce, "not base64!", T0).await, 401)
        .await;

    let mut tampered = body.clone();
    tampered["status"] = json!("denied");
    tampered["approval_request"]["transaction"]["status"] = json!("denied");
    fixture
        .assert_refused(fixture.post(&tampered, &nonce, &good, T0).await, 401)
        .await;
    let wrong_key = independent_sign("another-key", &nonce, "POST", URL, &body);
    fixture
        .assert_refused(fixture.post(&body, &nonce, &wrong_key, T0).await, 401)
        .await;
    let other_url = independent_sign(
        KEY,
        &nonce,
        "POST",
        "https://evil.example/2fa/callback",
        &body,
    );
    fixture
        .assert_refused(fixture.post(&body, &nonce, &other_url, T0).await, 401)
        .await;
    let as_get = independent_sign(KEY, &nonce, "GET", URL, &body);
    fixture
        .assert_refused(fixture.post(&body, &nonce, &as_get, T0).await, 401)
        .await;
    // The signature is good, but for another nonce.
    fixture
        .assert_refused(fixture.post(&body, "1800000001", &good, T0).await, 401)
        .await;
}

#[tokio::test]
async fn refuses_stale_and_non_numeric_nonces() {
    let fixture = Fixture::new().await;
    let body = callback_body(UUID, "approved", AUTHY_ID);
    for (nonce, now) in [
        (T0.to_string(), T0 + 301),
        (T0.to_string(), T0 - 301),
        ("not-a-time".to_owned(), T0),
    ] {
        let signature = independent_sign(KEY, &nonce, "POST", URL, &body);
        let result = fixture.post(&body, &nonce, &signature, now).await;
        assert!(
            matches!(result, Err(WebhookError::StaleNonce)),
            "{nonce} at {now}: {result:?}"
        );
        fixture.assert_refused(result, 401).await;
    }
    // Inside the window either side is fine.
    let nonce = T0.to_string();
    let signature = independent_sign(KEY, &nonce, "POST", URL, &body);
    assert!(
        fixture
            .post(&body, &nonce, &signature, T0 + 299)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn refuses_unknown_requests_and_other_users() {
    let fixture = Fixture::new().await;
    let unknown = fixture
        .signed_post(
            &callback_body("00000000-0000-0000-0000-000000000000", "approved", AUTHY_ID),
            T0,
        )
        .await;
    assert!(matches!(unknown, Err(WebhookError::UnknownRequest)));
    fixture.assert_refused(unknown, 404).await;
    let mallory = fixture
        .signed_post(&callback_body(UUID, "approved", "999999"), T0)
        .await;
    assert!(matches!(mallory, Err(WebhookError::UserMismatch)));
    fixture.assert_refused(mallory, 403).await;
}

#[tokio::test]
async fn refuses_malformed_callbacks() {
    let fixture = Fixture::new().await;
    let nonce = T0.to_string();
    for body in [
        json!({"uuid": UUID, "status": "maybe", "authy_id": 688611}),
        json!({"uuid": UUID, "status": "pending", "authy_id": 688611}),
        json!({"uuid": UUID, "status": "approved"}),
        json!({"uuid": UUID, "status": "approved", "authy_id": 688611,
               "approval_request": {"transaction": {"status": "denied"}}}),
    ] {
        let result = fixture.signed_post(&body, T0).await;
        assert!(
            matches!(result, Err(WebhookError::Malformed(_))),
            "{body}: {result:?}"
        );
        fixture.assert_refused(result, 400).await;
    }
    let not_json = CallbackRequest {
        method: &http::Method::POST,
        query: None,
        body: b"{\"uuid\": truncated",
        signature: Some("c2ln"),
        nonce: Some(&nonce),
        request_url: None,
    };
    fixture
        .assert_refused(fixture.webhook.handle(&not_json, at(T0)).await, 400)
        .await;
}

#[tokio::test]
async fn a_signed_ping_changes_nothing() {
    let fixture = Fixture::new().await;
    let before = fixture.snapshot().await;
    let outcome = fixture
        .signed_post(&json!({"callback_action": "ping", "message": "test"}), T0)
        .await;
    assert_eq!(outcome.unwrap(), Outcome::Ping);
    assert_eq!(fixture.snapshot().await, before);
    let unsigned = fixture
        .post(
            &json!({"callback_action": "ping"}),
            &T0.to_string(),
            "AAAA",
            T0,
        )
        .await;
    assert_eq!(
        unsigned.unwrap_err().status().as_u16(),
        401,
        "pings are signed too"
    );
}

#[tokio::test]
async fn an_approval_after_expiry_does_not_count_and_its_replay_is_refused() {
    let fixture = Fixture::new().await;
    let late = T0 + 601; // the request lived 600 s
    let body = callback_body(UUID, "approved", AUTHY_ID);
    let nonce = late.to_string();
    let signature = independent_sign(KEY, &nonce, "POST", URL, &body);
    let first = fixture.post(&body, &nonce, &signature, late).await;
    assert!(
        matches!(first, Err(WebhookError::AlreadyFinal("expired"))),
        "{first:?}"
    );
    let replay = fixture.post(&body, &nonce, &signature, late + 1).await;
    assert!(matches!(replay, Err(WebhookError::Replay)), "{replay:?}");
    assert_eq!(replay.unwrap_err().status().as_u16(), 409);
    let stored = fixture
        .store
        .approval(UUID, at(late + 2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.status,
        ApprovalStatus::Expired,
        "an expired request stays expired"
    );
}

#[tokio::test]
async fn concurrent_deliveries_record_once() {
    let fixture = Arc::new(Fixture::new().await);
    let body = callback_body(UUID, "approved", AUTHY_ID);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (fixture, body) = (fixture.clone(), body.clone());
            tokio::spawn(async move { fixture.signed_post(&body, T0 + i % 3).await })
        })
        .collect();
    let mut recorded = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Outcome::Recorded(_) => recorded += 1,
            Outcome::Duplicate(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(recorded, 1, "exactly one delivery records the outcome");
}
