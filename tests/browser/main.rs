//! The quickstart app in real headless Chromium (Debian's `chromium` and
//! `chromium-driver`), driven through chromedriver: what an end user clicks,
//! with the simulator's virtual phone in a second tab.
//!
//! ```text
//! cargo test --all-features --test browser
//! ```
//!
//! Each test serves its own app (in process, port 0) and starts its own
//! chromedriver and browser; both are shut down at the end. A failing test
//! leaves `target/tmp/browser/<test>/failure.png` and `chromedriver.log`.
//!
//! Elements are found by the ids, form `action`s and input `name`s the
//! templates keep; text is only matched for what the user is told.

// The tests serve the simulator and the local flavours; the real-Authy half
// of the app is built by `main.rs` only.
#[allow(dead_code)]
#[path = "../../examples/quickstart/app.rs"]
mod app;
mod harness;

use fantoccini::Locator;
use harness::{Browser, Js, PATIENCE, Result, eventually, run, run_on, serve_quickstart};

const PASSWORD: &str = "correct horse 42";

/// Creates an account; leaves the browser on the challenge that confirms it.
async fn register(b: &Browser, name: &str) -> Result {
    b.open("/register").await?;
    b.fill("username", name).await?;
    b.fill("password", PASSWORD).await?;
    b.fill("email", &format!("{name}@example.com")).await?;
    b.fill("country_code", "1").await?;
    b.fill("phone_number", "201-555-0123").await?;
    b.submit("/register").await?;
    b.wait_for_path("/2fa").await
}

async fn log_in(b: &Browser, name: &str) -> Result {
    b.open("/login").await?;
    b.fill("username", name).await?;
    b.fill("password", PASSWORD).await?;
    b.submit("/login").await
}

/// Signs out; the sign-in page says it happened.
async fn log_out(b: &Browser) -> Result {
    b.submit("/logout").await?;
    b.wait_for_path("/login").await?;
    b.wait_for_text("You are signed out").await?;
    Ok(())
}

/// Waits for the protected page and checks whom it greets; returns the
/// greeting.
async fn on_protected_page(b: &Browser, name: &str) -> Result<String> {
    b.wait_for_path("/protected").await?;
    let welcome = b.find("#welcome").await?.text().await?;
    assert!(
        welcome.contains(name),
        "the protected page greets {name}: {welcome:?}"
    );
    Ok(welcome)
}

/// On the virtual phone, in a tab of its own, answers the pending OneTouch
/// request (`"approve"` or `"deny"`); then comes back to the tab it left.
async fn answer_on_phone(b: &Browser, answer: &str) -> Result {
    let challenge = b.open_tab("/simulator/phone").await?;
    // The phone page refreshes itself until the request shows up.
    let button = format!("form[action$=\"/{answer}\"] button");
    b.click(&button).await?;
    // The page comes back once the app was told, without the request.
    eventually("the request to leave the phone", PATIENCE, || async {
        let left = b.client.find_all(Locator::Css(&button)).await?;
        Ok(left.is_empty().then_some(()))
    })
    .await?;
    b.switch_to(&challenge).await
}

/// The first factor confirmed comes with backup codes: ten are listed,
/// once; "continue" goes on to where the user was going.
async fn keep_backup_codes(b: &Browser) -> Result<Vec<String>> {
    b.find_shown("#backup-codes", PATIENCE).await?;
    let mut codes = Vec::new();
    for code in b
        .client
        .find_all(Locator::Css("#backup-codes code"))
        .await?
    {
        codes.push(code.text().await?);
    }
    assert_eq!(codes.len(), 10, "ten backup codes: {codes:?}");
    b.click("#continue").await?;
    Ok(codes)
}

/// The virtual Authy app's current code, as its screen shows it.
async fn app_code(b: &Browser) -> Result<String> {
    let users = b.phone_api("users").await?;
    let id = users[0]["authy_id"]
        .as_u64()
        .ok_or("no user on the phone")?;
    let token = b.phone_api(&format!("users/{id}/token")).await?;
    Ok(token["token"].as_str().ok_or("no token")?.to_owned())
}

