//! Phone verification (spec §2.5) and phone information (spec §2.6).

use std::time::Duration;

use reqwest::Method;
use tower_authy::authy::{
    PhoneNumber, PhoneType, StartVerification, VerificationCode, VerificationState, Via,
};

use super::{World, api_error};

fn number() -> PhoneNumber {
    PhoneNumber::new(1, "555-010-0199").unwrap()
}

/// The newest code the virtual phone received at that number.
async fn code_sent_text(w: &World) -> String {
    let body = w.phone(Method::GET, "phones/1/5550100199/messages").await;
    let last = body.as_array().unwrap().last().expect("a code was sent");
    last["code"].as_str().unwrap().to_owned()
}

async fn code_sent(w: &World) -> VerificationCode {
    VerificationCode::parse(&code_sent_text(w).await).unwrap()
}

#[tokio::test]
async fn phone_verification_start_check_and_status() {
    let w = World::start().await;
    let phones = w.client.phones();
    let started = phones
        .start_verification(&StartVerification::new(Via::Sms, number()).code_length(6))
        .await
        .unwrap();
    assert_eq!(started.message, "Text message sent to +1 555-010-0199.");
    assert_eq!(started.seconds_to_expire, Some(599));
    assert_eq!(started.is_cellphone, Some(true));
    assert!(started.carrier.is_some());
    let uuid = started.uuid.expect("a uuid");

    let by_uuid = phones.verification_status_by_uuid(&uuid).await.unwrap();
    assert_eq!(by_uuid.status, VerificationState::Pending);
    assert_eq!(by_uuid.message, "Phone Verification status.");
    let by_phone = phones
        .verification_status_by_phone(&number())
        .await
        .unwrap();
    assert_eq!(by_phone.status, VerificationState::Pending);

    let code = code_sent(&w).await;
    let wrong = VerificationCode::parse("0000000").unwrap();
    let err = api_error(
        phones.check_verification(&number(), &wrong).await,
        401,
        "60022",
    );
    assert_eq!(err.message, "Verification code is incorrect");
    assert!(err.error.is_verification_code_rejected());

    let ack = phones.check_verification(&number(), &code).await.unwrap();
    assert_eq!(ack.message, "Verification code is correct.");
    let status = phones.verification_status_by_uuid(&uuid).await.unwrap();
    assert_eq!(status.status, VerificationState::Verified);
    // A verified code is spent.
    api_error(
        phones.check_verification(&number(), &code).await,
        404,
        "60023",
    );
}

#[tokio::test]
async fn phone_verification_restart_resends_the_same_code() {
    let w = World::start().await;
    let phones = w.client.phones();
    let first = phones
        .start_verification(&StartVerification::new(Via::Sms, number()))
        .await
        .unwrap();
    let code = code_sent(&w).await;
    let again = phones
        .start_verification(&StartVerification::new(Via::Call, number()).locale("en"))
        .await
        .unwrap();
    // The spec gives this message only roughly ("reads like").
    assert!(
        again
            .message
            .starts_with("Call to +1 555-010-0199 initiated"),
        "{}",
        again.message
    );
    assert_eq!(again.uuid, first.uuid);
    phones.check_verification(&number(), &code).await.unwrap();
}

#[tokio::test]
async fn phone_verification_expires_after_ten_minutes() {
    let w = World::start().await;
    let phones = w.client.phones();
    let started = phones
        .start_verification(&StartVerification::new(Via::Sms, number()))
        .await
        .unwrap();
    let code = code_sent(&w).await;
    w.sim.advance_clock(Duration::from_secs(600));
    let status = phones
        .verification_status_by_uuid(started.uuid.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(status.status, VerificationState::Expired);
    api_error(
        phones.check_verification(&number(), &code).await,
        404,
        "60023",
    );
}

#[tokio::test]
async fn phone_verification_with_nothing_pending_is_not_found() {
    let w = World::start().await;
    let phones = w.client.phones();
    let code = VerificationCode::parse("1234").unwrap();
    let err = api_error(
        phones.check_verification(&number(), &code).await,
        404,
        "60023",
    );
    assert_eq!(
        err.message,
        "No pending verifications for +1 555-010-0199 found."
    );
    assert!(err.error.is_not_found());
    api_error(
        phones.verification_status_by_phone(&number()).await,
        404,
        "60023",
    );
    api_error(
        phones
            .verification_status_by_uuid("b8ebcd40-1234-5678-3fb5-0e5d6a065904")
            .await,
        404,
        "60023",
    );
}

#[tokio::test]
async fn phone_verification_of_an_invalid_number_is_refused() {
    let w = World::start().await;
    // Seven digits pass the client's check but are no North American number.
    let short = PhoneNumber::new(1, "555-0199").unwrap();
    let err = api_error(
        w.client
            .phones()
            .start_verification(&StartVerification::new(Via::Sms, short))
            .await,
        400,
        "60033",
    );
    assert_eq!(err.message, "Phone number is invalid");
}

#[tokio::test]
async fn phone_info_describes_a_number() {
    let w = World::start().await;
    let phones = w
        .client
        .phones()
        .with_user_ip("198.51.100.4".parse().unwrap());
    let info = phones.info(&number()).await.unwrap();
    assert_eq!(info.phone_type, PhoneType::Cellphone);
    assert!(info.provider.is_some());
    assert_eq!(info.ported, Some(false));
    assert!(
        info.message.starts_with("Phone number information as of ")
            && info.message.ends_with(" UTC"),
        "{}",
        info.message
    );

    let short = PhoneNumber::new(1, "555-0199").unwrap();
    api_error(phones.info(&short).await, 400, "60033");
}

#[tokio::test]
async fn phone_verification_with_a_custom_code_keeps_its_leading_zeros() {
    let w = World::start().await;
    let phones = w.client.phones();
    let start = StartVerification::new(Via::Sms, number())
        .custom_code("004217")
        .custom_message("Your Example code is {{code}}");
    let started = phones.start_verification(&start).await.unwrap();
    // Custom codes come with an id for the Feedback API.
    assert!(started.sms_id.is_some());
    assert_eq!(code_sent_text(&w).await, "004217");
    let wrong = VerificationCode::parse("4217").unwrap();
    api_error(
        phones.check_verification(&number(), &wrong).await,
        401,
        "60022",
    );
    let code = VerificationCode::parse("004217").unwrap();
    phones.check_verification(&number(), &code).await.unwrap();
}
