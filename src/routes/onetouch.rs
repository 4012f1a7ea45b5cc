//! OneTouch: `POST /2fa/onetouch` pushes an approval request bound to this
//! session; `GET /2fa/status` (optionally long-polling with `?wait=SECONDS`)
//! and `GET /2fa/events` (Server-Sent Events) report its outcome.
//!
//! An approval completes the session only through the status the store
//! recorded: from the signed webhook in callback mode, or from asking the
//! provider in polling mode. Nothing the client sends decides it, and the
//! request is always the one named by the session (never a uuid from the URL),
//! bound to it by a random value only the session and the store know.
//!
//! The event stream cannot change the session (its headers are gone before
//! the outcome is known), so its final event names `/status`, which the
//! browser then calls to finish: that request completes the session, cycles
//! its id and answers where to go.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::challenge::{Empty, confirm_enrollment, enrollment, reserve_send};
use super::context::{Ctx, Post};
use super::reply::{self, Format, RouteError, message_for, refuse};
use super::{Shared, finish};
use crate::config::StatusMode;
use crate::provider::PushRequest;
use crate::session::{AuthState, PendingApproval, SecondFactorMethod, random_token};
use crate::store::{ApprovalRecord, ApprovalStatus};
use crate::webhook::{PollError, poll_approval};

/// The longest a `/status` request is held open: below the idle timeouts of
/// common proxies, so a long-poll is answered rather than cut.
const MAX_WAIT: Duration = Duration::from_secs(25);

/// The detail that shows whose sign-in the push is for.
const USERNAME: &str = "Username";

/// `POST /2fa/onetouch`: push an approval request for this session.
pub(crate) async fn start(Post(mut ctx, _): Post<Empty>) -> Response {
    let page = ctx.shared.prefix.clone();
    match push(&mut ctx).await {
        Ok(record) => match ctx.format {
            Format::Html => reply::see_other(&reply::with_query(&page, "notice", "onetouch_sent")),
            Format::Json => reply::json(
                StatusCode::OK,
                json!({
                    "status": "pending",
                    "uuid": record.uuid,
                    "expires_in": expires_in(&record),
                }),
            ),
        },
        Err(error) => refuse(ctx.format, &page, &error),
    }
}

async fn push(ctx: &mut Ctx) -> Result<ApprovalRecord, RouteError> {
    let shared = ctx.shared.clone();
    let policy = &shared.policy;
    if !policy.onetouch {
        return Err(RouteError::ChannelOff);
    }
    let state = ctx.signed_in()?;
    if state.passed.is_some() {
        return Err(RouteError::InvalidInput(
            "the second factor is already done".into(),
        ));
    }
    let user_name = state.user_id.clone();
    let enrollment = enrollment(ctx).await?;
    let now = SystemTime::now();
    // A reload of the challenge must not push again (and spend the send
    // limit) while the last push can still be answered.
    if let Ok(record) = bound_request(ctx, now).await {
        if record.status == ApprovalStatus::Pending {
            return Ok(record);
        }
    }
    reserve_send(&shared, &enrollment.user_id).await?;
    let mut request =
        PushRequest::new(&policy.onetouch_message, policy.onetouch_ttl).detail(USERNAME, user_name);
    // The user name is what the phone's owner checks: a policy detail of
    // the same name must not replace it.
    for (key, value) in &policy.onetouch_details {
        if !key.eq_ignore_ascii_case(USERNAME) {
            request = request.detail(key, value);
        }
    }
    let uuid = shared
        .provider
        .start_push(&enrollment.provider_user_id, &request)
        .await?;
    let binding = random_token();
    let record = ApprovalRecord::pending(
        uuid.clone(),
        enrollment.user_id.clone(),
        binding.clone(),
        now,
        Some(policy.onetouch_ttl),
    );
    shared.store.insert_approval(&record).await?;
    ctx.signed_in_mut()?.approval = Some(PendingApproval { uuid, binding });
    ctx.save().await?;
    tracing::info!(user = %enrollment.user_id, "tower-authy: OneTouch request sent");
    Ok(record)
}

/// This session's request as the store has it, checked to be this
/// session's and this user's.
async fn bound_request(ctx: &Ctx, now: SystemTime) -> Result<ApprovalRecord, RouteError> {
    let state = ctx.signed_in()?;
    let pending = state
        .approval
        .as_ref()
        .ok_or(RouteError::NoApprovalRequest)?;
    let record = ctx
        .shared
        .store
        .approval(&pending.uuid, now)
        .await?
        .ok_or(RouteError::NoApprovalRequest)?;
    if belongs(&record, state, pending) {
        Ok(record)
    } else {
        tracing::warn!(
            user = %state.user_id,
            "tower-authy: a session named an approval request that is not bound to it"
        );
        Err(RouteError::NoApprovalRequest)
    }
}

