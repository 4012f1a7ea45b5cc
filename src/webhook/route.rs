//! The axum adapter: turns an HTTP request into a [`CallbackRequest`] and a
//! [`Webhook`] answer into a response.

use std::time::SystemTime;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, OriginalUri, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, on};
use serde_json::json;

use super::{CallbackRequest, Outcome, Webhook};

/// Authy's callbacks are a few kilobytes; anything far larger is refused
/// before it is read.
const BODY_LIMIT: usize = 64 * 1024;

impl Webhook {
    /// The handler for the callback route, for GET and POST. Mount it at the
    /// path of the public callback URL:
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tower_authy::{store::MemoryStore, webhook::Webhook};
    /// let webhook = Webhook::builder("app-api-key")
    ///     .with_public_url("https://app.example.com/2fa/callback")
    ///     .build(Arc::new(MemoryStore::new()))?;
    /// let app: axum::Router = axum::Router::new().route("/2fa/callback", webhook.method_router());
    /// # Ok::<(), tower_authy::ConfigError>(())
    /// ```
    pub fn method_router<S>(&self) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        on(
            axum::routing::MethodFilter::GET.or(axum::routing::MethodFilter::POST),
            receive,
        )
        .with_state(self.clone())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
    }
}

async fn receive(
    State(webhook): State<Webhook>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let request_url = forwarded_url(&headers, uri.path());
    let request = CallbackRequest {
        method: &method,
        query: uri.query(),
        body: &body,
        signature: header("x-authy-signature"),
        nonce: header("x-authy-signature-nonce"),
        request_url: request_url.as_deref(),
    };
    match webhook.handle(&request, SystemTime::now()).await {
        Ok(outcome) => {
            let (name, uuid) = match &outcome {
                Outcome::Recorded(record) => ("recorded", Some(record.uuid.as_str())),
                Outcome::Duplicate(record) => ("duplicate", Some(record.uuid.as_str())),
                Outcome::Ping => ("ping", None),
            };
            tracing::info!(
                outcome = name,
                uuid,
                "tower-authy: OneTouch callback accepted"
            );
            Json(json!({"ok": true, "outcome": name})).into_response()
        }
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "tower-authy: OneTouch callback refused");
            crate::telemetry::webhook_refused("authy", error.code());
            let status = error.status();
            (
                status,
                Json(json!({"ok": false, "error": error.code(), "message": error.to_string()})),
            )
                .into_response()
        }
    }
}

/// The URL as the sender saw it, from forwarding headers; only used when the
/// webhook was told to trust them.
fn forwarded_url(headers: &HeaderMap, path: &str) -> Option<String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or(v).trim().to_owned())
    };
    let host = header("x-forwarded-host").or_else(|| header("host"))?;
    let scheme = header("x-forwarded-proto").unwrap_or_else(|| "http".into());
    Some(format!("{scheme}://{host}{path}"))
}
