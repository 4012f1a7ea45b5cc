//! What can go wrong when calling Authy, and the error codes Authy reports.
//!
//! Four kinds of failure are kept apart, because callers react to them
//! differently:
//!
//! - [`AuthyError::Transport`]: the API was not reached or did not answer in
//!   time (try again later, or fall back to another channel);
//! - [`AuthyError::Api`]: Authy answered with its error envelope (a wrong
//!   token, an unknown user, a rate limit…), with Authy's `error_code`;
//! - [`AuthyError::Decode`]: something answered, but not with what Authy
//!   sends (an HTML error page from a proxy, truncated JSON); the raw body is
//!   kept for diagnosis;
//! - [`AuthyError::InvalidInput`]: the call was refused before anything was
//!   sent.
//!
//! No error ever contains the API key or a token.

use std::borrow::Cow;
use std::collections::BTreeMap;

use http::StatusCode;
use serde_json::{Map, Value};

/// The Authy error codes this crate knows by name (spec §3). Authy sends them
/// as JSON strings, so they are string constants here too.
///
/// ```
/// use tower_authy::authy::{AuthyError, codes};
///
/// fn explain(error: &AuthyError) -> &'static str {
///     match error.code() {
///         Some(codes::TOKEN_INVALID) | Some(codes::TOKEN_REUSED) => "wrong code, try again",
///         Some(codes::RATE_LIMITED) => "too many attempts, wait a minute",
///         _ => "second factor unavailable",
///     }
/// }
/// # let _ = explain;
/// ```
pub mod codes {
    /// `60000`: an error occurred (the default code).
    pub const DEFAULT: &str = "60000";
    /// `60001`: invalid API key (HTTP 401).
    pub const INVALID_API_KEY: &str = "60001";
    /// `60002`: invalid request.
    pub const INVALID_REQUEST: &str = "60002";
    /// `60003`: rate limited, "DoS protection" (HTTP 429).
    pub const RATE_LIMITED: &str = "60003";
    /// `60004`: invalid parameter (HTTP 400).
    pub const INVALID_PARAMETER: &str = "60004";
    /// `60007`: SMS is disabled for the application.
    pub const SMS_DISABLED: &str = "60007";
    /// `60019`: the token was already used.
    pub const TOKEN_REUSED: &str = "60019";
    /// `60020`: the token is invalid (HTTP 401).
    pub const TOKEN_INVALID: &str = "60020";
    /// `60021`: the phone verification could not be created (HTTP 403).
    pub const VERIFICATION_NOT_CREATED: &str = "60021";
    /// `60022`: the phone verification code is incorrect (HTTP 401).
    pub const VERIFICATION_CODE_INCORRECT: &str = "60022";
    /// `60023`: no pending phone verification (HTTP 404).
    pub const VERIFICATION_NOT_FOUND: &str = "60023";
    /// `60024`: phone information could not be retrieved.
    pub const PHONE_INFO_UNAVAILABLE: &str = "60024";
    /// `60025`: server error while querying phone information (HTTP 500).
    pub const PHONE_INFO_ERROR: &str = "60025";
    /// `60026`: user not found (HTTP 404).
    pub const USER_NOT_FOUND: &str = "60026";
    /// `60027`: user was not valid, e.g. a bad e-mail or phone (HTTP 400).
    pub const USER_INVALID: &str = "60027";
    /// `60029`: the user activity could not be created.
    pub const ACTIVITY_NOT_CREATED: &str = "60029";
    /// `60033`: the phone number is invalid (HTTP 400).
    pub const PHONE_NUMBER_INVALID: &str = "60033";
    /// `60042`: a verification status needs a uuid or a phone number (HTTP 400).
    pub const VERIFICATION_SELECTOR_MISSING: &str = "60042";
    /// `60049`: approval request not found (HTTP 404).
    pub const APPROVAL_REQUEST_NOT_FOUND: &str = "60049";
    /// `60050`: OneTouch: the user has no registered device.
    pub const ONETOUCH_UNREGISTERED_USER: &str = "60050";
    /// `60051`: OneTouch: device not found.
    pub const ONETOUCH_DEVICE_NOT_FOUND: &str = "60051";
    /// `60065`: OneTouch must be enabled for the application first (HTTP 403).
    pub const ONETOUCH_NOT_ENABLED: &str = "60065";
    /// `60082`: SMS cannot be sent to a landline (HTTP 403).
    pub const SMS_TO_LANDLINE: &str = "60082";
    /// `60083`: the phone number is not provisioned with any carrier (HTTP 403).
    pub const PHONE_NOT_PROVISIONED: &str = "60083";
}

/// An input was refused before any request was sent: names the field and why,
/// never its value (which may be a token or personal data).
///
/// ```
/// use tower_authy::authy::Token;
///
/// let err = Token::parse("12ab56").unwrap_err();
/// assert_eq!(err.field(), "token");
/// assert_eq!(err.to_string(), "invalid token: must be 6 to 12 ASCII digits");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct InvalidInput {
    field: &'static str,
    reason: Cow<'static, str>,
}

