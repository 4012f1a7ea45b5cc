//! Verifications and checks: codes by SMS, voice, e-mail and WhatsApp.

use tower_authy::verify::{
    Channel, Client, Credentials, StartVerification, VerificationStatus, codes,
};

use super::{API_KEY, API_SECRET, Sim};

const PHONE: &str = "+15017122661";

#[tokio::test]
async fn a_code_is_sent_resent_unchanged_and_passes_once() {
    let sim = Sim::new().await;
    let verifications = sim.client.service(&sim.service).verifications();
    let first = verifications
        .start(&StartVerification::new(PHONE, Channel::Sms))
        .await
        .unwrap();
    assert_eq!(first.status, VerificationStatus::Pending);
    assert_eq!(first.send_code_attempts.len(), 1);
    // A resend by voice: the same verification, the same code.
    let again = verifications
        .start(&StartVerification::new(PHONE, Channel::Call))
        .await
        .unwrap();
    assert_eq!(again.sid, first.sid);
    assert_eq!(again.channel, "call");
    assert_eq!(again.send_code_attempts.len(), 2);
    let codes = sim.codes(PHONE).await;
    assert_eq!(codes.len(), 2);
    assert_eq!(codes[0], codes[1]);
    assert_eq!(codes[0].len(), 6);

    let wrong = if codes[0] == "000000" {
        "111111"
    } else {
        "000000"
    };
    let check = verifications.check_to(PHONE, wrong).await.unwrap();
    assert_eq!(check.status, VerificationStatus::Pending);
    assert!(!check.is_approved());
    let fetched = verifications.fetch(&first.sid).await.unwrap();
    assert_eq!(fetched.status, VerificationStatus::Pending);

    let check = verifications
        .check_sid(&first.sid, &codes[0])
        .await
        .unwrap();
    assert!(check.is_approved());
    // Approved verifications are gone (spec §3.3).
    let again = verifications.check_to(PHONE, &codes[0]).await.unwrap_err();
    assert_eq!(again.code(), Some(codes::NOT_FOUND));
    assert!(
        verifications
            .fetch(&first.sid)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn the_sixth_send_and_the_sixth_check_are_refused() {
    let sim = Sim::new().await;
    let verifications = sim.client.service(&sim.service).verifications();
    let start = StartVerification::new(PHONE, Channel::Sms);
    for _ in 0..5 {
        verifications.start(&start).await.unwrap();
    }
    let sixth = verifications.start(&start).await.unwrap_err();
    assert_eq!(sixth.code(), Some(codes::MAX_SEND_ATTEMPTS));
    assert!(sixth.is_rate_limited());

    let code = sim.codes(PHONE).await.pop().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let check = verifications.check_to(PHONE, wrong).await.unwrap();
        assert_eq!(check.status, VerificationStatus::Pending);
    }
    // The 6th check fails whatever the code, and ends the verification.
    let sixth = verifications.check_to(PHONE, &code).await.unwrap_err();
    assert_eq!(sixth.code(), Some(codes::MAX_CHECK_ATTEMPTS));
    let after = verifications.check_to(PHONE, &code).await.unwrap_err();
    assert_eq!(after.code(), Some(codes::NOT_FOUND));
}

#[tokio::test]
async fn codes_expire_after_ten_minutes_and_canceled_ones_stop_working() {
    let sim = Sim::new().await;
    let verifications = sim.client.service(&sim.service).verifications();
    let started = verifications
        .start(&StartVerification::new(PHONE, Channel::Whatsapp))
        .await
        .unwrap();
    let code = sim.codes(PHONE).await.pop().unwrap();
    sim.advance(601);
    let late = verifications.check_to(PHONE, &code).await.unwrap_err();
    assert!(late.is_not_found(), "{late}");
    assert!(
        verifications
            .fetch(&started.sid)
            .await
            .unwrap_err()
            .is_not_found()
    );
    // A new verification after expiry has a new SID.
    let fresh = verifications
        .start(&StartVerification::new(PHONE, Channel::Sms))
        .await
        .unwrap();
    assert_ne!(fresh.sid, started.sid);
    let canceled = verifications.cancel(&fresh.sid).await.unwrap();
    assert_eq!(canceled.status, VerificationStatus::Canceled);
    let code = sim.codes(PHONE).await.pop().unwrap();
    assert!(
        verifications
            .check_to(PHONE, &code)
            .await
            .unwrap_err()
            .is_not_found()
    );
    // Approving by hand (custom codes) ends one too.
    let third = verifications
        .start(&StartVerification::new(PHONE, Channel::Sms))
        .await
        .unwrap();
    let approved = verifications.approve(&third.sid).await.unwrap();
    assert_eq!(approved.status, VerificationStatus::Approved);
    assert!(approved.valid);
}

#[tokio::test]
async fn e_mail_codes_and_an_api_key_work() {
    let sim = Sim::new().await;
    let client = Client::builder(Credentials::api_key(API_KEY, API_SECRET))
        .with_base_url(&sim.base)
        .build()
        .unwrap();
    let verifications = client.service(&sim.service).verifications();
    let started = verifications
        .start(&StartVerification::new("alice@example.com", Channel::Email))
        .await
        .unwrap();
    assert_eq!(started.send_code_attempts[0].channel, "EMAIL");
    let code = sim.codes("alice@example.com").await.pop().unwrap();
    assert!(
        verifications
            .check_to("alice@example.com", &code)
            .await
            .unwrap()
            .is_approved()
    );
    // Wrong credentials: 401/20003.
    let intruder = Client::builder(Credentials::api_key(API_KEY, "not-the-secret"))
        .with_base_url(&sim.base)
        .build()
        .unwrap();
    let refused = intruder.services().list().await.unwrap_err();
    assert_eq!(refused.code(), Some(codes::AUTHENTICATE));
}
