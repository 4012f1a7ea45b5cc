//! [`Verified`]: who passed both factors, and how, for the handlers behind
//! the layer.

use std::time::SystemTime;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use serde_json::json;

use crate::session::SecondFactorMethod;
use crate::store::UserId;

/// The user of a request that passed both factors: the layer puts it into
/// the request's extensions, so handlers need not read the session again.
///
/// ```
/// use tower_authy::Verified;
///
/// async fn protected(verified: Verified) -> String {
///     format!("hello {} ({})", verified.user_id, verified.method)
/// }
/// // A route the layer lets through without the second factor (an exempt
/// // path, a `Requirement` that says no) takes `Option<Verified>`.
/// async fn maybe(verified: Option<Verified>) -> String {
///     verified.map_or("hello stranger".into(), |v| v.user_id.to_string())
/// }
/// # let _: axum::Router = axum::Router::new()
/// #     .route("/p", axum::routing::get(protected))
/// #     .route("/m", axum::routing::get(maybe));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// Who signed in.
    pub user_id: UserId,
    /// How the second factor was passed.
    pub method: SecondFactorMethod,
    /// When.
    pub at: SystemTime,
}

/// [`Verified`] was asked for on a route the layer does not guard (or let
/// through without the second factor): a set-up mistake, answered with a
/// 500 so it fails closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no verified user: the route is not behind RequireSecondFactorLayer")]
#[non_exhaustive]
pub struct NotVerified;

impl IntoResponse for NotVerified {
    fn into_response(self) -> Response {
        tracing::error!("tower-authy: {self}");
        let body = json!({"error": "not_verified", "message": self.to_string()});
        (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Verified {
    type Rejection = NotVerified;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, NotVerified> {
        parts.extensions.get::<Self>().cloned().ok_or(NotVerified)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Verified {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> Result<Option<Self>, std::convert::Infallible> {
        Ok(parts.extensions.get::<Self>().cloned())
    }
}
