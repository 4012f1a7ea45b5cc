//! Users (spec §2.1): register, status, remove, register_activity, QR code,
//! e-mail update and registration status.

use reqwest::Method;
use tower_authy::authy::{
    Activity, ActivityType, AuthyError, AuthyId, NewUser, PhoneNumber, QrCodeOptions,
};

use super::{World, api_error};

fn phone(country_code: u16, number: &str) -> PhoneNumber {
    PhoneNumber::new(country_code, number).unwrap()
}

/// All API calls the simulator has counted so far, every month together.
async fn api_calls(w: &World) -> u64 {
    let stats = w.client.apps().stats().await.unwrap();
    stats.stats.iter().map(|m| m.api_calls_count).sum()
}

#[tokio::test]
async fn register_gives_the_same_id_for_the_same_phone() {
    let w = World::start().await;
    let user = NewUser::new("ada@example.com", phone(1, "987-654-3210"));
    let first = w.client.users().register(&user).await.unwrap();
    assert_eq!(first.message, "User created successfully.");

    // Another e-mail and other separators: Authy keys users on the phone.
    let again = NewUser::new("ada.l@example.org", phone(1, "(987) 654.3210"))
        .send_install_link_via_sms(false);
    assert_eq!(
        w.client.users().register(&again).await.unwrap().id,
        first.id
    );

    let other = w.register("bob@example.com", 1, "987-654-3211").await;
    assert_ne!(other, first.id);
    assert_eq!(w.user_count().await, 2);
}

#[tokio::test]
async fn register_reports_what_authy_found_invalid() {
    let w = World::start().await;
    // Plausible to the client, refused by Authy: no dot in the domain.
    let user = NewUser::new("ada@example", phone(1, "987-654-3210"));
    let err = api_error(w.client.users().register(&user).await, 400, "60027");
    assert_eq!(err.message, "User was not valid");
    assert_eq!(
        err.field_errors,
        [("email".to_owned(), "is invalid".to_owned())].into()
    );

    // Nine digits is no North American number.
    let user = NewUser::new("ada@example.com", phone(1, "987-654-321"));
    let err = api_error(w.client.users().register(&user).await, 400, "60027");
    assert_eq!(
        err.field_errors,
        [("cellphone".to_owned(), "is invalid".to_owned())].into()
    );
    assert_eq!(w.user_count().await, 0);
}

#[tokio::test]
async fn register_refuses_a_malformed_email_before_any_call() {
    let w = World::start().await;
    let before = api_calls(&w).await;
    let user = NewUser::new("ada.example.com", phone(1, "987-654-3210"));
    match w.client.users().register(&user).await {
        Err(AuthyError::InvalidInput(invalid)) => assert_eq!(invalid.field(), "email"),
        other => panic!("expected invalid input, got {other:?}"),
    }
    // Only the stats call itself reached the simulator.
    assert_eq!(api_calls(&w).await, before + 1);
    assert_eq!(w.user_count().await, 0);
}

#[tokio::test]
async fn status_masks_the_phone_and_becomes_confirmed_after_a_verify() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let status = w.client.users().status(id).await.unwrap();
    assert_eq!(status.authy_id, id);
    assert_eq!(status.phone_number.as_deref(), Some("XXX-XXX-3210"));
    assert_eq!(status.country_code, Some(1));
    assert_eq!(status.email.as_deref(), Some("ada@example.com"));
    assert!(!status.confirmed);
    // The virtual app is installed by default.
    assert!(status.registered);
    assert_eq!(status.devices, ["android"]);
    assert_eq!(status.detailed_devices.len(), 1);

    let token = w.soft_token(id).await;
    w.client.tokens().verify(id, &token, None).await.unwrap();
    assert!(w.client.users().status(id).await.unwrap().confirmed);
}

#[tokio::test]
async fn status_of_an_unknown_user_is_not_found() {
    let w = World::start().await;
    let err = api_error(w.client.users().status(AuthyId(42)).await, 404, "60026");
    assert_eq!(err.message, "User not found.");
    assert!(err.error.is_not_found());
}

