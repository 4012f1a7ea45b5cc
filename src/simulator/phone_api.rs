//! The virtual phone's JSON control API under `phone/api/` (design.md, "The
//! simulator's phone"). Form posts from the phone page (which ask for HTML)
//! are answered with a 303 back to the page instead of JSON.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::reply::Reply;
use super::state::ApprovalStatus;
use super::{Simulator, callback, number, totp, users};

pub(crate) fn routes() -> Router<Simulator> {
    Router::new()
        .route("/phone/api/users", get(list_users))
        .route("/phone/api/users/{authy_id}/messages", get(user_messages))
        .route(
            "/phone/api/phones/{country_code}/{phone_number}/messages",
            get(phone_messages),
        )
        .route(
            "/phone/api/users/{authy_id}/approval_requests",
            get(approval_requests),
        )
        .route("/phone/api/approval_requests/{uuid}/approve", post(approve))
        .route("/phone/api/approval_requests/{uuid}/deny", post(deny))
        .route(
            "/phone/api/users/{authy_id}/app",
            post(install_form).delete(uninstall),
        )
        .route("/phone/api/users/{authy_id}/token", get(token))
}

fn control_error(status: StatusCode, message: impl Into<String>) -> Reply {
    Reply::with_status(status, json!({"error": message.into()}))
}

fn no_user(id: &str) -> Reply {
    control_error(StatusCode::NOT_FOUND, format!("no user with Authy ID {id}"))
}

fn user_id(text: &str) -> Result<u32, Reply> {
    users::parse_id(text).map_err(|_| no_user(text))
}

/// Browsers posting the page's forms ask for HTML; API clients do not.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The phone page's path, from the original (un-nested) request path.
pub(crate) fn page_path(original: &OriginalUri) -> String {
    let path = original.path();
    match path.rfind("/phone/api/") {
        Some(i) => format!("{}/phone", &path[..i]),
        None => "phone".to_owned(),
    }
}

/// JSON, or a 303 back to the page for a browser's form post.
fn answer(headers: &HeaderMap, original: &OriginalUri, reply: Reply) -> Response {
    if wants_html(headers) && reply.status.is_success() {
        Redirect::to(&page_path(original)).into_response()
    } else {
        reply.into_response()
    }
}

/// `GET phone/api/users`, optionally filtered by `country_code` and
/// `phone_number` (any separators).
async fn list_users(
    State(sim): State<Simulator>,
    Query(filter): Query<HashMap<String, String>>,
) -> Reply {
    let cc = filter
        .get("country_code")
        .filter(|c| !c.is_empty())
        .map(|c| number::country_code(c));
    let phone = filter
        .get("phone_number")
        .filter(|p| !p.is_empty())
        .map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>());
    let st = sim.lock();
    let list: Vec<Value> = st
        .users
        .values()
        .filter(|u| cc.is_none_or(|cc| cc == Some(u.country_code)))
        .filter(|u| phone.as_ref().is_none_or(|p| *p == u.phone))
        .map(|u| {
            json!({
                "authy_id": u.id,
                "email": u.email,
                "country_code": u.country_code,
                "phone_number": u.phone,
                "app_installed": u.app.is_some(),
            })
        })
        .collect();
    Reply::ok(Value::Array(list))
}

/// `GET phone/api/users/{authy_id}/messages`, oldest first.
async fn user_messages(State(sim): State<Simulator>, Path(id): Path<String>) -> Reply {
    let result = user_id(&id).and_then(|n| {
        let st = sim.lock();
        let user = st.users.get(&n).ok_or_else(|| no_user(&id))?;
        Ok(Reply::ok(json!(user.messages)))
    });
    result.unwrap_or_else(|e| e)
}

/// `GET phone/api/phones/{country_code}/{phone_number}/messages`.
async fn phone_messages(
    State(sim): State<Simulator>,
    Path((cc, phone)): Path<(String, String)>,
) -> Reply {
    let Some(cc) = number::country_code(&cc) else {
        return control_error(StatusCode::BAD_REQUEST, "the country code is not a number");
    };
    let Some(phone) = number::normalise(cc, &phone) else {
        return control_error(StatusCode::BAD_REQUEST, "the phone number is invalid");
    };
    let st = sim.lock();
    let messages = st
        .phone_messages
        .get(&(cc, phone))
        .cloned()
        .unwrap_or_default();
    Reply::ok(json!(messages))
}

