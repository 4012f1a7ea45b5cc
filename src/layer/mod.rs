//! [`RequireSecondFactorLayer`]: wrap the routes that need both factors.
//!
//! The layer reads the session only: it never calls the provider or the
//! store. A session that passed the second factor goes through with no
//! round trip beyond the session itself; any other is answered here:
//!
//! | session | browser (`Accept: text/html`) | API client |
//! |---|---|---|
//! | anonymous, or pending for too long | 303 to the login path, `?next=` | 401 `{"error":"login_required"}` |
//! | first factor only | 303 to the challenge, `?next=` | 401 `{"error":"second_factor_required"}` |
//! | both factors | passes | passes |
//!
//! Denial is a response, never an error: the service's error type is the
//! inner service's, so no `HandleErrorLayer` is needed. The layer needs
//! `tower_sessions::SessionManagerLayer` *outside* it; without one it fails
//! closed with a 500 that says so.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use http::request::Parts;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use pin_project_lite::pin_project;
use serde_json::json;
use tower::Service;
use tower_layer::Layer;
use tower_sessions::Session;

use crate::code::Code;
use crate::domain::is_stale;
use crate::negotiate::Format;
use crate::session::{self, from_unix};
use crate::store::UserId;

/// Decides which requests of a signed-in user need the second factor (all of
/// them by default). Implemented for closures:
///
/// ```
/// use tower_authy::RequireSecondFactorLayer;
/// // Only the admin area needs 2FA.
/// let layer = RequireSecondFactorLayer::new()
///     .with_requirement(|request: &http::request::Parts, _user: &tower_authy::store::UserId| {
///         request.uri.path().starts_with("/admin")
///     });
/// ```
pub trait Requirement: Send + Sync + 'static {
    /// Whether this request, by this signed-in user, needs the second factor.
    fn requires_second_factor(&self, request: &Parts, user: &UserId) -> bool;
}

impl<F> Requirement for F
where
    F: Fn(&Parts, &UserId) -> bool + Send + Sync + 'static,
{
    fn requires_second_factor(&self, request: &Parts, user: &UserId) -> bool {
        self(request, user)
    }
}

#[derive(Clone)]
struct Config {
    login_path: String,
    challenge_path: String,
    exempt: Vec<String>,
    exempt_exact: Vec<String>,
    pending_ttl: Duration,
    requirement: Option<Arc<dyn Requirement>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("login_path", &self.login_path)
            .field("challenge_path", &self.challenge_path)
            .field("exempt", &self.exempt)
            .field("exempt_exact", &self.exempt_exact)
            .field("pending_ttl", &self.pending_ttl)
            .field("requirement", &self.requirement.as_ref().map(|_| "custom"))
            .finish()
    }
}

/// Requires both factors on the routes it wraps. Holds configuration only.
///
/// Defaults: login at `/login`, challenge at `/2fa` (both never blocked,
/// nor anything under `/2fa/`), a first factor is good for 10 minutes
/// without the second, every request needs the second factor.
///
/// ```
/// use axum::{Router, routing::get};
/// use tower_authy::RequireSecondFactorLayer;
/// use tower_sessions::{MemoryStore, SessionManagerLayer};
///
/// let app: Router = Router::new()
///     .route("/protected", get(|| async { "secret" }))
///     .layer(RequireSecondFactorLayer::new().with_exempt_path("/logout"))
///     .layer(SessionManagerLayer::new(MemoryStore::default()));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RequireSecondFactorLayer {
    config: Arc<Config>,
}

