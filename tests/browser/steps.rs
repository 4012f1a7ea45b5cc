//! The steps a user takes, shared by the scenarios.

use fantoccini::Locator;

use crate::harness::{Browser, PATIENCE, Result, eventually};

pub(crate) const PASSWORD: &str = "correct horse 42";

/// Creates an account; leaves the browser on the challenge that confirms it.
pub(crate) async fn register(b: &Browser, name: &str) -> Result {
    b.open("/register").await?;
    b.fill("username", name).await?;
    b.fill("password", PASSWORD).await?;
    b.fill("email", &format!("{name}@example.com")).await?;
    b.fill("country_code", "1").await?;
    b.fill("phone_number", "201-555-0123").await?;
    b.submit("/register").await?;
    b.wait_for_path("/2fa").await
}

pub(crate) async fn log_in(b: &Browser, name: &str) -> Result {
    b.open("/login").await?;
    b.fill("username", name).await?;
    b.fill("password", PASSWORD).await?;
    b.submit("/login").await
}

/// Signs out; the sign-in page says it happened.
pub(crate) async fn log_out(b: &Browser) -> Result {
    b.submit("/logout").await?;
    b.wait_for_path("/login").await?;
    b.wait_for_text("You are signed out").await?;
    Ok(())
}

/// Waits for the protected page and checks whom it greets; returns the
/// greeting.
pub(crate) async fn on_protected_page(b: &Browser, name: &str) -> Result<String> {
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
pub(crate) async fn answer_on_phone(b: &Browser, answer: &str) -> Result {
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
pub(crate) async fn keep_backup_codes(b: &Browser) -> Result<Vec<String>> {
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
pub(crate) async fn app_code(b: &Browser) -> Result<String> {
    let users = b.phone_api("users").await?;
    let id = users[0]["authy_id"]
        .as_u64()
        .ok_or("no user on the phone")?;
    let token = b.phone_api(&format!("users/{id}/token")).await?;
    Ok(token["token"].as_str().ok_or("no token")?.to_owned())
}

/// Types a code into the page's code form and sends it, with "remember this
/// device" ticked or not.
pub(crate) async fn enter_code(b: &Browser, code: &str, remember: bool) -> Result {
    b.fill("token", code).await?;
    if remember {
        let tick = b.find("input[name=\"remember\"]").await?;
        tick.click().await?;
        assert!(tick.is_selected().await?, "the box is ticked");
    }
    b.click("form:has(input[name=\"token\"]) button").await
}

/// A code of the right shape that is not `code`.
pub(crate) fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_digit((d + 5) % 10, 10).unwrap_or('0'),
            None => c,
        })
        .collect()
}

/// An authenticator app's code for `secret` (base32, as the setup page
/// shows it) at `unix_secs`: what the app on the user's phone computes.
pub(crate) fn authenticator_code(secret: &str, unix_secs: u64) -> Result<String> {
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

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The code in the phone page's newest `sms` row, once it shows up.
pub(crate) async fn newest_text_message(b: &Browser) -> Result<String> {
    newest_message(b, "sms").await
}

/// The code in the phone page's newest row of `channel`.
pub(crate) async fn newest_message(b: &Browser, channel: &str) -> Result<String> {
    // Both simulators' phone pages list messages as table rows, the
    // channel in a cell and the code in the last.
    let rows = format!("//tr[td[normalize-space()='{channel}']]/td[last()]");
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

/// The labels of the factors the settings page lists (none awaiting a
/// code), once it shows them.
pub(crate) async fn listed_factors(b: &Browser) -> Result<Vec<String>> {
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

/// On the Verify quickstart: registers `name` and confirms the phone with
/// the code texted to the virtual phone; leaves the browser on the
/// protected page, the backup codes kept.
pub(crate) async fn confirm_verify_phone(b: &Browser, name: &str) -> Result {
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
pub(crate) async fn register_without_phone(b: &Browser, name: &str) -> Result {
    b.open("/register").await?;
    b.fill("username", name).await?;
    b.fill("password", PASSWORD).await?;
    b.submit("/register").await?;
    b.wait_for_path("/2fa/enroll").await
}

/// Types `name` for the passkey and clicks "Add a passkey"; the browser's
/// virtual authenticator answers.
pub(crate) async fn add_passkey(b: &Browser, name: &str) -> Result {
    let label = b.find("#passkey-label").await?;
    label.clear().await?;
    label.send_keys(name).await?;
    b.find_shown("#passkey-button", PATIENCE).await?;
    b.click("#passkey-button").await
}
