//! Verify as the crate's methods, against the Verify simulator: a phone
//! enrolled and checked with codes by text and by call, each Verify answer
//! the right outcome, and a push approved on the virtual phone.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tower_authy::ConfigError;
use tower_authy::TwoFactor;
use tower_authy::config::{Policy, StatusMode};
use tower_authy::method::verify::Verify;
use tower_authy::method::{
    Ability, Channel, EnrollmentRequest, IntoMethods, Method, ProviderError, PushRequest,
};
use tower_authy::store::{ApprovalStatus, Factor, FactorKind, MemoryStore, UserId};
use tower_authy::verify::{Identity, VerifyWebhook};

use super::simulator::Sim;

fn methods(sim: &Sim) -> (Arc<dyn Method>, Arc<dyn Method>) {
    let mut methods = Verify::new(sim.client.clone(), sim.service.clone()).into_methods();
    let push = methods.pop().unwrap();
    let phone = methods.pop().unwrap();
    assert_eq!(phone.kind(), FactorKind::VerifySms);
    assert_eq!(push.kind(), FactorKind::VerifyPush);
    (phone, push)
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

#[tokio::test]
async fn a_phone_is_enrolled_and_its_codes_checked() {
    let sim = Sim::new().await;
    let (phone, _) = methods(&sim);
    assert!(
        phone
            .abilities()
            .contains(&Ability::SendCode(Channel::Call))
    );
    let request = EnrollmentRequest::new("alice@example.com", 1, "(501) 712-2661");
    let factor = phone
        .enroll_phone(&UserId::new("alice"), &request, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(factor.provider_ref, "+15017122661");
    assert_eq!(factor.identity.as_deref(), Some("tel:+15017122661"));
    assert_eq!(factor.label, "Phone ending in 61");
    assert!(
        sim.codes("+15017122661").await.is_empty(),
        "enrolling sends nothing"
    );

    let sent = phone.send_code(&factor, Channel::Sms, false).await.unwrap();
    assert!(!sent.ignored);
    phone
        .send_code(&factor, Channel::Call, false)
        .await
        .unwrap();
    let code = sim.codes("+15017122661").await.pop().unwrap();
    assert!(matches!(
        phone.check_code(&factor, wrong(&code)).await,
        Err(ProviderError::CodeRejected)
    ));
    assert!(matches!(
        phone.check_code(&factor, "12").await,
        Err(ProviderError::CodeRejected)
    ));
    phone.check_code(&factor, &code).await.unwrap();
    // The code is used up: Verify has nothing waiting.
    assert!(matches!(
        phone.check_code(&factor, &code).await,
        Err(ProviderError::CodeExpired)
    ));

    let bad = EnrollmentRequest::new("alice@example.com", 1, "501-CALL-NOW");
    assert!(matches!(
        phone
            .enroll_phone(&UserId::new("alice"), &bad, SystemTime::now())
            .await,
        Err(ProviderError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn verify_limits_become_typed_outcomes() {
    let sim = Sim::new().await;
    let (phone, _) = methods(&sim);
    let request = EnrollmentRequest::new("bob@example.com", 44, "7700 900123");
    let factor = phone
        .enroll_phone(&UserId::new("bob"), &request, SystemTime::now())
        .await
        .unwrap();
    for _ in 0..5 {
        phone.send_code(&factor, Channel::Sms, false).await.unwrap();
    }
    assert!(matches!(
        phone.send_code(&factor, Channel::Sms, false).await,
        Err(ProviderError::RateLimited { .. })
    ));
    let code = sim.codes("+447700900123").await.pop().unwrap();
    for _ in 0..5 {
        assert!(matches!(
            phone.check_code(&factor, wrong(&code)).await,
            Err(ProviderError::CodeRejected)
        ));
    }
    // The sixth check: Verify's 60202, no code waiting any more.
    assert!(matches!(
        phone.check_code(&factor, &code).await,
        Err(ProviderError::CodeExpired)
    ));
}

#[tokio::test]
async fn a_push_is_sent_approved_on_the_phone_and_polled() {
    let sim = Sim::new().await;
    let (_, push) = methods(&sim);
    let identity = Identity::for_user("carol");
    let (status, answer) = sim
        .phone_post("push-factors", &[("identity", identity.as_str())])
        .await;
    assert_eq!(status, 201);
    let factor = Factor::pending(
        UserId::new("carol"),
        FactorKind::VerifyPush,
        "Phone",
        format!("{identity}:{}", answer["sid"].as_str().unwrap()),
        SystemTime::now(),
    )
    .activated();
    let request =
        PushRequest::new("Sign in?", Duration::from_secs(120)).detail("From", "127.0.0.1");
    let sid = push.start_push(&factor, &request).await.unwrap();
    let state = push.push_state(&factor, &sid).await.unwrap();
    assert_eq!(state.status, ApprovalStatus::Pending);
    assert_eq!(
        state.provider_user_id.as_deref(),
        Some(factor.provider_ref.as_str())
    );
    let (status, _) = sim
        .phone_post(&format!("challenges/{sid}/approve"), &[])
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        push.push_state(&factor, &sid).await.unwrap().status,
        ApprovalStatus::Approved
    );
    push.forget(&factor).await.unwrap();
    push.forget(&factor).await.unwrap();
}

/// Switching provider is the builder's first argument; Verify push in
/// callback mode needs the Verify webhook, as OneTouch needs its own.
#[tokio::test]
async fn the_bundle_builds_a_two_factor_set_up() {
    let sim = Sim::new().await;
    let verify = || Verify::new(sim.client.clone(), sim.service.clone());
    let store = || Arc::new(MemoryStore::new());
    let missing = TwoFactor::builder(verify(), store()).build();
    assert!(
        matches!(&missing, Err(ConfigError::Missing(why)) if why.contains("Verify webhook")),
        "{:?}",
        missing.err()
    );
    let with_webhook = TwoFactor::builder(verify(), store())
        .with_verify_webhook(
            VerifyWebhook::builder("token")
                .with_public_url("https://app.example.com/2fa/verify/callback"),
        )
        .build();
    assert!(with_webhook.is_ok(), "{:?}", with_webhook.err());
    let polling = Policy::builder()
        .with_status_mode(StatusMode::Polling {
            every: Duration::from_secs(2),
        })
        .build()
        .unwrap();
    let polled = TwoFactor::builder(verify(), store())
        .with_policy(polling)
        .build();
    assert!(polled.is_ok(), "{:?}", polled.err());
}
