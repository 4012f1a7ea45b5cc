//! What can go wrong when calling Verify, and the Twilio error codes a
//! second-factor integration meets (spec §6).
//!
//! As with Authy, four kinds of failure are kept apart: [`VerifyError::Transport`]
//! (not reached, or no answer in time), [`VerifyError::Api`] (Twilio's
//! error body, with its integer `code`), [`VerifyError::Decode`] (an answer
//! that is not Verify's: an HTML page from a proxy, truncated JSON) and
//! [`VerifyError::InvalidInput`] (refused before anything was sent). No
//! error ever contains the auth token or an API key secret.

use std::time::Duration;

use http::StatusCode;
use serde_json::{Map, Value};

pub use crate::outbound::TransportKind;

/// The Twilio error codes this crate reacts to, by name (spec §6).
pub mod codes {
    /// `20003`: authentication failed (HTTP 401).
    pub const AUTHENTICATE: u32 = 20003;
    /// `20404`: not found, including a verification that was approved,
    /// expired, canceled or ran out of checks (HTTP 404).
    pub const NOT_FOUND: u32 = 20404;
    /// `20429`: too many requests (HTTP 429).
    pub const TOO_MANY_REQUESTS: u32 = 20429;
    /// `60200`: invalid parameter (HTTP 400).
    pub const INVALID_PARAMETER: u32 = 60200;
    /// `60202`: max check attempts reached (HTTP 429).
    pub const MAX_CHECK_ATTEMPTS: u32 = 60202;
    /// `60203`: max send attempts reached (HTTP 429).
    pub const MAX_SEND_ATTEMPTS: u32 = 60203;
    /// `60205`: SMS is not supported by a landline (HTTP 403).
    pub const LANDLINE: u32 = 60205;
    /// `60212`: too many concurrent requests for the phone number (HTTP 429).
    pub const TOO_MANY_CONCURRENT: u32 = 60212;
    /// `60223`: the delivery channel is disabled (HTTP 400).
    pub const CHANNEL_DISABLED: u32 = 60223;
    /// `60306`: invalid request for factors, challenges or webhooks (HTTP 400).
    pub const INVALID_REQUEST: u32 = 60306;
    /// `60308`: challenge verification attempts limit reached (HTTP 429).
    pub const CHALLENGE_ATTEMPTS: u32 = 60308;
    /// `60310`: factor verification attempts reached (HTTP 429).
    pub const FACTOR_ATTEMPTS: u32 = 60310;
    /// `60318`: the factor is unverified (HTTP 403).
    pub const FACTOR_UNVERIFIED: u32 = 60318;
    /// `60323`: the challenge expired (HTTP 403).
    pub const CHALLENGE_EXPIRED: u32 = 60323;
    /// `60324`: challenge verification failed (HTTP 403).
    pub const CHALLENGE_FAILED: u32 = 60324;
}

/// An input refused before any request was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct InvalidInput {
    /// The parameter.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl InvalidInput {
    pub(crate) fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}

/// A failed Verify call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The Verify API could not be reached, or did not answer in time.
    #[error("could not reach the Verify API: {kind}")]
    #[non_exhaustive]
    Transport {
        /// What went wrong.
        kind: TransportKind,
        /// The underlying error, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// Twilio answered with its error body (spec §1.6).
    #[error("Verify API error {} (HTTP {}): {message}", code.map_or("without a code".to_owned(), |c| c.to_string()), status.as_u16())]
    #[non_exhaustive]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// Twilio's error code (see [`codes`]), when the body had one.
        code: Option<u32>,
        /// Twilio's message, e.g. `Invalid parameter: To`.
        message: String,
        /// Twilio's page about the code.
        more_info: Option<String>,
        /// The `Retry-After` of a 429, when given in seconds.
        retry_after: Option<Duration>,
    },
    /// The answer was not what Verify sends.
    #[error("unexpected answer from the Verify API: {reason}")]
    #[non_exhaustive]
    Decode {
        /// The HTTP status of the answer.
        status: StatusCode,
        /// What was wrong with it.
        reason: String,
        /// What is kept of the body: for a failure its first 4 KiB, lossily
        /// decoded, any copy of the credentials (plain or Base64) reading
        /// `[redacted]`; for a success only its length (it may hold a seed).
        body: String,
    },
    /// An input was refused before any request was sent.
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
}

impl VerifyError {
    /// Twilio's error code, for [`VerifyError::Api`] errors that carry one.
    pub fn code(&self) -> Option<u32> {
        match self {
            Self::Api { code, .. } => *code,
            _ => None,
        }
    }

    /// The HTTP status, when an answer was received.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. } | Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `true` for HTTP 404 (code 20404): an unknown resource, or a
    /// verification that is gone (approved, expired, canceled, out of checks).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status, .. } if *status == StatusCode::NOT_FOUND)
    }

    /// `true` for HTTP 429: a Verify limit or Twilio's own.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Self::Api { status, .. } if *status == StatusCode::TOO_MANY_REQUESTS)
    }

    /// `true` for failures that say nothing about the request itself and may
    /// pass on a later try: transport errors, HTTP 5xx and rate limits.
    pub fn is_temporary(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Api { status, .. } | Self::Decode { status, .. } => {
                status.is_server_error() || self.is_rate_limited()
            }
            Self::InvalidInput(_) => false,
        }
    }

    pub(crate) fn transport(error: reqwest::Error) -> Self {
        Self::Transport {
            kind: TransportKind::of(&error),
            source: error.without_url(),
        }
    }

    pub(crate) fn decode(status: StatusCode, reason: impl Into<String>, body: String) -> Self {
        Self::Decode {
            status,
            reason: reason.into(),
            body,
        }
    }

    /// Reads Twilio's error body (the legacy form, or RFC 9457's `detail`);
    /// `None` when it has neither a code nor a message.
    pub(crate) fn from_body(
        status: StatusCode,
        map: &Map<String, Value>,
        retry_after: Option<Duration>,
        secret: &str,
    ) -> Option<Self> {
        let code = map
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok());
        let message = map
            .get("message")
            .or_else(|| map.get("detail"))
            .and_then(Value::as_str);
        if code.is_none() && message.is_none() {
            return None;
        }
        Some(Self::Api {
            status,
            code,
            message: scrub(message.unwrap_or("no message"), secret),
            more_info: map
                .get("more_info")
                .and_then(Value::as_str)
                .map(|s| scrub(s, secret)),
            retry_after,
        })
    }
}

pub(crate) use crate::outbound::scrub;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_body_reads_code_message_and_more_info_without_the_secret() {
        let body: Map<String, Value> = serde_json::from_str(
            r#"{"code":60200,"message":"Invalid parameter: To s3cret","more_info":"https://www.twilio.com/docs/errors/60200","status":400}"#,
        )
        .unwrap();
        let error = VerifyError::from_body(StatusCode::BAD_REQUEST, &body, None, "s3cret").unwrap();
        assert_eq!(error.code(), Some(codes::INVALID_PARAMETER));
        assert_eq!(
            error.to_string(),
            "Verify API error 60200 (HTTP 400): Invalid parameter: To [redacted]"
        );
        assert!(!error.is_temporary());
        let empty = Map::new();
        assert!(VerifyError::from_body(StatusCode::BAD_GATEWAY, &empty, None, "s").is_none());
    }
}
