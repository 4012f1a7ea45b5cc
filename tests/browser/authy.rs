//! Scenarios on Authy (the quickstart's default, with its simulator):
//! OneTouch, codes by text, remembered devices, no JavaScript.

use crate::harness::{Js, PATIENCE, eventually, run};
use crate::steps::*;

/// Scenario 1: register, then approve the push on the phone in a second tab;
/// the waiting challenge page shows the first backup codes by itself (no
/// reload), then goes on to the protected page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_on_the_phone_opens_the_protected_page_without_a_reload() {
    run("approve", Js::On, |b| async move {
        register(&b, "alice").await?;
        let status = b.find_shown("#onetouch-status", PATIENCE).await?;
        assert!(
            !status.text().await?.trim().is_empty(),
            "the challenge tells what to do on the phone"
        );
        b.screenshot_for_docs("challenge-onetouch.png").await?;
        answer_on_phone(&b, "approve").await?;
        // No reload, no click here: the page learns it from the server.
        b.find_shown("#backup-codes", PATIENCE).await?;
        b.screenshot_for_docs("backup-codes.png").await?;
        assert_eq!(b.client.current_url().await?.path(), "/2fa", "in the page");
        keep_backup_codes(&b).await?;
        let welcome = on_protected_page(&b, "alice").await?;
        assert!(welcome.contains("approval on your phone"), "{welcome:?}");
        Ok(())
    })
    .await;
}

/// Scenario 2: a later sign-in denied on the phone: the page says so and
/// offers the other ways at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denying_on_the_phone_says_so_and_offers_the_fallbacks() {
    run("deny", Js::On, |b| async move {
        register(&b, "bob").await?;
        answer_on_phone(&b, "approve").await?;
        keep_backup_codes(&b).await?;
        on_protected_page(&b, "bob").await?;
        log_out(&b).await?;
        log_in(&b, "bob").await?;
        b.wait_for_path("/2fa").await?;
        b.find_shown("#onetouch-status", PATIENCE).await?;
        answer_on_phone(&b, "deny").await?;
        let status = eventually("the denial", PATIENCE, || async {
            let text = b.find("#onetouch-status").await?.text().await?;
            Ok(text.to_lowercase().contains("denied").then_some(text))
        })
        .await?;
        assert!(!status.is_empty());
        // Told together with the denial, not after the policy's delay.
        assert!(b.shown("input[name=\"token\"]").await?, "the code form");
        assert!(b.shown("form[action=\"/2fa/sms\"] button").await?);
        assert!(b.shown("form[action=\"/2fa/call\"] button").await?);
        assert_eq!(b.client.current_url().await?.path(), "/2fa");

        // "Text me a code" after the denial: an SMS arrives, and the page
        // that comes back sends no new push (the phone does not buzz).
        let users = b.phone_api("users").await?;
        let id = users[0]["authy_id"].as_u64().ok_or("no user")?;
        let pushes_path = format!("users/{id}/approval_requests");
        let before = b
            .phone_api(&pushes_path)
            .await?
            .as_array()
            .map_or(0, Vec::len);
        b.submit("/2fa/sms").await?;
        b.wait_for_text("text message").await?;
        let texts = eventually("the text message", PATIENCE, || async {
            let messages = b.phone_api(&format!("users/{id}/messages")).await?;
            let sms = messages
                .as_array()
                .map_or(0, |m| m.iter().filter(|m| m["channel"] == "sms").count());
            Ok((sms > 0).then_some(sms))
        })
        .await?;
        assert_eq!(texts, 1);
        // The page's script shows the wait before it sends a push, as it
        // runs on load: not shown, no push was started.
        b.find("#token").await?;
        assert!(
            !b.shown("#onetouch-wait").await?,
            "the page is not waiting on a new push"
        );
        let after = b
            .phone_api(&pushes_path)
            .await?
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(after, before, "no new push after the SMS");
        Ok(())
    })
    .await;
}

