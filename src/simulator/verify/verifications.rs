//! Verifications and checks (spec §3.2–§3.4, §7.2–§7.3).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

use super::VerifySimulator;
use super::reply::{Params, TwilioReply, account, date};
use super::services::owned_service;
use super::state::{MAX_CHECKS, MAX_SENDS, Message, Send, Verification, VerificationState};

const CHANNELS: &[&str] = &["sms", "call", "email", "whatsapp"];
/// Locales the simulator knows (spec §3.2's list); others answer 404.
const LOCALES: &[&str] = &[
    "af", "ar", "ca", "cs", "da", "de", "el", "en", "en-GB", "es", "fi", "fr", "he", "hi", "hr",
    "hu", "id", "it", "ja", "ko", "ms", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sv", "th",
    "tl", "tr", "vi", "zh", "zh-CN", "zh-HK",
];

fn is_e164(to: &str) -> bool {
    to.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

fn is_email(to: &str) -> bool {
    !to.contains(char::is_whitespace)
        && to
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

fn json_of(sim: &VerifySimulator, v: &Verification, now: u64) -> Value {
    // A verification that is gone reads with its final state.
    let state = if v.state == VerificationState::Pending && !v.live(now) {
        VerificationState::Expired
    } else {
        v.state
    };
    json!({
        "sid": v.sid,
        "service_sid": v.service_sid,
        "account_sid": v.account_sid,
        "to": v.to,
        "channel": v.channel,
        "status": state.as_str(),
        "valid": state == VerificationState::Approved,
        "date_created": date(v.created),
        "date_updated": date(v.updated),
        "lookup": {},
        "amount": null,
        "payee": null,
        "send_code_attempts": v.sends.iter().map(|s| json!({
            "time": date(s.at),
            // Upper case for sms, call and email, as Twilio's examples show.
            "channel": if s.channel == "whatsapp" { s.channel.clone() } else { s.channel.to_uppercase() },
            "attempt_sid": s.attempt_sid,
        })).collect::<Vec<_>>(),
        "sna": null,
        "url": sim.url(&format!("/Services/{}/Verifications/{}", v.service_sid, v.sid)),
    })
}

pub(crate) async fn create(
    State(sim): State<VerifySimulator>,
    Path(service_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    let service = owned_service(&sim, &account_sid, &service_sid)?;
    let params = Params::from_body(&body);
    let channel = params
        .get("Channel")
        .filter(|c| CHANNELS.contains(c))
        .ok_or_else(|| TwilioReply::invalid_parameter("Channel"))?
        .to_owned();
    let to = params.get("To").unwrap_or("").to_owned();
    let to_ok = if channel == "email" {
        is_email(&to)
    } else {
        is_e164(&to)
    };
    if !to_ok {
        return Err(TwilioReply::invalid_parameter("To"));
    }
    if let Some(locale) = params.get("Locale") {
        if !LOCALES.contains(&locale) {
            return Err(TwilioReply::not_found(&format!(
                "/Services/{service_sid}/Verifications"
            )));
        }
    }
    if params.get("CustomCode").is_some() || params.get("CustomFriendlyName").is_some() {
        return Err(TwilioReply::error(
            StatusCode::FORBIDDEN,
            60204,
            "Service does not support this feature",
        ));
    }
    let now = sim.now();
    let mut state = sim.lock();
    let pending = state
        .verifications
        .values()
        .find(|v| v.service_sid == service_sid && v.to == to && v.live(now))
        .map(|v| v.sid.clone());
    let sid = match pending {
        Some(sid) => sid,
        None => {
            let sid = state.sid("VE");
            let code = state.digits(service.code_length);
            state.verifications.insert(
                sid.clone(),
                Verification {
                    sid: sid.clone(),
                    service_sid: service_sid.clone(),
                    account_sid,
                    to: to.clone(),
                    channel: channel.clone(),
                    code,
                    state: VerificationState::Pending,
                    created: now,
                    updated: now,
                    sends: Vec::new(),
                    checks: 0,
                },
            );
            sid
        }
    };
    let attempt_sid = state.sid("VL");
    let verification = state
        .verifications
        .get_mut(&sid)
        .expect("just found or made");
    if verification.sends.len() >= MAX_SENDS {
        return Err(TwilioReply::error(
            StatusCode::TOO_MANY_REQUESTS,
            60203,
            "Max send attempts reached",
        ));
    }
    verification.sends.push(Send {
        at: now,
        channel: channel.clone(),
        attempt_sid,
    });
    verification.channel = channel.clone();
    verification.updated = now;
    let verification = verification.clone();
    state.messages.push(Message {
        channel,
        to,
        code: verification.code.clone(),
        at: now,
    });
    drop(state);
    tracing::info!(sid = %verification.sid, "Verify simulator: code sent");
    Ok(TwilioReply::created(json_of(&sim, &verification, now)))
}

fn live(
    sim: &VerifySimulator,
    service_sid: &str,
    sid: &str,
    now: u64,
) -> Result<Verification, TwilioReply> {
    sim.lock()
        .verifications
        .get(sid)
        .filter(|v| v.service_sid == service_sid && v.live(now))
        .cloned()
        .ok_or_else(|| {
            TwilioReply::not_found(&format!("/Services/{service_sid}/Verifications/{sid}"))
        })
}

pub(crate) async fn fetch(
    State(sim): State<VerifySimulator>,
    Path((service_sid, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    owned_service(&sim, &account_sid, &service_sid)?;
    let now = sim.now();
    let verification = live(&sim, &service_sid, &sid, now)?;
    Ok(TwilioReply::ok(json_of(&sim, &verification, now)))
}

pub(crate) async fn update(
    State(sim): State<VerifySimulator>,
    Path((service_sid, sid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    owned_service(&sim, &account_sid, &service_sid)?;
    let to = match Params::from_body(&body).get("Status") {
        Some("canceled") => VerificationState::Canceled,
        Some("approved") => VerificationState::Approved,
        _ => return Err(TwilioReply::invalid_parameter("Status")),
    };
    let now = sim.now();
    live(&sim, &service_sid, &sid, now)?;
    let mut state = sim.lock();
    let verification = state.verifications.get_mut(&sid).expect("checked live");
    verification.state = to;
    verification.updated = now;
    let verification = verification.clone();
    drop(state);
    Ok(TwilioReply::ok(json_of(&sim, &verification, now)))
}

pub(crate) async fn check(
    State(sim): State<VerifySimulator>,
    Path(service_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TwilioReply, TwilioReply> {
    let account_sid = account(&sim, &headers)?;
    owned_service(&sim, &account_sid, &service_sid)?;
    let params = Params::from_body(&body);
    let code = params.get("Code").unwrap_or("");
    if !(4..=10).contains(&code.chars().count()) {
        return Err(TwilioReply::invalid_parameter("Code"));
    }
    let (to, sid) = (params.get("To"), params.get("VerificationSid"));
    if to.is_none() && sid.is_none() {
        return Err(TwilioReply::invalid_parameter("To"));
    }
    let now = sim.now();
    let gone = || TwilioReply::not_found(&format!("/Services/{service_sid}/VerificationCheck"));
    let mut state = sim.lock();
    let verification = state
        .verifications
        .values_mut()
        .find(|v| {
            v.service_sid == service_sid
                && v.live(now)
                && sid.is_none_or(|sid| v.sid == sid)
                && to.is_none_or(|to| v.to == to)
        })
        .ok_or_else(gone)?;
    verification.checks += 1;
    verification.updated = now;
    if verification.checks > MAX_CHECKS {
        verification.state = VerificationState::MaxAttemptsReached;
        return Err(TwilioReply::error(
            StatusCode::TOO_MANY_REQUESTS,
            60202,
            "Max check attempts reached",
        ));
    }
    let right = bool::from(verification.code.as_bytes().ct_eq(code.as_bytes()));
    if right {
        verification.state = VerificationState::Approved;
    }
    let v = verification.clone();
    drop(state);
    Ok(TwilioReply::ok(json!({
        "sid": v.sid,
        "service_sid": v.service_sid,
        "account_sid": v.account_sid,
        "to": v.to,
        "channel": v.channel,
        "status": if right { "approved" } else { "pending" },
        "valid": right,
        "amount": null,
        "payee": null,
        "sna_attempts_error_codes": [],
        "date_created": date(v.created),
        "date_updated": date(v.updated),
    })))
}
