//! The layer's answers to a request it does not let through: a redirect
//! for browsers, JSON for everybody else, built from the request itself.

use axum::body::Body;
use axum::extract::OriginalUri;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

use super::Config;
use crate::code::Code;
use crate::negotiate::Format;

/// Where the request is sent.
pub(super) enum Denied {
    Login,
    SecondFactor,
}

/// To the login page or the challenge, with `next` naming the URI the
/// client asked for (inside `Router::nest` the request's own URI has lost
/// its prefix; `OriginalUri` has not).
pub(super) fn deny<B>(config: &Config, request: &Request<B>, why: Denied) -> Response<Body> {
    let (target, code) = match why {
        Denied::Login => (&config.login_path, Code::LoginRequired),
        Denied::SecondFactor => (&config.challenge_path, Code::SecondFactorRequired),
    };
    let uri = request
        .extensions()
        .get::<OriginalUri>()
        .map_or(request.uri(), |original| &original.0);
    let next = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let location = format!(
        "{target}?next={}",
        utf8_percent_encode(next, NON_ALPHANUMERIC)
    );
    let mut response = if Format::of(request.headers()) == Format::Html {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
    } else {
        json_response(
            code.status(),
            json!({"error": code, "message": code.message(), "location": location}),
        )
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A failure of the session or the store: refused, as JSON.
pub(super) fn failure(code: Code) -> Response<Body> {
    crate::telemetry::refused(code);
    json_response(
        code.status(),
        json!({"error": code, "message": code.message()}),
    )
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