/// Types a code into the page's code form and sends it, with "remember this
/// device" ticked or not.
async fn enter_code(b: &Browser, code: &str, remember: bool) -> Result {
    b.fill("token", code).await?;
    if remember {
        let tick = b.find("input[name=\"remember\"]").await?;
        tick.click().await?;
        assert!(tick.is_selected().await?, "the box is ticked");
    }
    b.click("form:has(input[name=\"token\"]) button").await
}

/// A code of the right shape that is not `code`.
fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_digit((d + 5) % 10, 10).unwrap_or('0'),
            None => c,
        })
        .collect()
}

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
        b.screenshot("challenge.png").await?;
        answer_on_phone(&b, "approve").await?;
        // No reload, no click here: the page learns it from the server.
        b.find_shown("#backup-codes", PATIENCE).await?;
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

        b.switch_to(&phone).await?;
        // The phone page refreshes itself until the message shows up.
        let code = eventually("the text message on the phone", PATIENCE, || async {
            let cells = b
                .client
                .find_all(Locator::XPath(
                    "//tr[td[normalize-space()='sms']]/td[last()]",
                ))
                .await?;
            match cells.first() {
                Some(cell) => Ok(Some(cell.text().await?.trim().to_owned())),
                None => Ok(None),
            }
        })
        .await?;
        assert!(
            !code.is_empty() && code.chars().all(|c| c.is_ascii_digit()),
            "a code: {code:?}"
        );

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

