//! The virtual phone for Verify: its page (`phone`: pending pushes with
//! Approve and Deny, authenticator-app codes, codes received; it works
//! without JavaScript) and its JSON API (design.md's table): the codes a
//! phone or mailbox received, push challenges to approve or deny, a device
//! registering a push factor, and an authenticator app's current code.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::VerifySimulator;
use super::events;
use super::reply::{Params, date};
use super::state::{ChallengeState, Factor, FactorType};

pub(crate) fn routes() -> Router<VerifySimulator> {
    Router::new()
        .route("/phone", get(page))
        .route("/phone/api/verify/messages", get(messages))
        .route("/phone/api/verify/challenges", get(challenges))
        .route("/phone/api/verify/challenges/{sid}/approve", post(approve))
        .route("/phone/api/verify/challenges/{sid}/deny", post(deny))
        .route("/phone/api/verify/push-factors", post(register_push))
        .route("/phone/api/verify/factors/{sid}/code", get(code))
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

#[derive(Deserialize)]
struct To {
    to: String,
}

async fn messages(State(sim): State<VerifySimulator>, Query(to): Query<To>) -> Json<Value> {
    let state = sim.lock();
    let messages: Vec<Value> = state
        .messages
        .iter()
        .filter(|m| m.to == to.to)
        .map(|m| json!({"channel": m.channel, "to": m.to, "code": m.code, "at": date(m.at)}))
        .collect();
    Json(Value::Array(messages))
}

#[derive(Deserialize)]
struct Identity {
    identity: String,
}

async fn challenges(
    State(sim): State<VerifySimulator>,
    Query(identity): Query<Identity>,
) -> Json<Value> {
    let now = sim.now();
    let state = sim.lock();
    let mut challenges: Vec<_> = state
        .challenges
        .values()
        .filter(|c| c.identity == identity.identity && c.factor_type == FactorType::Push)
        .collect();
    challenges.sort_by(|a, b| (a.created, &a.sid).cmp(&(b.created, &b.sid)));
    Json(Value::Array(
        challenges
            .into_iter()
            .map(|c| {
                json!({
                    "sid": c.sid,
                    "factor_sid": c.factor_sid,
                    "status": c.state_at(now).as_str(),
                    "message": c.message,
                    "details": c.fields,
                    "created_at": date(c.created),
                    "expires_at": date(c.expires),
                })
            })
            .collect(),
    ))
}

async fn approve(
    State(sim): State<VerifySimulator>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    original: OriginalUri,
) -> Response {
    back_to_page(
        &headers,
        &original,
        answer(&sim, &sid, ChallengeState::Approved).await,
    )
}

async fn deny(
    State(sim): State<VerifySimulator>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    original: OriginalUri,
) -> Response {
    back_to_page(
        &headers,
        &original,
        answer(&sim, &sid, ChallengeState::Denied).await,
    )
}

/// A browser's form post (it asks for HTML) goes back to the page; API
/// clients get the JSON answer.
fn back_to_page(headers: &HeaderMap, original: &OriginalUri, response: Response) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && response.status().is_success() {
        let path = original.path();
        let page = match path.rfind("/phone/api/") {
            Some(i) => format!("{}/phone", &path[..i]),
            None => "phone".to_owned(),
        };
        Redirect::to(&page).into_response()
    } else {
        response
    }
}

fn environment() -> &'static minijinja::Environment<'static> {
    static ENV: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        // The `.html` name turns auto-escaping on: messages and details
        // cannot inject markup.
        let mut env = minijinja::Environment::new();
        env.add_template("verify_phone.html", include_str!("phone.html"))
            .expect("the phone template parses");
        env
    })
}

async fn page(State(sim): State<VerifySimulator>, original: OriginalUri) -> Response {
    let base = original.path().trim_end_matches('/').to_owned();
    let now = sim.now();
    let context = {
        let state = sim.lock();
        let mut pending: Vec<_> = state
            .challenges
            .values()
            .filter(|c| {
                c.factor_type == FactorType::Push && c.state_at(now) == ChallengeState::Pending
            })
            .collect();
        pending.sort_by(|a, b| (a.created, &a.sid).cmp(&(b.created, &b.sid)));
        let challenges: Vec<Value> = pending
            .into_iter()
            .map(|c| {
                let factor = state
                    .factors
                    .get(&c.factor_sid)
                    .map_or(c.factor_sid.clone(), |f| f.friendly_name.clone());
                json!({"sid": c.sid, "message": c.message, "fields": c.fields, "factor": factor})
            })
            .collect();
        let totp: Vec<Value> = state
            .factors
            .values()
            .filter(|f| f.factor_type == FactorType::Totp)
            .map(|f| {
                json!({
                    "name": f.friendly_name,
                    "code": crate::otp::totp(&f.secret, now, f.time_step, f.code_length),
                })
            })
            .collect();
        let messages: Vec<Value> = state
            .messages
            .iter()
            .rev()
            .map(|m| json!({"at": date(m.at).replace(['T', 'Z'], " "), "to": m.to, "channel": m.channel, "code": m.code}))
            .collect();
        json!({"base": base, "challenges": challenges, "totp": totp, "messages": messages})
    };
    let rendered = environment()
        .get_template("verify_phone.html")
        .and_then(|t| t.render(minijinja::Value::from_serialize(&context)));
    match rendered {
        Ok(html) => Html(html).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the phone page failed to render: {e}"),
        )
            .into_response(),
    }
}

