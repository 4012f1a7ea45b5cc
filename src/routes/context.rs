//! What every route handler starts from: the session and its 2FA state, the
//! answer format, and for POSTs the cross-site check and the parsed body.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_sessions::Session;

use super::reply;
use crate::domain::{Refusal, Requester, is_stale, pass_stands};
use crate::negotiate::Format;
use crate::session::{self, AuthState, from_unix};
use crate::two_factor::Shared;

/// A POST body larger than this is refused before it is read.
const BODY_LIMIT: usize = 16 * 1024;

/// The session, its 2FA state, and the format to answer in.
pub(crate) struct Ctx {
    pub shared: Arc<Shared>,
    pub session: Session,
    pub state: Option<AuthState>,
    pub format: Format,
    /// Who is asking, for the details of a push.
    pub requester: Requester,
}

/// The longest `User-Agent` read.
const USER_AGENT_LIMIT: usize = 512;

/// The peer (only when the application serves with
/// `into_make_service_with_connect_info`; forwarded headers are anyone's
/// to write) and its `User-Agent`.
fn requester(parts: &Parts) -> Requester {
    let ip = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let user_agent = header_text(&parts.headers, header::USER_AGENT.as_str())
        .map(|agent| agent.chars().take(USER_AGENT_LIMIT).collect());
    Requester { ip, user_agent }
}

impl Ctx {
    /// The state of a signed-in session, or the refusal to send.
    pub(crate) fn signed_in(&self) -> Result<&AuthState, Refusal> {
        self.state.as_ref().ok_or(Refusal::LoginRequired)
    }

    pub(crate) fn signed_in_mut(&mut self) -> Result<&mut AuthState, Refusal> {
        self.state.as_mut().ok_or(Refusal::LoginRequired)
    }

    /// Keeps this session's pass through a security change it made itself
    /// (the change voided every other session's): stamps it with the new
    /// `generation` — only when that change was the only one since the
    /// pass. If another landed meanwhile (another session removed a
    /// factor), this pass is void like every other: the session must pass
    /// again.
    pub(crate) async fn keep_pass(&self, generation: u64) -> Result<(), Refusal> {
        let Some(mut state) = self.state.clone() else {
            return Ok(());
        };
        let Some(passed) = state.passed.as_mut() else {
            return Ok(());
        };
        self.writable().await?;
        if passed.generation.checked_add(1) == Some(generation) {
            passed.generation = generation;
            session::save(&self.session, &state).await?;
        } else {
            tracing::info!(user = %state.user_id, "tower-authy: another security change landed meanwhile; the session passes again");
            session::demote(&self.session, &mut state, std::time::SystemTime::now()).await?;
        }
        Ok(())
    }

    /// Refuses to write a session that signed out since this request
    /// loaded it (in another tab, during a long-poll): writing would save
    /// it back. Call before every write.
    pub(crate) async fn writable(&self) -> Result<(), Refusal> {
        let Some(state) = &self.state else {
            return Err(Refusal::LoginRequired);
        };
        let rules = &self.shared.rules;
        if rules
            .is_signed_out(&state.nonce, std::time::SystemTime::now())
            .await?
        {
            tracing::info!(user = %state.user_id, "tower-authy: the session signed out meanwhile; not writing it");
            return Err(Refusal::LoginRequired);
        }
        Ok(())
    }

    pub(crate) async fn save(&self) -> Result<(), Refusal> {
        if let Some(state) = &self.state {
            self.writable().await?;
            session::save(&self.session, state).await?;
        }
        Ok(())
    }
}

/// A failure before the handler ran (no session layer, unreadable session).
pub(crate) struct Rejection(Response);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.0
    }
}

