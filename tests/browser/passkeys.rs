//! Scenarios with passkeys: Chromium's virtual authenticator.

use crate::app;
use crate::harness::{Js, PATIENCE, run_on};
use crate::steps::*;

/// Scenario on passkeys (no vendor: `TWO_FACTOR_PROVIDER=local`): with a
/// virtual authenticator in Chromium, register, add a passkey from the
/// settings page as the first factor, keep the backup codes; sign out,
/// sign in, and pass the challenge with the passkey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_added_on_the_settings_page_signs_in() {
    run_on("passkey", Js::On, app::Provider::Local, |b| async move {
        let b = b.by_name();
        b.add_virtual_authenticator().await?;
        register_without_phone(&b, "ivy").await?;
        add_passkey(&b, "Test key").await?;
        keep_backup_codes(&b).await?;
        on_protected_page(&b, "ivy").await?;
        b.open("/settings").await?;
        assert_eq!(listed_factors(&b).await?, ["Test key"]);
        b.open("/protected").await?;
        log_out(&b).await?;

        log_in(&b, "ivy").await?;
        b.wait_for_path("/2fa").await?;
        // The strongest way first, the others beside it.
        b.find_shown("#passkey-button", PATIENCE).await?;
        b.find_shown("#backup", PATIENCE).await?;
        b.click("#passkey-button").await?;
        let welcome = on_protected_page(&b, "ivy").await?;
        assert!(welcome.contains("passkey"), "{welcome:?}");
        Ok(())
    })
    .await;
}

/// Scenario: the passkey's authenticator is gone (a lost key); the
/// challenge offers the authenticator app at once, and its code signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_authenticator_the_user_falls_back_to_a_code() {
    run_on(
        "passkey-fallback",
        Js::On,
        app::Provider::Local,
        |b| async move {
            let b = b.by_name();
            let authenticator = b.add_virtual_authenticator().await?;
            register_without_phone(&b, "jay").await?;
            b.submit("/2fa/totp").await?;
            let secret = b.find("#secret").await?.text().await?;
            let at = unix_now();
            b.fill("code", &authenticator_code(&secret, at)?).await?;
            b.submit("/2fa/totp/confirm").await?;
            keep_backup_codes(&b).await?;
            on_protected_page(&b, "jay").await?;
            b.open("/settings").await?;
            add_passkey(&b, "Lost key").await?;
            b.wait_for_path("/2fa/enroll").await?;
            assert_eq!(listed_factors(&b).await?, ["Authenticator app", "Lost key"]);
            b.open("/protected").await?;
            log_out(&b).await?;

            b.remove_virtual_authenticator(&authenticator).await?;
            log_in(&b, "jay").await?;
            b.wait_for_path("/2fa").await?;
            b.find_shown("#passkey-button", PATIENCE).await?;
            b.click("#passkey-button").await?;
            b.wait_for_text("Follow your browser's steps").await?;
            // No key answers; the code form is there at once.
            enter_code(&b, &authenticator_code(&secret, at + 30)?, false).await?;
            let welcome = on_protected_page(&b, "jay").await?;
            assert!(welcome.contains("second factor: a code"), "{welcome:?}");
            Ok(())
        },
    )
    .await;
}