/// Answers a pending push challenge as the user's device would, then
/// delivers the webhook and reports it.
async fn answer(sim: &VerifySimulator, sid: &str, to: ChallengeState) -> Response {
    let now = sim.now();
    let (challenge, factor) = {
        let mut state = sim.lock();
        let Some(challenge) = state.challenges.get(sid).cloned() else {
            return problem(StatusCode::NOT_FOUND, "no such challenge");
        };
        if challenge.factor_type != FactorType::Push {
            return problem(
                StatusCode::CONFLICT,
                "only push challenges are answered on the phone",
            );
        }
        if challenge.state_at(now) != ChallengeState::Pending {
            return problem(StatusCode::CONFLICT, "the challenge is not pending");
        }
        let Some(factor) = state.factors.get(&challenge.factor_sid).cloned() else {
            return problem(StatusCode::CONFLICT, "the challenge's factor is gone");
        };
        let stored = state.challenges.get_mut(sid).expect("just read");
        stored.state = to;
        stored.responded = Some(now);
        stored.updated = now;
        (stored.clone(), factor)
    };
    let event = match to {
        ChallengeState::Approved => "challenge.approved",
        _ => "challenge.denied",
    };
    let webhooks = events::deliver(sim, event, &factor, Some(&challenge.sid)).await;
    Json(json!({"sid": challenge.sid, "status": to.as_str(), "webhooks": webhooks})).into_response()
}

/// A device registers a push factor (what the mobile SDK does with an
/// access token): verified at once, announced by `factor.created` and
/// `factor.verified`.
async fn register_push(
    State(sim): State<VerifySimulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (identity, name, service) = if is_json {
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_owned);
        (text("identity"), text("friendly_name"), text("service_sid"))
    } else {
        let params = Params::from_body(&body);
        let text = |k: &str| params.get(k).map(str::to_owned);
        (text("identity"), text("friendly_name"), text("service_sid"))
    };
    let Some(identity) = identity.filter(|i| super::factors::identity_ok(i)) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "identity: 8 to 64 dash-separated letters and digits",
        );
    };
    let name = name.unwrap_or_else(|| "Virtual phone".to_owned());
    let now = sim.now();
    let factor = {
        let mut state = sim.lock();
        let service_sid = match service {
            Some(sid) if state.services.contains_key(&sid) => sid,
            Some(_) => return problem(StatusCode::NOT_FOUND, "no such service"),
            None => match sim.service_sids().first() {
                Some(sid) => sid.clone(),
                None => return problem(StatusCode::NOT_FOUND, "no service: give service_sid"),
            },
        };
        let entity = match state.entity(&service_sid, &identity).cloned() {
            Some(entity) => entity,
            None => {
                let sid = state.sid("YE");
                let entity = super::state::Entity {
                    sid: sid.clone(),
                    service_sid: service_sid.clone(),
                    identity: identity.clone(),
                    created: now,
                };
                state.entities.insert(sid, entity.clone());
                entity
            }
        };
        let sid = state.sid("YF");
        let credential_sid = state.sid("CR");
        let factor = Factor {
            sid: sid.clone(),
            service_sid,
            entity_sid: entity.sid,
            identity,
            friendly_name: name,
            factor_type: FactorType::Push,
            verified: true,
            secret: Vec::new(),
            time_step: 30,
            skew: 1,
            code_length: 6,
            attempts: 0,
            credential_sid,
            created: now,
            updated: now,
        };
        state.factors.insert(sid, factor.clone());
        factor
    };
    events::deliver(&sim, "factor.created", &factor, None).await;
    events::deliver(&sim, "factor.verified", &factor, None).await;
    (StatusCode::CREATED, Json(json!({"sid": factor.sid}))).into_response()
}

async fn code(State(sim): State<VerifySimulator>, Path(sid): Path<String>) -> Response {
    let now = sim.now();
    let state = sim.lock();
    match state.factors.get(&sid) {
        Some(f) if f.factor_type == FactorType::Totp => {
            let code = crate::otp::totp(&f.secret, now, f.time_step, f.code_length);
            Json(json!({"code": code})).into_response()
        }
        Some(_) => problem(StatusCode::CONFLICT, "not a TOTP factor"),
        None => problem(StatusCode::NOT_FOUND, "no such factor"),
    }
}
