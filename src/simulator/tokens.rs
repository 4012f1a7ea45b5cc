//! One-time codes: SMS, voice and e-mail delivery to the virtual phone, and
//! token verification (codes sent, or the virtual app's soft token).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Simulator;
use super::number;
use super::reply::{Answer, Reply};
use super::request::Api;
use super::state::{self, CODE_TTL_MS, Message, OutstandingCode, TOKEN_DIGITS, UsedToken, User};
use super::totp;
use super::users::parse_id;

/// The `device` an SMS or call reports when it was ignored.
const APP_DEVICE: &str = "android";

/// `GET sms/{id}`.
pub(crate) async fn sms(State(sim): State<Simulator>, Path(id): Path<String>, api: Api) -> Answer {
    send(
        &sim,
        &id,
        &api,
        "sms",
        "SMS token was sent",
        "Ignored: SMS is not needed for smartphones. Pass force=true if you want to actually send it anyway.",
    )
}

/// `GET call/{id}`.
pub(crate) async fn call(State(sim): State<Simulator>, Path(id): Path<String>, api: Api) -> Answer {
    send(
        &sim,
        &id,
        &api,
        "call",
        "Call started...",
        // The double space is the API's own.
        "Call ignored. User is using  App Tokens and this call is not necessary. Pass force=true if you still want to call users that are using the App.",
    )
}

fn send(
    sim: &Simulator,
    id: &str,
    api: &Api,
    channel: &'static str,
    sent: &str,
    ignored: &str,
) -> Answer {
    let id = parse_id(id)?;
    let p = &api.params;
    let action = action_param(p.text(&["action"]))?;
    if p.text(&["action_message"])
        .is_some_and(|text| text.chars().count() > 255)
    {
        return Err(Reply::invalid_parameter(
            "action_message",
            "is too long (maximum is 255 characters)",
        ));
    }
    let force = p.flag(&["force"]);
    let now_ms = sim.now_ms();
    let mut st = sim.lock();
    let user = st.users.get_mut(&id).ok_or_else(Reply::user_not_found)?;
    let cellphone = format!("+{}-{}", user.country_code, number::masked(&user.phone, 2));
    if user.app.is_some() && !force {
        return Ok(Reply::ok(json!({
            "success": true,
            "message": ignored,
            "cellphone": cellphone,
            "device": APP_DEVICE,
            "ignored": true,
        })));
    }
    deliver_code(user, channel, action, now_ms);
    let month = st.month(now_ms / 1000);
    if channel == "sms" {
        month.sms += 1;
    } else {
        month.calls += 1;
    }
    Ok(Reply::ok(
        json!({"success": true, "message": sent, "cellphone": cellphone}),
    ))
}

/// `action` is 1–255 characters when given.
fn action_param(action: Option<String>) -> Result<Option<String>, Reply> {
    match action {
        Some(a) if a.chars().count() > 255 => Err(Reply::invalid_parameter(
            "action",
            "is too long (maximum is 255 characters)",
        )),
        other => Ok(other),
    }
}

/// Records a fresh code as sent to the user and outstanding for `verify`.
fn deliver_code(user: &mut User, channel: &'static str, action: Option<String>, now_ms: u64) {
    let code = state::random_digits(TOKEN_DIGITS);
    // A simulated delivery: printing the code is the point (never the API key).
    tracing::info!(authy_id = user.id, channel, %code, "code sent to the virtual phone");
    user.messages.push(Message {
        channel,
        code: code.clone(),
        at: now_ms / 1000,
    });
    user.codes.push(OutstandingCode {
        code,
        action,
        expires_ms: now_ms + CODE_TTL_MS,
    });
}

/// `POST email/{id}`.
pub(crate) async fn email(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    api: Api,
) -> Answer {
    let id = parse_id(&id)?;
    let action = action_param(api.params.text(&["action"]))?;
    let now_ms = sim.now_ms();
    let mut st = sim.lock();
    let user = st.users.get_mut(&id).ok_or_else(Reply::user_not_found)?;
    deliver_code(user, "email", action, now_ms);
    Ok(Reply::ok(json!({
        "success": true,
        "message": "Email token was sent",
        "email": user.email,
        "email_id": format!("EM{}", state::random_hex(32)),
    })))
}

/// What accepted a token.
enum Accepted {
    Code,
    App,
    Unchecked,
}

/// `GET verify/{token}/{id}`.
pub(crate) async fn verify(
    State(sim): State<Simulator>,
    Path((token, id)): Path<(String, String)>,
    api: Api,
) -> Answer {
    let id = parse_id(&id)?;
    let force = api.params.flag(&["force"]);
    let action = api.params.text(&["action"]);
    let now_ms = sim.now_ms();
    let now = now_ms / 1000;
    let mut st = sim.lock();
    let user = st.users.get_mut(&id).ok_or_else(Reply::user_not_found)?;
    user.codes.retain(|c| c.expires_ms > now_ms);
    user.used.retain(|u| u.until_ms > now_ms);

    let accepted = if let Some(i) = user
        .codes
        .iter()
        .position(|c| c.code == token && c.action == action)
    {
        let code = user.codes.remove(i);
        user.used.push(UsedToken {
            token: token.clone(),
            until_ms: code.expires_ms,
        });
        Some(Accepted::Code)
    } else if action.is_none()
        && user.app.is_some()
        && !user.used.iter().any(|u| u.token == token)
        && totp::matching_step(&user.secret, now, &token).is_some()
    {
        // Remember the token until it leaves the skew window.
        let window_ms = (totp::SKEW_STEPS * 2 + 1) * totp::STEP_SECS * 1000;
        user.used.push(UsedToken {
            token: token.clone(),
            until_ms: now_ms + window_ms,
        });
        Some(Accepted::App)
    } else if !force && !user.confirmed {
        // The real API's default: a user who never verified passes with any
        // token unless the caller forces the check. Clients must send force.
        Some(Accepted::Unchecked)
    } else {
        None
    };

    let Some(accepted) = accepted else {
        let reused = user.used.iter().any(|u| u.token == token);
        let (code, message) = if reused {
            ("60019", "Token has already been used")
        } else {
            ("60020", "Token is invalid")
        };
        return Err(
            Reply::error(StatusCode::UNAUTHORIZED, code, message).and("token", json!("is invalid"))
        );
    };
    if !matches!(accepted, Accepted::Unchecked) {
        user.confirmed = true;
    }
    let device = device_block(user, &accepted);
    st.month(now).auths += 1;
    Ok(Reply::ok(json!({
        "message": "Token is valid.",
        "token": "is valid",
        "success": "true",
        "device": device,
    })))
}

/// The `device` member of a successful verification: the virtual app for
/// its soft token, an `sms` pseudo-device for a code that was sent.
fn device_block(user: &User, accepted: &Accepted) -> Value {
    let app = match accepted {
        Accepted::Code => None,
        Accepted::App | Accepted::Unchecked => user.app.as_ref(),
    };
    json!({
        "id": app.map(|d| d.id),
        "os_type": if app.is_some() { APP_DEVICE } else { "sms" },
        "registration_date": app.map(|d| d.registered_at),
        "registration_method": null,
        "registration_country": null,
        "registration_region": null,
        "registration_city": null,
        "country": null,
        "region": null,
        "city": null,
        "ip": null,
        "last_account_recovery_at": null,
        "last_sync_date": app.map(|d| d.last_sync),
    })
}
