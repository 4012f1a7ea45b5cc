//! The decision: from the request's path and session alone, pass or answer.

use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{MatchedPath, OriginalUri};
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http::request::Parts;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;
use tower_sessions::Session;

use super::Config;
use super::verified::Verified;
use crate::code::Code;
use crate::domain::{is_signed_out, is_stale, pass_stands};
use crate::negotiate::Format;
use crate::session::{self, from_unix};

/// What the decision needs from a request, taken before the request moves
/// on (so the body need not be `Sync` to wait for the session read).
pub(super) struct Head {
    /// The URI the client asked for (inside `Router::nest` the request's
    /// own has lost its prefix): `next` names it.
    uri: http::Uri,
    /// The route pattern axum matched (`/{lang}/account`), the whole of it
    /// even inside `Router::nest`: exemptions are decided on it, so a
    /// parameter segment can never make a protected route look like the
    /// challenge (`/2fa/account` routed to `/{lang}/account`).
    matched: Option<MatchedPath>,
    method: Method,
    format: Format,
    session: Option<Session>,
    /// A body-less copy for the requirement hook, made only when one is set.
    parts: Option<Parts>,
}

impl Head {
    pub(super) fn of<B>(request: &Request<B>, with_parts: bool) -> Self {
        let format = Format::of(request.headers());
        let uri = match request.extensions().get::<OriginalUri>() {
            Some(original) => original.0.clone(),
            None => request.uri().clone(),
        };
        let matched = request.extensions().get::<MatchedPath>().cloned();
        // The hook sees the request as its router routed it, like handlers
        // do, with the original URI and the matched route beside it.
        let parts = with_parts.then(|| {
            let mut copy = Request::new(());
            *copy.method_mut() = request.method().clone();
            *copy.uri_mut() = request.uri().clone();
            *copy.version_mut() = request.version();
            *copy.headers_mut() = request.headers().clone();
            copy.extensions_mut().insert(OriginalUri(uri.clone()));
            if let Some(matched) = &matched {
                copy.extensions_mut().insert(matched.clone());
            }
            copy.into_parts().0
        });
        Self {
            uri,
            matched,
            method: request.method().clone(),
            format,
            session: request.extensions().get::<Session>().cloned(),
            parts,
        }
    }

