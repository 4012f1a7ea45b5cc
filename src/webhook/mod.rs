//! OneTouch callbacks (webhooks): Authy reports each approval or denial with
//! a signed request to the application. [`Webhook`] checks and records them;
//! it is framework-free, and [`Webhook::method_router`] is the thin axum
//! adapter the crate's router mounts.
//!
//! A callback is accepted only when, in this order:
//!
//! 1. its parameters parse (a JSON body for POST, the query for GET);
//! 2. its `X-Authy-Signature` matches, in constant time, the HMAC of the
//!    configured public callback URL (never the request's `Host` or
//!    `X-Forwarded-*`, unless [`WebhookBuilder::with_trusted_forwarded_headers`]);
//! 3. its `X-Authy-Signature-Nonce` is a Unix time within the window
//!    (five minutes either side by default);
//! 4. it names a known approval request, and its `authy_id` is the enrolled
//!    Authy ID of the request's user;
//! 5. its nonce and signature were not seen before (the replay guard);
//! 6. the request is still pending: it then moves, exactly once, to the
//!    reported status, waking every browser waiting on it.
//!
//! Answers, chosen so that Authy (which turns a callback URL off after three
//! consecutive errors) never sees an error for a genuine delivery:
//!
//! | case | status | changes |
//! |---|---|---|
//! | recorded | 200 | the request's status |
//! | test ping (signed, no approval request) | 200 | nothing |
//! | exact duplicate (same nonce and signature, request already in that state) | 200 | nothing |
//! | the same outcome again with a new nonce (a redelivery) | 200 | the replay guard only |
//! | malformed parameters | 400 | nothing |
//! | missing or bad signature, stale or non-numeric nonce | 401 | nothing |
//! | `authy_id` not the request's user | 403 | nothing |
//! | unknown approval request | 404 | nothing |
//! | a seen nonce for a request now final with another status, or a different outcome for a final request | 409 | the replay guard only |
//! | store unavailable | 503 | nothing |

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use serde_json::Value;

use crate::domain::{NotRecorded, Report, Reported, record_report};
use crate::store::{ApprovalRecord, FactorKind, SharedStore, StoreError, holds};
use crate::{ConfigError, Secret, params};

mod callback;
mod poll;
mod route;
pub mod signature;

pub use crate::params::ParamsError;
pub use callback::{CallbackPayload, StatusReport};
pub use poll::{PollError, poll_approval};
use signature::SignatureError;

/// Why a callback was refused. Each names the problem without secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The parameters are not a callback this crate can read.
    #[error("malformed callback: {0}")]
    Malformed(String),
    /// The signature is missing, malformed or wrong.
    #[error("signature refused: {0}")]
    Signature(#[from] SignatureError),
    /// The nonce is not a Unix time within the accepted window.
    #[error("the nonce is not a time within the accepted window")]
    StaleNonce,
    /// The callback names an approval request this application never made.
    #[error("unknown approval request")]
    UnknownRequest,
    /// The callback's Authy ID is not the request's user's.
    #[error("the callback's user is not the request's user")]
    UserMismatch,
    /// The nonce and signature were seen before, reporting something else.
    #[error("replayed callback")]
    Replay,
    /// The request is already final with another status.
    #[error("the approval request is already {0}")]
    AlreadyFinal(&'static str),
    /// The store could not be used; nothing was recorded.
    #[error("the store failed")]
    Store(#[from] StoreError),
}

impl WebhookError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Signature(_) | Self::StaleNonce => StatusCode::UNAUTHORIZED,
            Self::UserMismatch => StatusCode::FORBIDDEN,
            Self::UnknownRequest => StatusCode::NOT_FOUND,
            Self::Replay | Self::AlreadyFinal(_) => StatusCode::CONFLICT,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short stable code for JSON answers and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Signature(_) => "bad_signature",
            Self::StaleNonce => "stale_nonce",
            Self::UnknownRequest => "unknown_request",
            Self::UserMismatch => "user_mismatch",
            Self::Replay => "replay",
            Self::AlreadyFinal(_) => "already_final",
            Self::Store(_) => "store_unavailable",
        }
    }
}

/// What an accepted callback did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The request moved to the reported status.
    Recorded(ApprovalRecord),
    /// The request was already in the reported status; nothing changed.
    Duplicate(ApprovalRecord),
    /// A signed test ping; nothing changed.
    Ping,
}

