//! Answers in the format the client asked for: HTML pages and redirects for
//! browsers, JSON for API clients. Refusals are answered the same way, by
//! their [`Code`], naming what went wrong without secrets.

use std::time::SystemTime;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use crate::code::Code;
use crate::domain::Refusal;
use crate::negotiate::Format;
use crate::ui::{Template, Ui};

/// Seconds until a lockout or pause ends, when that is known.
fn retry_after(refusal: &Refusal) -> Option<u64> {
    refusal.until().map(|until| {
        until
            .duration_since(SystemTime::now())
            .map(|d| d.as_secs() + 1)
            .unwrap_or(1)
    })
}

/// The JSON body of a refusal: `error`, `message`, and what makes it precise.
fn body(refusal: &Refusal) -> Value {
    let mut body = json!({"error": refusal.code(), "message": refusal.to_string()});
    if let Refusal::CodeRejected { remaining } = refusal {
        body["attempts_left"] = json!(remaining);
    }
    if let Some(seconds) = retry_after(refusal) {
        body["retry_after"] = json!(seconds);
    }
    body
}

/// A refusal as JSON, with its code's status (and `Retry-After` when a wait
/// is known).
pub(crate) fn json_refusal(refusal: &Refusal) -> Response {
    crate::telemetry::refused(refusal.code());
    let mut response = (refusal.code().status(), Json(body(refusal))).into_response();
    if let Some(seconds) = retry_after(refusal) {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    no_store(&mut response);
    response
}

/// A browser goes back to `page` with the refusal's code (PRG: the page
/// shows the message; nothing the client sent is reflected). An API client
/// gets JSON.
pub(crate) fn refuse(format: Format, page: &str, refusal: &Refusal) -> Response {
    match format {
        Format::Json => json_refusal(refusal),
        Format::Html => {
            crate::telemetry::refused(refusal.code());
            see_other(&with_query(page, "error", refusal.code().as_str()))
        }
    }
}

/// A notice: a browser goes to `page` with `?notice=`; an API client gets
/// `{"status": code, "message": …}` and whatever `extra` adds.
pub(crate) fn notice(format: Format, page: &str, code: Code, extra: Value) -> Response {
    match format {
        Format::Html => see_other(&with_query(page, "notice", code.as_str())),
        Format::Json => {
            let mut body = json!({"status": code, "message": code.message()});
            if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
                body.extend(extra);
            }
            json(StatusCode::OK, body)
        }
    }
}

/// A page that could not be shown: a browser gets `message.html` saying what
/// went wrong, with the refusal's status and a link to try again (there is
/// no page of ours to go back to); an API client gets JSON.
pub(crate) fn error_page(ui: &Ui, format: Format, again: &str, refusal: &Refusal) -> Response {
    if format == Format::Json {
        return json_refusal(refusal);
    }
    let code = refusal.code();
    crate::telemetry::refused(code);
    page_with_status(
        ui,
        Template::Message,
        json!({
            "title": "Two-factor sign-in cannot go on right now",
            "error": code.message(),
            "error_code": code,
            "link": again,
            "link_text": "Try again",
        }),
        code.status(),
    )
}

pub(crate) fn see_other(location: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    no_store(&mut response);
    response
}

/// A page of ours: rendered with a fresh `csp_nonce` in its context, sent
/// with a Content-Security-Policy that lets only that nonce's inline script
/// and style run, and with the headers that keep it out of frames and
/// other sites' referrers.
pub(crate) fn page(ui: &Ui, template: Template, context: Value) -> Response {
    page_with_status(ui, template, context, StatusCode::OK)
}

fn page_with_status(
    ui: &Ui,
    template: Template,
    mut context: Value,
    status: StatusCode,
) -> Response {
    let nonce = crate::session::random_token();
    if let Value::Object(map) = &mut context {
        map.insert("csp_nonce".into(), Value::String(nonce.clone()));
    }
    let html = ui.render(template, context);
    let mut response = (status, Html(html)).into_response();
    no_store(&mut response);
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
         connect-src 'self'; img-src 'self' data:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

pub(crate) fn json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    no_store(&mut response);
    response
}

/// Every answer of ours: never cached, never sniffed into another type,
/// and no URL of ours handed to other sites as a referrer.
fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::method::ProviderError;
    use std::time::Duration;

    async fn answer(error: ProviderError) -> (Option<String>, Value) {
        let response = json_refusal(&Refusal::from(error));
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
