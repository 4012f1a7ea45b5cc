//! The virtual phone's HTML page: per user, the codes received (newest
//! first), pending OneTouch requests with Approve/Deny buttons, the virtual
//! app's current soft token and an install/uninstall toggle. It works without
//! JavaScript (plain form posts to the control API); a small inline script
//! refreshes it.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use minijinja::Environment;
use serde_json::{Value, json};

use super::state::{ApprovalStatus, Message};
use super::{Simulator, number, totp, users};
use crate::utc::DateTime;

const TEMPLATE: &str = "phone.html";

pub(crate) fn routes() -> Router<Simulator> {
    Router::new()
        .route("/phone", get(page))
        .route("/phone/qr/{id}", get(users::qr_text))
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        // The `.html` name turns HTML auto-escaping on: user-supplied text
        // (messages, details, e-mails) cannot inject markup.
        let mut env = Environment::new();
        env.add_template(TEMPLATE, include_str!("phone.html"))
            .expect("the phone template parses");
        env
    })
}

fn messages_newest_first(messages: &[Message]) -> Vec<Value> {
    messages
        .iter()
        .rev()
        .map(|m| {
            let at = DateTime::from_unix(m.at);
            json!({
                "channel": m.channel,
                "code": m.code,
                "at": format!("{} {:02}:{:02}:{:02}", &at.iso8601()[..10], at.hour, at.minute, at.second),
            })
        })
        .collect()
}

async fn page(State(sim): State<Simulator>, original: OriginalUri) -> Response {
    let base = original.path().trim_end_matches('/').to_owned();
    let now_ms = sim.now_ms();
    let context = {
        let mut st = sim.lock();
        for approval in st.approvals.values_mut() {
            approval.expire_if_due(now_ms);
        }
        let mut pending: Vec<_> = st
            .approvals
            .values()
            .filter(|a| a.status == ApprovalStatus::Pending)
            .cloned()
            .collect();
        pending.sort_by_key(|a| a.seq);
        let users: Vec<Value> = st
            .users
            .values()
            .map(|u| {
                let requests: Vec<Value> = pending
                    .iter()
                    .filter(|a| a.authy_id == u.id)
                    .map(|a| {
                        let details: Vec<Value> = a
                            .details
                            .iter()
                            .flatten()
                            .map(|(k, v)| json!({"key": k, "value": v.as_str().unwrap_or("")}))
                            .collect();
                        json!({"uuid": a.uuid, "message": a.message, "details": details})
                    })
                    .collect();
                json!({
                    "authy_id": u.id,
                    "email": u.email,
                    "country_code": u.country_code,
                    "phone": number::grouped(&u.phone),
                    "confirmed": u.confirmed,
                    "app_installed": u.app.is_some(),
                    "token": u.app.as_ref().map(|_| totp::soft_token(&u.secret, now_ms / 1000)),
                    "pending": requests,
                    "messages": messages_newest_first(&u.messages),
                })
            })
            .collect();
        let mut numbers: Vec<_> = st.phone_messages.iter().collect();
        numbers.sort_by(|a, b| a.0.cmp(b.0));
        let numbers: Vec<Value> = numbers
            .into_iter()
            .map(|((cc, phone), messages)| {
                json!({
                    "number": number::international(*cc, phone),
                    "messages": messages_newest_first(messages),
                })
            })
            .collect();
        json!({
            "app_name": sim.inner.app_name,
            "base": base,
            "users": users,
            "numbers": numbers,
        })
    };
    let rendered = environment()
        .get_template(TEMPLATE)
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