/// Scenario 3: a phone without the Authy app: at sign-in, "text me a code",
/// read it on the virtual phone, type it in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_by_text_message_from_the_phone_signs_in() {
    run("sms", Js::On, |b| async move {
        register(&b, "carol").await?;
        answer_on_phone(&b, "approve").await?;
        keep_backup_codes(&b).await?;
        on_protected_page(&b, "carol").await?;
        log_out(&b).await?;

        let signing_in = b.open_tab("/simulator/phone").await?;
        let phone = b.client.window().await?;
        // The app's uninstall form carries `_method=DELETE`.
        b.click("form[action$=\"/app\"]:has(input[name=\"_method\"]) button")
            .await?;
        b.find("form[action$=\"/app\"]:not(:has(input[name=\"_method\"]))")
            .await?;

        b.switch_to(&signing_in).await?;
        log_in(&b, "carol").await?;
        b.wait_for_path("/2fa").await?;
        // No app to push to: the fallbacks at once, on first sight.
        b.find("form[action=\"/2fa/sms\"] button").await?;
        assert!(b.shown("form[action=\"/2fa/sms\"] button").await?);
        b.submit("/2fa/sms").await?;
        b.wait_for_text("text message").await?;
        b.screenshot_for_docs("challenge-code.png").await?;

        b.switch_to(&phone).await?;
        let code = newest_text_message(&b).await?;
        b.screenshot_for_docs("virtual-phone.png").await?;

        b.switch_to(&signing_in).await?;
        enter_code(&b, &code, false).await?;
        let welcome = on_protected_page(&b, "carol").await?;
        assert!(welcome.contains("second factor: a code"), "{welcome:?}");
        Ok(())
    })
    .await;
}

/// Scenario 4: "Try another way" at once: while the push waits on the
/// phone, the code form, "Text me a code" and "Call me" are already there
/// (before, the page held them back for 10 s, though an app user always has
/// a code). A wrong code is refused with a message, the right one passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_another_way_is_offered_at_once_beside_the_push() {
    run("another-way", Js::On, |b| async move {
        register(&b, "dave").await?;
        // The push is out and waiting…
        b.find_shown("#onetouch-wait", PATIENCE).await?;
        // …and the other ways are shown beside it, with no wait.
        let heading = b.find("#other-ways-title").await?;
        assert_eq!(heading.text().await?.trim(), "Try another way");
        for way in [
            "input[name=\"token\"]",
            "form[action=\"/2fa/sms\"] button",
            "form[action=\"/2fa/call\"] button",
        ] {
            assert!(b.shown(way).await?, "{way} is shown while the push waits");
        }
        assert!(b.shown("#onetouch-wait").await?, "the push still waits");
        let code = app_code(&b).await?;
        enter_code(&b, &wrong(&code), false).await?;
        b.wait_for_text("code is not right").await?;
        assert_eq!(b.client.current_url().await?.path(), "/2fa");

        enter_code(&b, &app_code(&b).await?, false).await?;
        keep_backup_codes(&b).await?;
        on_protected_page(&b, "dave").await?;
        Ok(())
    })
    .await;
}

/// Scenario 5: "remember this device" at the code: the next sign-in skips
/// the challenge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_device_skips_the_challenge_next_time() {
    run("remember", Js::On, |b| async move {
        register(&b, "erin").await?;
        b.find_shown("input[name=\"token\"]", PATIENCE).await?;
        enter_code(&b, &app_code(&b).await?, true).await?;
        keep_backup_codes(&b).await?;
        on_protected_page(&b, "erin").await?;
        log_out(&b).await?;

        log_in(&b, "erin").await?;
        let welcome = on_protected_page(&b, "erin").await?;
        assert!(welcome.contains("remembered device"), "{welcome:?}");
        Ok(())
    })
    .await;
}

/// Scenario 6: JavaScript off: the challenge shows the code form at once,
/// sends no push, and the code signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_path_works_without_javascript() {
    run("no-js", Js::Off, |b| async move {
        register(&b, "frank").await?;
        // Nothing hides the code form.
        b.find("input[name=\"token\"]").await?;
        assert!(b.shown("input[name=\"token\"]").await?, "the code form");
        // The push button is there for those who want one.
        assert!(b.shown("form[action=\"/2fa/onetouch\"] button").await?);

        enter_code(&b, &app_code(&b).await?, false).await?;
        keep_backup_codes(&b).await?;
        let welcome = on_protected_page(&b, "frank").await?;
        assert!(welcome.contains("second factor: a code"), "{welcome:?}");
        // The page's script never ran: no push reached the phone all along.
        let users = b.phone_api("users").await?;
        let id = users[0]["authy_id"]
            .as_u64()
            .ok_or("no user on the phone")?;
        let requests = b
            .phone_api(&format!("users/{id}/approval_requests"))
            .await?;
        assert_eq!(requests, serde_json::json!([]), "a push without script");
        Ok(())
    })
    .await;
}