/// A received callback, as any web framework can describe it.
#[derive(Debug, Clone, Copy)]
pub struct CallbackRequest<'a> {
    /// `GET` or `POST`; anything else is refused as malformed.
    pub method: &'a http::Method,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The raw body.
    pub body: &'a [u8],
    /// The `X-Authy-Signature` header.
    pub signature: Option<&'a str>,
    /// The `X-Authy-Signature-Nonce` header.
    pub nonce: Option<&'a str>,
    /// The URL rebuilt from the request's headers; used only when the
    /// webhook trusts forwarded headers.
    pub request_url: Option<&'a str>,
}

/// Checks and records OneTouch callbacks. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhook {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    key: Secret,
    signed_url: SignedUrl,
    nonce_window: Duration,
    store: SharedStore,
}

/// Which URL a callback's signature covers.
#[derive(Debug, Clone)]
enum SignedUrl {
    /// The configured public URL (the default, and the safe choice).
    Public(String),
    /// The URL rebuilt from the request's forwarded headers.
    Forwarded,
}

/// Builds a [`Webhook`]: hand it to
/// [`TwoFactorBuilder::with_webhook`](crate::TwoFactorBuilder::with_webhook),
/// which builds it on its own store, or [`build`](Self::build) it on a store
/// to use [`Webhook::handle`] in another framework.
#[derive(Debug)]
#[must_use]
pub struct WebhookBuilder {
    key: Secret,
    public_url: Option<String>,
    mount_path: Option<String>,
    trust_forwarded: bool,
    nonce_window: Duration,
}

impl Webhook {
    /// Starts a webhook keyed with the application's Authy API key (the
    /// HMAC key of its callbacks).
    pub fn builder(key: impl Into<Secret>) -> WebhookBuilder {
        WebhookBuilder {
            key: key.into(),
            public_url: None,
            mount_path: None,
            trust_forwarded: false,
            nonce_window: Duration::from_secs(300),
        }
    }

    /// Checks and records one callback received at `now`.
    pub async fn handle(
        &self,
        request: &CallbackRequest<'_>,
        now: SystemTime,
    ) -> Result<Outcome, WebhookError> {
        let inner = &self.inner;
        let signature = request.signature.filter(|s| !s.is_empty());
        let nonce = request.nonce.filter(|n| !n.is_empty());
        let signature = signature.ok_or(SignatureError::MissingSignature)?;
        let nonce = nonce.ok_or(SignatureError::MissingNonce)?;
        let params = callback_params(request)?;
        let url = match &inner.signed_url {
            SignedUrl::Public(url) => url.as_str(),
            SignedUrl::Forwarded => request
                .request_url
                .ok_or_else(|| WebhookError::Malformed("the request's URL is unknown".into()))?,
        };
        signature::verify(
            &inner.key,
            nonce,
            request.method.as_str(),
            url,
            &params,
            signature,
        )?;
        if !nonce_is_fresh(nonce, now, inner.nonce_window) {
            return Err(WebhookError::StaleNonce);
        }
        let report = match CallbackPayload::from_params(&params)? {
            CallbackPayload::Ping => return Ok(Outcome::Ping),
            CallbackPayload::Status(report) => report,
        };
        let store = &inner.store;
        let record = store
            .approval(&report.uuid, now)
            .await?
            .ok_or(WebhookError::UnknownRequest)?;
        let factors = store.factors(&record.user_id).await?;
        if !holds(&factors, FactorKind::Authy, &report.authy_id) {
            return Err(WebhookError::UserMismatch);
        }
        // The same signature however it was padded with spaces.
        let replay_key = format!("{}|{}", nonce.trim(), signature.trim());
        let report = Report {
            status: report.status,
            replay_key: &replay_key,
            remember_until: now + 2 * inner.nonce_window,
        };
        Ok(
            match record_report(store.as_ref(), record, report, now).await? {
                Reported::Recorded(record) => Outcome::Recorded(record),
                Reported::Duplicate(record) => Outcome::Duplicate(record),
            },
        )
    }
}

impl From<NotRecorded> for WebhookError {
    fn from(error: NotRecorded) -> Self {
        match error {
            NotRecorded::UnknownRequest => Self::UnknownRequest,
            NotRecorded::Replay => Self::Replay,
            NotRecorded::AlreadyFinal(status) => Self::AlreadyFinal(status),
            NotRecorded::Store(error) => Self::Store(error),
        }
    }
}

