//! One-time codes on the simulator: SMS and voice (ignored or forced),
//! e-mail, verification with its quirks, reuse, actions and expiry.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::{KEY, Sim, assert_error};

#[tokio::test]
async fn simulator_ignores_sms_and_calls_for_app_users_unless_forced() {
    let s = Sim::start().await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    let (status, body) = s.get(&format!("protected/json/sms/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"success": true,
               "message": "Ignored: SMS is not needed for smartphones. Pass force=true if you want to actually send it anyway.",
               "cellphone": "+1-XXX-XXX-XX10", "device": "android", "ignored": true})
    );
    let (_, body) = s
        .get(&format!("protected/json/call/{id}?force=false"))
        .await;
    assert_eq!(
        body["message"],
        "Call ignored. User is using  App Tokens and this call is not necessary. Pass force=true if you still want to call users that are using the App."
    );
    assert_eq!(body["ignored"], true);
    assert!(s.messages(id).await.is_empty(), "nothing was sent");

    // force in every spelling, in the query or (npm `authy`) in a GET body.
    let (_, body) = s.get(&format!("protected/json/sms/{id}?force=true")).await;
    assert_eq!(
        body,
        json!({"success": true, "message": "SMS token was sent", "cellphone": "+1-XXX-XXX-XX10"})
    );
    let (_, body) = s.get(&format!("protected/json/call/{id}?force=1")).await;
    assert_eq!(body["message"], "Call started...");
    assert!(body.get("ignored").is_none());
    let response = s
        .http
        .get(s.url(&format!("protected/json/sms/{id}")))
        .form(&[("api_key", KEY), ("force", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(Sim::read(response).await.1["message"], "SMS token was sent");

    let messages = s.messages(id).await;
    let channels: Vec<&str> = messages
        .iter()
        .map(|m| m["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["sms", "call", "sms"]);
    for m in &messages {
        let code = m["code"].as_str().unwrap();
        assert_eq!(code.len(), 7);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert!(m["at"].as_u64().unwrap() > 1_600_000_000);
    }

    // Without the app, SMS goes out unforced.
    s.set_app(id, false).await;
    let (_, body) = s.get(&format!("protected/json/sms/{id}")).await;
    assert_eq!(body["message"], "SMS token was sent");
    assert_eq!(s.messages(id).await.len(), 4);
}

#[tokio::test]
async fn simulator_verifies_tokens_like_the_real_api() {
    let s = Sim::start().await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    // The dangerous default: an unconfirmed user passes without force.
    let response = s
        .http
        .get(s.url(&format!("protected/json/verify/0000000/{id}")))
        .header("X-Authy-API-Key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let raw = response.text().await.unwrap();
    // Python's `authy` tests these substrings verbatim.
    assert!(raw.contains(r#""token":"is valid""#), "{raw}");
    assert!(raw.contains(r#""success":"true""#), "{raw}");
    assert!(raw.contains(r#""message":"Token is valid.""#), "{raw}");

    // With force the token must be right; the 401 body is the spec's.
    let (status, body) = s
        .get(&format!("protected/json/verify/0000000/{id}?force=true"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"message":"Token is invalid","token":"is invalid","success":false,
               "errors":{"message":"Token is invalid"},"error_code":"60020"})
    );

    s.get(&format!("protected/json/sms/{id}?force=true")).await;
    let code = s.messages(id).await[0]["code"].as_str().unwrap().to_owned();
    let (status, body) = s
        .get(&format!("protected/json/verify/{code}/{id}?force=true"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["device"]["os_type"], "sms");
    let (_, body) = s.get(&format!("protected/json/users/{id}/status")).await;
    assert_eq!(body["status"]["confirmed"], true);
    // Single use.
    let got = s
        .get(&format!("protected/json/verify/{code}/{id}?force=true"))
        .await;
    assert_eq!(got.0, StatusCode::UNAUTHORIZED);
    assert_eq!(got.1["error_code"], "60019");
    // Confirmed users get no free pass, even without force.
    let got = s.get(&format!("protected/json/verify/0000000/{id}")).await;
    assert_error(&got, 401, "60020", "Token is invalid");

    // The virtual app's soft token, once.
    let token = s.soft_token(id).await;
    assert_eq!(token.len(), 7);
    let (status, body) = s
        .get(&format!("protected/json/verify/{token}/{id}?force=true"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["device"]["os_type"], "android");
    let got = s
        .get(&format!("protected/json/verify/{token}/{id}?force=true"))
        .await;
    assert_eq!(got.1["error_code"], "60019");
}

#[tokio::test]
async fn simulator_codes_expire_and_bind_to_their_action() {
    let s = Sim::start().await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    s.get(&format!(
        "protected/json/sms/{id}?force=true&action=login&action_message=Log+in"
    ))
    .await;
    let code = s.messages(id).await[0]["code"].as_str().unwrap().to_owned();
    let wrong = [
        format!("protected/json/verify/{code}/{id}?force=true"),
        format!("protected/json/verify/{code}/{id}?force=true&action=transfer"),
    ];
    for path in wrong {
        assert_error(&s.get(&path).await, 401, "60020", "Token is invalid");
    }
    let (status, _) = s
        .get(&format!(
            "protected/json/verify/{code}/{id}?force=true&action=login"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);

    s.get(&format!("protected/json/call/{id}?force=true")).await;
    let code = s.messages(id).await[1]["code"].as_str().unwrap().to_owned();
    s.sim.advance_clock(Duration::from_secs(10 * 60 + 1));
    let got = s
        .get(&format!("protected/json/verify/{code}/{id}?force=true"))
        .await;
    assert_error(&got, 401, "60020", "Token is invalid");
}

#[tokio::test]
async fn simulator_sends_email_tokens() {
    let s = Sim::start().await;
    let id = s.register("mail@example.com", "987-654-3210", "1").await;
    let (status, body) = s
        .post_form(&format!("protected/json/email/{id}"), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Email token was sent");
    assert_eq!(body["email"], "mail@example.com");
    assert!(body["email_id"].as_str().unwrap().starts_with("EM"));
    let messages = s.messages(id).await;
    assert_eq!(messages[0]["channel"], "email");
    let code = messages[0]["code"].as_str().unwrap();
    let (status, _) = s
        .get(&format!("protected/json/verify/{code}/{id}?force=true"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn simulator_a_right_token_confirms_even_without_force() {
    let s = Sim::start().await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    let token = s.soft_token(id).await;
    let (status, body) = s.get(&format!("protected/json/verify/{token}/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = s.get(&format!("protected/json/users/{id}/status")).await;
    assert_eq!(body["status"]["confirmed"], true);
    // Confirmed: the free pass is over.
    let got = s.get(&format!("protected/json/verify/0000000/{id}")).await;
    assert_error(&got, 401, "60020", "Token is invalid");
}
