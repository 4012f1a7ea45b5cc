//! Phone Verification (Verify v1: start, check, status) and Phone
//! Intelligence (`phones/info`).

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use super::Simulator;
use super::number;
use super::reply::{Answer, Reply};
use super::request::{Api, Params};
use super::state::{self, CODE_TTL_MS, Message, PhoneVerification};
use crate::utc::DateTime;

/// The carrier every simulated number belongs to.
const CARRIER: &str = "Simulated Carrier";

/// Reads and checks `country_code` and `phone_number`.
fn number_params(p: &Params) -> Result<(u16, String), Reply> {
    let cc_text = p
        .text(&["country_code"])
        .ok_or_else(|| Reply::missing("country_code"))?;
    let cc = number::country_code(&cc_text)
        .ok_or_else(|| Reply::not_an_integer("country_code", &cc_text))?;
    let phone_text = p
        .text(&["phone_number"])
        .ok_or_else(|| Reply::missing("phone_number"))?;
    let phone = number::normalise(cc, &phone_text)
        .ok_or_else(|| Reply::error(StatusCode::BAD_REQUEST, "60033", "Phone number is invalid"))?;
    Ok((cc, phone))
}

fn no_pending(cc: u16, phone: &str) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        "60023",
        format!(
            "No pending verifications for {} found.",
            number::international(cc, phone)
        ),
    )
}

/// `POST phones/verification/start`. Within ten minutes of a start, a new
/// start for the same number resends the same code, uuid and deadline.
pub(crate) async fn start(State(sim): State<Simulator>, api: Api) -> Answer {
    let p = &api.params;
    let (cc, phone) = number_params(p)?;
    let via = p.text(&["via"]).ok_or_else(|| Reply::missing("via"))?;
    let via = match via.to_ascii_lowercase().as_str() {
        "sms" => "sms",
        "call" => "call",
        _ => return Err(Reply::invalid_parameter("via", "must be sms or call")),
    };
    let length = match p.text(&["code_length"]) {
        None => 4,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (4..=10).contains(&n) => n,
            Ok(_) => {
                return Err(Reply::invalid_parameter(
                    "code_length",
                    "must be between 4 and 10",
                ));
            }
            Err(_) => return Err(Reply::not_an_integer("code_length", &text)),
        },
    };
    let custom_code = p.text(&["custom_code"]);
    if custom_code
        .as_ref()
        .is_some_and(|code| !(4..=10).contains(&code.chars().count()))
    {
        return Err(Reply::invalid_parameter(
            "custom_code",
            "must be 4 to 10 characters long",
        ));
    }

    let now_ms = sim.now_ms();
    let mut st = sim.lock();
    let key = (cc, phone.clone());
    let reusable = st
        .verifications
        .get(&key)
        .filter(|v| v.status(now_ms) == "pending")
        .cloned();
    let verification = reusable.unwrap_or_else(|| PhoneVerification {
        uuid: uuid::Uuid::new_v4().to_string(),
        code: custom_code
            .clone()
            .unwrap_or_else(|| state::random_digits(length)),
        expires_ms: now_ms + CODE_TTL_MS,
        verified: false,
    });
    st.verifications.insert(key.clone(), verification.clone());
    st.phone_messages.entry(key).or_default().push(Message {
        channel: via,
        code: verification.code.clone(),
        at: now_ms / 1000,
    });
    tracing::info!(number = %number::international(cc, &phone), channel = via, code = %verification.code, "phone verification code sent");
    let month = st.month(now_ms / 1000);
    if via == "sms" {
        month.sms += 1;
    } else {
        month.calls += 1;
    }
    let shown = number::international(cc, &phone);
    let message = if via == "sms" {
        format!("Text message sent to {shown}.")
    } else {
        format!("Call to {shown} initiated.")
    };
    let mut reply = Reply::ok(json!({
        "carrier": CARRIER,
        "is_cellphone": true,
        "is_ported": false,
        "message": message,
        "seconds_to_expire": verification.seconds_to_expire(now_ms),
        "uuid": verification.uuid,
        "success": true,
    }));
    if custom_code.is_some() {
        reply = reply.and("sms_id", json!(format!("SM{}", state::random_hex(32))));
    }
    Ok(reply)
}

/// `GET phones/verification/check`.
pub(crate) async fn check(State(sim): State<Simulator>, api: Api) -> Answer {
    let p = &api.params;
    let (cc, phone) = number_params(p)?;
    let code = p
        .text(&["verification_code"])
        .ok_or_else(|| Reply::missing("verification_code"))?;
    let now_ms = sim.now_ms();
    let mut st = sim.lock();
    let verification = st
        .verifications
        .get_mut(&(cc, phone.clone()))
        .filter(|v| v.status(now_ms) == "pending")
        .ok_or_else(|| no_pending(cc, &phone))?;
    if verification.code != code {
        return Err(Reply::error(
            StatusCode::UNAUTHORIZED,
            "60022",
            "Verification code is incorrect",
        ));
    }
    verification.verified = true;
    Ok(Reply::ok(json!({
        "message": "Verification code is correct.",
        "success": true,
    })))
}

/// `GET phones/verification/status`, by `uuid` or by number.
pub(crate) async fn status(State(sim): State<Simulator>, api: Api) -> Answer {
    let p = &api.params;
    let now_ms = sim.now_ms();
    let by_number = p.text(&["country_code"]).is_some() && p.text(&["phone_number"]).is_some();
    let uuid = p.text(&["uuid"]);
    if uuid.is_none() && !by_number {
        return Err(Reply::error(
            StatusCode::BAD_REQUEST,
            "60042",
            "Either uuid or country_code and phone number are required",
        ));
    }
    let st = sim.lock();
    let verification = if let Some(uuid) = uuid {
        st.verifications
            .values()
            .find(|v| v.uuid == uuid)
            .ok_or_else(|| {
                Reply::error(
                    StatusCode::NOT_FOUND,
                    "60023",
                    format!("No pending verifications for {uuid} found."),
                )
            })?
    } else {
        let (cc, phone) = number_params(p)?;
        st.verifications
            .get(&(cc, phone.clone()))
            .ok_or_else(|| no_pending(cc, &phone))?
    };
    Ok(Reply::ok(json!({
        "message": "Phone Verification status.",
        "status": verification.status(now_ms),
        "seconds_to_expire": verification.seconds_to_expire(now_ms),
        "success": true,
    })))
}

/// `GET phones/info`: every valid number is a cellphone of the simulated
/// carrier.
pub(crate) async fn info(State(sim): State<Simulator>, api: Api) -> Answer {
    number_params(&api.params)?;
    let date = DateTime::from_unix(sim.now_secs());
    Ok(Reply::ok(json!({
        "message": format!("Phone number information as of {}", date.human_utc()),
        "type": "cellphone",
        "provider": CARRIER,
        "ported": false,
        "success": true,
    })))
}
