//! Twilio Verify webhooks (spec §5.6): Verify reports each push challenge the
//! user approved or denied, and each factor change, with a request signed
//! with `X-Twilio-Signature`. [`VerifyWebhook`] checks and records them; it
//! is framework-free, and [`VerifyWebhook::method_router`] is the thin axum
//! adapter the crate's router mounts at `/2fa/verify/callback`.
//!
//! An event is accepted only when, in this order:
//!
//! 1. it is a POST carrying `X-Twilio-Signature`, and a form body parses
//!    as a form (the signature covers its pairs, so an unreadable form is
//!    refused as malformed, 400, before the signature is checked);
//! 2. the signature matches, in constant time, the configured public URL
//!    (with the request's query, as Twilio signs it; never the request's
//!    `Host` or `X-Forwarded-*`) and the form parameters, or for a JSON body
//!    the URL's `bodySHA256`; HMAC-SHA1 with the auth token unless
//!    `X-Twilio-Webhooks-Signature-Settings` names SHA-256;
//! 3. its parameters parse (each once; `challenge_sid`, `factor_sid` and
//!    `entity_identity` in Twilio's formats), and name the configured
//!    service (if one is); parameters this crate does not read are allowed,
//!    since Twilio adds fields and the signature covers them all;
//! 4. it is a push challenge event (`challenge.approved`,
//!    `challenge.denied`); anything else is acknowledged and ignored;
//! 5. its `challenge_sid` is a known, live approval request, and its
//!    `entity_identity` and `factor_sid` are a push factor of that
//!    request's user;
//! 6. its `uuid` was not seen before reporting something else (the replay
//!    guard), and the request is still pending: it then moves, exactly once,
//!    to the reported status, waking every browser waiting on it.
//!
//! Verify's events carry no time, so an event is stale when its request has
//! expired or is already final (409), as with the Authy webhook.
//!
//! | case | status | changes |
//! |---|---|---|
//! | recorded | 200 | the request's status |
//! | a factor event, a TOTP challenge, an unknown type (signed) | 200 | nothing |
//! | exact duplicate (same `uuid`, request already in that state) | 200 | nothing |
//! | not a POST ([`handle`](VerifyWebhook::handle)), malformed parameters, a body that is not a form | 400 | nothing |
//! | not a POST, through [`method_router`](VerifyWebhook::method_router) | 405 | nothing |
//! | missing or bad signature, unknown algorithm | 401 | nothing |
//! | another service, or a factor not the request's user's | 403 | nothing |
//! | unknown approval request (or one purged after it expired) | 404 | nothing |
//! | a seen `uuid` for a request now final with another status, or any outcome for a request expired or final with another status | 409 | the replay guard only |
//! | store unavailable | 503 | nothing |

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::StatusCode;

use super::signature::{self, Algorithm, SignatureError};
use crate::domain::{NotRecorded, Report, Reported, record_report};
use crate::store::{ApprovalRecord, ApprovalStatus, FactorKind, SharedStore, StoreError, holds};
use crate::verify::{ChallengeSid, FactorSid, Identity};
use crate::{ConfigError, Secret};

mod event;
mod route;

use event::Event;
pub use event::EventType;

/// How long a delivery's `uuid` is remembered: longer than any approval
/// request lives, so a replay always meets the guard.
const REMEMBER_UUID: Duration = Duration::from_secs(24 * 3600);

/// Why an event was refused. Each names the problem without secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyWebhookError {
    /// Not a POST, or the parameters are not an event this crate can read.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// The signature is missing or wrong, or its algorithm unknown.
    #[error("signature refused: {0}")]
    Signature(#[from] SignatureError),
    /// The event is about another Verify service.
    #[error("the event is about another Verify service")]
    WrongService,
    /// The event names an approval request this application never made, or
    /// one that expired.
    #[error("unknown approval request")]
    UnknownRequest,
    /// The event's factor is not a push factor of the request's user.
    #[error("the event's factor is not the request's user's")]
    UserMismatch,
    /// The `uuid` was seen before, reporting something else.
    #[error("replayed event")]
    Replay,
    /// The request is already final with another status.
    #[error("the approval request is already {0}")]
    AlreadyFinal(&'static str),
    /// The store could not be used; nothing was recorded.
    #[error("the store failed")]
    Store(#[from] StoreError),
}

impl VerifyWebhookError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Signature(_) => StatusCode::UNAUTHORIZED,
            Self::WrongService | Self::UserMismatch => StatusCode::FORBIDDEN,
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
            Self::WrongService => "wrong_service",
            Self::UnknownRequest => "unknown_request",
            Self::UserMismatch => "user_mismatch",
            Self::Replay => "replay",
            Self::AlreadyFinal(_) => "already_final",
            Self::Store(_) => "store_unavailable",
        }
    }
}