impl Default for RequireSecondFactorLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RequireSecondFactorLayer {
    /// The layer with its defaults.
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config {
                login_path: "/login".into(),
                challenge_path: "/2fa".into(),
                exempt: Vec::new(),
                exempt_exact: Vec::new(),
                pending_ttl: Duration::from_secs(600),
                requirement: None,
            }),
        }
    }

    fn edit(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// Where anonymous browsers are sent (default `/login`); that page (not
    /// paths below it) is never blocked.
    pub fn with_login_path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.edit(|c| c.login_path = path)
    }

    /// Where the challenge is mounted (default `/2fa`); it and everything
    /// under it are never blocked.
    pub fn with_challenge_path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.edit(|c| c.challenge_path = path)
    }

    /// A path (and everything under it) that is never blocked: the
    /// application's logout, a health check, a public area.
    pub fn with_exempt_path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.edit(|c| c.exempt.push(path))
    }

    /// One path, and nothing under it, that is never blocked (the webhook's
    /// callback route, say).
    pub fn with_exempt_route(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.edit(|c| c.exempt_exact.push(path))
    }

    /// How long a first factor waits for the second before the session must
    /// sign in again (default 10 minutes).
    pub fn with_pending_ttl(self, ttl: Duration) -> Self {
        self.edit(|c| c.pending_ttl = ttl)
    }

    /// Which requests need the second factor (default: all).
    pub fn with_requirement(self, requirement: impl Requirement) -> Self {
        let requirement: Arc<dyn Requirement> = Arc::new(requirement);
        self.edit(|c| c.requirement = Some(requirement))
    }
}

impl<S> Layer<S> for RequireSecondFactorLayer {
    type Service = RequireSecondFactor<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireSecondFactor {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service made by [`RequireSecondFactorLayer`].
#[derive(Debug, Clone)]
pub struct RequireSecondFactor<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S, B> Service<Request<B>> for RequireSecondFactor<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The readiness contract: `self.inner` was polled ready, a clone may
        // not be. Keep the ready one for this request and leave the clone.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        let head = Head::of(&request, config.requirement.is_some());
        ResponseFuture {
            state: State::Checking {
                check: Box::pin(async move { decide(&config, head).await }),
                inner: Some(inner),
                request: Some(request),
            },
        }
    }
}

/// What the decision needs from a request, taken before the request moves
/// on (so the body need not be `Sync` to wait for the session read).
struct Head {
    uri: http::Uri,
    format: Format,
    session: Option<Session>,
    /// A body-less copy for the requirement hook, made only when one is set.
    parts: Option<Parts>,
}

impl Head {
    fn of<B>(request: &Request<B>, with_parts: bool) -> Self {
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

type Check = Pin<Box<dyn Future<Output = Decision> + Send>>;

pin_project! {
    /// The response future of [`RequireSecondFactor`]: reads the session,
    /// then either answers or calls the inner service.
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        Checking { check: Check, inner: Option<S>, request: Option<Request<B>> },
        Calling { #[pin] future: S::Future },
        Done,
    }
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl<S, B> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Output = Result<Response<Body>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Checking {
                    check,
                    inner,
                    request,
                } => {
                    let decision = std::task::ready!(check.as_mut().poll(cx));
                    match decision {
                        Decision::Pass => {
                            let mut inner = inner.take().expect("polled after completion");
                            let request = request.take().expect("polled after completion");
                            let future = inner.call(request);
                            this.state.set(State::Calling { future });
                        }
                        Decision::Deny(response) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Ok(response));
                        }
                    }
                }
                StateProj::Calling { future } => return future.poll(cx),
                StateProj::Done => panic!("ResponseFuture polled after completion"),
            }
        }
    }
}

enum Decision {
    Pass,
    Deny(Response<Body>),
}

async fn decide(config: &Config, head: Head) -> Decision {
    if is_exempt(config, head.uri.path()) {
        return Decision::Pass;
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
    if state.passed.is_some() {
        return Decision::Pass;
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
            return Decision::Pass;
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

    #[test]
    fn exemptions_follow_path_segments_and_refuse_tricks() {
        let layer = RequireSecondFactorLayer::new()
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
        let root = RequireSecondFactorLayer::new().with_exempt_path("/");
        assert!(is_exempt(&root.config, "/"));
        for path in ["/admin", "/x/y"] {
            assert!(!is_exempt(&root.config, path), "{path}");
        }
    }
}

#[cfg(test)]
mod service_tests;
