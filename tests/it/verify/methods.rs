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

/// The bundle's method for `kind`.
fn method(sim: &Sim, kind: FactorKind) -> Arc<dyn Method> {
    let methods = Verify::new(sim.client.clone(), sim.service.clone()).into_methods();
    let kinds: Vec<_> = methods.iter().map(|m| m.kind()).collect();
    assert_eq!(
        kinds,
        [
            FactorKind::VerifySms,
            FactorKind::VerifyCall,
            FactorKind::VerifyEmail,
            FactorKind::VerifyWhatsapp,
            FactorKind::VerifyTotp,
            FactorKind::VerifyPush,
        ],
        "one method per Verify kind"
    );
    methods.into_iter().find(|m| m.kind() == kind).unwrap()
}

fn methods(sim: &Sim) -> (Arc<dyn Method>, Arc<dyn Method>) {
    (
        method(sim, FactorKind::VerifySms),
        method(sim, FactorKind::VerifyPush),
    )
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

/// An e-mail address and a WhatsApp number are factors of their own
/// kinds: each gets its codes by its one channel only.
#[tokio::test]
async fn an_email_and_a_whatsapp_number_get_their_codes() {
    let sim = Sim::new().await;
    let email = method(&sim, FactorKind::VerifyEmail);
    let whatsapp = method(&sim, FactorKind::VerifyWhatsapp);
    let user = UserId::new("dana");
    let now = SystemTime::now();

    let factor = email
        .enroll_contact(&user, " Dana@Example.com ", "", now)
        .await
        .unwrap();
    assert_eq!(factor.kind, FactorKind::VerifyEmail);
    assert_eq!(factor.provider_ref, "Dana@Example.com");
    assert_eq!(factor.identity.as_deref(), Some("mailto:dana@example.com"));
    assert_eq!(factor.label, "E-mail to D…@Example.com");
    assert!(!factor.is_active());
    assert!(
        sim.codes("Dana@Example.com").await.is_empty(),
        "enrolling sends nothing"
    );
    email
        .send_code(&factor, Channel::Email, false)
        .await
        .unwrap();
    assert!(matches!(
        email.send_code(&factor, Channel::Sms, false).await,
        Err(ProviderError::NotPossible(_))
    ));
    let sent = sim.phone("messages?to=Dana%40Example.com").await;
    assert_eq!(sent.as_array().unwrap().len(), 1, "{sent}");
    assert_eq!(sent[0]["channel"], "email", "{sent}");
    let code = sent[0]["code"].as_str().unwrap().to_owned();
    assert!(matches!(
        email.check_code(&factor, wrong(&code)).await,
        Err(ProviderError::CodeRejected)
    ));
    email.check_code(&factor, &code).await.unwrap();

    let number = whatsapp
        .enroll_contact(&user, "+44 7700 900456", "My WhatsApp", now)
        .await
        .unwrap();
    assert_eq!(number.provider_ref, "+447700900456");
    assert_eq!(number.identity.as_deref(), Some("tel:+447700900456"));
    assert_eq!(number.label, "My WhatsApp");
    whatsapp
        .send_code(&number, Channel::Whatsapp, false)
        .await
        .unwrap();
    let sent = sim.phone("messages?to=%2B447700900456").await;
    assert_eq!(sent[0]["channel"], "whatsapp", "{sent}");
    whatsapp
        .check_code(&number, sent[0]["code"].as_str().unwrap())
        .await
        .unwrap();

    for (method, bad) in [
        (&email, "dana"),
        (&email, "dana @example.com"),
        (&whatsapp, "07700 900456"),
        (&whatsapp, "+44 77OO"),
    ] {
        assert!(
            matches!(
                method.enroll_contact(&user, bad, "", now).await,
                Err(ProviderError::InvalidInput(_))
            ),
            "{bad:?}"
        );
    }
}

/// A Verify TOTP factor: made at Verify with its binding, confirmed by its
/// first code (checked against an independent RFC 6238 computation), then
/// checked with TOTP challenges.
#[tokio::test]
async fn a_verify_totp_factor_is_bound_confirmed_and_checked() {
    let sim = Sim::new().await;
    let app = method(&sim, FactorKind::VerifyTotp);
    assert!(app.abilities().contains(&Ability::EnrollApp));
    assert!(app.replayable_for().is_some(), "Twilio refuses no replay");
    let (factor, binding) = app
        .start_app(&UserId::new("erin"), "Erin's phone", SystemTime::now())
        .await
        .unwrap();
    assert_eq!(factor.kind, FactorKind::VerifyTotp);
    assert_eq!(factor.label, "Erin's phone");
    assert!(!factor.is_active());
    let (identity, sid) = factor.provider_ref.split_once(':').unwrap();
    assert_eq!(identity, Identity::for_user("erin").as_str());
    assert!(sid.starts_with("YF"), "{sid}");
    assert!(
        binding.uri.starts_with("otpauth://totp/"),
        "the URI is there"
    );
    assert!(
        !format!("{binding:?}").contains(&binding.secret),
        "Debug hides it"
    );

    let now = crate::common::now();
    let code = crate::common::app_code(&binding.secret, now);
    assert!(matches!(
        app.check_code(&factor, wrong(&code)).await,
        Err(ProviderError::CodeRejected)
    ));
    app.check_code(&factor, &code).await.unwrap();
    let active = factor.activated();
    let next = crate::common::app_code(&binding.secret, now + 30);
    app.check_code(&active, &next).await.unwrap();
    assert!(matches!(
        app.check_code(&active, wrong(&next)).await,
        Err(ProviderError::CodeRejected)
    ));
    app.forget(&active).await.unwrap();
    assert!(
        matches!(
            app.check_code(&active, &next).await,
            Err(ProviderError::UnknownUser)
        ),
        "a forgotten factor checks nothing"
    );
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
