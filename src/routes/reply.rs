//! Answers in the format the client asked for: HTML pages and redirects for
//! browsers, JSON for API clients. Errors are answered the same way, naming
//! what went wrong without secrets.

use std::time::SystemTime;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use crate::provider::ProviderError;
use crate::session::SessionError;
use crate::store::StoreError;

/// HTML for browsers, JSON for API clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Html,
    Json,
}

impl Format {
    /// JSON when the client accepts JSON and not HTML, or sent JSON without
    /// asking for HTML.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let get = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .unwrap_or("")
        };
        let accept = get(header::ACCEPT);
        let sent_json = get(header::CONTENT_TYPE).starts_with("application/json");
        if accept.contains("text/html") {
            Self::Html
        } else if accept.contains("application/json") || sent_json {
            Self::Json
        } else {
            Self::Html
        }
    }
}

/// Why a route refused. Each has a stable code for JSON and for the
/// `?error=` of the page a browser is sent back to.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RouteError {
    #[error("sign in first")]
    LoginRequired,
    #[error("cross-site request refused")]
    CrossSite,
    #[error("{0}")]
    InvalidInput(String),
    #[error("that code is not right")]
    CodeRejected { remaining: u32 },
    #[error("too many wrong codes; try again later")]
    LockedOut { until: SystemTime },
    /// `until` is known for the crate's own send limit; a provider's limit
    /// may come without one.
    #[error("too many codes sent; wait before asking again")]
    TooManyCodes { until: Option<SystemTime> },
    #[error("this way of signing in is turned off")]
    ChannelOff,
    #[error("{0}")]
    NotPossible(String),
    #[error("the second-factor service is unreachable; try again or use another way")]
    ProviderUnavailable,
    #[error("set up two-factor sign-in first")]
    NotEnrolled,
    #[error("no approval request is waiting")]
    NoApprovalRequest,
    #[error("sign-in cannot be checked right now; try again")]
    Storage,
    #[error("the two-factor settings changed meanwhile; reload and try again")]
    ChangedMeanwhile,
    /// One field of a form is wrong; `code` names which (`invalid_email`…).
    #[error("{message}")]
    InvalidField { code: &'static str, message: String },
    #[error("two-factor sign-in is already on")]
    AlreadyEnabled,
    #[error("pass the second factor first")]
    SecondFactorRequired,
    #[error("confirm it is you with a code or an approval first")]
    FreshFactorRequired,
    #[error("two-factor sign-in cannot be turned off for this account")]
    OptOutNotAllowed,
}

impl RouteError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::LoginRequired => StatusCode::UNAUTHORIZED,
            Self::CrossSite => StatusCode::FORBIDDEN,
            Self::InvalidInput(_)
            | Self::NotPossible(_)
            | Self::NotEnrolled
            | Self::InvalidField { .. } => StatusCode::BAD_REQUEST,
            Self::AlreadyEnabled | Self::ChangedMeanwhile => StatusCode::CONFLICT,
            Self::SecondFactorRequired => StatusCode::UNAUTHORIZED,
            Self::FreshFactorRequired | Self::OptOutNotAllowed => StatusCode::FORBIDDEN,
            Self::CodeRejected { .. } => StatusCode::UNAUTHORIZED,
            Self::LockedOut { .. } | Self::TooManyCodes { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ChannelOff => StatusCode::FORBIDDEN,
            Self::NoApprovalRequest => StatusCode::NOT_FOUND,
            Self::ProviderUnavailable | Self::Storage => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::LoginRequired => "login_required",
            Self::CrossSite => "cross_site",
            Self::InvalidInput(_) => "invalid_input",
            Self::CodeRejected { .. } => "code_rejected",
            Self::LockedOut { .. } => "locked_out",
            Self::TooManyCodes { .. } => "too_many_codes",
            Self::ChannelOff => "channel_off",
            Self::NotPossible(_) => "not_possible",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::NotEnrolled => "not_enrolled",
            Self::NoApprovalRequest => "no_approval_request",
            Self::Storage => "storage_unavailable",
            Self::InvalidField { code, .. } => code,
            Self::AlreadyEnabled => "already_enabled",
            Self::ChangedMeanwhile => "changed_meanwhile",
            Self::SecondFactorRequired => "second_factor_required",
            Self::FreshFactorRequired => "fresh_factor_required",
            Self::OptOutNotAllowed => "opt_out_not_allowed",
        }
    }

    /// Seconds until a lockout or pause ends.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            Self::LockedOut { until } | Self::TooManyCodes { until: Some(until) } => Some(
                until
                    .duration_since(SystemTime::now())
                    .map(|d| d.as_secs() + 1)
                    .unwrap_or(1),
            ),
            _ => None,
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Value {
        let mut body = json!({"error": self.code(), "message": self.to_string()});
        if let Self::CodeRejected { remaining } = self {
            body["attempts_left"] = json!(remaining);
        }
        if let Some(seconds) = self.retry_after() {
            body["retry_after"] = json!(seconds);
        }
        body
    }

    /// A JSON answer.
    pub(crate) fn json(&self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after() {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<StoreError> for RouteError {
    fn from(error: StoreError) -> Self {
        tracing::warn!(%error, "tower-authy: store failed; refusing");
        Self::Storage
    }
}

impl From<SessionError> for RouteError {
    fn from(error: SessionError) -> Self {
        tracing::warn!(%error, "tower-authy: session store failed; refusing");
        Self::Storage
    }
}

impl From<ProviderError> for RouteError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::CodeRejected => Self::CodeRejected { remaining: 0 },
            ProviderError::InvalidInput(message) => Self::InvalidInput(message),
            ProviderError::NotPossible(message) => Self::NotPossible(message),
            ProviderError::RateLimited { retry_after } => Self::TooManyCodes {
                until: retry_after.map(|wait| SystemTime::now() + wait),
            },
            ProviderError::UnknownUser => Self::NotEnrolled,
            other => {
                tracing::warn!(error = %other, "tower-authy: provider failed; refusing");
                Self::ProviderUnavailable
            }
        }
    }
}

