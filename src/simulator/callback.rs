//! OneTouch callbacks: the payload of spec §4.2, signed per §4.3 with the
//! simulator clock's Unix seconds as nonce, delivered by POST (JSON body) or
//! GET (canonical query string).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::state::{Approval, Device};
use super::{CallbackMethod, Simulator};
use crate::webhook::signature;

/// The callback body for a request that was just approved or denied.
pub(crate) fn payload(sim: &Simulator, approval: &Approval, device: Option<&Device>) -> Value {
    let now = sim.now_secs();
    let device_id = device.map(|d| d.id);
    // Stands in for the device's RSA-2048 signature of the transaction: 256
    // bytes that no client checks.
    let signature_bytes: Vec<u8> = (0..256).map(|_| rand::random::<u8>()).collect();
    json!({
        "authy_id": approval.authy_id,
        "device_uuid": device_id,
        "callback_action": "approval_request_status",
        "uuid": approval.uuid,
        "status": approval.status.as_str(),
        "approval_request": {
            "transaction": {
                "details": approval.details,
                "device_details": {},
                "device_geolocation": "",
                "device_signing_time": now,
                "encrypted": false,
                "flagged": false,
                "hidden_details": approval.hidden_details,
                "message": approval.message,
                "reason": "",
                "requester_details": null,
                "status": approval.status.as_str(),
                "uuid": approval.uuid,
                "created_at_time": approval.created_ms / 1000,
                "customer_uuid": sim.inner.app_id,
            },
            "expiration_timestamp": approval.expiration_timestamp(),
            "logos": approval.logos,
            "app_id": sim.inner.app_object_id,
        },
        "signature": BASE64.encode(&signature_bytes),
        "device": {
            "city": null,
            "country": null,
            "ip": null,
            "region": null,
            "registration_city": null,
            "registration_country": null,
            "registration_ip": null,
            "registration_method": "sms",
            "registration_region": null,
            "os_type": "android",
            "last_account_recovery_at": null,
            "id": device_id,
            "registration_date": device.map(|d| d.registered_at),
            "last_sync_date": device.map(|d| d.last_sync),
        },
    })
}

/// Signs and sends `payload` to the configured callback URL, and reports the
/// outcome as JSON (`{"url","method","status"}` or `{"url","method","error"}`);
/// `None` when no callback is configured.
pub(crate) async fn deliver(sim: &Simulator, payload: &Value) -> Option<(Value, bool)> {
    let config = sim.inner.callback.clone()?;
    let method = config.method.as_str();
    let nonce = sim.now_secs().to_string();
    let outcome = |result: Result<u16, String>| {
        let delivered = matches!(result, Ok(status) if (200..300).contains(&status));
        let mut report = json!({"url": config.url, "method": method});
        match result {
            Ok(status) => report["status"] = json!(status),
            Err(error) => report["error"] = json!(error),
        }
        Some((report, delivered))
    };
    let key = crate::Secret::from(&sim.inner.api_key);
    let signed = match signature::sign(&key, &nonce, method, &config.url, payload) {
        Ok(signed) => signed,
        Err(e) => return outcome(Err(format!("could not sign the callback: {e}"))),
    };
    let request = match config.method {
        CallbackMethod::Post => sim.inner.http.post(&config.url).json(payload),
        CallbackMethod::Get => {
            let query = match signature::canonical_params(payload) {
                Ok(query) => query,
                Err(e) => return outcome(Err(format!("could not encode the callback: {e}"))),
            };
            let separator = if config.url.contains('?') { '&' } else { '?' };
            sim.inner
                .http
                .get(format!("{}{separator}{query}", config.url))
        }
    };
    let result = request
        .header("X-Authy-Signature", signed)
        .header("X-Authy-Signature-Nonce", nonce)
        .send()
        .await;
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            tracing::info!(url = %config.url, method, status, "OneTouch callback delivered");
            outcome(Ok(status))
        }
        Err(e) => {
            tracing::warn!(url = %config.url, method, error = %e, "OneTouch callback not delivered");
            outcome(Err(format!("delivery failed: {e}")))
        }
    }
}
