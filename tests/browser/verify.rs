//! Scenarios on Twilio Verify (its in-process simulator).

use crate::app;
use crate::harness::{Js, PATIENCE, run_on};
use crate::steps::*;

/// Scenario on Twilio Verify (the quickstart with `TWO_FACTOR_PROVIDER=verify`
/// and its in-process Verify simulator): register a phone, confirm it with
/// the code texted to the virtual phone, sign out, sign in again with a new
/// code; a wrong code is refused on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_text_message_confirms_the_phone_and_signs_in() {
    run_on(
        "verify-sms",
        Js::On,
        app::Provider::VerifySimulator,
        |b| async move {
            register(&b, "erin").await?;
            b.find("form[action=\"/2fa/sms\"] button").await?;
            b.submit("/2fa/sms").await?;
            b.wait_for_text("text message").await?;
            let signing_in = b.open_tab("/simulator/phone").await?;
            let code = newest_text_message(&b).await?;
            b.switch_to(&signing_in).await?;
            enter_code(&b, &wrong(&code), false).await?;
            b.wait_for_text("code is not right").await?;
            enter_code(&b, &code, false).await?;
            keep_backup_codes(&b).await?;
            on_protected_page(&b, "erin").await?;
            log_out(&b).await?;

            log_in(&b, "erin").await?;
            b.wait_for_path("/2fa").await?;
            b.submit("/2fa/sms").await?;
            b.wait_for_text("text message").await?;
            let signing_in = b.open_tab("/simulator/phone").await?;
            let second = newest_text_message(&b).await?;
            assert_ne!(second, code, "a new verification, a new code");
            b.switch_to(&signing_in).await?;
            enter_code(&b, &second, false).await?;
            let welcome = on_protected_page(&b, "erin").await?;
            assert!(welcome.contains("second factor: a code"), "{welcome:?}");
            Ok(())
        },
    )
    .await;
}

/// Scenario on Verify push: a user with a confirmed phone pairs the virtual
/// phone (as the application's mobile app registers with Twilio's SDK);
/// next sign-in, the challenge starts with the push, approved on the phone,
/// and the waiting page goes on by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_push_approved_on_the_phone_signs_in() {
    run_on(
        "verify-push",
        Js::On,
        app::Provider::VerifySimulator,
        |b| async move {
            confirm_verify_phone(&b, "frank").await?;
            b.submit("/pair-phone").await?;
            b.wait_for_path("/protected").await?;
            log_out(&b).await?;

            log_in(&b, "frank").await?;
            b.wait_for_path("/2fa").await?;
            // The strongest way first: the push waits, the codes beside it.
            b.find_shown("#onetouch-wait", PATIENCE).await?;
            answer_on_phone(&b, "approve").await?;
            let welcome = on_protected_page(&b, "frank").await?;
            assert!(
                welcome.contains("approval on your phone"),
                "a push, reported by the signed webhook: {welcome:?}"
            );
            Ok(())
        },
    )
    .await;
}

/// Scenario on Verify: the settings page adds an e-mail address (its code
/// read off the virtual phone's message list) and an authenticator app
/// whose seed Twilio keeps (its key read off the setup page, its codes
/// computed here); next sign-in passes with the app's code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_settings_add_an_email_and_a_verify_app() {
    run_on(
        "verify-settings",
        Js::On,
        app::Provider::VerifySimulator,
        |b| async move {
            confirm_verify_phone(&b, "hugo").await?;

            b.open("/settings").await?;
            b.click("#add-contact summary").await?;
            b.click("#contact-kind option[value=\"verify_email\"]")
                .await?;
            b.fill("address", "hugo@example.com").await?;
            b.submit("/2fa/contact").await?;
            b.wait_for_text("on its way by e-mail").await?;
            let confirming = b.open_tab("/simulator/phone").await?;
            let emailed = newest_message(&b, "email").await?;
            b.switch_to(&confirming).await?;
            b.fill("code", &emailed).await?;
            b.click("#contact-confirm-form button").await?;
            b.wait_for_path("/2fa/enroll").await?;
            assert_eq!(
                listed_factors(&b).await?,
                ["Phone ending in 23", "E-mail to h…@example.com"]
            );

            b.click("#add-verify-totp summary").await?;
            b.click("#verify-totp-start button").await?;
            let secret = b.find("#secret").await?.text().await?;
            b.find("#qr").await?;
            let at = unix_now();
            b.fill("code", &authenticator_code(&secret, at)?).await?;
            b.submit("/2fa/totp/confirm").await?;
            b.wait_for_path("/2fa/enroll").await?;
            let listed = listed_factors(&b).await?;
            assert_eq!(listed.len(), 3, "{listed:?}");
            assert_eq!(listed[2], "Authenticator app", "{listed:?}");
            b.open("/protected").await?;
            log_out(&b).await?;

            log_in(&b, "hugo").await?;
            b.wait_for_path("/2fa").await?;
            // The next step: the confirming code never passes twice.
            enter_code(&b, &authenticator_code(&secret, at + 30)?, false).await?;
            let welcome = on_protected_page(&b, "hugo").await?;
            assert!(welcome.contains("second factor: a code"), "{welcome:?}");
            Ok(())
        },
    )
    .await;
}
