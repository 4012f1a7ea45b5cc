//! One-time codes (spec §2.2): SMS, voice call, e-mail and verify.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tower_authy::authy::{AuthyId, SendOptions, Token};

use super::{World, api_error};

const SMS_IGNORED: &str = "Ignored: SMS is not needed for smartphones. Pass force=true if you want to actually send it anyway.";
const CALL_IGNORED: &str = "Call ignored. User is using  App Tokens and this call is not necessary. Pass force=true if you still want to call users that are using the App.";

/// A token that can match nothing: the simulator's codes and soft tokens
/// have seven digits.
fn wrong_token() -> Token {
    Token::parse("123456").unwrap()
}

#[tokio::test]
async fn sms_is_ignored_for_app_users_unless_forced() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;

    let sent = w
        .client
        .tokens()
        .sms(id, &SendOptions::new())
        .await
        .unwrap();
    assert!(sent.ignored);
    assert_eq!(sent.message, SMS_IGNORED);
    assert_eq!(sent.device.as_deref(), Some("android"));
    assert_eq!(sent.cellphone, "+1-XXX-XXX-XX10");
    assert!(w.messages(id).await.is_empty(), "nothing was sent");

    let forced = SendOptions::new().force(true).locale("en");
    let sent = w.client.tokens().sms(id, &forced).await.unwrap();
    assert!(!sent.ignored);
    assert_eq!(sent.message, "SMS token was sent");
    assert_eq!(sent.device, None);
    let code = w.last_code(id, "sms").await;
    let verified = w.client.tokens().verify(id, &code, None).await.unwrap();
    assert_eq!(verified.message, "Token is valid.");
}

#[tokio::test]
async fn call_is_ignored_for_app_users_unless_forced() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;

    let sent = w
        .client
        .tokens()
        .call(id, &SendOptions::new())
        .await
        .unwrap();
    assert!(sent.ignored);
    assert_eq!(sent.message, CALL_IGNORED);
    assert!(w.messages(id).await.is_empty(), "nobody was called");

    let sent = w
        .client
        .tokens()
        .call(id, &SendOptions::new().force(true))
        .await
        .unwrap();
    assert!(!sent.ignored);
    assert_eq!(sent.message, "Call started...");
    let code = w.last_code(id, "call").await;
    w.client.tokens().verify(id, &code, None).await.unwrap();
}

#[tokio::test]
async fn users_without_the_app_get_codes_without_force() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    w.set_app(id, false).await;
    let sent = w
        .client
        .tokens()
        .sms(id, &SendOptions::new())
        .await
        .unwrap();
    assert!(!sent.ignored);
    let sent = w
        .client
        .tokens()
        .call(id, &SendOptions::new())
        .await
        .unwrap();
    assert!(!sent.ignored);
    let channels: Vec<_> = w
        .messages(id)
        .await
        .iter()
        .map(|m| m["channel"].clone())
        .collect();
    assert_eq!(channels, [json!("sms"), json!("call")]);
}

#[tokio::test]
async fn sms_and_call_to_an_unknown_user_are_not_found() {
    let w = World::start().await;
    let forced = SendOptions::new().force(true);
    let err = api_error(
        w.client.tokens().sms(AuthyId(42), &forced).await,
        404,
        "60026",
    );
    assert_eq!(err.message, "User not found.");
    api_error(
        w.client.tokens().call(AuthyId(42), &forced).await,
        404,
        "60026",
    );
}

#[tokio::test]
async fn email_token_reaches_the_user_and_verifies() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let sent = w.client.tokens().email(id).await.unwrap();
    assert_eq!(sent.message, "Email token was sent");
    assert_eq!(sent.email.as_deref(), Some("ada@example.com"));
    assert!(
        sent.email_id
            .as_deref()
            .is_some_and(|e| e.starts_with("EM"))
    );
    let code = w.last_code(id, "email").await;
    w.client.tokens().verify(id, &code, None).await.unwrap();

    api_error(w.client.tokens().email(AuthyId(42)).await, 404, "60026");
}

#[tokio::test]
async fn verify_accepts_a_sent_code_once() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let forced = SendOptions::new().force(true);
    w.client.tokens().sms(id, &forced).await.unwrap();
    let code = w.last_code(id, "sms").await;

    let err = api_error(
        w.client.tokens().verify(id, &wrong_token(), None).await,
        401,
        "60020",
    );
    assert_eq!(err.message, "Token is invalid");
    assert!(err.error.is_token_rejected());

    let verified = w.client.tokens().verify(id, &code, None).await.unwrap();
    assert_eq!(verified.device.unwrap().os_type.as_deref(), Some("sms"));

    // Replaying the code is refused as reused, which is still a rejection.
    let err = api_error(
        w.client.tokens().verify(id, &code, None).await,
        401,
        "60019",
    );
    assert!(err.error.is_token_rejected());
}

#[tokio::test]
async fn verify_accepts_the_soft_token_once() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let token = w.soft_token(id).await;
    let verified = w.client.tokens().verify(id, &token, None).await.unwrap();
    assert_eq!(verified.device.unwrap().os_type.as_deref(), Some("android"));
    let err = api_error(
        w.client.tokens().verify(id, &token, None).await,
        401,
        "60019",
    );
    assert!(err.error.is_token_rejected());
}

#[tokio::test]
async fn verify_needs_the_action_the_code_was_sent_for() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let options = SendOptions::new()
        .force(true)
        .action("login")
        .action_message("Sign in to Example");
    w.client.tokens().sms(id, &options).await.unwrap();
    let code = w.last_code(id, "sms").await;

    for action in [None, Some("transfer")] {
        let err = api_error(
            w.client.tokens().verify(id, &code, action).await,
            401,
            "60020",
        );
        assert!(err.error.is_token_rejected());
    }
    w.client
        .tokens()
        .verify(id, &code, Some("login"))
        .await
        .unwrap();
}

#[tokio::test]
async fn verify_forces_the_check_for_users_who_never_verified() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;

    // The client sends force=true: a wrong token is refused even though the
    // user never verified one.
    let err = api_error(
        w.client.tokens().verify(id, &wrong_token(), None).await,
        401,
        "60020",
    );
    assert!(err.error.is_token_rejected());

    // The raw API without force lets that user through with any token, so
    // force is what protected the check above.
    let path = format!("protected/json/verify/123456/{id}");
    let (status, body) = w.raw_get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token"], "is valid");
    let (status, body) = w.raw_get(&format!("{path}?force=true")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error_code"], "60020");

    // Neither made the user confirmed.
    assert!(!w.client.users().status(id).await.unwrap().confirmed);
}

#[tokio::test]
async fn verify_after_the_code_expired_is_rejected() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    w.client
        .tokens()
        .sms(id, &SendOptions::new().force(true))
        .await
        .unwrap();
    let code = w.last_code(id, "sms").await;
    // Codes live ten minutes.
    w.sim.advance_clock(Duration::from_secs(10 * 60 + 1));
    let err = api_error(
        w.client.tokens().verify(id, &code, None).await,
        401,
        "60020",
    );
    assert!(err.error.is_token_rejected());
}

#[tokio::test]
async fn verify_for_an_unknown_user_is_not_a_wrong_code() {
    let w = World::start().await;
    let err = api_error(
        w.client
            .tokens()
            .verify(AuthyId(42), &wrong_token(), None)
            .await,
        404,
        "60026",
    );
    // A caller must not tell this user "wrong code, try again".
    assert!(!err.error.is_token_rejected());
    assert!(err.error.is_not_found());
}