impl FromRequestParts<Arc<Shared>> for Ctx {
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Rejection> {
        let format = Format::of(&parts.headers);
        let Some(session) = parts.extensions.get::<Session>().cloned() else {
            tracing::error!(
                "tower-authy: no session; add tower_sessions::SessionManagerLayer around the 2FA router"
            );
            return Err(Rejection(reply::json_refusal(&Refusal::Storage)));
        };
        let mut state = session::load(&session)
            .await
            .map_err(|e| Rejection(reply::json_refusal(&e.into())))?;
        // A first factor that waited too long for the second is void here
        // as in the layer: the session starts again from the password.
        let ttl = shared.rules.policy.pending_ttl;
        let now = std::time::SystemTime::now();
        if state
            .as_ref()
            .is_some_and(|s| s.passed.is_none() && is_stale(from_unix(s.first_factor_at), now, ttl))
        {
            session::clear(&session)
                .await
                .map_err(|e| Rejection(reply::json_refusal(&e.into())))?;
            state = None;
        }
        // A pass from before the user's last security change is void here
        // as in the layer: the second factor is asked again.
        if let Some(current) = state.as_mut().filter(|s| s.passed.is_some()) {
            let reject = |refusal: Refusal| Rejection(reply::json_refusal(&refusal));
            let generation = shared
                .rules
                .generation(&current.user_id)
                .await
                .map_err(reject)?;
            if current
                .passed
                .is_some_and(|passed| !pass_stands(passed.generation, generation))
            {
                // A session signed out meanwhile is not written back.
                let signed_out = shared
                    .rules
                    .is_signed_out(&current.nonce, now)
                    .await
                    .map_err(reject)?;
                if signed_out {
                    return Err(reject(Refusal::LoginRequired));
                }
                session::demote(&session, current, now)
                    .await
                    .map_err(|e| reject(e.into()))?;
            }
        }
        Ok(Self {
            shared: shared.clone(),
            session,
            state,
            format,
            requester: requester(parts),
        })
    }
}

/// A POST that passed the cross-site check, with its body (form or JSON)
/// read as `T`.
pub(crate) struct Post<T>(pub Ctx, pub T);

impl<T> FromRequest<Arc<Shared>> for Post<T>
where
    T: DeserializeOwned,
{
    type Rejection = Rejection;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, Rejection> {
        let (mut parts, body) = request.into_parts();
        let refuse = |refusal: Refusal| Rejection(reply::json_refusal(&refusal));
        // The body first, then the session: a slow upload must not hold a
        // session state loaded before a sign-out in another tab.
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
            refuse(Refusal::InvalidInput(
                "the request body is too large".into(),
            ))
        })?;
        let ctx = Ctx::from_request_parts(&mut parts, shared).await?;
        let mut fields = parse_body(&parts.headers, &bytes).map_err(refuse)?;
        let token = fields
            .remove("csrf")
            .and_then(|v| v.as_str().map(str::to_owned))
            .or_else(|| header_text(&parts.headers, "x-csrf-token").map(str::to_owned));
        let session_token = ctx.state.as_ref().map(|s| s.csrf.as_str());
        crate::origin::check(&parts.headers, token.as_deref(), session_token).map_err(|e| {
            tracing::warn!(
                "tower-authy: refused a cross-site POST to {}",
                parts.uri.path()
            );
            Rejection(reply::refuse(ctx.format, &shared.prefix, &e))
        })?;
        let value: T = serde_json::from_value(Value::Object(fields)).map_err(|e| {
            refuse(Refusal::InvalidInput(format!(
                "the request is missing a field or has a wrong one: {e}"
            )))
        })?;
        Ok(Self(ctx, value))
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Form bodies become string fields; JSON bodies must be objects.
fn parse_body(
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<serde_json::Map<String, Value>, Refusal> {
    let content_type = header_text(headers, header::CONTENT_TYPE.as_str()).unwrap_or("");
    if bytes.is_empty() {
        return Ok(serde_json::Map::new());
    }
    if content_type.starts_with("application/json") {
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(Refusal::InvalidInput(
                "the body is not a JSON object".into(),
            )),
        }
    } else {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
            .map_err(|_| Refusal::InvalidInput("the form could not be read".into()))?;
        Ok(pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect())
    }
}
