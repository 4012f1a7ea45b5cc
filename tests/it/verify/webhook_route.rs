//! The Verify webhook as `TwoFactor::router` serves it: signed against the
//! configured URL whatever the request's `Host`, no session needed, POST
//! only, and a path that can never shadow another route.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use serde_json::Value;
use tower_authy::authy::Client;
use tower_authy::config::{Policy, StatusMode};
use tower_authy::store::{ApprovalStatus, MemoryStore};
use tower_authy::verify::VerifyWebhook;
use tower_authy::webhook::Webhook;
use tower_authy::{ConfigError, TwoFactor};
use tower_sessions::{MemoryStore as Sessions, SessionManagerLayer};

use super::webhook::{CHALLENGE, TOKEN, URL, event, independent_sign, seed};
use crate::common::serve;

/// An Authy client polls for OneTouch outcomes here: these tests are about
/// the Verify webhook alone.
fn polling() -> Policy {
    Policy::builder()
        .with_status_mode(StatusMode::Polling {
            every: Duration::from_secs(2),
        })
        .build()
        .unwrap()
}

fn with_verify(public_url: &str, authy_url: Option<&str>) -> Result<TwoFactor, ConfigError> {
    let builder = TwoFactor::builder(
        Client::builder("key").build().unwrap(),
        Arc::new(MemoryStore::new()),
    )
    .with_policy(polling())
    .with_verify_webhook(VerifyWebhook::builder(TOKEN).with_public_url(public_url));
    match authy_url {
        Some(url) => builder.with_webhook(Webhook::builder("key").with_public_url(url)),
        None => builder,
    }
    .build()
}

#[tokio::test]
async fn the_router_serves_the_webhook_without_a_session() {
    let memory = Arc::new(MemoryStore::new());
    seed(&memory, SystemTime::now()).await;
    let two_factor = TwoFactor::builder(Client::builder("key").build().unwrap(), memory.clone())
        .with_policy(polling())
        .with_verify_webhook(VerifyWebhook::builder(TOKEN).with_public_url(URL))
        .build()
        .unwrap();
    // An application route on the same path (another method) keeps its
    // guard: the exemption is the webhook's POST only.
    let app = Router::new()
        .route(
            "/2fa/verify/callback",
            axum::routing::put(|| async { "app" }),
        )
        .layer(two_factor.layer())
        .merge(two_factor.router())
        .layer(SessionManagerLayer::new(Sessions::default()));
    let address = serve(app).await;
    let local = format!("http://{address}/2fa/verify/callback");
    let http = reqwest::Client::new();
    let pairs = event("ev-http", "challenge.approved");
    let body = serde_urlencoded::to_string(&pairs).unwrap();

    // Signed for the URL the request reached (its Host): refused.
    let for_host = independent_sign(TOKEN, false, &local, &pairs);
    let refused = http
        .post(&local)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", for_host)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let answer: Value = refused.json().await.unwrap();
    assert_eq!(answer["error"], "bad_signature");

    let huge = http
        .post(&local)
        .body(vec![b'a'; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    let get = http.get(&local).send().await.unwrap();
    assert_eq!(get.status(), 405);
    let put = http.put(&local).send().await.unwrap();
    assert_ne!(
        put.status(),
        200,
        "the application's PUT still needs a session"
    );
    let status = |memory: &MemoryStore| {
        let memory = memory.clone();
        async move {
            tower_authy::store::ApprovalStore::approval(&memory, CHALLENGE, SystemTime::now())
                .await
                .unwrap()
                .unwrap()
                .status
        }
    };
    assert_eq!(status(&memory).await, ApprovalStatus::Pending);

    let signature = independent_sign(TOKEN, false, URL, &pairs);
    let accepted = http
        .post(&local)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let answer: Value = accepted.json().await.unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"ok": true, "outcome": "recorded"})
    );
    assert_eq!(status(&memory).await, ApprovalStatus::Approved);
}

#[test]
fn the_webhook_path_is_checked_when_built() {
    assert!(with_verify(URL, None).is_ok());
    // Beside the OneTouch webhook, on its own path.
    assert!(with_verify(URL, Some("https://app.example.com/2fa/callback")).is_ok());
    for (verify, authy) in [
        (
            "https://app.example.com/2fa/callback",
            Some("https://app.example.com/2fa/callback"),
        ),
        ("https://app.example.com/2fa/token", None),
        ("https://app.example.com/login", None),
        // A path a route pattern serves is taken too.
        ("https://app.example.com/2fa/factors/x1/remove", None),
        ("https://app.example.com/2fa/factors/x1/confirm", None),
    ] {
        assert!(
            matches!(
                with_verify(verify, authy),
                Err(ConfigError::PathClash { .. })
            ),
            "{verify}"
        );
    }
    let no_path = with_verify("https://hooks.example.com", None);
    assert!(
        matches!(no_path, Err(ConfigError::Missing(why)) if why.contains("with_mount_path")),
        "{no_path:?}"
    );
    let mounted = TwoFactor::builder(
        Client::builder("key").build().unwrap(),
        Arc::new(MemoryStore::new()),
    )
    .with_policy(polling())
    .with_verify_webhook(
        VerifyWebhook::builder(TOKEN)
            .with_public_url("https://hooks.example.com")
            .with_mount_path("/hooks/verify"),
    )
    .build();
    assert!(mounted.is_ok(), "{:?}", mounted.err());
}