#[tokio::test]
async fn remove_makes_the_user_unknown() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let ack = w.client.users().remove(id).await.unwrap();
    assert_eq!(ack.message, "User was added to remove.");
    api_error(w.client.users().status(id).await, 404, "60026");
    api_error(w.client.users().remove(id).await, 404, "60026");
}

#[tokio::test]
async fn register_activity_is_accepted_for_known_users_only() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let activity = Activity::new(ActivityType::PasswordReset).data("reset_by", "support");
    let users = w
        .client
        .users()
        .with_user_ip("203.0.113.7".parse().unwrap());
    let ack = users.register_activity(id, &activity).await.unwrap();
    assert_eq!(ack.message, "Activity was created.");

    let banned = Activity::new(ActivityType::Banned);
    api_error(
        users.register_activity(AuthyId(42), &banned).await,
        404,
        "60026",
    );
}

#[tokio::test]
async fn qr_code_links_to_the_users_authenticator_enrolment() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let options = QrCodeOptions::new().label("Ada at Example").qr_size(300);
    let qr = w.client.users().qr_code(id, &options).await.unwrap();
    assert!(qr.qr_code.starts_with(&w.base), "{}", qr.qr_code);

    // The link works and enrols the labelled account.
    let text = reqwest::get(&qr.qr_code)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.starts_with("otpauth://totp/"), "{text}");
    assert!(text.contains("Ada%20at%20Example"), "{text}");
    assert!(text.contains("secret="), "{text}");

    api_error(
        w.client.users().qr_code(AuthyId(42), &options).await,
        404,
        "60026",
    );
}

#[tokio::test]
async fn update_email_changes_the_address_authy_keeps() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let ack = w
        .client
        .users()
        .update_email(id, "ada@example.org")
        .await
        .unwrap();
    assert_eq!(ack.message, "User was updated successfully");
    let status = w.client.users().status(id).await.unwrap();
    assert_eq!(status.email.as_deref(), Some("ada@example.org"));

    let err = api_error(
        w.client.users().update_email(id, "ada@example").await,
        400,
        "60027",
    );
    assert_eq!(err.field_errors["email"], "is invalid");
    api_error(
        w.client
            .users()
            .update_email(AuthyId(42), "x@example.com")
            .await,
        404,
        "60026",
    );
    // A refused update changed nothing.
    let status = w.client.users().status(id).await.unwrap();
    assert_eq!(status.email.as_deref(), Some("ada@example.org"));

    let err = w.client.users().update_email(id, "nope").await.unwrap_err();
    assert!(matches!(err, AuthyError::InvalidInput(_)), "{err:?}");
}

#[tokio::test]
async fn registration_status_is_a_documented_not_found() {
    let w = World::start().await;
    // The JWT registration flow is not simulated: 60035 "not found".
    let err = api_error(
        w.client.users().registration_status("user-17").await,
        404,
        "60035",
    );
    assert!(err.error.is_not_found());
    let err = w.client.users().registration_status("").await.unwrap_err();
    assert!(matches!(err, AuthyError::InvalidInput(_)), "{err:?}");
}

#[tokio::test]
async fn register_sends_the_number_authy_keys_the_user_on() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 44, "7700 900123").await;
    let listed = w
        .phone(Method::GET, "users?country_code=44&phone_number=7700900123")
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["authy_id"], id.get());
    assert_eq!(listed[0]["email"], "ada@example.com");
}

#[tokio::test]
async fn a_simulator_under_a_path_prefix_is_reached_through_the_base_url() {
    let w = World::start_at(tower_authy::simulator::Simulator::builder(), "/simulator").await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    assert_eq!(w.client.users().status(id).await.unwrap().authy_id, id);
    // Links the simulator hands out keep the prefix.
    let qr = w
        .client
        .users()
        .qr_code(id, &QrCodeOptions::new())
        .await
        .unwrap();
    assert!(
        qr.qr_code.starts_with(&format!("{}/phone/qr/", w.base)),
        "{}",
        qr.qr_code
    );
    let response = reqwest::get(&qr.qr_code).await.unwrap();
    assert!(response.status().is_success());
}