impl From<NotRecorded> for VerifyWebhookError {
    fn from(error: NotRecorded) -> Self {
        match error {
            NotRecorded::UnknownRequest => Self::UnknownRequest,
            NotRecorded::Replay => Self::Replay,
            NotRecorded::AlreadyFinal(status) => Self::AlreadyFinal(status),
            NotRecorded::Store(error) => Self::Store(error),
        }
    }
}

/// What an accepted event did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyOutcome {
    /// The request moved to the reported status.
    Recorded(ApprovalRecord),
    /// The request was already in the reported status; nothing changed.
    Duplicate(ApprovalRecord),
    /// A signed event this crate has nothing to do with (a factor event, a
    /// TOTP challenge); nothing changed.
    Ignored(EventType),
}

/// A received event, as any web framework can describe it.
#[derive(Debug, Clone, Copy)]
pub struct VerifyEventRequest<'a> {
    /// Only `POST` is accepted.
    pub method: &'a http::Method,
    /// The raw query string, without `?` (Twilio signs it with the URL).
    pub query: Option<&'a str>,
    /// The raw body.
    pub body: &'a [u8],
    /// The `Content-Type` header: JSON bodies are signed differently.
    pub content_type: Option<&'a str>,
    /// The `X-Twilio-Signature` header.
    pub signature: Option<&'a str>,
    /// The `X-Twilio-Webhooks-Signature-Settings` header, if any.
    pub signature_settings: Option<&'a str>,
}

/// Checks and records Verify events. Cheap to clone.
#[derive(Debug, Clone)]
pub struct VerifyWebhook {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    key: Secret,
    public_url: String,
    service_sid: Option<String>,
    algorithm: Option<Algorithm>,
    store: SharedStore,
}

/// Builds a [`VerifyWebhook`]: hand it to
/// [`TwoFactorBuilder::with_verify_webhook`](crate::TwoFactorBuilder::with_verify_webhook),
/// which builds it on its own store, or [`build`](Self::build) it on a store
/// to use [`VerifyWebhook::handle`] in another framework.
#[derive(Debug)]
#[must_use]
pub struct VerifyWebhookBuilder {
    key: Secret,
    public_url: Option<String>,
    mount_path: Option<String>,
    service_sid: Option<String>,
    algorithm: Option<Algorithm>,
}

impl VerifyWebhook {
    /// Starts a webhook keyed with the account's auth token (or the
    /// SharedKey of a Webhook Rule: the key Twilio signs with).
    pub fn builder(auth_token: impl Into<Secret>) -> VerifyWebhookBuilder {
        VerifyWebhookBuilder {
            key: auth_token.into(),
            public_url: None,
            mount_path: None,
            service_sid: None,
            algorithm: None,
        }
    }

