//! Users: registration, status, removal, activities, the authenticator QR
//! secret, e-mail update, and the (unsimulated) JWT registration status.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Simulator;
use super::number;
use super::reply::{Answer, Reply};
use super::request::Api;
use super::state::{self, Device, User};
use super::totp;

/// The activity types `register_activity` accepts.
const ACTIVITY_TYPES: [&str; 4] = ["password_reset", "banned", "unbanned", "cookie_login"];

/// Parses an Authy ID from a path; anything else is an unknown user.
pub(crate) fn parse_id(text: &str) -> Result<u32, Reply> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reply::user_not_found());
    }
    text.parse().map_err(|_| Reply::user_not_found())
}

/// A plausible e-mail address: one `@`, a local part, a dotted domain, no
/// spaces.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A new virtual-app installation, registered now.
pub(crate) fn new_device(st: &mut state::State, now: u64) -> Device {
    Device {
        id: st.next_device_id(),
        registered_at: now,
        last_sync: now,
    }
}

/// `POST users/new`.
pub(crate) async fn create(State(sim): State<Simulator>, api: Api) -> Answer {
    let p = &api.params;
    let email = p.text(&["user", "email"]).unwrap_or_default();
    let cellphone = p.text(&["user", "cellphone"]).unwrap_or_default();
    let country_code = p
        .text(&["user", "country_code"])
        .and_then(|c| number::country_code(&c));
    let phone = number::normalise(country_code.unwrap_or(0), &cellphone);

    let mut errors = Vec::new();
    if !valid_email(&email) {
        errors.push(("email", "is invalid"));
    }
    if phone.is_none() {
        errors.push(("cellphone", "is invalid"));
    }
    let (Some(country_code), Some(phone), true) = (country_code, phone, errors.is_empty()) else {
        if country_code.is_none() {
            errors.push(("country_code", "is invalid"));
        }
        return Err(Reply::user_not_valid(&errors));
    };

    let now = sim.now_secs();
    let mut st = sim.lock();
    if let Some(&id) = st.by_phone.get(&(country_code, phone.clone())) {
        if let Some(user) = st.users.get_mut(&id) {
            if user.email != email && !user.other_emails.contains(&email) {
                user.other_emails.push(email);
            }
        }
        return Ok(created(id));
    }
    let id = st.next_user_id();
    let app = sim
        .inner
        .app_installed_by_default
        .then(|| new_device(&mut st, now));
    let user = User {
        id,
        email,
        other_emails: Vec::new(),
        country_code,
        phone: phone.clone(),
        object_id: state::random_hex(24),
        app,
        confirmed: false,
        secret: rand::random(),
        messages: Vec::new(),
        codes: Vec::new(),
        used: Vec::new(),
        activities: Vec::new(),
    };
    st.users.insert(id, user);
    st.by_phone.insert((country_code, phone), id);
    st.month(now).users += 1;
    Ok(created(id))
}

fn created(id: u32) -> Reply {
    Reply::ok(json!({"message": "User created successfully.", "user": {"id": id}, "success": true}))
}

/// `GET users/{id}/status`.
pub(crate) async fn status(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    _api: Api,
) -> Answer {
    let id = parse_id(&id)?;
    let st = sim.lock();
    let user = st.users.get(&id).ok_or_else(Reply::user_not_found)?;
    let (devices, detailed) = match &user.app {
        Some(device) => (
            json!(["android"]),
            json!([{
                "device_type": "authy",
                "os_type": "android",
                "registration_device_id": null,
                "registration_method": "sms",
                "device_id": device.id,
                "last_sync_date": device.last_sync,
                "creation_date": device.registered_at,
            }]),
        ),
        None => (json!([]), json!([])),
    };
    Ok(Reply::ok(json!({
        "status": {
            "authy_id": user.id,
            "confirmed": user.confirmed,
            "registered": user.app.is_some(),
            "country_code": user.country_code,
            "phone_number": number::masked(&user.phone, 4),
            "email": user.email,
            "devices": devices,
            "has_hard_token": false,
            "account_disabled": false,
            "detailed_devices": detailed,
            "deleted_devices": [],
        },
        "message": "User status.",
        "success": true,
    })))
}

/// `POST users/{id}/remove` and its aliases `users/{id}/delete` and
/// `users/delete/{id}`. Immediate here; the real API takes about a day.
pub(crate) async fn remove(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    _api: Api,
) -> Answer {
    let id = parse_id(&id)?;
    if !sim.lock().remove_user(id) {
        return Err(Reply::user_not_found());
    }
    Ok(Reply::ok(
        json!({"message": "User was added to remove.", "success": true}),
    ))
}

