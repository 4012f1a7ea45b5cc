//! Services, their webhooks and access tokens (spec §3.1, §5.1, §5.6, §7.5).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::VerifySimulator;
use super::reply::{Params, TwilioReply, account, date, page};
use super::state::{AccessToken, Service, Webhook};

const EVENT_TYPES: &[&str] = &[
    "*",
    "factor.created",
    "factor.verified",
    "factor.deleted",
    "challenge.approved",
    "challenge.denied",
];

pub(crate) fn service_json(sim: &VerifySimulator, service: &Service) -> Value {
    let url = sim.url(&format!("/Services/{}", service.sid));
    json!({
        "sid": service.sid,
        "account_sid": service.account_sid,
        "friendly_name": service.friendly_name,
        "code_length": service.code_length,
        "lookup_enabled": false, "psd2_enabled": false, "skip_sms_to_landlines": false,
        "dtmf_input_required": false, "tts_name": null, "do_not_share_warning_enabled": false,
        "custom_code_enabled": false,
        "push": {"include_date": false, "apn_credential_sid": null, "fcm_credential_sid": null},
        "totp": {
            "issuer": service.totp_issuer.clone().unwrap_or_else(|| service.friendly_name.clone()),
            "time_step": 30, "code_length": 6, "skew": 1,
        },
        "default_template_sid": null,
        "verify_event_subscription_enabled": false,
        "date_created": date(service.created),
        "date_updated": date(service.updated),
        "url": url,
        "links": {
            "verification_checks": format!("{url}/VerificationCheck"),
            "verifications": format!("{url}/Verifications"),
            "entities": format!("{url}/Entities"),
            "webhooks": format!("{url}/Webhooks"),
            "access_tokens": format!("{url}/AccessTokens"),
        },
    })
}

/// The caller's service `sid` (another account's reads as unknown).
pub(crate) fn owned_service(
    sim: &VerifySimulator,
    account_sid: &str,
    sid: &str,
) -> Result<Service, TwilioReply> {
    sim.lock()
        .services
        .get(sid)
        .filter(|s| s.account_sid == account_sid)
        .cloned()
        .ok_or_else(|| TwilioReply::not_found(&format!("/Services/{sid}")))
}

fn check_name(params: &Params, required: bool) -> Result<Option<String>, TwilioReply> {
    match params.get("FriendlyName") {
        None if required => Err(TwilioReply::invalid_parameter("FriendlyName")),
        None => Ok(None),
        Some(name) if name.chars().count() > 30 => {
            Err(TwilioReply::invalid_parameter("FriendlyName"))
        }
        Some(name) => Ok(Some(name.to_owned())),
    }
}

pub(crate) async fn create(
    State(sim): State<VerifySimulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let params = Params::from_body(&body);
    let name = check_name(&params, true)?.unwrap_or_default();
    let code_length = params
        .int("CodeLength", 4..=10)
        .map_err(|()| TwilioReply::invalid_parameter("CodeLength"))?
        .unwrap_or(6) as u32;
    let now = sim.now();
    let mut state = sim.lock();
    let sid = state.sid("VA");
    let service = Service {
        sid: sid.clone(),
        account_sid,
        friendly_name: name,
        code_length,
        totp_issuer: params.get("Totp.Issuer").map(str::to_owned),
        created: now,
        updated: now,
    };
    state.services.insert(sid, service.clone());
    drop(state);
    Ok(TwilioReply::created(service_json(&sim, &service)))
}

pub(crate) async fn list(
    State(sim): State<VerifySimulator>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let mut services: Vec<Service> = sim
        .lock()
        .services
        .values()
        .filter(|s| s.account_sid == account_sid)
        .cloned()
        .collect();
    services.sort_by(|a, b| (a.created, &a.sid).cmp(&(b.created, &b.sid)));
    let items = services.iter().map(|s| service_json(&sim, s)).collect();
    Ok(page(
        &sim,
        "/Services",
        "services",
        items,
        &Params::from_query(query.as_deref()),
    ))
}

pub(crate) async fn fetch(
    State(sim): State<VerifySimulator>,
    Path(sid): Path<String>,
    headers: HeaderMap,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let service = owned_service(&sim, &account_sid, &sid)?;
    Ok(TwilioReply::ok(service_json(&sim, &service)))
}

pub(crate) async fn update(
    State(sim): State<VerifySimulator>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    owned_service(&sim, &account_sid, &sid)?;
    let params = Params::from_body(&body);
    let name = check_name(&params, false)?;
    let code_length = params
        .int("CodeLength", 4..=10)
        .map_err(|()| TwilioReply::invalid_parameter("CodeLength"))?;
    let now = sim.now();
    let mut state = sim.lock();
    let service = state
        .services
        .get_mut(&sid)
        .ok_or_else(|| TwilioReply::not_found(&format!("/Services/{sid}")))?;
    if let Some(name) = name {
        service.friendly_name = name;
    }
    if let Some(length) = code_length {
        service.code_length = length as u32;
    }
    if let Some(issuer) = params.get("Totp.Issuer") {
        service.totp_issuer = Some(issuer.to_owned());
    }
    service.updated = now;
    let service = service.clone();
    drop(state);
    Ok(TwilioReply::ok(service_json(&sim, &service)))
}

