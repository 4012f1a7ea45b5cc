//! Answers in Verify's shapes (spec §1.4–§1.6), the Basic credentials check,
//! form parameters, dates and list pages.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

use super::VerifySimulator;

/// A JSON answer with a status.
#[derive(Debug)]
pub(crate) struct TwilioReply {
    status: StatusCode,
    body: Option<Value>,
    /// `Twilio-Verify-Signature-Fields` of a fetched challenge (spec §5.4).
    pub(crate) signature_fields: Option<&'static str>,
}

impl TwilioReply {
    pub(crate) fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
            signature_fields: None,
        }
    }

    pub(crate) fn created(body: Value) -> Self {
        Self {
            status: StatusCode::CREATED,
            body: Some(body),
            signature_fields: None,
        }
    }

    pub(crate) fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            signature_fields: None,
        }
    }

    /// Twilio's error body: `{"code","message","more_info","status"}`.
    pub(crate) fn error(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Some(json!({
                "code": code,
                "message": message.into(),
                "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
                "status": status.as_u16(),
            })),
            signature_fields: None,
        }
    }

    /// 404/20404 for a resource path.
    pub(crate) fn not_found(path: &str) -> Self {
        Self::error(
            StatusCode::NOT_FOUND,
            20404,
            format!("The requested resource {path} was not found"),
        )
    }

    /// 400/60200 `Invalid parameter: <name>` (services, verifications).
    pub(crate) fn invalid_parameter(name: &str) -> Self {
        Self::error(
            StatusCode::BAD_REQUEST,
            60200,
            format!("Invalid parameter: {name}"),
        )
    }

    /// 400/60306 (entities, factors, challenges, webhooks).
    pub(crate) fn invalid_request(name: &str) -> Self {
        Self::error(
            StatusCode::BAD_REQUEST,
            60306,
            format!("Invalid request: {name}"),
        )
    }

    pub(crate) fn unauthenticated() -> Self {
        Self::error(StatusCode::UNAUTHORIZED, 20003, "Authenticate")
    }
}

impl IntoResponse for TwilioReply {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(body) => (
                self.status,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response(),
            None => self.status.into_response(),
        };
        if let Some(fields) = self.signature_fields {
            response.headers_mut().insert(
                "twilio-verify-signature-fields",
                header::HeaderValue::from_static(fields),
            );
        }
        response
    }
}

pub(crate) async fn not_found_route() -> TwilioReply {
    TwilioReply::error(
        StatusCode::NOT_FOUND,
        20404,
        "The requested resource was not found",
    )
}

pub(crate) async fn method_not_allowed() -> TwilioReply {
    TwilioReply::error(StatusCode::METHOD_NOT_ALLOWED, 20004, "Method not allowed")
}

/// Who called: the account whose credentials the request carries.
pub(crate) fn account(sim: &VerifySimulator, headers: &HeaderMap) -> Result<String, TwilioReply> {
    let (user, password) = basic(headers).ok_or_else(TwilioReply::unauthenticated)?;
    let matches = |secret: &crate::Secret| bool::from(secret.expose().ct_eq(password.as_bytes()));
    if let Some(token) = sim.inner.accounts.get(&user) {
        if matches(token) {
            return Ok(user);
        }
    }
    if let Some((secret, account)) = sim.inner.api_keys.get(&user) {
        if matches(secret) {
            return Ok(account.clone());
        }
    }
    Err(TwilioReply::unauthenticated())
}

/// The user and password of a Basic `Authorization` header.
pub(crate) fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Form parameters (a POST's body, a GET's query), repeats kept.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn from_body(body: &Bytes) -> Self {
        Self(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    pub(crate) fn from_query(query: Option<&str>) -> Self {
        Self(serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default())
    }

    /// The first value of `name`; an empty value counts as absent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An integer parameter within `range`; `Err(())` when present and not.
    pub(crate) fn int(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, ()> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => match text.parse::<u64>() {
                Ok(n) if range.contains(&n) => Ok(Some(n)),
                _ => Err(()),
            },
        }
    }
}

/// A date as Verify writes it.
pub(crate) fn date(secs: u64) -> String {
    crate::utc::DateTime::from_unix(secs).iso8601()
}

/// One page of `items` under `key`, with Twilio's `meta` (spec §1.4);
/// `PageSize` 1–1000 (default 50), `Page` from 0.
pub(crate) fn page(
    sim: &VerifySimulator,
    path: &str,
    key: &str,
    items: Vec<Value>,
    params: &Params,
) -> TwilioReply {
    let Ok(size) = params.int("PageSize", 1..=1000) else {
        return TwilioReply::invalid_request("PageSize");
    };
    let Ok(number) = params.int("Page", 0..=1_000_000) else {
        return TwilioReply::invalid_request("Page");
    };
    let size = size.unwrap_or(50) as usize;
    let number = number.unwrap_or(0) as usize;
    let link = |n: usize| format!("{}?PageSize={size}&Page={n}", sim.url(path));
    let start = number.saturating_mul(size);
    let has_next = items.len() > start.saturating_add(size);
    let slice: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    TwilioReply::ok(json!({
        key: slice,
        "meta": {
            "page": number,
            "page_size": size,
            "first_page_url": link(0),
            "previous_page_url": (number > 0).then(|| link(number - 1)),
            "url": link(number),
            "next_page_url": has_next.then(|| link(number + 1)),
            "key": key,
        },
    }))
}