    /// The path exemptions are decided on: the matched route, or (outside
    /// axum's routing, or in a fallback) the path the client asked for.
    fn judged_path(&self) -> &str {
        self.matched
            .as_ref()
            .map_or_else(|| self.uri.path(), MatchedPath::as_str)
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
    if is_exempt(config, head.judged_path(), head.uri.path(), &head.method) {
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
    let mut state = state;
    if let Some(passed) = state.passed {
        // The one store read of a passed session: a pass from before the
        // user's last security change (a factor removed elsewhere) is void.
        let current = match &config.store {
            Some(store) => store.device_generation(&state.user_id).await,
            None => Ok(passed.generation),
        };
        match current {
            Ok(current) if pass_stands(passed.generation, current) => {
                return Decision::Pass(Some(Verified {
                    user_id: state.user_id,
                    method: passed.method,
                    at: from_unix(passed.at),
                }));
            }
            Ok(_) => {
                let now = SystemTime::now();
                // Writing a session signed out meanwhile would save it back.
                if let Some(store) = config.store.as_deref() {
                    match is_signed_out(store, &state.nonce, now).await {
                        Ok(false) => {}
                        Ok(true) => return Decision::Deny(deny(config, &head, Denied::Login)),
                        Err(error) => {
                            tracing::warn!(%error, "tower-authy: store unavailable; refusing");
                            return Decision::Deny(failure(Code::StorageUnavailable));
                        }
                    }
                }
                if let Err(error) = session::demote(session, &mut state, now).await {
                    tracing::warn!(%error, "tower-authy: could not take back a voided pass");
                    return Decision::Deny(failure(Code::SessionUnavailable));
                }
                tracing::info!(user = %state.user_id, "tower-authy: a pass made before a security change must be made again");
                return Decision::Deny(deny(config, &head, Denied::SecondFactor));
            }
            Err(error) => {
                tracing::warn!(%error, "tower-authy: store unavailable; refusing");
                return Decision::Deny(failure(Code::StorageUnavailable));
            }
        }
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

/// Whether the request needs no session at all: one of the crate's own
/// routes or the login page (exactly), the webhook's callback (exactly, and
/// only for GET and POST), an exempt route (exactly) or an exempt path (or
/// below one). `path` is the matched route, `asked` the path the client
/// sent, which must be free of dot segments and encoded separators, so
/// `/2fa/../admin` cannot borrow an exemption.
fn is_exempt(config: &Config, path: &str, asked: &str, method: &Method) -> bool {
    let lower = asked.to_ascii_lowercase();
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
    // Exactly: `/2fa/token/` is no route of ours, and without a matched
    // route it would fall through to the application's fallback.
    let exact = |route: &String| path == route;
    if std::iter::once(&config.login_path)
        .chain(&config.exempt_exact)
        .any(exact)
    {
        return true;
    }
    let ours = |methods: &[Method]| {
        methods.contains(method) || (*method == Method::HEAD && methods.contains(&Method::GET))
    };
    if config
        .own_routes
        .iter()
        .any(|(route, methods)| fits(route, path) && ours(methods))
    {
        return true;
    }
    let webhook = *method == Method::GET || *method == Method::POST;
    if webhook && config.callback.as_deref() == Some(path) {
        return true;
    }
    config.exempt.iter().any(|prefix| {
        // `/` exempts the root page only, never the whole site.
        let prefix = prefix.trim_end_matches('/');
        if prefix.is_empty() {
            return path == "/";
        }
        path == prefix || path.starts_with(&format!("{prefix}/"))
    })
}

/// Whether `path` is an instance of the route pattern `route`: the same
/// segments, where a `{name}` segment stands for any one non-empty segment
/// (a matched route compares its own pattern, `{id}` to `{id}`).
fn fits(route: &str, path: &str) -> bool {
    let (mut route, mut path) = (route.split('/'), path.split('/'));
    loop {
        match (route.next(), path.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) => {
                let any = want.starts_with('{') && want.ends_with('}');
                if !(want == got || (any && !got.is_empty())) {
                    return false;
                }
            }
            _ => return false,
        }
    }
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
    fn a_route_pattern_fits_one_segment_per_parameter() {
        let route = "/2fa/factors/{id}/remove";
        assert!(fits(route, "/2fa/factors/abc-_1/remove"));
        assert!(fits(route, route), "a matched route is its pattern");
        for path in [
            "/2fa/factors//remove",
            "/2fa/factors/a/b/remove",
            "/2fa/factors/a/remove/",
            "/2fa/factors/a",
            "/2fa/factors/a/removex",
        ] {
            assert!(!fits(route, path), "{path}");
        }
        assert!(fits("/2fa", "/2fa") && !fits("/2fa", "/2fa/"));
    }

    #[test]
    fn exemptions_follow_path_segments_and_refuse_tricks() {
        let layer = RequireSecondFactorLayer::new("/login", "/2fa", Duration::from_secs(600))
            .with_own_routes([
                ("/2fa".to_owned(), vec![Method::GET]),
                ("/2fa/token".to_owned(), vec![Method::POST]),
            ])
            .with_callback("/hooks/authy")
            .with_exempt_path("/logout")
            .with_exempt_route("/health");
        let config = &layer.config;
        let get = |path: &str| is_exempt(config, path, path, &Method::GET);
        let post = |path: &str| is_exempt(config, path, path, &Method::POST);
        assert!(post("/2fa/token"));
        assert!(
            !get("/2fa/token"),
            "a crate route is exempt for its own methods"
        );
        assert!(
            is_exempt(config, "/2fa", "/2fa", &Method::HEAD),
            "GET implies HEAD"
        );
        for path in [
            "/2fa",
            "/login",
            "/logout",
            "/logout/x",
            "/hooks/authy",
            "/health",
        ] {
            assert!(get(path), "{path}");
        }
        for path in [
            "/2fa/",
            "/login/",
            "/2fab",
            "/2fa/account",
            "/2fa/{lang}",
            "/admin",
            "/",
            "/loginx",
            "/login/admin",
            "/hooks/authy/x",
            "/hooks",
            "/health/x",
            "/2fa/../admin",
            "/2fa/%2e%2e/admin",
            "/2fa/..%2Fadmin",
            "/2fa%2F..%2Fadmin",
            "/2fa/.\\admin",
            "/2fa/./x",
        ] {
            assert!(!get(path), "{path}");
        }
        assert!(is_exempt(
            config,
            "/hooks/authy",
            "/hooks/authy",
            &Method::POST
        ));
        assert!(
            !is_exempt(config, "/hooks/authy", "/hooks/authy", &Method::DELETE),
            "the callback is exempt for the webhook's methods only"
        );
        assert!(
            !is_exempt(config, "/2fa/token", "/2fa/../token", &Method::POST),
            "the path asked for must be clean too"
        );
        let root = RequireSecondFactorLayer::new("/login", "/2fa", Duration::from_secs(600))
            .with_exempt_path("/");
        let root_get = |path: &str| is_exempt(&root.config, path, path, &Method::GET);
        assert!(root_get("/"));
        for path in ["/admin", "/x/y"] {
            assert!(!root_get(path), "{path}");
        }
    }
}