impl InvalidInput {
    pub(crate) fn new(field: &'static str, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }

    /// The parameter that was refused, by its Authy wire name.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// Why it was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

pub use crate::outbound::TransportKind;

/// An error from an Authy API call.
///
/// ```
/// use tower_authy::authy::{AuthyError, Token};
///
/// let err: AuthyError = Token::parse("123").unwrap_err().into();
/// assert!(matches!(err, AuthyError::InvalidInput(_)));
/// assert!(!err.is_token_rejected());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthyError {
    /// The Authy API could not be reached, or did not answer in time.
    #[error("could not reach the Authy API: {kind}")]
    #[non_exhaustive]
    Transport {
        /// What went wrong.
        kind: TransportKind,
        /// The underlying error, with its URL removed (a verify URL holds the
        /// token).
        #[source]
        source: reqwest::Error,
    },

    /// Authy answered with an error (its JSON error envelope, spec §1.4).
    #[error("Authy API error {} (HTTP {}): {message}", code.as_deref().unwrap_or("without a code"), status.as_u16())]
    #[non_exhaustive]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// Authy's `error_code` (see [`codes`]), when it sent one.
        code: Option<String>,
        /// Authy's message, e.g. `Token is invalid`.
        message: String,
        /// Per-field validation errors from `errors`, e.g.
        /// `cellphone` → `is invalid` (the `message` entry is left out).
        field_errors: BTreeMap<String, String>,
    },

    /// The answer was not what Authy sends: a non-JSON body, truncated JSON,
    /// missing members, or a success answer without its proof.
    #[error("unexpected answer from the Authy API: {reason}")]
    #[non_exhaustive]
    Decode {
        /// The HTTP status of the answer.
        status: StatusCode,
        /// What was wrong with it.
        reason: String,
        /// The raw body (lossily decoded as UTF-8, at most 1 MiB), for
        /// diagnosis; any copy of the API key in it reads `[redacted]`.
        body: String,
    },

    /// An input was refused before any request was sent.
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
}

impl AuthyError {
    /// Authy's `error_code`, for [`AuthyError::Api`] errors that carry one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => code.as_deref(),
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

    /// `true` when Authy refused a token: invalid ([`codes::TOKEN_INVALID`])
    /// or already used ([`codes::TOKEN_REUSED`]). The user should try again;
    /// anything else is an outage or a bug, not a wrong code.
    pub fn is_token_rejected(&self) -> bool {
        matches!(
            self.code(),
            Some(codes::TOKEN_INVALID | codes::TOKEN_REUSED)
        )
    }

    /// `true` when a phone verification code was wrong
    /// ([`codes::VERIFICATION_CODE_INCORRECT`]).
    pub fn is_verification_code_rejected(&self) -> bool {
        self.code() == Some(codes::VERIFICATION_CODE_INCORRECT)
    }

    /// `true` when Authy rate-limited the call (HTTP 429 or
    /// [`codes::RATE_LIMITED`]).
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Self::Api { status, .. } if *status == StatusCode::TOO_MANY_REQUESTS)
            || self.code() == Some(codes::RATE_LIMITED)
    }

    /// `true` when Authy reported an unknown user, approval request or
    /// pending verification (an [`AuthyError::Api`] with HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status, .. } if *status == StatusCode::NOT_FOUND)
    }

    /// `true` when Authy refused the API key ([`codes::INVALID_API_KEY`]).
    pub fn is_invalid_api_key(&self) -> bool {
        self.code() == Some(codes::INVALID_API_KEY)
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

    /// Reads Authy's error envelope (spec §1.4); `None` when the object has
    /// neither a message nor an error code.
    pub(crate) fn from_envelope(
        status: StatusCode,
        map: &Map<String, Value>,
        key: &str,
    ) -> Option<Self> {
        let errors = map.get("errors").and_then(Value::as_object);
        let message = map
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| errors?.get("message")?.as_str());
        // Authy sends the code as a string; accept a number too.
        let code = match map.get("error_code") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        if message.is_none() && code.is_none() {
            return None;
        }
        let field_errors: BTreeMap<String, String> = errors
            .into_iter()
            .flatten()
            .filter(|(field, _)| field.as_str() != "message")
            .map(|(field, why)| {
                let why = match why {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (field.clone(), scrub(&why, key))
            })
            .collect();
        Some(Self::Api {
            status,
            code,
            message: scrub(message.unwrap_or("no message"), key),
            field_errors,
        })
    }

    /// Wraps a reqwest error, dropping its URL first.
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
}

pub(crate) use crate::outbound::scrub;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_display_names_code_status_and_message() {
        let err = AuthyError::Api {
            status: StatusCode::UNAUTHORIZED,
            code: Some(codes::TOKEN_INVALID.to_owned()),
            message: "Token is invalid".to_owned(),
            field_errors: BTreeMap::new(),
        };
        assert_eq!(
            err.to_string(),
            "Authy API error 60020 (HTTP 401): Token is invalid"
        );
        assert!(err.is_token_rejected());
        assert!(!err.is_temporary());
        assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    }

    #[test]
    fn rate_limit_is_temporary() {
        let err = AuthyError::Api {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: Some(codes::RATE_LIMITED.to_owned()),
            message: "slow down".to_owned(),
            field_errors: BTreeMap::new(),
        };
        assert!(err.is_rate_limited());
        assert!(err.is_temporary());
        assert!(!err.is_token_rejected());
    }

    #[test]
    fn decode_error_display_gives_the_reason_not_the_body() {
        let err = AuthyError::decode(
            StatusCode::BAD_GATEWAY,
            "HTTP 502 with a non-JSON body",
            "<html>secret-ish page</html>".to_owned(),
        );
        assert_eq!(
            err.to_string(),
            "unexpected answer from the Authy API: HTTP 502 with a non-JSON body"
        );
        assert!(err.is_temporary());
    }
}
