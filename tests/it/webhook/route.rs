//! The webhook over HTTP, and across a restart.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tower_authy::store::{ApprovalStatus, MemoryStore, SharedStore};
use tower_authy::webhook::{CallbackRequest, Outcome, Webhook};

use super::vectors::flat_pairs;
use super::{AUTHY_ID, Fixture, KEY, URL, UUID, callback_body, independent_sign, seed};
use crate::common::serve;

/// Over HTTP: the route answers GET and POST, maps refusals to statuses,
/// refuses other methods and oversized bodies, and ignores `Host` unless told.
#[tokio::test]
async fn the_axum_route_maps_outcomes_to_statuses() {
    let fixture = Fixture::new().await;
    let app = axum::Router::new().route("/2fa/callback", fixture.webhook.method_router());
    let base = format!("http://{}/2fa/callback", serve(app).await);
    let http = reqwest::Client::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();

    let body = callback_body(UUID, "approved", AUTHY_ID);
    let nonce = now.to_string();
    // Signed for the request's own Host, not the configured URL: refused.
    let for_host = independent_sign(KEY, &nonce, "POST", &base, &body);
    let refused = http
        .post(&base)
        .header("X-Authy-Signature", for_host)
        .header("X-Authy-Signature-Nonce", &nonce)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let answer: Value = refused.json().await.unwrap();
    assert_eq!(answer["error"], "bad_signature");

    let put = http.put(&base).body("{}").send().await.unwrap();
    assert_eq!(put.status(), 405);
    let huge = http
        .post(&base)
        .body(vec![b' '; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    assert_eq!(
        fixture
            .store
            .approval(UUID, SystemTime::now())
            .await
            .unwrap()
            .unwrap()
            .status,
        ApprovalStatus::Pending
    );

    // A GET callback signed for the configured URL is recorded.
    let get_params = json!({"authy_id": AUTHY_ID, "uuid": UUID, "status": "denied",
                            "callback_action": "approval_request_status"});
    let signature = independent_sign(KEY, &nonce, "GET", URL, &get_params);
    let query = serde_urlencoded::to_string(flat_pairs(&get_params)).unwrap();
    let recorded = http
        .get(format!("{base}?{query}"))
        .header("X-Authy-Signature", signature)
        .header("X-Authy-Signature-Nonce", &nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(recorded.status(), 200);
    assert_eq!(
        recorded.json::<Value>().await.unwrap()["outcome"],
        "recorded"
    );
    assert_eq!(
        fixture
            .store
            .approval(UUID, SystemTime::now())
            .await
            .unwrap()
            .unwrap()
            .status,
        ApprovalStatus::Denied
    );
}

#[tokio::test]
async fn forwarded_headers_are_used_only_when_trusted() {
    let memory = Arc::new(MemoryStore::new());
    seed(&*memory, "alice", AUTHY_ID, UUID, SystemTime::now()).await;
    let store: SharedStore = memory;
    let webhook = Webhook::builder(KEY)
        .with_trusted_forwarded_headers()
        .build(store.clone())
        .unwrap();
    let app = axum::Router::new().route("/2fa/callback", webhook.method_router());
    let base = format!("http://{}/2fa/callback", serve(app).await);
    let public = "https://public.example/2fa/callback";
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let body = callback_body(UUID, "approved", AUTHY_ID);
    let signature = independent_sign(KEY, &nonce, "POST", public, &body);
    let answer = reqwest::Client::new()
        .post(&base)
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "public.example")
        .header("X-Authy-Signature", signature)
        .header("X-Authy-Signature-Nonce", &nonce)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
    assert!(
        Webhook::builder(KEY).build(store).is_err(),
        "a public URL is required by default"
    );
}

/// An approval created before a restart of a SQLite-backed application
/// completes after it.
#[tokio::test]
async fn a_request_made_before_a_restart_completes_after_it() {
    use tower_authy::store::SqliteStore;
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("restart-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("app.db").display());
    let now = SystemTime::now();
    {
        let before = SqliteStore::connect(&url).await.unwrap();
        before.migrate().await.unwrap();
        seed(&before, "alice", AUTHY_ID, UUID, now).await;
    }
    // Everything of the first "process" is gone; a new one opens the file.
    let after = SqliteStore::connect(&url).await.unwrap();
    after.migrate().await.unwrap();
    let after: SharedStore = Arc::new(after);
    let webhook = Webhook::builder(KEY)
        .with_public_url(URL)
        .build(after.clone())
        .unwrap();
    let body = callback_body(UUID, "approved", AUTHY_ID);
    let secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let nonce = secs.to_string();
    let signature = independent_sign(KEY, &nonce, "POST", URL, &body);
    let bytes = serde_json::to_vec(&body).unwrap();
    let request = CallbackRequest {
        method: &http::Method::POST,
        query: None,
        body: &bytes,
        signature: Some(&signature),
        nonce: Some(&nonce),
        request_url: None,
    };
    let outcome = webhook.handle(&request, now).await.unwrap();
    assert!(matches!(outcome, Outcome::Recorded(_)), "{outcome:?}");
    let reopened = SqliteStore::connect(&url).await.unwrap();
    let record = tower_authy::store::ApprovalStore::approval(&reopened, UUID, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, ApprovalStatus::Approved);
}

fn uuid_like() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}