/// An authenticator app's code for `secret` (base32, as the setup page
/// shows it) at `unix_secs`: what the app on the user's phone computes.
fn authenticator_code(secret: &str, unix_secs: u64) -> Result<String> {
    use hmac::{Hmac, KeyInit, Mac};
    let compact: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
    let seed = data_encoding::BASE32_NOPAD.decode(compact.as_bytes())?;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&seed)?;
    mac.update(&(unix_secs / 30).to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let at = usize::from(hash[19] & 0x0f);
    let value = u32::from_be_bytes([hash[at] & 0x7f, hash[at + 1], hash[at + 2], hash[at + 3]]);
    Ok(format!("{:06}", value % 1_000_000))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

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

/// The code in the phone page's newest `sms` row, once it shows up.
async fn newest_text_message(b: &Browser) -> Result<String> {
    newest_message(b, "sms").await
}

/// The code in the Verify phone page's newest row of `channel`.
async fn newest_message(b: &Browser, channel: &str) -> Result<String> {
    let rows =
        format!("//section[@id='messages']//tr[td[normalize-space()='{channel}']]/td[last()]");
    // The phone page refreshes itself until the message shows up.
    let code = eventually("the message on the phone", PATIENCE, || async {
        let cells = b.client.find_all(Locator::XPath(&rows)).await?;
        match cells.first() {
            Some(cell) => Ok(Some(cell.text().await?.trim().to_owned())),
            None => Ok(None),
        }
    })
    .await?;
    assert!(
        !code.is_empty() && code.chars().all(|c| c.is_ascii_digit()),
        "a code: {code:?}"
    );
    Ok(code)
}

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

/// The labels of the factors the settings page lists (none awaiting a
/// code), once it shows them.
async fn listed_factors(b: &Browser) -> Result<Vec<String>> {
    b.find_shown("#factors", PATIENCE).await?;
    assert!(
        b.client
            .find_all(Locator::Css("#awaiting"))
            .await?
            .is_empty(),
        "nothing left waiting"
    );
    let mut labels = Vec::new();
    for label in b
        .client
        .find_all(Locator::Css("#factors li strong"))
        .await?
    {
        labels.push(label.text().await?);
    }
    Ok(labels)
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

/// On the Verify quickstart: registers `name` and confirms the phone with
/// the code texted to the virtual phone; leaves the browser on the
/// protected page, the backup codes kept.
async fn confirm_verify_phone(b: &Browser, name: &str) -> Result {
    register(b, name).await?;
    b.submit("/2fa/sms").await?;
    b.wait_for_text("text message").await?;
    let signing_in = b.open_tab("/simulator/phone").await?;
    let code = newest_text_message(b).await?;
    b.switch_to(&signing_in).await?;
    enter_code(b, &code, false).await?;
    keep_backup_codes(b).await?;
    on_protected_page(b, name).await?;
    Ok(())
}

/// On the quickstart without a vendor: creates an account (no phone asked
/// for); leaves the browser on the settings page.
async fn register_without_phone(b: &Browser, name: &str) -> Result {
    b.open("/register").await?;
    b.fill("username", name).await?;
    b.fill("password", PASSWORD).await?;
    b.submit("/register").await?;
    b.wait_for_path("/2fa/enroll").await
}

/// Types `name` for the passkey and clicks "Add a passkey"; the browser's
/// virtual authenticator answers.
async fn add_passkey(b: &Browser, name: &str) -> Result {
    let label = b.find("#passkey-label").await?;
    label.clear().await?;
    label.send_keys(name).await?;
    b.find_shown("#passkey-button", PATIENCE).await?;
    b.click("#passkey-button").await
}

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

/// The quickstart's own forms (sign-up, sign-in) refuse a POST that does
/// not show it comes from the site, by the crate's rule
/// (`tower_authy::origin::require_same_origin`): its copy of the rule let
/// a POST with neither `Origin` nor `Sec-Fetch-Site` through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_forms_refuse_posts_not_shown_same_origin() {
    let base = serve_quickstart(app::Provider::Local).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let host = base.trim_start_matches("http://").to_owned();
    let form = [("username", "kim"), ("password", PASSWORD)];
    for path in ["/login", "/register"] {
        let post = |headers: &[(&'static str, String)]| {
            let mut request = http.post(format!("{base}{path}")).form(&form);
            for (name, value) in headers {
                request = request.header(*name, value.clone());
            }
            request.send()
        };
        let status = |response: reqwest::Response| response.status().as_u16();
        assert_eq!(status(post(&[]).await.unwrap()), 403, "{path}: no evidence");
        assert_eq!(
            status(
                post(&[("origin", "http://evil.example".into())])
                    .await
                    .unwrap()
            ),
            403,
            "{path}: another origin"
        );
        assert_eq!(
            status(
                post(&[("sec-fetch-site", "cross-site".into())])
                    .await
                    .unwrap()
            ),
            403,
            "{path}: a cross-site fetch"
        );
        assert_ne!(
            status(post(&[("origin", format!("http://{host}"))]).await.unwrap()),
            403,
            "{path}: this site"
        );
    }
}

/// The quickstart's sign-in keeps where the layer was taking the browser
/// (`/login?next=`) and hands it to the challenge, escaped on its page;
/// its copy ignored it and always went to `/protected`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_sign_in_keeps_next() {
    let base = serve_quickstart(app::Provider::Local).await;
    let browser = || {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap()
    };
    let registering = browser();
    let registered = registering
        .post(format!("{base}/register"))
        .header("origin", &base)
        .form(&[("username", "lou"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 303);

    let http = browser();
    let page = http
        .get(format!("{base}/login?next=%2Fprofile%3Ftab%3D1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("name=\"next\" value=\"/profile?tab=1\""),
        "{page}"
    );
    let hostile = http
        .get(format!("{base}/login?next=%22%3E%3Cscript%3E"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!hostile.contains("\"><script>"), "escaped: {hostile}");
    let signed_in = http
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[
            ("username", "lou"),
            ("password", PASSWORD),
            ("next", "/profile?tab=1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(
        signed_in.headers()["location"],
        "/2fa?next=%2Fprofile%3Ftab%3D1"
    );
}
