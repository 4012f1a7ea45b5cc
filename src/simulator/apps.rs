//! Application information: `app/details` and `app/stats`.

use axum::extract::State;
use serde_json::json;

use super::Simulator;
use super::reply::{Answer, Reply};
use super::request::Api;
use crate::utc::DateTime;

/// `GET app/details`.
pub(crate) async fn details(State(sim): State<Simulator>, _api: Api) -> Answer {
    Ok(Reply::ok(json!({
        "app": {
            "name": sim.inner.app_name,
            "plan": "pay_as_you_go",
            "sms_enabled": true,
            "phone_calls_enabled": true,
            "app_id": sim.inner.app_id,
            "onetouch_enabled": true,
        },
        "message": "Application information.",
        "success": true,
    })))
}

/// `GET app/stats`: one entry per month the simulator has seen activity in,
/// each with exactly the seven keys clients check.
pub(crate) async fn stats(State(sim): State<Simulator>, _api: Api) -> Answer {
    let st = sim.lock();
    let stats: Vec<_> = st
        .stats
        .iter()
        .map(|(&(year, month), counts)| {
            // Any day of the month gives its name.
            let name = DateTime {
                year,
                month,
                day: 1,
                hour: 0,
                minute: 0,
                second: 0,
            }
            .month_name();
            json!({
                "month": name,
                "year": year,
                "api_calls_count": counts.api_calls,
                "auths_count": counts.auths,
                "calls_count": counts.calls,
                "sms_count": counts.sms,
                "users_count": counts.users,
            })
        })
        .collect();
    Ok(Reply::ok(json!({
        "app_id": sim.inner.app_id,
        "count": stats.len(),
        "total_users": st.users.len(),
        "message": "Monthly statistics.",
        "stats": stats,
        "success": true,
    })))
}