    /// Checks and records one event received at `now`.
    pub async fn handle(
        &self,
        request: &VerifyEventRequest<'_>,
        now: SystemTime,
    ) -> Result<VerifyOutcome, VerifyWebhookError> {
        if *request.method != http::Method::POST {
            return Err(VerifyWebhookError::Malformed(
                "Verify events are POST requests".into(),
            ));
        }
        let signature = request
            .signature
            .filter(|s| !s.trim().is_empty())
            .ok_or(SignatureError::Missing)?;
        let inner = &self.inner;
        let named = request
            .signature_settings
            .map(|header| {
                Algorithm::from_settings_header(header).ok_or(SignatureError::UnknownAlgorithm)
            })
            .transpose()?;
        let algorithm = match (inner.algorithm, named) {
            (None, named) => named.unwrap_or(Algorithm::HmacSha1),
            (Some(pinned), None) => pinned,
            (Some(pinned), Some(named)) if named == pinned => pinned,
            (Some(_), Some(_)) => return Err(SignatureError::OtherAlgorithm.into()),
        };
        let url = match request.query.filter(|q| !q.is_empty()) {
            Some(query) => format!("{}?{query}", inner.public_url),
            None => inner.public_url.clone(),
        };
        let key = inner.key.expose();
        // The signature first: nothing of an unsigned body is read further.
        let event = if is_json(request.content_type) {
            signature::validate_json(key, algorithm, &url, request.body, signature)?;
            Event::from_json(request.body)?
        } else {
            let pairs = event::form_pairs(request.body)?;
            signature::validate_form(key, algorithm, &url, &pairs, signature)?;
            Event::from_pairs(&pairs)?
        };
        if let Some(service) = &inner.service_sid {
            if event.service_sid != *service {
                return Err(VerifyWebhookError::WrongService);
            }
        }
        let status = match event.kind {
            EventType::ChallengeApproved => ApprovalStatus::Approved,
            EventType::ChallengeDenied => ApprovalStatus::Denied,
            other => return Ok(VerifyOutcome::Ignored(other)),
        };
        if event.factor_type != "push" {
            return Ok(VerifyOutcome::Ignored(event.kind));
        }
        let challenge = event
            .challenge_sid
            .as_deref()
            .ok_or_else(|| VerifyWebhookError::Malformed("challenge_sid is missing".into()))?;
        // Twilio's own formats, before anything is looked up with them.
        let malformed =
            |name: &str| VerifyWebhookError::Malformed(format!("{name} is not a Verify {name}"));
        challenge
            .parse::<ChallengeSid>()
            .map_err(|_| malformed("challenge_sid"))?;
        event
            .factor_sid
            .parse::<FactorSid>()
            .map_err(|_| malformed("factor_sid"))?;
        event
            .entity_identity
            .parse::<Identity>()
            .map_err(|_| malformed("entity_identity"))?;
        let store = &inner.store;
        let record = store
            .approval(challenge, now)
            .await?
            .ok_or(VerifyWebhookError::UnknownRequest)?;
        let factors = store.factors(&record.user_id).await?;
        let provider_ref = format!("{}:{}", event.entity_identity, event.factor_sid);
        if !holds(&factors, FactorKind::VerifyPush, &provider_ref) {
            return Err(VerifyWebhookError::UserMismatch);
        }
        let replay_key = format!("verify:{}", event.uuid);
        let report = Report {
            status,
            replay_key: &replay_key,
            remember_until: now + REMEMBER_UUID,
        };
        Ok(
            match record_report(store.as_ref(), record, report, now).await? {
                Reported::Recorded(record) => VerifyOutcome::Recorded(record),
                Reported::Duplicate(record) => VerifyOutcome::Duplicate(record),
            },
        )
    }
}

/// `application/json`, with or without parameters; anything else is read
/// as a form, as Twilio sends by default.
fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

impl VerifyWebhookBuilder {
    /// The webhook URL exactly as registered with the Verify service
    /// (scheme, host, port and path; a trailing slash matters). Required:
    /// the signature covers it, and forwarded headers are never trusted. Its
    /// path is where [`TwoFactor::router`](crate::TwoFactor::router) serves
    /// the webhook.
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// Where [`TwoFactor::router`](crate::TwoFactor::router) serves the
    /// webhook, when that is not the public URL's path (a proxy that strips
    /// a prefix). Default: the public URL's path.
    pub fn with_mount_path(mut self, path: impl Into<String>) -> Self {
        self.mount_path = Some(path.into());
        self
    }

    /// Accepts only events of this Verify service (`VA…`; default: any
    /// service of the account, since the signature already proves the
    /// account).
    pub fn with_service_sid(mut self, sid: impl Into<String>) -> Self {
        self.service_sid = Some(sid.into());
        self
    }

    /// Accepts only signatures made with `algorithm`, whatever
    /// `X-Twilio-Webhooks-Signature-Settings` says (default: the algorithm
    /// the header names, HMAC-SHA1 without one). Pin
    /// [`Algorithm::HmacSha256`] when the key is a Webhook Rule's SharedKey.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Where the webhook route is mounted: the mount path, else the public
    /// URL's path (`None` when neither says; `/` for a URL without a path).
    pub(crate) fn path(&self) -> Option<String> {
        crate::config::webhook_path(self.mount_path.as_deref(), self.public_url.as_deref())
    }

    /// Checks the settings and makes the webhook, recording into `store`.
    pub fn build(self, store: SharedStore) -> Result<VerifyWebhook, ConfigError> {
        const SETTING: &str = "Verify webhook public URL";
        let public_url = self.public_url.ok_or(ConfigError::Missing(SETTING))?;
        let public_url = crate::config::absolute_url(SETTING, &public_url)?;
        if self.key.expose().is_empty() {
            return Err(ConfigError::Missing("Verify webhook auth token"));
        }
        Ok(VerifyWebhook {
            inner: Arc::new(Inner {
                key: self.key,
                public_url,
                service_sid: self.service_sid,
                algorithm: self.algorithm,
                store,
            }),
        })
    }
}
