//! Challenges (spec §4.4, §5.2–§5.3, §7.4, §7.6).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::VerifySimulator;
use super::factors::{code_matches, owned_factor};
use super::reply::{Params, TwilioReply, account, date, page};
use super::state::{Challenge, ChallengeState, FactorType, MAX_CHECKS};

/// A challenge's default and longest lives (spec §5.2).
const DEFAULT_TTL_SECS: u64 = 300;
const MAX_TTL_SECS: u64 = 3600;

pub(crate) fn challenge_json(sim: &VerifySimulator, c: &Challenge, now: u64) -> Value {
    let url = sim.url(&format!(
        "/Services/{}/Entities/{}/Challenges/{}",
        c.service_sid, c.identity, c.sid
    ));
    json!({
        "sid": c.sid,
        "account_sid": c.account_sid,
        "service_sid": c.service_sid,
        "entity_sid": c.entity_sid,
        "identity": c.identity,
        "factor_sid": c.factor_sid,
        "date_created": date(c.created),
        "date_updated": date(c.updated),
        "date_responded": c.responded.map(date),
        "expiration_date": date(c.expires),
        "status": c.state_at(now).as_str(),
        "responded_reason": "none",
        "details": c.message.as_ref().map(|m| json!({"message": m, "fields": c.fields})),
        "hidden_details": c.hidden_details,
        "metadata": null,
        "factor_type": c.factor_type.as_str(),
        "url": url,
        "links": {"notifications": format!("{url}/Notifications")},
    })
}

pub(crate) async fn create(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let params = Params::from_body(&body);
    let factor_sid = params
        .get("FactorSid")
        .ok_or_else(|| TwilioReply::invalid_request("FactorSid"))?;
    let factor = owned_factor(&sim, &account_sid, &service_sid, &identity, factor_sid)?;
    if !factor.verified {
        return Err(TwilioReply::error(
            StatusCode::FORBIDDEN,
            60318,
            "Factor is unverified",
        ));
    }
    let now = sim.now();
    let expires = match params.get("ExpirationDate") {
        None => now + DEFAULT_TTL_SECS,
        Some(text) => {
            let at = crate::utc::parse_iso8601(text)
                .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
                .ok_or_else(|| TwilioReply::invalid_request("ExpirationDate"))?;
            if at <= now || at > now + MAX_TTL_SECS {
                return Err(TwilioReply::invalid_request("ExpirationDate"));
            }
            at
        }
    };
    let message = params.get("Details.Message").map(str::to_owned);
    if message.as_ref().is_some_and(|m| m.chars().count() > 256) {
        return Err(TwilioReply::invalid_request("Details.Message"));
    }
    if factor.factor_type == FactorType::Push && message.is_none() {
        return Err(TwilioReply::invalid_request("Details.Message"));
    }
    let fields = params.all("Details.Fields");
    if fields.len() > 20 {
        return Err(TwilioReply::invalid_request("Details.Fields"));
    }
    let fields = fields
        .into_iter()
        .map(|text| {
            let field: Value = serde_json::from_str(text).ok()?;
            let label = field.get("label")?.as_str()?;
            let value = field.get("value")?.as_str()?;
            (label.chars().count() <= 36 && value.chars().count() <= 128)
                .then(|| json!({"label": label, "value": value}))
        })
        .collect::<Option<Vec<Value>>>()
        .ok_or_else(|| TwilioReply::invalid_request("Details.Fields"))?;
    let hidden_details = match params.get("HiddenDetails") {
        None => None,
        Some(text) => {
            let value: Value = serde_json::from_str(text)
                .ok()
                .filter(|v: &Value| {
                    v.as_object()
                        .is_some_and(|o| o.values().all(Value::is_string))
                })
                .filter(|_| text.len() <= 1024)
                .ok_or_else(|| TwilioReply::invalid_request("HiddenDetails"))?;
            Some(value)
        }
    };
    let payload = params.get("AuthPayload");
    let mut state = sim.lock();
    let sid = state.sid("YC");
    let mut challenge = Challenge {
        sid: sid.clone(),
        service_sid,
        account_sid: account_sid.clone(),
        entity_sid: factor.entity_sid.clone(),
        identity,
        factor_sid: factor.sid.clone(),
        factor_type: factor.factor_type,
        state: ChallengeState::Pending,
        message,
        fields,
        hidden_details,
        created: now,
        updated: now,
        expires,
        responded: None,
        attempts: 0,
    };
    if let (FactorType::Totp, Some(code)) = (factor.factor_type, payload) {
        challenge.attempts = 1;
        if code_matches(&factor, code, now) {
            challenge.state = ChallengeState::Approved;
            challenge.responded = Some(now);
        }
    }
    state.challenges.insert(sid, challenge.clone());
    drop(state);
    Ok(TwilioReply::created(challenge_json(&sim, &challenge, now)))
}