impl WebhookBuilder {
    /// The callback URL exactly as configured in the Authy console (scheme,
    /// host, port and path; a trailing slash matters). Required (no
    /// default) unless forwarded headers are trusted; its path is where
    /// [`TwoFactor::router`](crate::TwoFactor::router) serves the webhook.
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// How far a nonce's time may be from now, either side (default 5
    /// minutes; 1 second to 1 hour).
    pub fn with_nonce_window(mut self, window: Duration) -> Self {
        self.nonce_window = window;
        self
    }

    /// Rebuilds the signed URL from the request's `X-Forwarded-Proto`,
    /// `X-Forwarded-Host` and `Host` headers when no public URL is set
    /// (default: off).
    ///
    /// # Warning
    ///
    /// Only behind a proxy that sets these headers itself: otherwise the
    /// sender chooses the URL that is checked. Prefer
    /// [`Self::with_public_url`].
    pub fn with_trusted_forwarded_headers(mut self) -> Self {
        self.trust_forwarded = true;
        self
    }

    /// Where [`TwoFactor::router`](crate::TwoFactor::router) serves the
    /// callback, when that is not the public URL's path (a proxy that strips
    /// a prefix, or a public URL with no path). Default: the public URL's
    /// path.
    pub fn with_mount_path(mut self, path: impl Into<String>) -> Self {
        self.mount_path = Some(path.into());
        self
    }

    /// Where the callback route is mounted: the mount path, else the public
    /// URL's path (`None` when neither says; `/` for a URL without a path).
    pub(crate) fn path(&self) -> Option<String> {
        crate::config::webhook_path(self.mount_path.as_deref(), self.public_url.as_deref())
    }

    /// Checks the settings and makes the webhook, recording into `store`.
    pub fn build(self, store: SharedStore) -> Result<Webhook, ConfigError> {
        let public_url = self
            .public_url
            .map(|url| crate::config::absolute_url("webhook public URL", &url))
            .transpose()?;
        let signed_url = match (public_url, self.trust_forwarded) {
            (Some(url), _) => SignedUrl::Public(url),
            (None, true) => SignedUrl::Forwarded,
            (None, false) => return Err(ConfigError::Missing("webhook public URL")),
        };
        if self.nonce_window.is_zero() || self.nonce_window > Duration::from_secs(3600) {
            return Err(ConfigError::OutOfRange {
                setting: "nonce window",
                reason: "between 1 second and 1 hour".into(),
            });
        }
        Ok(Webhook {
            inner: Arc::new(Inner {
                key: self.key,
                signed_url,
                nonce_window: self.nonce_window,
                store,
            }),
        })
    }
}

fn callback_params(request: &CallbackRequest<'_>) -> Result<Value, WebhookError> {
    let params = if *request.method == http::Method::POST {
        serde_json::from_slice(request.body)
            .map_err(|_| WebhookError::Malformed("the body is not JSON".into()))?
    } else if *request.method == http::Method::GET {
        params::from_urlencoded(request.query.unwrap_or("").as_bytes())
            .map_err(|e| WebhookError::Malformed(e.to_string()))?
    } else {
        return Err(WebhookError::Malformed("callbacks are GET or POST".into()));
    };
    if !params.is_object() {
        return Err(WebhookError::Malformed(
            "the parameters are not an object".into(),
        ));
    }
    Ok(params)
}

/// Authy's nonces are Unix times (seconds, possibly fractional). Anything
/// else cannot be bounded in time and is refused.
fn nonce_is_fresh(nonce: &str, now: SystemTime, window: Duration) -> bool {
    let Ok(at) = nonce.trim().parse::<f64>() else {
        return false;
    };
    let Ok(now) = now.duration_since(UNIX_EPOCH) else {
        return false;
    };
    at.is_finite() && (now.as_secs_f64() - at).abs() <= window.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_must_be_times_within_the_window() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let window = Duration::from_secs(300);
        assert!(nonce_is_fresh("1700000000", now, window));
        assert!(nonce_is_fresh("1699999700", now, window));
        assert!(!nonce_is_fresh("1700000300.5", now, window));
        assert!(nonce_is_fresh("1700000299.9", now, window));
        assert!(!nonce_is_fresh("1699999699", now, window));
        assert!(!nonce_is_fresh("abc", now, window));
        assert!(!nonce_is_fresh("NaN", now, window));
        assert!(!nonce_is_fresh("inf", now, window));
    }
}
