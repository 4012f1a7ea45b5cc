//! The same-origin rule for state-changing requests: the crate's own
//! routes apply it, and [`require_same_origin`] lets an application's own
//! forms (sign-up, sign-in, settings) apply the very same rule.
//!
//! ```
//! use axum::{Router, middleware, routing::post};
//!
//! let app: Router = Router::new()
//!     .route("/login", post(|| async { "signed in" }))
//!     .route_layer(middleware::from_fn(tower_authy::origin::require_same_origin));
//! # let _ = app;
//! ```

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::domain::Refusal;

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Same-origin POSTs only. `Sec-Fetch-Site` decides when present; else
/// `Origin` must name this host; with neither, the session's CSRF token must
/// come along. A token that comes along must always be right.
pub(crate) fn check(
    headers: &HeaderMap,
    token: Option<&str>,
    session_token: Option<&str>,
) -> Result<(), Refusal> {
    if let Some(token) = token {
        let right = session_token
            .is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(token.as_bytes())));
        if !right {
            return Err(Refusal::CrossSite);
        }
    }
    if let Some(site) = header_text(headers, "sec-fetch-site") {
        return if site.eq_ignore_ascii_case("same-origin") {
            Ok(())
        } else {
            Err(Refusal::CrossSite)
        };
    }
    if let Some(origin) = header_text(headers, header::ORIGIN.as_str()) {
        let host = header_text(headers, header::HOST.as_str());
        let origin_host = origin
            .parse::<axum::http::Uri>()
            .ok()
            .and_then(|uri| uri.authority().map(|a| a.as_str().to_owned()));
        return match (origin_host, host) {
            (Some(origin_host), Some(host)) if origin_host.eq_ignore_ascii_case(host) => Ok(()),
            _ => Err(Refusal::CrossSite),
        };
    }
    if token.is_some() {
        Ok(())
    } else {
        Err(Refusal::CrossSite)
    }
}

/// Axum middleware (`middleware::from_fn(require_same_origin)`): a POST,
/// PUT, PATCH or DELETE goes on only when it shows it comes from this
/// site, by the rule of the crate's own routes: `Sec-Fetch-Site` must say
/// `same-origin` when sent; else `Origin` must name this host; with
/// neither, the session's CSRF token
/// ([`session::csrf_token`](crate::session::csrf_token)) must come in
/// `X-CSRF-Token`. Anything else is refused with 403 before the handler
/// runs. Other methods go on as they are.
pub async fn require_same_origin(request: Request, next: Next) -> Response {
    let changes = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if !changes {
        return next.run(request).await;
    }
    let token = header_text(request.headers(), "x-csrf-token").map(str::to_owned);
    let expected = match request.extensions().get::<Session>() {
        Some(session) => crate::session::csrf_token(session).await.ok().flatten(),
        None => None,
    };
    match check(request.headers(), token.as_deref(), expected.as_deref()) {
        Ok(()) => next.run(request).await,
        Err(_) => {
            tracing::warn!(path = %request.uri().path(), "tower-authy: refused a cross-site request");
            (StatusCode::FORBIDDEN, "cross-site request refused").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn same_origin_passes_and_cross_site_does_not() {
        let ok = |h: &[(&'static str, &'static str)], t: Option<&str>| {
            check(&headers(h), t, Some("tok")).is_ok()
        };
        assert!(ok(&[("sec-fetch-site", "same-origin")], None));
        assert!(!ok(&[("sec-fetch-site", "cross-site")], None));
        assert!(!ok(&[("sec-fetch-site", "same-site")], None));
        assert!(
            !ok(&[("sec-fetch-site", "cross-site")], Some("tok")),
            "a token does not excuse a cross-site fetch"
        );
        assert!(ok(
            &[
                ("origin", "http://app.example:3000"),
                ("host", "app.example:3000")
            ],
            None
        ));
        assert!(!ok(
            &[
                ("origin", "http://evil.example"),
                ("host", "app.example:3000")
            ],
            None
        ));
        assert!(!ok(&[("origin", "null"), ("host", "app.example")], None));
        assert!(ok(&[], Some("tok")), "no headers: the token decides");
        assert!(!ok(&[], None));
        assert!(!ok(&[], Some("wrong")));
        assert!(
            !ok(&[("sec-fetch-site", "same-origin")], Some("wrong")),
            "a wrong token is refused"
        );
        assert!(
            check(&headers(&[]), Some("tok"), None).is_err(),
            "no session, no token to match"
        );
    }
}