/// A browser goes back to `page` with the error's code (PRG: the page shows
/// the message; nothing the client sent is reflected). An API client gets JSON.
pub(crate) fn refuse(format: Format, page: &str, error: &RouteError) -> Response {
    match format {
        Format::Json => error.json(),
        Format::Html => see_other(&with_query(page, "error", error.code())),
    }
}

/// A page that could not be shown: a browser gets `message.html` saying what
/// went wrong, with the error's status and a link to try again (there is no
/// page of ours to go back to); an API client gets JSON.
pub(crate) fn error_page(
    ui: &crate::ui::Ui,
    format: Format,
    again: &str,
    error: &RouteError,
) -> Response {
    if format == Format::Json {
        return error.json();
    }
    let html = ui.render(
        "message.html",
        json!({
            "title": "Two-factor sign-in cannot go on right now",
            "error": message_for(error.code()).map_or_else(|| error.to_string(), str::to_owned),
            "error_code": error.code(),
            "link": again,
            "link_text": "Try again",
        }),
    );
    let mut response = (error.status(), Html(html)).into_response();
    no_store(&mut response);
    response
}

pub(crate) fn see_other(location: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    no_store(&mut response);
    response
}

pub(crate) fn page(html: String) -> Response {
    let mut response = Html(html).into_response();
    no_store(&mut response);
    response
}

pub(crate) fn json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    no_store(&mut response);
    response
}

fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

pub(crate) fn with_query(path: &str, key: &str, value: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    // Everything but RFC 3986's unreserved characters is escaped.
    const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let value: String = percent_encoding::utf8_percent_encode(value, QUERY_VALUE).collect();
    format!("{path}{separator}{key}={value}")
}

/// The message a page shows for an `?error=` or `?notice=` code. Unknown
/// codes show nothing: the page never echoes what the URL says.
pub(crate) fn message_for(code: &str) -> Option<&'static str> {
    Some(match code {
        "login_required" => "Sign in first.",
        "cross_site" => "That request came from another site and was refused.",
        "invalid_input" => "Please check what you typed.",
        "code_rejected" => "That code is not right. Please try again.",
        "locked_out" => "Too many wrong codes. Please wait before trying again.",
        "too_many_codes" => "Too many codes were sent. Please wait before asking again.",
        "channel_off" => "That way of signing in is turned off.",
        "not_possible" => "That does not work for your phone. Please use another way.",
        "provider_unavailable" => {
            "The sign-in service cannot be reached. Try again, or use another way."
        }
        "not_enrolled" => "Set up two-factor sign-in first.",
        "no_approval_request" => "No approval request is waiting. Send a new one.",
        "storage_unavailable" => "Sign-in cannot be checked right now. Please try again.",
        "changed_meanwhile" => {
            "Your two-factor settings changed meanwhile. Please reload and try again."
        }
        "denied" => "The request was denied on your phone.",
        "expired" => "The request expired. Send a new one or use a code.",
        "onetouch_sent" => "We sent a request to your Authy app. Approve it there, then continue.",
        "onetouch_pending" => "Still waiting for your approval in the Authy app.",
        "sms_sent" => "A code is on its way by text message.",
        "call_sent" => "We are calling you with a code.",
        "sent_to_app" => "You have the Authy app: your code is in the app.",
        "enrolled" => "Two-factor sign-in is almost on: confirm with a code.",
        "invalid_email" => "That e-mail address does not look right.",
        "invalid_country_code" => "The country calling code is 1 to 3 digits, like 1 or 44.",
        "invalid_phone_number" => {
            "The phone number is 4 to 15 digits; spaces, dashes, dots and brackets are fine."
        }
        "phone_rejected" => {
            "That phone number or e-mail address was not accepted. Please check it."
        }
        "already_enabled" => "Two-factor sign-in is already on.",
        "second_factor_required" => "Finish signing in with your second factor first.",
        "fresh_factor_required" => {
            "To turn two-factor sign-in off, first confirm it is you with a code."
        }
        "opt_out_not_allowed" => "Two-factor sign-in cannot be turned off for this account.",
        "enabled" => "Two-factor sign-in is on.",
        "disabled" => "Two-factor sign-in is off.",
        "devices_forgotten" => "Every remembered device will be asked for a code again.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn answer(error: ProviderError) -> (Option<String>, Value) {
        let response = RouteError::from(error).json();
        let header = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (header, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn a_provider_limit_says_how_long_to_wait_only_when_the_provider_did() {
        let (header, body) = answer(ProviderError::RateLimited { retry_after: None }).await;
        assert_eq!(header, None, "no wait was given, so none is made up");
        assert_eq!(body["error"], "too_many_codes");
        assert!(body.get("retry_after").is_none(), "{body}");

        let given = ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
        };
        let (header, body) = answer(given).await;
        let seconds: u64 = header.expect("the provider's wait").parse().unwrap();
        assert!((30..=31).contains(&seconds), "{seconds}");
        assert_eq!(body["retry_after"], seconds);
    }
}