pub(crate) async fn delete(
    State(sim): State<VerifySimulator>,
    Path(sid): Path<String>,
    headers: HeaderMap,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    owned_service(&sim, &account_sid, &sid)?;
    let mut state = sim.lock();
    state.services.remove(&sid);
    state.verifications.retain(|_, v| v.service_sid != sid);
    state.entities.retain(|_, e| e.service_sid != sid);
    state.factors.retain(|_, f| f.service_sid != sid);
    state.challenges.retain(|_, c| c.service_sid != sid);
    state.webhooks.retain(|_, w| w.service_sid != sid);
    Ok(TwilioReply::no_content())
}

fn webhook_json(sim: &VerifySimulator, webhook: &Webhook) -> Value {
    json!({
        "sid": webhook.sid,
        "account_sid": webhook.account_sid,
        "service_sid": webhook.service_sid,
        "friendly_name": webhook.friendly_name,
        "event_types": webhook.event_types,
        "webhook_method": "POST",
        "webhook_url": webhook.url,
        "status": if webhook.enabled { "enabled" } else { "disabled" },
        "version": webhook.version,
        "date_created": date(webhook.created),
        "date_updated": date(webhook.created),
        "url": sim.url(&format!("/Services/{}/Webhooks/{}", webhook.service_sid, webhook.sid)),
    })
}

/// A webhook's settings as given (each optional on update).
struct WebhookSettings {
    name: Option<String>,
    events: Option<Vec<String>>,
    url: Option<String>,
    enabled: Option<bool>,
    version: Option<String>,
}

/// Reads and checks a webhook's settings; `required` on create.
fn webhook_settings(params: &Params, required: bool) -> Result<WebhookSettings, TwilioReply> {
    let name = params.get("FriendlyName").map(str::to_owned);
    let events: Vec<String> = params
        .all("EventTypes")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let url = params.get("WebhookUrl").map(str::to_owned);
    if required && (name.is_none() || events.is_empty() || url.is_none()) {
        return Err(TwilioReply::invalid_request(
            "FriendlyName, EventTypes and WebhookUrl are required",
        ));
    }
    if !events.iter().all(|e| EVENT_TYPES.contains(&e.as_str())) {
        return Err(TwilioReply::invalid_request("EventTypes"));
    }
    if let Some(url) = &url {
        if crate::config::absolute_url("webhook URL", url).is_err() {
            return Err(TwilioReply::invalid_request("WebhookUrl"));
        }
    }
    let enabled = match params.get("Status") {
        None => None,
        Some("enabled") => Some(true),
        Some("disabled") => Some(false),
        Some(_) => return Err(TwilioReply::invalid_request("Status")),
    };
    let version = match params.get("Version") {
        None => None,
        Some(v @ ("v1" | "v2")) => Some(v.to_owned()),
        Some(_) => return Err(TwilioReply::invalid_request("Version")),
    };
    Ok(WebhookSettings {
        name,
        events: (!events.is_empty()).then_some(events),
        url,
        enabled,
        version,
    })
}

