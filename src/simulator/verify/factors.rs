//! Entities and factors (spec §4.1–§4.3, §5.1, §7.4, §7.6).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::VerifySimulator;
use super::events;
use super::reply::{Params, TwilioReply, account, basic, date, page};
use super::services::owned_service;
use super::state::{Entity, Factor, FactorType, MAX_CHECKS, State as SimState};

/// Spec §4.1: 8–64 dash-separated alphanumerics.
pub(crate) fn identity_ok(identity: &str) -> bool {
    (8..=64).contains(&identity.len())
        && identity
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn entity_json(sim: &VerifySimulator, entity: &Entity, account_sid: &str) -> Value {
    let url = sim.url(&format!(
        "/Services/{}/Entities/{}",
        entity.service_sid, entity.identity
    ));
    json!({
        "sid": entity.sid,
        "identity": entity.identity,
        "account_sid": account_sid,
        "service_sid": entity.service_sid,
        "date_created": date(entity.created),
        "date_updated": date(entity.created),
        "url": url,
        "links": {
            "factors": format!("{url}/Factors"),
            "new_factors": format!("{url}/Factors"),
            "challenges": format!("{url}/Challenges"),
        },
    })
}

pub(crate) fn factor_json(sim: &VerifySimulator, factor: &Factor, account_sid: &str) -> Value {
    let config = match factor.factor_type {
        FactorType::Totp => json!({
            "alg": "sha1", "skew": factor.skew, "code_length": factor.code_length,
            "time_step": factor.time_step,
        }),
        FactorType::Push => json!({
            "sdk_version": "tower-authy", "app_id": "tower-authy",
            "notification_platform": "none", "notification_token": null,
            "credential_sid": factor.credential_sid,
        }),
    };
    json!({
        "sid": factor.sid,
        "account_sid": account_sid,
        "service_sid": factor.service_sid,
        "entity_sid": factor.entity_sid,
        "identity": factor.identity,
        "date_created": date(factor.created),
        "date_updated": date(factor.updated),
        "friendly_name": factor.friendly_name,
        "status": if factor.verified { "verified" } else { "unverified" },
        "factor_type": factor.factor_type.as_str(),
        "config": config,
        "metadata": null,
        "url": sim.url(&format!(
            "/Services/{}/Entities/{}/Factors/{}",
            factor.service_sid, factor.identity, factor.sid
        )),
    })
}

/// The entity, made on first use (spec §7.4's lenient choice).
fn entity_for(state: &mut SimState, service_sid: &str, identity: &str, now: u64) -> Entity {
    if let Some(entity) = state.entity(service_sid, identity) {
        return entity.clone();
    }
    let sid = state.sid("YE");
    let entity = Entity {
        sid: sid.clone(),
        service_sid: service_sid.to_owned(),
        identity: identity.to_owned(),
        created: now,
    };
    state.entities.insert(sid, entity.clone());
    entity
}

pub(crate) async fn create_entity(
    State(sim): State<VerifySimulator>,
    Path(service_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    owned_service(&sim, &account_sid, &service_sid)?;
    let params = Params::from_body(&body);
    let identity = params
        .get("Identity")
        .filter(|i| identity_ok(i))
        .ok_or_else(|| TwilioReply::invalid_request("Identity"))?;
    let now = sim.now();
    let mut state = sim.lock();
    if state.entity(&service_sid, identity).is_some() {
        return Err(TwilioReply::error(
            StatusCode::CONFLICT,
            60360,
            "Entity already exists",
        ));
    }
    let entity = entity_for(&mut state, &service_sid, identity, now);
    drop(state);
    Ok(TwilioReply::created(entity_json(
        &sim,
        &entity,
        &account_sid,
    )))
}

pub(crate) async fn list_entities(
    State(sim): State<VerifySimulator>,
    Path(service_sid): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    owned_service(&sim, &account_sid, &service_sid)?;
    let mut entities: Vec<Entity> = sim
        .lock()
        .entities
        .values()
        .filter(|e| e.service_sid == service_sid)
        .cloned()
        .collect();
    entities.sort_by(|a, b| (a.created, &a.sid).cmp(&(b.created, &b.sid)));
    let items = entities
        .iter()
        .map(|e| entity_json(&sim, e, &account_sid))
        .collect();
    let path = format!("/Services/{service_sid}/Entities");
    Ok(page(
        &sim,
        &path,
        "entities",
        items,
        &Params::from_query(query.as_deref()),
    ))
}

fn owned_entity(
    sim: &VerifySimulator,
    account_sid: &str,
    service_sid: &str,
    identity: &str,
) -> Result<Entity, TwilioReply> {
    owned_service(sim, account_sid, service_sid)?;
    sim.lock()
        .entity(service_sid, identity)
        .cloned()
        .ok_or_else(|| {
            TwilioReply::not_found(&format!("/Services/{service_sid}/Entities/{identity}"))
        })
}

pub(crate) async fn fetch_entity(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let entity = owned_entity(&sim, &account_sid, &service_sid, &identity)?;
    Ok(TwilioReply::ok(entity_json(&sim, &entity, &account_sid)))
}

pub(crate) async fn delete_entity(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let entity = owned_entity(&sim, &account_sid, &service_sid, &identity)?;
    let mut state = sim.lock();
    state.entities.remove(&entity.sid);
    state.factors.retain(|_, f| f.entity_sid != entity.sid);
    state.challenges.retain(|_, c| c.entity_sid != entity.sid);
    Ok(TwilioReply::no_content())
}

/// The account of a device creating a push factor with `token:<access
/// token>` (spec §1.2), if the token is live and for this identity.
fn device_account(
    sim: &VerifySimulator,
    headers: &HeaderMap,
    service_sid: &str,
    identity: &str,
) -> Option<String> {
    let (user, token) = basic(headers)?;
    if user != "token" {
        return None;
    }
    let now = sim.now();
    sim.lock()
        .access_tokens
        .values()
        .find(|t| {
            t.token == token
                && t.service_sid == service_sid
                && t.identity == identity
                && now < t.created + t.ttl
        })
        .map(|t| t.account_sid.clone())
}

pub(crate) async fn create(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let device = device_account(&sim, &headers, &service_sid, &identity);
    let account_sid = match &device {
        Some(account_sid) => account_sid.clone(),
        None => account(&sim, &headers)?,
    };
    let service = owned_service(&sim, &account_sid, &service_sid)?;
    if !identity_ok(&identity) {
        return Err(TwilioReply::invalid_request("Identity"));
    }
    let params = Params::from_body(&body);
    let name = params
        .get("FriendlyName")
        .filter(|n| n.chars().count() <= 64)
        .ok_or_else(|| TwilioReply::invalid_request("FriendlyName"))?
        .to_owned();
    let factor_type = match params.get("FactorType") {
        Some("totp") => FactorType::Totp,
        Some("push") => FactorType::Push,
        _ => {
            return Err(TwilioReply::error(
                StatusCode::BAD_REQUEST,
                60369,
                "Factor type invalid or not provided",
            ));
        }
    };
    let range = |name: &str, range, default| {
        params
            .int(name, range)
            .map_err(|()| TwilioReply::invalid_request(name))
            .map(|v| v.unwrap_or(default))
    };
    let time_step = range("Config.TimeStep", 20..=60, 30)?;
    let skew = range("Config.Skew", 0..=2, 1)?;
    let code_length = range("Config.CodeLength", 3..=8, 6)? as u32;
    if params.get("Config.Alg").is_some_and(|alg| alg != "sha1") {
        return Err(TwilioReply::invalid_request(
            "Config.Alg (the simulator computes sha1 only)",
        ));
    }
    let binding_secret = match params.get("Binding.Secret") {
        Some(text) => Some(
            data_encoding::BASE32_NOPAD
                .decode(text.trim_end_matches('=').to_ascii_uppercase().as_bytes())
                .map_err(|_| TwilioReply::invalid_request("Binding.Secret"))?,
        ),
        None => None,
    };
    let now = sim.now();
    let mut state = sim.lock();
    state.expire_factors(now);
    let entity = entity_for(&mut state, &service_sid, &identity, now);
    let secret = match factor_type {
        FactorType::Totp => binding_secret.unwrap_or_else(|| state.bytes(20)),
        FactorType::Push => Vec::new(),
    };
    let sid = state.sid("YF");
    let credential_sid = state.sid("CR");
    let factor = Factor {
        sid: sid.clone(),
        service_sid: service_sid.clone(),
        entity_sid: entity.sid,
        identity: identity.clone(),
        friendly_name: name.clone(),
        factor_type,
        // A push factor made from the server (no device to sign) is ready at
        // once; a device's is verified by its signed payload.
        verified: factor_type == FactorType::Push && device.is_none(),
        secret,
        time_step,
        skew,
        code_length,
        attempts: 0,
        credential_sid,
        created: now,
        updated: now,
    };
    state.factors.insert(sid, factor.clone());
    drop(state);
    let mut body = factor_json(&sim, &factor, &account_sid);
    if factor_type == FactorType::Totp {
        let secret = data_encoding::BASE32_NOPAD.encode(&factor.secret);
        let issuer = service.totp_issuer.unwrap_or(service.friendly_name);
        let uri = format!(
            "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits={}&period={}",
            percent(&issuer),
            percent(&name),
            percent(&issuer),
            code_length,
            time_step
        );
        body["binding"] = json!({"secret": secret, "uri": uri});
    } else {
        body["binding"] = Value::Null;
    }
    body["options"] = Value::Null;
    events::spawn(&sim, "factor.created", &factor, None);
    if factor.verified {
        events::spawn(&sim, "factor.verified", &factor, None);
    }
    Ok(TwilioReply::created(body))
}

fn percent(text: &str) -> String {
    // The key URI format: every byte but unreserved ones escaped, so a space
    // is %20 (not +).
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub(crate) async fn list(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let entity = owned_entity(&sim, &account_sid, &service_sid, &identity)?;
    let now = sim.now();
    let mut state = sim.lock();
    state.expire_factors(now);
    let mut factors: Vec<Factor> = state
        .factors
        .values()
        .filter(|f| f.entity_sid == entity.sid)
        .cloned()
        .collect();
    drop(state);
    factors.sort_by(|a, b| (a.created, &a.sid).cmp(&(b.created, &b.sid)));
    let items = factors
        .iter()
        .map(|f| factor_json(&sim, f, &account_sid))
        .collect();
    let path = format!("/Services/{service_sid}/Entities/{identity}/Factors");
    Ok(page(
        &sim,
        &path,
        "factors",
        items,
        &Params::from_query(query.as_deref()),
    ))
}

pub(crate) fn owned_factor(
    sim: &VerifySimulator,
    account_sid: &str,
    service_sid: &str,
    identity: &str,
    sid: &str,
) -> Result<Factor, TwilioReply> {
    let entity = owned_entity(sim, account_sid, service_sid, identity)?;
    let now = sim.now();
    let mut state = sim.lock();
    state.expire_factors(now);
    state
        .factors
        .get(sid)
        .filter(|f| f.entity_sid == entity.sid)
        .cloned()
        .ok_or_else(|| {
            TwilioReply::not_found(&format!(
                "/Services/{service_sid}/Entities/{identity}/Factors/{sid}"
            ))
        })
}

pub(crate) async fn fetch(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity, sid)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let factor = owned_factor(&sim, &account_sid, &service_sid, &identity, &sid)?;
    Ok(TwilioReply::ok(factor_json(&sim, &factor, &account_sid)))
}

/// Whether `code` is the factor's TOTP code within its skew at `now`.
pub(crate) fn code_matches(factor: &Factor, code: &str, now: u64) -> bool {
    let step = factor.time_step;
    let counter = now / step;
    (counter.saturating_sub(factor.skew)..=counter + factor.skew).any(|c| {
        let expected = crate::otp::hotp(&factor.secret, c, factor.code_length);
        bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            code.as_bytes(),
        ))
    })
}