/// `POST users/{id}/register_activity`.
pub(crate) async fn register_activity(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    api: Api,
) -> Answer {
    let id = parse_id(&id)?;
    let now = sim.now_secs();
    let p = &api.params;
    let mut st = sim.lock();
    let user = st.users.get_mut(&id).ok_or_else(Reply::user_not_found)?;
    let kind = p.text(&["type"]).ok_or_else(|| Reply::missing("type"))?;
    if !ACTIVITY_TYPES.contains(&kind.as_str()) {
        return Err(Reply::invalid_parameter(
            "type",
            "must be one of password_reset, banned, unbanned, cookie_login",
        ));
    }
    user.activities.push(json!({
        "type": kind,
        "user_ip": p.text(&["user_ip"]),
        "data": p.value(&["data"]).cloned().unwrap_or(Value::Null),
        "at": now,
    }));
    Ok(Reply::ok(
        json!({"message": "Activity was created.", "success": true}),
    ))
}

/// `POST users/{id}/secret`: a link to the authenticator enrolment of the
/// virtual app's own secret (served as text, not as a PNG).
pub(crate) async fn secret(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    api: Api,
) -> Answer {
    let id = parse_id(&id)?;
    if !sim.lock().users.contains_key(&id) {
        return Err(Reply::user_not_found());
    }
    let label = api.params.text(&["label"]).unwrap_or_default();
    let size = api
        .params
        .text(&["qr_size"])
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(300);
    let qr_code = format!(
        "{}/phone/qr/{id}?label={}&qr_size={size}",
        api.base_url,
        utf8_percent_encode(&label, NON_ALPHANUMERIC)
    );
    Ok(Reply::ok(
        json!({"qr_code": qr_code, "label": label, "success": true}),
    ))
}

/// The query of a `qr_code` link.
#[derive(Debug, Deserialize)]
pub(crate) struct QrQuery {
    #[serde(default)]
    label: String,
}

/// `GET phone/qr/{id}`: the `otpauth://` URI a QR code would carry. The
/// parameters are those of Authy-app tokens (7 digits, 10 s, SHA1), so an
/// authenticator fed with it produces tokens `verify` accepts.
pub(crate) async fn qr_text(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    Query(q): Query<QrQuery>,
) -> Result<impl IntoResponse, Reply> {
    let id = parse_id(&id)?;
    let st = sim.lock();
    let user = st.users.get(&id).ok_or_else(Reply::user_not_found)?;
    let issuer = utf8_percent_encode(&sim.inner.app_name, NON_ALPHANUMERIC).to_string();
    let account = if q.label.is_empty() {
        user.email.clone()
    } else {
        q.label
    };
    let uri = format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={}&period={}",
        utf8_percent_encode(&account, NON_ALPHANUMERIC),
        base32(&user.secret),
        totp::DIGITS,
        totp::STEP_SECS
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], uri))
}

/// RFC 4648 Base32 without padding, as otpauth URIs carry secrets.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// `POST users/{id}/update`: changes the user's e-mail.
pub(crate) async fn update(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    api: Api,
) -> Answer {
    let id = parse_id(&id)?;
    let mut st = sim.lock();
    let user = st.users.get_mut(&id).ok_or_else(Reply::user_not_found)?;
    let email = api
        .params
        .text(&["email"])
        .or_else(|| api.params.text(&["user", "email"]))
        .ok_or_else(|| Reply::missing("email"))?;
    if !valid_email(&email) {
        return Err(Reply::user_not_valid(&[("email", "is invalid")]));
    }
    user.email = email;
    Ok(Reply::ok(
        json!({"message": "User was updated successfully", "success": true}),
    ))
}

/// `GET registrations/status`: the JWT registration flow is not simulated,
/// so every registration is unknown.
pub(crate) async fn registration_status(api: Api) -> Answer {
    api.params
        .text(&["custom_user_id"])
        .ok_or_else(|| Reply::missing("custom_user_id"))?;
    Err(Reply::error(
        StatusCode::NOT_FOUND,
        "60035",
        "Registration request not found (the simulator does not simulate JWT registrations)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(valid_email("someone@example.com"));
        assert!(valid_email("a.b+c@d.co"));
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a@@b.c",
            "a b@c.d",
            "a@.c",
            "a@c.",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn ids() {
        assert_eq!(parse_id("1635").unwrap(), 1635);
        for bad in ["", "x", "-1", "1.5", "99999999999"] {
            assert_eq!(parse_id(bad).unwrap_err().status, StatusCode::NOT_FOUND);
        }
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }
}