pub(crate) async fn create_webhook(
    State(sim): State<VerifySimulator>,
    Path(service_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    owned_service(&sim, &account_sid, &service_sid)?;
    let WebhookSettings {
        name,
        events,
        url,
        enabled,
        version,
    } = webhook_settings(&Params::from_body(&body), true)?;
    let now = sim.now();
    let mut state = sim.lock();
    let sid = state.sid("YW");
    let webhook = Webhook {
        sid: sid.clone(),
        service_sid,
        account_sid,
        friendly_name: name.unwrap_or_default(),
        event_types: events.unwrap_or_default(),
        url: url.unwrap_or_default(),
        enabled: enabled.unwrap_or(true),
        version: version.unwrap_or_else(|| "v2".into()),
        created: now,
    };
    state.webhooks.insert(sid, webhook.clone());
    drop(state);
    Ok(TwilioReply::created(webhook_json(&sim, &webhook)))
}

pub(crate) async fn list_webhooks(
    State(sim): State<VerifySimulator>,
    Path(service_sid): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    owned_service(&sim, &account_sid, &service_sid)?;
    let mut webhooks: Vec<Webhook> = sim
        .lock()
        .webhooks
        .values()
        .filter(|w| w.service_sid == service_sid)
        .cloned()
        .collect();
    webhooks.sort_by(|a, b| (a.created, &a.sid).cmp(&(b.created, &b.sid)));
    let items = webhooks.iter().map(|w| webhook_json(&sim, w)).collect();
    let path = format!("/Services/{service_sid}/Webhooks");
    Ok(page(
        &sim,
        &path,
        "webhooks",
        items,
        &Params::from_query(query.as_deref()),
    ))
}

fn owned_webhook(
    sim: &VerifySimulator,
    headers: &HeaderMap,
    service_sid: &str,
    sid: &str,
) -> Result<Webhook, TwilioReply> {
    let account_sid = account(sim, headers)?;
    owned_service(sim, &account_sid, service_sid)?;
    sim.lock()
        .webhooks
        .get(sid)
        .filter(|w| w.service_sid == service_sid)
        .cloned()
        .ok_or_else(|| TwilioReply::not_found(&format!("/Services/{service_sid}/Webhooks/{sid}")))
}

pub(crate) async fn fetch_webhook(
    State(sim): State<VerifySimulator>,
    Path((service_sid, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<TwilioReply, TwilioReply> {
    let webhook = owned_webhook(&sim, &headers, &service_sid, &sid)?;
    Ok(TwilioReply::ok(webhook_json(&sim, &webhook)))
}

pub(crate) async fn update_webhook(
    State(sim): State<VerifySimulator>,
    Path((service_sid, sid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    owned_webhook(&sim, &headers, &service_sid, &sid)?;
    let WebhookSettings {
        name,
        events,
        url,
        enabled,
        version,
    } = webhook_settings(&Params::from_body(&body), false)?;
    let mut state = sim.lock();
    let webhook = state.webhooks.get_mut(&sid).ok_or_else(|| {
        TwilioReply::not_found(&format!("/Services/{service_sid}/Webhooks/{sid}"))
    })?;
    if let Some(name) = name {
        webhook.friendly_name = name;
    }
    if let Some(events) = events {
        webhook.event_types = events;
    }
    if let Some(url) = url {
        webhook.url = url;
    }
    if let Some(enabled) = enabled {
        webhook.enabled = enabled;
    }
    if let Some(version) = version {
        webhook.version = version;
    }
    let webhook = webhook.clone();
    drop(state);
    Ok(TwilioReply::ok(webhook_json(&sim, &webhook)))
}

pub(crate) async fn delete_webhook(
    State(sim): State<VerifySimulator>,
    Path((service_sid, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<TwilioReply, TwilioReply> {
    owned_webhook(&sim, &headers, &service_sid, &sid)?;
    sim.lock().webhooks.remove(&sid);
    Ok(TwilioReply::no_content())
}

fn access_token_json(sim: &VerifySimulator, token: &AccessToken) -> Value {
    json!({
        "sid": token.sid,
        "account_sid": token.account_sid,
        "service_sid": token.service_sid,
        "entity_identity": token.identity,
        "factor_type": "push",
        "factor_friendly_name": token.friendly_name,
        "token": token.token,
        "ttl": token.ttl,
        "date_created": date(token.created),
        "url": sim.url(&format!("/Services/{}/AccessTokens/{}", token.service_sid, token.sid)),
    })
}

pub(crate) async fn create_access_token(
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
        .filter(|i| super::factors::identity_ok(i))
        .ok_or_else(|| TwilioReply::invalid_request("Identity"))?
        .to_owned();
    if params.get("FactorType") != Some("push") {
        return Err(TwilioReply::invalid_request("FactorType"));
    }
    let ttl = params
        .int("Ttl", 60..=300)
        .map_err(|()| TwilioReply::invalid_request("Ttl"))?
        .unwrap_or(60);
    let now = sim.now();
    let mut state = sim.lock();
    let sid = state.sid("YK");
    let token = AccessToken {
        sid: sid.clone(),
        service_sid,
        account_sid,
        identity,
        friendly_name: params.get("FactorFriendlyName").unwrap_or("").to_owned(),
        token: state.hex(64),
        ttl,
        created: now,
    };
    state.access_tokens.insert(sid, token.clone());
    drop(state);
    Ok(TwilioReply::created(access_token_json(&sim, &token)))
}

pub(crate) async fn fetch_access_token(
    State(sim): State<VerifySimulator>,
    Path((service_sid, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    owned_service(&sim, &account_sid, &service_sid)?;
    let token = sim
        .lock()
        .access_tokens
        .get(&sid)
        .filter(|t| t.service_sid == service_sid)
        .cloned()
        .ok_or_else(|| {
            TwilioReply::error(
                StatusCode::NOT_FOUND,
                20404,
                format!("The requested resource /Services/{service_sid}/AccessTokens/{sid} was not found"),
            )
        })?;
    Ok(TwilioReply::ok(access_token_json(&sim, &token)))
}
