//! axum-login as the first factor (feature `axum-login`): the user signed in
//! with `axum_login::AuthSession` is the user the second factor is asked of.
//!
//! Put [`first_factor`] between axum-login's `AuthManagerLayer` (outside) and
//! [`TwoFactor::layer`](crate::TwoFactor::layer) (inside). On
//! every request it keeps this crate's session state in step with
//! axum-login: a newly signed-in user starts with the second factor pending,
//! another user replaces the previous one, and an axum-login logout clears
//! the 2FA state too.
//!
//! ```
//! # use axum_login::{AuthUser, AuthnBackend, UserId};
//! # #[derive(Debug, Clone)] struct User { id: i64 }
//! # impl AuthUser for User { type Id = i64; fn id(&self) -> i64 { self.id } fn session_auth_hash(&self) -> &[u8] { &[] } }
//! # #[derive(Debug, Clone)] struct Backend;
//! # impl AuthnBackend for Backend {
//! #     type User = User; type Credentials = (); type Error = std::convert::Infallible;
//! #     async fn authenticate(&self, _: ()) -> Result<Option<User>, Self::Error> { Ok(None) }
//! #     async fn get_user(&self, _: &UserId<Self>) -> Result<Option<User>, Self::Error> { Ok(None) }
//! # }
//! # use std::sync::Arc;
//! # use tower_authy::{authy::Client, config::{Policy, StatusMode}, store::MemoryStore};
//! use axum::{Router, middleware::from_fn, routing::get};
//! use tower_authy::TwoFactor;
//! # let policy = Policy::builder().with_status_mode(StatusMode::Polling { every: std::time::Duration::from_secs(2) }).build()?;
//! # let two_factor = TwoFactor::builder(Client::builder("key").build()?, Arc::new(MemoryStore::new())).with_policy(policy).build()?;
//!
//! let protected: Router = Router::new()
//!     .route("/protected", get(|| async { "secret" }))
//!     .layer(two_factor.layer())
//!     .layer(from_fn(tower_authy::axum_login::first_factor::<Backend>))
//!     .merge(two_factor.router());
//! // …then axum-login's AuthManagerLayer and the session layer around it all.
//! # Ok::<(), tower_authy::ConfigError>(())
//! ```

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_login::{AuthSession, AuthUser, AuthnBackend};
use http::StatusCode;

use crate::session;

/// Middleware: makes axum-login's signed-in user this crate's first factor.
/// Without axum-login's layer outside it, it fails closed with a 500.
pub async fn first_factor<B>(request: Request, next: Next) -> Response
where
    B: AuthnBackend + Send + Sync + 'static,
{
    let Some(auth) = request.extensions().get::<AuthSession<B>>().cloned() else {
        tracing::error!(
            "tower-authy: no axum-login AuthSession; add AuthManagerLayer outside first_factor"
        );
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Err(error) = sync(&auth).await {
        tracing::warn!(%error, "tower-authy: session store failed; refusing");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    next.run(request).await
}

async fn sync<B: AuthnBackend>(auth: &AuthSession<B>) -> Result<(), session::SessionError> {
    let current = session::load(&auth.session).await?;
    match (&auth.user, current) {
        (Some(user), Some(state)) if state.user_id.as_str() == user.id().to_string() => Ok(()),
        (Some(user), _) => session::sign_in(&auth.session, user.id().to_string()).await,
        (None, Some(_)) => session::clear(&auth.session).await,
        (None, None) => Ok(()),
    }
}