fn belongs(record: &ApprovalRecord, state: &AuthState, pending: &PendingApproval) -> bool {
    let same_binding: bool = record
        .session_binding
        .as_bytes()
        .ct_eq(pending.binding.as_bytes())
        .into();
    same_binding && record.uuid == pending.uuid && record.user_id.as_str() == state.user_id
}

/// Waits up to `wait` for the request to leave `pending` and returns it as it
/// then stands. In polling mode the provider is asked every `every`; a
/// status recorded meanwhile by a callback (or another instance) wakes the
/// wait at once in either mode.
async fn settle(shared: &Shared, uuid: &str, wait: Duration) -> Result<ApprovalRecord, RouteError> {
    let store = &shared.store;
    let every = match shared.policy.status_mode {
        StatusMode::Polling { every } => every,
        StatusMode::Callback => {
            let record = if wait.is_zero() {
                store.approval(uuid, SystemTime::now()).await?
            } else {
                store.wait_for_approval(uuid, wait).await?
            };
            return record.ok_or(RouteError::NoApprovalRequest);
        }
    };
    let deadline = Instant::now() + wait;
    loop {
        let polled = poll_approval(
            shared.provider.as_ref(),
            store.as_ref(),
            uuid,
            SystemTime::now(),
        )
        .await;
        let left = deadline.saturating_duration_since(Instant::now());
        match polled {
            Ok(record) if record.status.is_final() || left.is_zero() => return Ok(record),
            Ok(_) => {}
            // A passing provider failure: the next poll may work.
            Err(PollError::Provider(error)) if !left.is_zero() => {
                tracing::warn!(%error, "tower-authy: asking for a OneTouch status failed; retrying");
            }
            Err(PollError::Provider(error)) => return Err(error.into()),
            Err(PollError::Store(error)) => return Err(error.into()),
            Err(error) => {
                tracing::warn!(%error, "tower-authy: OneTouch status refused");
                return Err(RouteError::NoApprovalRequest);
            }
        }
        store.wait_for_approval(uuid, every.min(left)).await?;
    }
}

