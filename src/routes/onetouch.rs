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
use std::time::{Duration, SystemTime};

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};

use super::complete::{self, completed, finish};
use super::context::{Ctx, Post};
use super::forms::Empty;
use super::reply;
use crate::code::Code;
use crate::domain::{Binding, MAX_WAIT, Refusal, Rules};
use crate::negotiate::Format;
use crate::session::{AuthState, PendingApproval, SecondFactorMethod};
use crate::store::{ApprovalRecord, ApprovalStatus};
use crate::two_factor::Shared;

/// `POST /2fa/onetouch`: push an approval request for this session.
pub(crate) async fn start(Post(mut ctx, _): Post<Empty>) -> Response {
    let page = ctx.shared.prefix.clone();
    match push(&mut ctx).await {
        Ok(record) => match ctx.format {
            Format::Html => reply::see_other(&reply::with_query(
                &page,
                "notice",
                Code::OnetouchSent.as_str(),
            )),
            Format::Json => reply::json(
                StatusCode::OK,
                json!({
                    "status": "pending",
                    "uuid": record.uuid,
                    "expires_in": expires_in(&record),
                }),
            ),
        },
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

async fn push(ctx: &mut Ctx) -> Result<ApprovalRecord, Refusal> {
    let shared = ctx.shared.clone();
    let rules = &shared.rules;
    if !rules.policy.onetouch {
        return Err(Refusal::ChannelOff);
    }
    let state = ctx.signed_in()?;
    if state.passed.is_some() {
        return Err(Refusal::InvalidInput(
            "the second factor is already done".into(),
        ));
    }
    let now = SystemTime::now();
    let challenge = rules.challenge(&state.user_id).await?;
    let current = rules
        .bound_request(&state.user_id, Binding::of(state).as_ref(), now)
        .await
        .ok();
    let (record, binding) = rules.push(&challenge, current, &ctx.requester, now).await?;
    if let Some(binding) = binding {
        let state = ctx.signed_in_mut()?;
        state.approval = Some(PendingApproval {
            uuid: binding.uuid,
            binding: binding.secret,
            factor: binding.factor.map(|id| id.to_string()),
            generation: binding.generation,
        });
        state.pushed = true;
        ctx.save().await?;
    }
    Ok(record)
}

/// The push request this session made, when OneTouch is on.
async fn sessions_request(rules: &Rules, state: &AuthState) -> Result<ApprovalRecord, Refusal> {
    if !rules.policy.onetouch {
        return Err(Refusal::ChannelOff);
    }
    rules
        .bound_request(
            &state.user_id,
            Binding::of(state).as_ref(),
            SystemTime::now(),
        )
        .await
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

fn wait_of(query: &StatusQuery) -> Result<Duration, Refusal> {
    match query.wait.as_deref() {
        None | Some("") => Ok(Duration::ZERO),
        Some(text) => text
            .parse::<u64>()
            .map(|secs| Duration::from_secs(secs).min(MAX_WAIT))
            .map_err(|_| Refusal::InvalidInput("wait is a number of seconds".into())),
    }
}

/// `GET /2fa/status[?wait=SECONDS]`: this session's OneTouch outcome;
/// an approval completes the session.
pub(crate) async fn status(mut ctx: Ctx, Query(query): Query<StatusQuery>) -> Response {
    let page = ctx.shared.prefix.clone();
    match status_of(&mut ctx, &query).await {
        Ok(response) => response,
        Err(refusal) => reply::refuse(ctx.format, &page, &refusal),
    }
}

async fn status_of(ctx: &mut Ctx, query: &StatusQuery) -> Result<Response, Refusal> {
    let wait = wait_of(query)?;
    let state = ctx.signed_in()?;
    // Another tab (or the event stream's follow-up) may ask after the session
    // completed: the answer is where to go.
    if let Some(passed) = state.passed {
        return Ok(completed(ctx.format, state, passed.method));
    }
    let shared = ctx.shared.clone();
    let rules = &shared.rules;
    let record = sessions_request(rules, state).await?;
    let record = if record.status.is_final() {
        record
    } else {
        rules.settle(&record.uuid, wait).await?
    };
    match record.status {
        ApprovalStatus::Approved => {
            let binding = Binding::of(ctx.signed_in()?).ok_or(Refusal::NoApprovalRequest)?;
            let now = SystemTime::now();
            let (generation, turned_on) = rules.approved(&record.user_id, &binding, now).await?;
            let response = finish(ctx, SecondFactorMethod::OneTouch, generation).await?;
            complete::with_first_codes(ctx, response, SecondFactorMethod::OneTouch, turned_on, now)
                .await
        }
        ApprovalStatus::Pending => Ok(match ctx.format {
            Format::Html => reply::see_other(&reply::with_query(
                &shared.prefix,
                "notice",
                Code::OnetouchPending.as_str(),
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
            let code = match status {
                ApprovalStatus::Denied => Code::Denied,
                _ => Code::Expired,
            };
            tracing::info!(user = %record.user_id, status = %code, "tower-authy: OneTouch not approved");
            Ok(match ctx.format {
                Format::Html => {
                    reply::see_other(&reply::with_query(&shared.prefix, "error", code.as_str()))
                }
                Format::Json => reply::json(
                    StatusCode::OK,
                    json!({"status": code, "message": code.message()}),
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
        Err(refusal) => reply::json_refusal(&refusal),
    }
}

async fn open_events(ctx: &Ctx) -> Result<Response, Refusal> {
    let state = ctx.signed_in()?;
    if let Some(passed) = state.passed {
        let done = complete::body(state, passed.method);
        let once = futures_util::stream::iter([Ok::<_, Infallible>(status_event(&done))]);
        return Ok(Sse::new(once).into_response());
    }
    let record = sessions_request(&ctx.shared.rules, state).await?;
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
            let data = match watch.shared.rules.settle(&watch.uuid, wait).await {
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
                Err(refusal) => {
                    // `/status` gives the full answer (and the page its message).
                    watch.done = true;
                    json!({"status": "error", "error": refusal.code(), "finish": finish_url})
                }
            };
            return Some((Ok(status_event(&data)), watch));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
