//! The decision: from the request's path and session alone, pass or answer.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use http::request::Parts;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;
use tower_sessions::Session;

use super::Config;
use super::verified::Verified;
use crate::code::Code;
use crate::domain::is_stale;
use crate::negotiate::Format;
use crate::session::{self, from_unix};

/// What the decision needs from a request, taken before the request moves
/// on (so the body need not be `Sync` to wait for the session read).
pub(super) struct Head {
    uri: http::Uri,
    format: Format,
    session: Option<Session>,
    /// A body-less copy for the requirement hook, made only when one is set.
    parts: Option<Parts>,
}

impl Head {
    pub(super) fn of<B>(request: &Request<B>, with_parts: bool) -> Self {
        let format = Format::of(request.headers());
        // Inside `Router::nest` the URI has lost its prefix; exemptions and
        // `next` name the path the client asked for.
        let uri = match request.extensions().get::<axum::extract::OriginalUri>() {
            Some(original) => original.0.clone(),
            None => request.uri().clone(),
        };
        let parts = with_parts.then(|| {
            let mut copy = Request::new(());
            *copy.method_mut() = request.method().clone();
            *copy.uri_mut() = uri.clone();
            *copy.version_mut() = request.version();
            *copy.headers_mut() = request.headers().clone();
            copy.into_parts().0
        });
        Self {
            uri,
            format,
            session: request.extensions().get::<Session>().cloned(),
            parts,
        }
    }
}

/// What the layer does with a request.
pub(super) enum Decision {
    /// Let it through; a session that passed both factors says who.
    Pass(Option<Verified>),
    /// Answer it here.
    Deny(Response<Body>),
}

pub(super) async fn decide(config: &Config, head: Head) -> Decision {
    if is_exempt(config, head.uri.path()) {
        return Decision::Pass(None);
    }
    let Some(session) = head.session.as_ref() else {
        tracing::error!(
            "tower-authy: no session; add tower_sessions::SessionManagerLayer outside RequireSecondFactorLayer"
        );
        return Decision::Deny(failure(Code::SessionMissing));
    };
    let state = match session::load(session).await {
        Ok(state) => state,
        Err(error) => {
            tracing::warn!(%error, "tower-authy: session unreadable; refusing");
            return Decision::Deny(failure(Code::SessionUnavailable));
        }
    };
    let Some(state) = state else {
        return Decision::Deny(deny(config, &head, Denied::Login));
    };
    if let Some(passed) = state.passed {
        return Decision::Pass(Some(Verified {
            user_id: state.user_id,
            method: passed.method,
            at: from_unix(passed.at),
        }));
    }
    if is_stale(
        from_unix(state.first_factor_at),
        SystemTime::now(),
        config.pending_ttl,
    ) {
        // Too long between the factors: start again from the password.
        if let Err(error) = session::clear(session).await {
            tracing::warn!(%error, "tower-authy: could not clear an expired pending session");
        }
        return Decision::Deny(deny(config, &head, Denied::Login));
    }
    if let (Some(requirement), Some(parts)) = (&config.requirement, &head.parts) {
        if !requirement.requires_second_factor(parts, &state.user_id) {
            return Decision::Pass(None);
        }
    }
    Decision::Deny(deny(config, &head, Denied::SecondFactor))
}

/// Whether `path` is the challenge or an exempt path (or below one), the
/// login page, or an exempt route. A path with dot segments or encoded separators is never exempt, so
/// `/2fa/../admin` cannot borrow the challenge's exemption.
fn is_exempt(config: &Config, path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let suspicious = lower.contains("%2e")
        || lower.contains("%2f")
        || lower.contains("%5c")
        || lower.contains('\\')
        || lower
            .split('/')
            .any(|segment| segment == "." || segment == "..");
    if suspicious {
        return false;
    }
    let exact = |route: &String| {
        let route = route.trim_end_matches('/');
        path == route || path.strip_prefix(route) == Some("/")
    };
    if std::iter::once(&config.login_path)
        .chain(&config.exempt_exact)
        .any(exact)
    {
        return true;
    }
    std::iter::once(&config.challenge_path)
        .chain(&config.exempt)
        .any(|prefix| {
            // `/` exempts the root page only, never the whole site.
            let prefix = prefix.trim_end_matches('/');
            if prefix.is_empty() {
                return path == "/";
            }
            path == prefix || path.starts_with(&format!("{prefix}/"))
        })
}

enum Denied {
    Login,
    SecondFactor,
}

fn deny(config: &Config, head: &Head, why: Denied) -> Response<Body> {
    let (target, code) = match why {
        Denied::Login => (&config.login_path, Code::LoginRequired),
        Denied::SecondFactor => (&config.challenge_path, Code::SecondFactorRequired),
    };
    let next = head.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let location = format!(
        "{target}?next={}",
        utf8_percent_encode(next, NON_ALPHANUMERIC)
    );
    let mut response = if head.format == Format::Html {
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

fn failure(code: Code) -> Response<Body> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::RequireSecondFactorLayer;
    use std::time::Duration;

    #[test]
    fn exemptions_follow_path_segments_and_refuse_tricks() {
        let layer = RequireSecondFactorLayer::new("/login", "/2fa", Duration::from_secs(600))
            .with_exempt_path("/logout")
            .with_exempt_route("/hooks/authy");
        let config = &layer.config;
        for path in [
            "/2fa",
            "/2fa/",
            "/2fa/token",
            "/login",
            "/logout",
            "/logout/x",
            "/hooks/authy",
        ] {
            assert!(is_exempt(config, path), "{path}");
        }
        for path in [
            "/2fab",
            "/admin",
            "/",
            "/loginx",
            "/login/admin",
            "/hooks/authy/x",
            "/hooks",
            "/2fa/../admin",
            "/2fa/%2e%2e/admin",
            "/2fa/..%2Fadmin",
            "/2fa%2F..%2Fadmin",
            "/2fa/.\\admin",
            "/2fa/./x",
        ] {
            assert!(!is_exempt(config, path), "{path}");
        }
        let root = RequireSecondFactorLayer::new("/login", "/2fa", Duration::from_secs(600))
            .with_exempt_path("/");
        assert!(is_exempt(&root.config, "/"));
        for path in ["/admin", "/x/y"] {
            assert!(!is_exempt(&root.config, path), "{path}");
        }
    }
}
