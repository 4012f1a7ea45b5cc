//! Webhook delivery (spec §7.7): a form POST signed with the account's auth
//! token by the crate's own `X-Twilio-Signature` signer (pinned to Twilio's
//! library by the shared vectors), to each enabled webhook of the service
//! that subscribed to the event.

use serde_json::{Value, json};

use super::VerifySimulator;
use super::state::{Factor, Webhook};
use crate::verify::signature::{self, Algorithm};

/// The event's form fields (+ `challenge_sid` for challenge events).
fn fields(
    sim: &VerifySimulator,
    event: &str,
    factor: &Factor,
    challenge_sid: Option<&str>,
) -> Vec<(String, String)> {
    let account_sid = sim
        .lock()
        .services
        .get(&factor.service_sid)
        .map(|s| s.account_sid.clone())
        .unwrap_or_default();
    let uuid = sim.lock().hex(32);
    let mut fields = vec![
        ("uuid".to_owned(), uuid),
        ("type".to_owned(), event.to_owned()),
        ("account_sid".to_owned(), account_sid),
        ("service_sid".to_owned(), factor.service_sid.clone()),
        ("entity_identity".to_owned(), factor.identity.clone()),
        ("factor_sid".to_owned(), factor.sid.clone()),
        (
            "factor_type".to_owned(),
            factor.factor_type.as_str().to_owned(),
        ),
    ];
    if let Some(sid) = challenge_sid {
        fields.push(("challenge_sid".to_owned(), sid.to_owned()));
    }
    fields
}

fn subscribers(sim: &VerifySimulator, service_sid: &str, event: &str) -> Vec<Webhook> {
    sim.lock()
        .webhooks
        .values()
        .filter(|w| w.service_sid == service_sid && w.wants(event))
        .cloned()
        .collect()
}

/// Delivers `event` to every subscriber and reports each delivery:
/// `[{"url","status"}]` or `[{"url","error"}]`.
pub(crate) async fn deliver(
    sim: &VerifySimulator,
    event: &str,
    factor: &Factor,
    challenge_sid: Option<&str>,
) -> Vec<Value> {
    let mut reports = Vec::new();
    for webhook in subscribers(sim, &factor.service_sid, event) {
        let Some(token) = sim.auth_token(&webhook.account_sid).cloned() else {
            continue;
        };
        let fields = fields(sim, event, factor, challenge_sid);
        // Signed as it is requested: the URL as the HTTP client spells it
        // (a bare host gains its `/`, for one).
        let Ok(url) = reqwest::Url::parse(&webhook.url) else {
            reports.push(json!({"url": webhook.url, "error": "not a URL"}));
            continue;
        };
        let signed = signature::sign(token.expose(), Algorithm::HmacSha1, url.as_str(), &fields);
        let result = sim
            .inner
            .http
            .post(url)
            .header("X-Twilio-Signature", signed)
            .form(&fields)
            .send()
            .await;
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                tracing::info!(url = %webhook.url, event, status, "Verify simulator: webhook delivered");
                reports.push(json!({"url": webhook.url, "status": status}));
            }
            Err(error) => {
                tracing::warn!(url = %webhook.url, event, %error, "Verify simulator: webhook not delivered");
                reports.push(json!({"url": webhook.url, "error": format!("delivery failed: {}", error.without_url())}));
            }
        }
    }
    reports
}

/// Delivers `event` in the background (factor events: the API call that
/// caused them does not wait).
pub(crate) fn spawn(
    sim: &VerifySimulator,
    event: &'static str,
    factor: &Factor,
    challenge_sid: Option<String>,
) {
    if subscribers(sim, &factor.service_sid, event).is_empty() {
        return;
    }
    let sim = sim.clone();
    let factor = factor.clone();
    tokio::spawn(async move {
        deliver(&sim, event, &factor, challenge_sid.as_deref()).await;
    });
}
