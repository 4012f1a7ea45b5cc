//! The axum adapter: turns an HTTP request into a [`VerifyEventRequest`]
//! and a [`VerifyWebhook`] answer into a response.

use std::time::SystemTime;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, OriginalUri, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use serde_json::json;

use super::{VerifyEventRequest, VerifyOutcome, VerifyWebhook};

/// Verify's events are a few hundred bytes; anything far larger is refused
/// before it is read.
const BODY_LIMIT: usize = 64 * 1024;

impl VerifyWebhook {
    /// The handler for the webhook route (POST). Mount it at the path of the
    /// public URL:
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tower_authy::{store::MemoryStore, verify::VerifyWebhook};
    /// let webhook = VerifyWebhook::builder("auth-token")
    ///     .with_public_url("https://app.example.com/2fa/verify/callback")
    ///     .build(Arc::new(MemoryStore::new()))?;
    /// let app: axum::Router =
    ///     axum::Router::new().route("/2fa/verify/callback", webhook.method_router());
    /// # Ok::<(), tower_authy::ConfigError>(())
    /// ```
    pub fn method_router<S>(&self) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        post(receive)
            .with_state(self.clone())
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
    }
}

async fn receive(
    State(webhook): State<VerifyWebhook>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let request = VerifyEventRequest {
        method: &method,
        query: uri.query(),
        body: &body,
        content_type: header("content-type"),
        signature: header("x-twilio-signature"),
        signature_settings: header("x-twilio-webhooks-signature-settings"),
    };
    match webhook.handle(&request, SystemTime::now()).await {
        Ok(outcome) => {
            let (name, sid) = match &outcome {
                VerifyOutcome::Recorded(record) => ("recorded", Some(record.uuid.as_str())),
                VerifyOutcome::Duplicate(record) => ("duplicate", Some(record.uuid.as_str())),
                _ => ("ignored", None),
            };
            tracing::info!(
                outcome = name,
                challenge = sid,
                "tower-authy: Verify event accepted"
            );
            Json(json!({"ok": true, "outcome": name})).into_response()
        }
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "tower-authy: Verify event refused");
            crate::telemetry::webhook_refused("verify", error.code());
            (
                error.status(),
                Json(json!({"ok": false, "error": error.code(), "message": error.to_string()})),
            )
                .into_response()
        }
    }
}