pub(crate) async fn update(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity, sid)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let factor = owned_factor(&sim, &account_sid, &service_sid, &identity, &sid)?;
    let params = Params::from_body(&body);
    let now = sim.now();
    let mut state = sim.lock();
    let stored = state.factors.get_mut(&sid).expect("just read");
    if let Some(name) = params.get("FriendlyName") {
        stored.friendly_name = name.to_owned();
    }
    let mut newly_verified = false;
    if let Some(payload) = params.get("AuthPayload") {
        if !stored.verified {
            stored.attempts += 1;
            if stored.attempts > MAX_CHECKS {
                return Err(TwilioReply::error(
                    StatusCode::TOO_MANY_REQUESTS,
                    60310,
                    "Factor verification attempts reached",
                ));
            }
            let right = match factor.factor_type {
                FactorType::Totp => code_matches(stored, payload, now),
                // The device's signature is not checked (spec §7.6).
                FactorType::Push => true,
            };
            if right {
                stored.verified = true;
                newly_verified = true;
            }
        }
    }
    stored.updated = now;
    let factor = stored.clone();
    drop(state);
    if newly_verified {
        events::spawn(&sim, "factor.verified", &factor, None);
    }
    Ok(TwilioReply::ok(factor_json(&sim, &factor, &account_sid)))
}

pub(crate) async fn delete(
    State(sim): State<VerifySimulator>,
    Path((service_sid, identity, sid)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let factor = owned_factor(&sim, &account_sid, &service_sid, &identity, &sid)?;
    let mut state = sim.lock();
    state.factors.remove(&sid);
    state.challenges.retain(|_, c| c.factor_sid != sid);
    drop(state);
    events::spawn(&sim, "factor.deleted", &factor, None);
    Ok(TwilioReply::no_content())
}
