//! Scenarios with no vendor: an authenticator app and backup codes.

use fantoccini::Locator;

use crate::app;
use crate::harness::{Browser, Js, PATIENCE, Result, run_on};
use crate::steps::*;

/// Scenario 8: no vendor at all (`TWO_FACTOR_PROVIDER=local`): register
/// without a phone, add an authenticator app by reading the key off the
/// setup page, confirm it with a code the test computes, keep the backup
/// codes; then sign in with the app, and once more with a backup code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticator_app_and_a_backup_code_sign_in_with_no_vendor() {
    run_on("local", Js::On, app::Provider::Local, local_scenario).await;
}

/// Scenario 9: the same without JavaScript: every step is a plain form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authenticator_app_path_works_without_javascript() {
    run_on("local-no-js", Js::Off, app::Provider::Local, local_scenario).await;
}

async fn local_scenario(b: Browser) -> Result {
    b.open("/register").await?;
    assert!(
        b.client
            .find_all(Locator::Css("input[name=\"phone_number\"]"))
            .await?
            .is_empty(),
        "no phone is asked for"
    );
    b.fill("username", "gina").await?;
    b.fill("password", PASSWORD).await?;
    b.submit("/register").await?;
    b.wait_for_path("/2fa/enroll").await?;
    b.submit("/2fa/totp").await?;
    let secret = b.find("#secret").await?.text().await?;
    b.find("#qr").await?;
    b.screenshot_for_docs("authenticator-app.png").await?;
    b.fill("code", &authenticator_code(&secret, unix_now())?)
        .await?;
    b.submit("/2fa/totp/confirm").await?;
    // The answer is a new page: wait for it before reading it.
    b.find_shown("#backup-codes", PATIENCE).await?;
    let codes = b
        .client
        .find_all(Locator::Css("#backup-codes code"))
        .await?;
    assert_eq!(codes.len(), 10, "ten backup codes, shown once");
    let backup = codes[0].text().await?;
    b.click("#continue").await?;
    on_protected_page(&b, "gina").await?;
    log_out(&b).await?;

    log_in(&b, "gina").await?;
    b.wait_for_path("/2fa").await?;
    // The next time step: the confirming code never passes again.
    enter_code(&b, &authenticator_code(&secret, unix_now() + 30)?, false).await?;
    let welcome = on_protected_page(&b, "gina").await?;
    assert!(welcome.contains("second factor: a code"), "{welcome:?}");
    log_out(&b).await?;

    log_in(&b, "gina").await?;
    b.wait_for_path("/2fa").await?;
    b.click("#backup summary").await?;
    b.fill("code", &backup).await?;
    b.submit("/2fa/backup").await?;
    let welcome = on_protected_page(&b, "gina").await?;
    assert!(welcome.contains("backup code"), "{welcome:?}");
    Ok(())
}