fn expires_in(record: &ApprovalRecord) -> Option<u64> {
    record.expires_at.map(|at| {
        at.duration_since(SystemTime::now())
            .map(|d| d.as_secs())
            .unwrap_or(0)
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatusQuery {
    // Only the wait is read: the request is the session's, whatever else
    // the URL says.
    wait: Option<String>,
}

fn wait_of(query: &StatusQuery) -> Result<Duration, RouteError> {
    match query.wait.as_deref() {
        None | Some("") => Ok(Duration::ZERO),
        Some(text) => text
            .parse::<u64>()
            .map(|secs| Duration::from_secs(secs).min(MAX_WAIT))
            .map_err(|_| RouteError::InvalidInput("wait is a number of seconds".into())),
    }
}

/// `GET /2fa/status[?wait=SECONDS]`: this session's OneTouch outcome;
/// an approval completes the session.
pub(crate) async fn status(mut ctx: Ctx, Query(query): Query<StatusQuery>) -> Response {
    let page = ctx.shared.prefix.clone();
    match status_of(&mut ctx, &query).await {
        Ok(response) => response,
        Err(error) => refuse(ctx.format, &page, &error),
    }
}

async fn status_of(ctx: &mut Ctx, query: &StatusQuery) -> Result<Response, RouteError> {
    let wait = wait_of(query)?;
    let state = ctx.signed_in()?;
    // Another tab (or the event stream's follow-up) may ask after the session
    // completed: the answer is where to go.
    if let Some(passed) = state.passed {
        return Ok(super::completed(ctx.format, state, passed.method));
    }
    let shared = ctx.shared.clone();
    if !shared.policy.onetouch {
        return Err(RouteError::ChannelOff);
    }
    let record = bound_request(ctx, SystemTime::now()).await?;
    let record = if record.status.is_final() {
        record
    } else {
        settle(&shared, &record.uuid, wait).await?
    };
    match record.status {
        ApprovalStatus::Approved => {
            let enrollment = enrollment(ctx).await?;
            confirm_enrollment(&shared, &enrollment).await?;
            finish(ctx, SecondFactorMethod::OneTouch).await
        }
        ApprovalStatus::Pending => Ok(match ctx.format {
            Format::Html => reply::see_other(&reply::with_query(
                &shared.prefix,
                "notice",
                "onetouch_pending",
            )),
            Format::Json => reply::json(
                StatusCode::OK,
                json!({"status": "pending", "expires_in": expires_in(&record)}),
            ),
        }),
        // Denied or expired: this request is over; the user may push again
        // or use a fallback.
        status => {
            ctx.signed_in_mut()?.approval = None;
            ctx.save().await?;
            let code = status.as_str();
            tracing::info!(user = %record.user_id, status = code, "tower-authy: OneTouch not approved");
            Ok(match ctx.format {
                Format::Html => reply::see_other(&reply::with_query(&shared.prefix, "error", code)),
                Format::Json => reply::json(
                    StatusCode::OK,
                    json!({"status": code, "message": message_for(code)}),
                ),
            })
        }
    }
}

/// `GET /2fa/events`: the same outcome as Server-Sent Events named `status`,
/// one each time the status is known or changes, ending after a final one.
/// The final event carries `finish`, the `/status` URL the browser must call
/// to complete the session (a stream cannot set cookies any more).
pub(crate) async fn events(ctx: Ctx) -> Response {
    match open_events(&ctx).await {
        Ok(response) => response,
        // An event-stream client cannot use a redirect to a page; the status
        // and JSON body tell a script what went wrong.
        Err(error) => error.json(),
    }
}

async fn open_events(ctx: &Ctx) -> Result<Response, RouteError> {
    let state = ctx.signed_in()?;
    if let Some(passed) = state.passed {
        let next = state.next.clone().unwrap_or_else(|| "/".into());
        let done =
            json!({"status": "complete", "method": passed.method.as_str(), "redirect": next});
        let once = futures_util::stream::iter([Ok::<_, Infallible>(status_event(&done))]);
        return Ok(Sse::new(once).into_response());
    }
    if !ctx.shared.policy.onetouch {
        return Err(RouteError::ChannelOff);
    }
    let record = bound_request(ctx, SystemTime::now()).await?;
    let stream = watch(ctx.shared.clone(), record.uuid);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn status_event(data: &Value) -> Event {
    Event::default().event("status").data(data.to_string())
}

/// Where the event stream stands between events.
struct Watch {
    shared: Arc<Shared>,
    uuid: String,
    last: Option<ApprovalStatus>,
    done: bool,
}

fn watch(shared: Arc<Shared>, uuid: String) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = Watch {
        shared,
        uuid,
        last: None,
        done: false,
    };
    futures_util::stream::unfold(start, |mut watch| async move {
        if watch.done {
            return None;
        }
        loop {
            // The first read answers at once; later ones wait for a change.
            let wait = if watch.last.is_none() {
                Duration::ZERO
            } else {
                MAX_WAIT
            };
            let finish_url = format!("{}/status", watch.shared.prefix);
            let data = match settle(&watch.shared, &watch.uuid, wait).await {
                Ok(record) if watch.last == Some(record.status) => continue,
                Ok(record) => {
                    watch.last = Some(record.status);
                    if record.status.is_final() {
                        watch.done = true;
                        json!({"status": record.status.as_str(), "finish": finish_url})
                    } else {
                        json!({"status": "pending", "expires_in": expires_in(&record)})
                    }
                }
                Err(error) => {
                    // `/status` gives the full answer (and the page its message).
                    watch.done = true;
                    json!({"status": "error", "error": error.code(), "finish": finish_url})
                }
            };
            return Some((Ok(status_event(&data)), watch));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UserId;

    fn state(user: &str, binding: &str) -> (AuthState, PendingApproval) {
        let pending = PendingApproval {
            uuid: "u-1".into(),
            binding: binding.into(),
        };
        let state = AuthState {
            user_id: user.into(),
            first_factor_at: 0,
            passed: None,
            csrf: "c".into(),
            approval: Some(pending.clone()),
            next: None,
        };
        (state, pending)
    }

    #[test]
    fn a_request_belongs_only_to_its_session_and_user() {
        let now = SystemTime::now();
        let record = ApprovalRecord::pending("u-1", UserId::new("alice"), "b-1", now, None);
        let (alice, pending) = state("alice", "b-1");
        assert!(belongs(&record, &alice, &pending));
        let (other_session, pending) = state("alice", "b-2");
        assert!(!belongs(&record, &other_session, &pending));
        let (mallory, pending) = state("mallory", "b-1");
        assert!(!belongs(&record, &mallory, &pending));
        let (alice, mut pending) = state("alice", "b-1");
        pending.uuid = "u-2".into();
        assert!(!belongs(&record, &alice, &pending));
    }

    #[test]
    fn the_wait_is_capped_and_must_be_a_number() {
        let query = |wait: Option<&str>| StatusQuery {
            wait: wait.map(str::to_owned),
        };
        assert_eq!(wait_of(&query(None)).unwrap(), Duration::ZERO);
        assert_eq!(wait_of(&query(Some("3"))).unwrap(), Duration::from_secs(3));
        assert_eq!(wait_of(&query(Some("3600"))).unwrap(), MAX_WAIT);
        assert!(wait_of(&query(Some("-1"))).is_err());
        assert!(wait_of(&query(Some("soon"))).is_err());
    }
}
