//! [`RequireSecondFactorLayer`]: wrap the routes that need both factors.
//! Made by [`TwoFactor::layer`](crate::TwoFactor::layer), which gives it the
//! challenge and login paths and the pending time.
//!
//! The layer reads the session only: it never calls the provider or the
//! store. A session that passed the second factor goes through with no
//! round trip beyond the session itself, and the handler finds who passed,
//! and how, in the [`Verified`] extractor; any other is answered here:
//!
//! | session | browser (`Accept: text/html`) | any other client |
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
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use http::request::Parts;
use tower::Service;
use tower_layer::Layer;

use crate::store::{SharedStore, UserId};

mod answer;
mod decide;
mod exempt;
mod future;
mod verified;

pub use future::ResponseFuture;
pub use verified::{NotVerified, Verified};

/// Decides which requests of a signed-in user need the second factor (all of
/// them by default). `request` is the request as the router that the layer
/// wraps routed it (inside `Router::nest`, without the nest's prefix); its
/// extensions carry the route axum matched (`MatchedPath`, the whole
/// pattern) and the URI the client asked for (`OriginalUri`), which say the
/// same wherever the layer sits — prefer them. Implemented for closures:
///
/// ```
/// # use std::sync::Arc;
/// # use tower_authy::{TwoFactor, authy::Client, config::{Policy, StatusMode}, store::MemoryStore};
/// # let policy = Policy::builder().with_status_mode(StatusMode::Polling { every: std::time::Duration::from_secs(2) }).build()?;
/// # let two_factor = TwoFactor::builder(Client::builder("key").build()?, Arc::new(MemoryStore::new())).with_policy(policy).build()?;
/// use axum::extract::MatchedPath;
///
/// // Only the admin area needs 2FA; a request with no matched route (a
/// // fallback) needs it too, so the hook fails closed.
/// let layer = two_factor
///     .layer()
///     .with_requirement(|request: &http::request::Parts, _user: &tower_authy::store::UserId| {
///         request
///             .extensions
///             .get::<MatchedPath>()
///             .is_none_or(|route| route.as_str().starts_with("/admin"))
///     });
/// # Ok::<(), tower_authy::ConfigError>(())
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
    /// The crate's own routes, exactly (not the subtree under the prefix),
    /// each for its methods.
    own_routes: Vec<(String, Vec<http::Method>)>,
    /// The webhook's callback route, for GET and POST only.
    callback: Option<String>,
    exempt: Vec<String>,
    exempt_exact: Vec<String>,
    pending_ttl: Duration,
    requirement: Option<Arc<dyn Requirement>>,
    /// Where a passed session's security generation is checked (always set
    /// by `TwoFactor::layer`; `None` only in the layer's own unit tests).
    store: Option<SharedStore>,
    /// The paths above, compiled (after every change to them).
    exemptions: exempt::Exemptions,
}

impl Config {
    fn compile(&mut self) {
        self.exemptions = exempt::Exemptions::compile(&exempt::Sources {
            login_path: &self.login_path,
            own_routes: &self.own_routes,
            callback: self.callback.as_deref(),
            exempt: &self.exempt,
            exempt_exact: &self.exempt_exact,
        });
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("login_path", &self.login_path)
            .field("challenge_path", &self.challenge_path)
            .field("own_routes", &self.own_routes)
            .field("callback", &self.callback)
            .field("exempt", &self.exempt)
            .field("exempt_exact", &self.exempt_exact)
            .field("pending_ttl", &self.pending_ttl)
            .field("requirement", &self.requirement.as_ref().map(|_| "custom"))
            .finish()
    }
}

/// Requires both factors on the routes it wraps. Holds configuration only.
///
/// From [`TwoFactor::layer`](crate::TwoFactor::layer): the crate's own
/// routes and the login page (each exactly, not what lies under them) and
/// the webhook's callback route (for GET and POST) are never blocked; every
/// other request needs the second factor unless a [`Requirement`] says
/// otherwise. Exemptions are decided on the route axum matched (its whole
/// pattern, even inside `Router::nest`), so a path parameter cannot make a
/// protected route look exempt.
///
/// ```
/// # use std::sync::Arc;
/// # use tower_authy::{TwoFactor, authy::Client, config::{Policy, StatusMode}, store::MemoryStore};
/// use axum::{Router, routing::get};
/// use tower_sessions::{MemoryStore as Sessions, SessionManagerLayer};
/// # let policy = Policy::builder().with_status_mode(StatusMode::Polling { every: std::time::Duration::from_secs(2) }).build()?;
/// # let two_factor = TwoFactor::builder(Client::builder("key").build()?, Arc::new(MemoryStore::new())).with_policy(policy).build()?;
///
/// let app: Router = Router::new()
///     .route("/protected", get(|| async { "secret" }))
///     .layer(two_factor.layer().with_exempt_path("/logout"))
///     .merge(two_factor.router())
///     .layer(SessionManagerLayer::new(Sessions::default()));
/// # Ok::<(), tower_authy::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RequireSecondFactorLayer {
    config: Arc<Config>,
}

impl RequireSecondFactorLayer {
    /// The layer for a challenge at `challenge_path` (only that page
    /// exempt until [`Self::with_own_routes`] names the others), a login
    /// page at `login_path` and first factors good for `pending_ttl`.
    pub(crate) fn new(login_path: &str, challenge_path: &str, pending_ttl: Duration) -> Self {
        let mut config = Config {
            login_path: login_path.to_owned(),
            challenge_path: challenge_path.to_owned(),
            own_routes: vec![(challenge_path.to_owned(), vec![http::Method::GET])],
            callback: None,
            exempt: Vec::new(),
            exempt_exact: Vec::new(),
            pending_ttl,
            requirement: None,
            store: None,
            exemptions: exempt::Exemptions::default(),
        };
        config.compile();
        Self {
            config: Arc::new(config),
        }
    }

    fn edit(mut self, change: impl FnOnce(&mut Config)) -> Self {
        let config = Arc::make_mut(&mut self.config);
        change(config);
        config.compile();
        self
    }

    /// The store whose security generations void older passes.
    pub(crate) fn with_store(self, store: SharedStore) -> Self {
        self.edit(|c| c.store = Some(store))
    }

    /// The crate's routes, each exempt exactly.
    pub(crate) fn with_own_routes(
        self,
        routes: impl IntoIterator<Item = (String, Vec<http::Method>)>,
    ) -> Self {
        let routes: Vec<_> = routes.into_iter().collect();
        self.edit(|c| c.own_routes = routes)
    }

    /// The webhook's callback route: exempt for GET and POST (its methods)
    /// only, so a protected route with another method on the same path keeps
    /// its guard.
    pub(crate) fn with_callback(self, path: &str) -> Self {
        let path = path.to_owned();
        self.edit(|c| c.callback = Some(path))
    }

    /// A path (and everything under it) that is never blocked: a health
    /// check, a public area (default: none). It is compared with the route
    /// axum matched — `/about` exempts the route `/about`, not a page that
    /// `/{page}` serves — so a path parameter can never imitate it.
    pub fn with_exempt_path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.edit(|c| c.exempt.push(path))
    }

    /// One route, and nothing under it, that is never blocked, for every
    /// method (default: the application's logout, as
    /// [`TwoFactorBuilder::with_logout_path`](crate::TwoFactorBuilder::with_logout_path)
    /// names it). Compared with the route axum matched, like
    /// [`Self::with_exempt_path`].
    pub fn with_exempt_route(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.edit(|c| c.exempt_exact.push(path))
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
        ResponseFuture::new(self.config.clone(), inner, request)
    }
}

#[cfg(test)]
mod service_tests;