/// `GET phone/api/users/{authy_id}/approval_requests`, oldest first.
async fn approval_requests(State(sim): State<Simulator>, Path(id): Path<String>) -> Reply {
    let n = match user_id(&id) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let now_ms = sim.now_ms();
    let mut st = sim.lock();
    if !st.users.contains_key(&n) {
        return no_user(&id);
    }
    let mut mine: Vec<_> = st
        .approvals
        .values_mut()
        .filter(|a| a.authy_id == n)
        .map(|a| {
            a.expire_if_due(now_ms);
            a.clone()
        })
        .collect();
    mine.sort_by_key(|a| a.seq);
    let list: Vec<Value> = mine
        .iter()
        .map(|a| {
            json!({
                "uuid": a.uuid,
                "status": a.status.as_str(),
                "message": a.message,
                "details": a.details,
            })
        })
        .collect();
    Reply::ok(Value::Array(list))
}

async fn approve(
    State(sim): State<Simulator>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    original: OriginalUri,
) -> Response {
    let reply = decide(&sim, &uuid, ApprovalStatus::Approved).await;
    answer(&headers, &original, reply)
}

async fn deny(
    State(sim): State<Simulator>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    original: OriginalUri,
) -> Response {
    let reply = decide(&sim, &uuid, ApprovalStatus::Denied).await;
    answer(&headers, &original, reply)
}

/// Moves a pending request to `decision`, then delivers the callback before
/// answering, so that the answer carries the delivery's outcome.
async fn decide(sim: &Simulator, uuid: &str, decision: ApprovalStatus) -> Reply {
    let payload = {
        let now_ms = sim.now_ms();
        let mut st = sim.lock();
        let Some(approval) = st.approvals.get_mut(uuid) else {
            return control_error(
                StatusCode::NOT_FOUND,
                format!("Approval request not found: {uuid}"),
            );
        };
        approval.expire_if_due(now_ms);
        if approval.status != ApprovalStatus::Pending {
            let status = approval.status.as_str();
            return Reply::with_status(
                StatusCode::CONFLICT,
                json!({
                    "error": format!("approval request {uuid} is {status}, not pending"),
                    "uuid": uuid,
                    "status": status,
                }),
            );
        }
        approval.status = decision;
        approval.processed_at = Some(now_ms / 1000);
        approval.updated_at = now_ms / 1000;
        let approval = approval.clone();
        let device = st.users.get(&approval.authy_id).and_then(|u| u.app.clone());
        callback::payload(sim, &approval, device.as_ref())
    };
    // The state lock is released: delivery awaits the network.
    let delivery = callback::deliver(sim, &payload).await;
    let report = match delivery {
        Some((report, delivered)) => {
            if delivered {
                if let Some(a) = sim.lock().approvals.get_mut(uuid) {
                    a.notified = true;
                }
            }
            report
        }
        None => Value::Null,
    };
    Reply::ok(json!({
        "uuid": uuid,
        "status": decision.as_str(),
        "callback": report,
    }))
}

/// `POST phone/api/users/{authy_id}/app` installs the app; a form post with
/// `_method=DELETE` (HTML forms cannot send DELETE) uninstalls it.
async fn install_form(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    original: OriginalUri,
    body: Bytes,
) -> Response {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let delete = fields
        .iter()
        .any(|(k, v)| k == "_method" && v.eq_ignore_ascii_case("delete"));
    let reply = set_app(&sim, &id, !delete);
    answer(&headers, &original, reply)
}

/// `DELETE phone/api/users/{authy_id}/app`.
async fn uninstall(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    original: OriginalUri,
) -> Response {
    let reply = set_app(&sim, &id, false);
    answer(&headers, &original, reply)
}

fn set_app(sim: &Simulator, id: &str, installed: bool) -> Reply {
    let n = match user_id(id) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let now = sim.now_secs();
    let mut st = sim.lock();
    let Some(has_app) = st.users.get(&n).map(|u| u.app.is_some()) else {
        return no_user(id);
    };
    let device = (installed && !has_app).then(|| users::new_device(&mut st, now));
    if let Some(user) = st.users.get_mut(&n) {
        if !installed {
            user.app = None;
        } else if device.is_some() {
            user.app = device;
        }
    }
    Reply::ok(json!({"authy_id": n, "app_installed": installed}))
}

/// `GET phone/api/users/{authy_id}/token`: the soft token the virtual app
/// shows now.
async fn token(State(sim): State<Simulator>, Path(id): Path<String>) -> Reply {
    let n = match user_id(&id) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let now = sim.now_secs();
    let st = sim.lock();
    let Some(user) = st.users.get(&n) else {
        return no_user(&id);
    };
    if user.app.is_none() {
        return control_error(
            StatusCode::CONFLICT,
            format!("the virtual Authy app is not installed for user {n}"),
        );
    }
    Reply::ok(json!({"token": totp::soft_token(&user.secret, now)}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Uri;

    #[test]
    fn the_page_is_found_from_any_mount_point() {
        let at = |p: &str| page_path(&OriginalUri(p.parse::<Uri>().unwrap()));
        assert_eq!(at("/phone/api/users/1/app"), "/phone");
        assert_eq!(
            at("/simulator/phone/api/approval_requests/x/approve"),
            "/simulator/phone"
        );
    }
}
