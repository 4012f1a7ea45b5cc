//! OneTouch approval requests: create and get (spec §2.4).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Simulator;
use super::reply::{Answer, Reply};
use super::request::Api;
use super::state::{self, Approval, ApprovalStatus};
use super::users::parse_id;
use crate::utc::DateTime;

/// The default lifetime of a request: one day (current docs).
const DEFAULT_SECONDS_TO_EXPIRE: u64 = 86_400;

/// 404 60049 for an unknown uuid, with the empty `errors` the API sends.
pub(crate) fn not_found(uuid: &str) -> Reply {
    Reply::with_status(
        StatusCode::NOT_FOUND,
        json!({
            "message": format!("Approval request not found: {uuid}"),
            "success": false,
            "errors": {},
            "error_code": "60049",
        }),
    )
}

/// `POST onetouch/json/users/{id}/approval_requests`.
pub(crate) async fn create(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    api: Api,
) -> Answer {
    let id = parse_id(&id)?;
    let p = &api.params;
    let message = p
        .text(&["message"])
        .ok_or_else(|| Reply::missing("message"))?;
    // Python sends `null` when unset and JSON clients may send a number.
    let seconds_to_expire = match p.text(&["seconds_to_expire"]) {
        None => DEFAULT_SECONDS_TO_EXPIRE,
        Some(text) => text
            .parse::<u64>()
            .map_err(|_| Reply::not_an_integer("seconds_to_expire", &text))?,
    };
    let details = p.string_map(&["details"]);
    let hidden_details = p.string_map(&["hidden_details"]);
    let logos = match p.value(&["logos"]) {
        Some(Value::Array(items)) if !items.is_empty() => Some(items.clone()),
        _ => None,
    };

    let now_ms = sim.now_ms();
    let mut st = sim.lock();
    let user = st.users.get(&id).ok_or_else(Reply::user_not_found)?;
    if user.app.is_none() {
        return Err(Reply::error(
            StatusCode::FORBIDDEN,
            "60050",
            "User doesn't have a device with the Authy app registered (OneTouch needs one)",
        ));
    }
    let approval = Approval {
        seq: 0,
        uuid: uuid::Uuid::new_v4().to_string(),
        object_id: state::random_hex(24),
        authy_id: id,
        user_object_id: user.object_id.clone(),
        user_email: user.email.clone(),
        message,
        details,
        hidden_details,
        logos,
        seconds_to_expire,
        created_ms: now_ms,
        status: ApprovalStatus::Pending,
        processed_at: None,
        updated_at: now_ms / 1000,
        notified: false,
    };
    let seq = st.next_approval_seq();
    let uuid = approval.uuid.clone();
    st.approvals
        .insert(uuid.clone(), Approval { seq, ..approval });
    Ok(Reply::ok(json!({
        "approval_request": {"uuid": uuid},
        "success": true,
    })))
}

/// `GET onetouch/json/approval_requests/{uuid}`.
pub(crate) async fn get(
    State(sim): State<Simulator>,
    Path(uuid): Path<String>,
    _api: Api,
) -> Answer {
    let now_ms = sim.now_ms();
    let mut st = sim.lock();
    let approval = st
        .approvals
        .get_mut(&uuid)
        .ok_or_else(|| not_found(&uuid))?;
    approval.expire_if_due(now_ms);
    let body = json!({
        "_app_name": sim.inner.app_name,
        "_app_serial_id": sim.inner.app_id,
        "_authy_id": approval.authy_id,
        "_id": approval.object_id,
        "_user_email": approval.user_email,
        "app_id": sim.inner.app_object_id,
        "created_at": iso(approval.created_ms / 1000),
        "notified": approval.notified,
        "processed_at": approval.processed_at.map(iso),
        "seconds_to_expire": approval.seconds_to_expire,
        "status": approval.status.as_str(),
        "updated_at": iso(approval.updated_at),
        "user_id": approval.user_object_id,
        "uuid": approval.uuid,
    });
    Ok(Reply::ok(
        json!({"approval_request": body, "success": true}),
    ))
}

fn iso(secs: u64) -> String {
    DateTime::from_unix(secs).iso8601()
}