pub(crate) async fn list(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    super::services::owned_service(&sim, &account_sid, &service_sid)?;
    let params = Params::from_query(query.as_deref());
    let now = sim.now();
    let mut challenges: Vec<Challenge> = sim
        .lock()
        .challenges
        .values()
        .filter(|c| c.service_sid == service_sid && c.identity == identity)
        .filter(|c| params.get("FactorSid").is_none_or(|f| c.factor_sid == f))
        .filter(|c| {
            params
                .get("Status")
                .is_none_or(|s| c.state_at(now).as_str() == s)
        })
        .cloned()
        .collect();
    challenges.sort_by(|a, b| (a.created, &a.sid).cmp(&(b.created, &b.sid)));
    match params.get("Order") {
        None | Some("asc") => {}
        Some("desc") => challenges.reverse(),
        Some(_) => return Err(TwilioReply::invalid_request("Order")),
    }
    let items = challenges
        .iter()
        .map(|c| challenge_json(&sim, c, now))
        .collect();
    let path = format!("/Services/{service_sid}/Entities/{identity}/Challenges");
    Ok(page(&sim, &path, "challenges", items, &params))
}

fn owned_challenge(
    sim: &VerifySimulator,
    account_sid: &str,
    service_sid: &str,
    identity: &str,
    sid: &str,
) -> Result<Challenge, TwilioReply> {
    super::services::owned_service(sim, account_sid, service_sid)?;
    sim.lock()
        .challenges
        .get(sid)
        .filter(|c| c.service_sid == service_sid && c.identity == identity)
        .cloned()
        .ok_or_else(|| TwilioReply::error(StatusCode::NOT_FOUND, 60391, "Challenge not found"))
}

pub(crate) async fn fetch(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity, sid)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let challenge = owned_challenge(&sim, &account_sid, &service_sid, &identity, &sid)?;
    let mut reply = TwilioReply::ok(challenge_json(&sim, &challenge, sim.now()));
    reply.signature_fields =
        Some("sid,factor_sid,status,date_created,expiration_date,details,hidden_details");
    Ok(reply)
}

pub(crate) async fn update(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity, sid)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let challenge = owned_challenge(&sim, &account_sid, &service_sid, &identity, &sid)?;
    let now = sim.now();
    match challenge.state_at(now) {
        ChallengeState::Pending => {}
        ChallengeState::Expired => {
            return Err(TwilioReply::error(
                StatusCode::FORBIDDEN,
                60323,
                "Challenge expired",
            ));
        }
        _ => {
            return Err(TwilioReply::error(
                StatusCode::FORBIDDEN,
                60324,
                "Challenge verification failed: it is no longer pending",
            ));
        }
    }
    if challenge.factor_type == FactorType::Push {
        return Err(TwilioReply::error(
            StatusCode::FORBIDDEN,
            60324,
            "Challenge verification failed: the simulator's push challenges are answered on its virtual phone",
        ));
    }
    let code = Params::from_body(&body)
        .get("AuthPayload")
        .map(str::to_owned)
        .ok_or_else(|| TwilioReply::invalid_request("AuthPayload"))?;
    let factor = owned_factor(
        &sim,
        &account_sid,
        &service_sid,
        &identity,
        &challenge.factor_sid,
    )?;
    let mut state = sim.lock();
    let stored = state.challenges.get_mut(&sid).expect("just read");
    stored.attempts += 1;
    stored.updated = now;
    if stored.attempts > MAX_CHECKS {
        return Err(TwilioReply::error(
            StatusCode::TOO_MANY_REQUESTS,
            60308,
            "Challenge verification attempts limit reached",
        ));
    }
    if code_matches(&factor, &code, now) {
        stored.state = ChallengeState::Approved;
        stored.responded = Some(now);
    }
    let challenge = stored.clone();
    drop(state);
    Ok(TwilioReply::ok(challenge_json(&sim, &challenge, now)))
}

pub(crate) async fn notify(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity, sid)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let challenge = owned_challenge(&sim, &account_sid, &service_sid, &identity, &sid)?;
    let ttl = Params::from_body(&body)
        .int("Ttl", 0..=300)
        .map_err(|()| TwilioReply::invalid_request("Ttl"))?
        .unwrap_or(300);
    let now = sim.now();
    if challenge.state_at(now) != ChallengeState::Pending {
        return Err(TwilioReply::error(
            StatusCode::FORBIDDEN,
            60323,
            "Challenge expired",
        ));
    }
    let notification_sid = sim.lock().sid("NT");
    Ok(TwilioReply::created(json!({
        "sid": notification_sid,
        "account_sid": account_sid,
        "service_sid": service_sid,
        "entity_sid": challenge.entity_sid,
        "identity": identity,
        "challenge_sid": sid,
        "priority": "high",
        "ttl": ttl,
        "date_created": date(now),
    })))
}
