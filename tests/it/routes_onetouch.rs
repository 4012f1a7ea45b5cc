//! OneTouch through a whole application: the push, the long-poll and the
//! event stream, callback and polling modes, and the ways around them that
//! must not work.

use crate::app::FirstFactor;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::ACCEPT;
use serde_json::{Value, json};
use tower_authy::config::{Policy, StatusMode};
use tower_authy::store::{ApprovalStatus, FactorState, UserId};

use crate::app::{TestApp, location};

/// A long-poll that returns well before this was woken by the outcome, not
/// by its wait running out.
const WOKEN_WITHIN: Duration = Duration::from_secs(15);

fn policy() -> Policy {
    Policy::builder()
        .with_onetouch_detail("Location", "Test bench")
        .build()
        .unwrap()
}

fn polling() -> Policy {
    Policy::builder()
        .with_status_mode(StatusMode::Polling {
            every: Duration::from_secs(1),
        })
        .build()
        .unwrap()
}

/// Pushes for the signed-in API client; returns the answer.
async fn push(app: &TestApp, http: &reqwest::Client) -> (u16, Value) {
    let answer = http
        .post(app.url("/2fa/onetouch"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

/// Pushes and returns the uuid, which must be new and pending.
async fn pushed(app: &TestApp, http: &reqwest::Client) -> String {
    let (status, body) = push(app, http).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending", "{body}");
    body["uuid"].as_str().unwrap().to_owned()
}

async fn status(app: &TestApp, http: &reqwest::Client, query: &str) -> (u16, Value) {
    let answer = http
        .get(app.url(&format!("/2fa/status{query}")))
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

async fn me(app: &TestApp, http: &reqwest::Client) -> u16 {
    app.status(http, "/api/me").await.as_u16()
}

async fn requests(app: &TestApp, authy_id: u64) -> Vec<Value> {
    app.phone(&format!("users/{authy_id}/approval_requests"))
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// Starts `/status?wait=25` in the background.
fn long_poll(
    app: &TestApp,
    http: &reqwest::Client,
) -> tokio::task::JoinHandle<(u16, Value, Duration)> {
    let url = app.url("/2fa/status?wait=25");
    let http = http.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let answer = http.get(url).send().await.unwrap();
        let code = answer.status().as_u16();
        (code, answer.json().await.unwrap(), started.elapsed())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_wakes_the_long_poll_and_completes_the_session() {
    let app = TestApp::start(policy()).await;
    let authy_id = app.enroll("alice", FactorState::Pending).await;
    let api = app.api();
    app.sign_in(&api, "alice").await;
    assert_eq!(me(&app, &api).await, 401);

    let uuid = pushed(&app, &api).await;
    let on_phone = requests(&app, authy_id).await;
    assert_eq!(on_phone.len(), 1);
    let request = &on_phone[0];
    assert_eq!(request["uuid"], uuid.as_str());
    assert_eq!(request["message"], "Sign-in request");
    assert_eq!(request["details"]["Username"], "alice", "{request}");
    assert_eq!(request["details"]["Location"], "Test bench", "{request}");

    let waiting = long_poll(&app, &api);
    app.answer(&uuid, "approve").await;
    let (code, body, took) = waiting.await.unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "complete", "{body}");
    assert_eq!(body["method"], "one_touch");
    assert_eq!(body["redirect"], "/");
    assert!(took < WOKEN_WITHIN, "the long-poll waited {took:?}");
    assert_eq!(me(&app, &api).await, 200);
    let enrollment = app
        .store
        .first_factor(&UserId::new("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        enrollment.state,
        FactorState::Active,
        "a first approval confirms the enrollment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_approval_returns_to_the_page_first_asked_for() {
    let app = TestApp::start(policy()).await;
    let authy_id = app.enroll("alice", FactorState::Active).await;
    let browser = app.browser();
    app.sign_in(&browser, "alice").await;
    let first = browser.get(app.url("/protected")).send().await.unwrap();
    assert_eq!(location(&first), "/2fa?next=%2Fprotected");
    let page = app.text(&browser, &location(&first)).await;
    assert!(page.contains("id=\"onetouch\""), "{page}");
    assert!(page.contains("new EventSource"), "{page}");
    assert!(
        page.contains("id=\"other-ways\"") && page.contains("name=\"token\""),
        "the other ways beside the push: {page}"
    );
    assert!(page.contains("2fa/status\">I approved it"), "{page}");

    let sent = browser
        .post(app.url("/2fa/onetouch"))
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    assert_eq!(location(&sent), "/2fa?notice=onetouch_sent");
    let uuid = requests(&app, authy_id).await[0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let pending = browser.get(app.url("/2fa/status")).send().await.unwrap();
    assert_eq!(location(&pending), "/2fa?notice=onetouch_pending");

    app.answer(&uuid, "approve").await;
    let done = browser.get(app.url("/2fa/status")).send().await.unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), "/protected");
    let protected = browser.get(app.url("/protected")).send().await.unwrap();
    assert_eq!(protected.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_is_answered_and_the_fallbacks_still_work() {
    let app = TestApp::start(policy()).await;
    let authy_id = app.enroll("alice", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "alice").await;
    let uuid = pushed(&app, &api).await;
    let waiting = long_poll(&app, &api);
    app.answer(&uuid, "deny").await;
    let (code, body, took) = waiting.await.unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "denied", "{body}");
    assert!(took < WOKEN_WITHIN, "the long-poll waited {took:?}");
    assert_eq!(me(&app, &api).await, 401, "a denial does not pass");
    let (code, body) = status(&app, &api, "").await;
    assert_eq!(code, 404, "the denied request is over: {body}");
    assert_eq!(body["error"], "no_approval_request");

    let token = app.soft_token(authy_id).await;
    let passed = api
        .post(app.url("/2fa/token"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(passed.status(), 200);
    assert_eq!(me(&app, &api).await, 200);

    // A browser is sent back to the challenge with the reason.
    let bob_id = app.enroll("bob", FactorState::Active).await;
    let browser = app.browser();
    app.sign_in(&browser, "bob").await;
    let sent = browser.post(app.url("/2fa/onetouch")).send().await.unwrap();
    assert_eq!(sent.status(), 303);
    let uuid = requests(&app, bob_id).await[0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    app.answer(&uuid, "deny").await;
    let denied = browser.get(app.url("/2fa/status")).send().await.unwrap();
    assert_eq!(location(&denied), "/2fa?error=denied");
    let page = app.text(&browser, "/2fa?error=denied").await;
    assert!(page.contains("denied on your phone"), "{page}");
    assert!(
        page.contains("data-autostart=\"no\""),
        "no new push right after a denial: {page}"
    );
    assert!(page.contains("2fa/token\""), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_ran_out_of_time_is_answered_expired() {
    // Polling mode: the provider's clock moves past the time to live, and
    // the poll records the expiry.
    let app = TestApp::start_without_callbacks(polling()).await;
    app.enroll("alice", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "alice").await;
    pushed(&app, &api).await;
    app.sim.advance_clock(Duration::from_secs(121));
    let (code, body) = status(&app, &api, "").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "expired", "{body}");
    assert_eq!(me(&app, &api).await, 401);

    // Callback mode: the store reads the request as expired.
    let app = TestApp::start(policy()).await;
    app.enroll("bob", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "bob").await;
    let uuid = pushed(&app, &api).await;
    app.store
        .complete_approval(&uuid, ApprovalStatus::Expired, SystemTime::now())
        .await
        .unwrap();
    let (_, body) = status(&app, &api, "?wait=25").await;
    assert_eq!(body["status"], "expired", "{body}");
    assert_eq!(me(&app, &api).await, 401);
}

/// Reads `/2fa/events`, approving on the phone once it reports pending;
/// returns everything the stream said until it ended.
async fn stream_until_approved(app: &TestApp, http: &reqwest::Client, uuid: &str) -> String {
    app.stream_events(http, async {
        app.answer(uuid, "approve").await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_reports_pending_then_approved() {
    let app = TestApp::start(policy()).await;
    app.enroll("alice", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "alice").await;
    let uuid = pushed(&app, &api).await;
    let seen = stream_until_approved(&app, &api, &uuid).await;
    assert!(seen.contains("event: status"), "{seen}");
    assert!(seen.contains("\"status\":\"approved\""), "{seen}");
    assert!(seen.contains("\"finish\":\"/2fa/status\""), "{seen}");
    assert_eq!(
        me(&app, &api).await,
        401,
        "the stream itself does not sign in"
    );
    let (_, body) = status(&app, &api, "").await;
    assert_eq!(body["status"], "complete", "{body}");
    assert_eq!(me(&app, &api).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_mode_completes_without_callbacks() {
    let app = TestApp::start_without_callbacks(polling()).await;
    app.enroll("alice", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "alice").await;
    let uuid = pushed(&app, &api).await;
    let waiting = long_poll(&app, &api);
    let answered = app.answer(&uuid, "approve").await;
    assert_eq!(answered["callback"], Value::Null, "no callback was sent");
    let (code, body, took) = waiting.await.unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "complete", "{body}");
    assert!(took < WOKEN_WITHIN, "the long-poll waited {took:?}");
    assert_eq!(me(&app, &api).await, 200);
    let record = app
        .store
        .approval(&uuid, SystemTime::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.status,
        ApprovalStatus::Approved,
        "the poll recorded it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_mode_event_stream_reports_the_approval() {
    let app = TestApp::start_without_callbacks(polling()).await;
    app.enroll("alice", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "alice").await;
    let uuid = pushed(&app, &api).await;
    let seen = stream_until_approved(&app, &api, &uuid).await;
    assert!(seen.contains("\"status\":\"approved\""), "{seen}");
    let (_, body) = status(&app, &api, "").await;
    assert_eq!(body["status"], "complete", "{body}");
    assert_eq!(me(&app, &api).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sessions_approval_does_not_complete_this_one() {
    let app = TestApp::start(policy()).await;
    app.enroll("alice", FactorState::Active).await;
    app.enroll("mallory", FactorState::Active).await;
    let victim = app.api();
    app.sign_in(&victim, "alice").await;
    let attacker = app.api();
    app.sign_in(&attacker, "alice").await;
    let theirs = pushed(&app, &victim).await;
    let mine = pushed(&app, &attacker).await;
    assert_ne!(theirs, mine, "each session has its own request");
    app.answer(&theirs, "approve").await;

    let (_, body) = status(&app, &attacker, &format!("?uuid={theirs}")).await;
    assert_eq!(
        body["status"], "pending",
        "the session's own request: {body}"
    );
    let events = attacker
        .get(app.url(&format!("/2fa/events?uuid={theirs}")))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    assert_eq!(me(&app, &attacker).await, 401);

    // A session with no request of its own, of the same or another user.
    for user in ["alice", "mallory"] {
        let other = app.api();
        app.sign_in(&other, user).await;
        let (code, body) = status(&app, &other, &format!("?uuid={theirs}")).await;
        assert_eq!(code, 404, "{user}: {body}");
        assert_eq!(body["error"], "no_approval_request");
        assert_eq!(me(&app, &other).await, 401);
    }

    let (_, body) = status(&app, &victim, "").await;
    assert_eq!(body["status"], "complete", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_the_app_is_told_to_use_another_way() {
    let app = TestApp::start(policy()).await;
    let authy_id = app.enroll("alice", FactorState::Active).await;
    let removed = reqwest::Client::new()
        .delete(app.url(&format!("/simulator/phone/api/users/{authy_id}/app")))
        .send()
        .await
        .unwrap();
    assert!(removed.status().is_success());
    let api = app.api();
    app.sign_in(&api, "alice").await;
    let challenge: Value = api
        .get(app.url("/2fa"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(challenge["channels"]["onetouch"], false, "{challenge}");
    assert_eq!(
        challenge["ways"],
        serde_json::json!(["code", "sms", "call"]),
        "without the app, the code comes first"
    );

    let (code, body) = push(&app, &api).await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error"], "not_possible");
    assert!(body["message"].as_str().unwrap().contains("app"), "{body}");
    let browser = app.browser();
    app.sign_in(&browser, "alice").await;
    let sent = browser.post(app.url("/2fa/onetouch")).send().await.unwrap();
    assert_eq!(location(&sent), "/2fa?error=not_possible");
    assert!(requests(&app, authy_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_from_another_site_is_refused() {
    let app = TestApp::start(policy()).await;
    let authy_id = app.enroll("alice", FactorState::Active).await;
    // Neither Origin nor Sec-Fetch-Site: only the CSRF token can vouch.
    let bare = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    app.sign_in(&bare, "alice").await;
    let refused = bare
        .post(app.url("/2fa/onetouch"))
        .header(ACCEPT, "application/json")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "cross_site"
    );
    let cross = bare
        .post(app.url("/2fa/onetouch"))
        .header(ACCEPT, "application/json")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert!(requests(&app, authy_id).await.is_empty(), "nothing pushed");

    let challenge: Value = bare
        .get(app.url("/2fa"))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let with_token = bare
        .post(app.url("/2fa/onetouch"))
        .header(ACCEPT, "application/json")
        .json(&json!({"csrf": challenge["csrf"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 200, "the session's token vouches");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_events_before_any_push_have_nothing_to_report() {
    let app = TestApp::start(policy()).await;
    app.enroll("alice", FactorState::Active).await;
    let api = app.api();
    let (code, body) = status(&app, &api, "").await;
    assert_eq!(
        (code, body["error"].as_str()),
        (401, Some("login_required"))
    );
    app.sign_in(&api, "alice").await;
    let (code, body) = status(&app, &api, "?wait=1").await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(body["error"], "no_approval_request");
    let events = api
        .get(app.url("/2fa/events"))
        .header(ACCEPT, "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 404, "an error, not a redirect to a page");
    assert_eq!(
        events.json::<Value>().await.unwrap()["error"],
        "no_approval_request"
    );
    let (code, body) = status(&app, &api, "?wait=soon").await;
    assert_eq!((code, body["error"].as_str()), (400, Some("invalid_input")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_reuses_the_push_and_pushes_are_rate_limited() {
    let policy = Policy::builder()
        .with_send_limit(1, Duration::from_secs(600), Duration::from_secs(600))
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    let authy_id = app.enroll("alice", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "alice").await;
    let first = pushed(&app, &api).await;
    let again = pushed(&app, &api).await;
    assert_eq!(first, again, "a pending push is reused");
    assert_eq!(requests(&app, authy_id).await.len(), 1);

    app.answer(&first, "deny").await;
    let (_, body) = status(&app, &api, "").await;
    assert_eq!(body["status"], "denied");
    let (code, body) = push(&app, &api).await;
    assert_eq!(code, 429, "{body}");
    assert_eq!(
        body["error"], "too_many_pushes",
        "the refusal names what was limited"
    );
    assert_eq!(requests(&app, authy_id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onetouch_turned_off_is_not_offered_and_refused() {
    let policy = Policy::builder().with_onetouch(false).build().unwrap();
    let app = TestApp::start(policy).await;
    app.enroll("alice", FactorState::Active).await;
    let browser = app.browser();
    app.sign_in(&browser, "alice").await;
    let page = app.text(&browser, "/2fa").await;
    assert!(!page.contains("<script"), "{page}");
    assert!(
        page.contains("name=\"token\"") && !page.contains("id=\"onetouch\""),
        "the code first: {page}"
    );
    let api = app.api();
    app.sign_in(&api, "alice").await;
    let (code, body) = push(&app, &api).await;
    assert_eq!(code, 403, "{body}");
    assert_eq!(body["error"], "channel_off");
}

/// The phone shows who asks: the user, the requester's address and
/// browser, the time and the application, so its owner can tell their own
/// sign-in from a stale or a foreign one. A policy detail cannot pass for
/// one of these.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_push_shows_who_asks_from_where_and_when() {
    let policy = Policy::builder()
        .with_app_name("Acme")
        .with_onetouch_detail("Browser", "Trust me")
        .with_onetouch_detail("Location", "Test bench")
        .build()
        .unwrap();
    let app = TestApp::start(policy).await;
    let authy_id = app.enroll("alice", FactorState::Active).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ACCEPT, "application/json".parse().unwrap());
    headers.insert(reqwest::header::ORIGIN, app.base.parse().unwrap());
    let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
    let api = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .user_agent(chrome)
        .build()
        .unwrap();
    app.sign_in(&api, "alice").await;
    pushed(&app, &api).await;
    let request = &requests(&app, authy_id).await[0];
    let details = &request["details"];
    assert_eq!(details["Username"], "alice", "{request}");
    assert_eq!(details["IP address"], "127.0.0.1", "{request}");
    assert_eq!(details["Browser"], "Chrome on Linux", "{request}");
    assert_eq!(details["App"], "Acme", "{request}");
    assert_eq!(details["Location"], "Test bench", "{request}");
    let time = details["Time"].as_str().unwrap();
    assert!(
        time.len() == "2026-12-02 05:30 UTC".len() && time.ends_with(" UTC"),
        "{time}"
    );
}

/// A push is sent by the page at most once per challenge: after a denial
/// and "Text me a code", the page that comes back does not push again (the
/// phone does not buzz, the send limit is not spent), the SMS arrives, and
/// a new push is sent only when the user asks. A reload while a push waits
/// follows that push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_pushes_once_per_challenge() {
    let app = TestApp::start(policy()).await;
    let authy_id = app.enroll("alice", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "alice").await;
    assert_eq!(
        autostart(&app, &api, "").await,
        true,
        "a new challenge pushes"
    );
    let uuid = pushed(&app, &api).await;
    assert_eq!(
        autostart(&app, &api, "").await,
        true,
        "a reload follows the push still waiting (and sends none)"
    );
    app.answer(&uuid, "deny").await;
    let (_, body) = status(&app, &api, "").await;
    assert_eq!(body["status"], "denied");

    let sms = app.post_json(&api, "/2fa/sms", json!({})).await;
    assert_eq!(sms.status(), 200);
    for query in ["?notice=sms_sent", ""] {
        assert_eq!(
            autostart(&app, &api, query).await,
            false,
            "{query:?}: no new push by itself"
        );
    }
    assert_eq!(
        requests(&app, authy_id).await.len(),
        1,
        "the phone buzzed once"
    );
    let messages = app.phone(&format!("users/{authy_id}/messages")).await;
    assert_eq!(messages.as_array().unwrap().len(), 1, "the SMS arrived");

    // Asked for, a new push goes out.
    let again = pushed(&app, &api).await;
    assert_ne!(again, uuid);
    assert_eq!(requests(&app, authy_id).await.len(), 2);
}

/// Whether the challenge page would push by itself.
async fn autostart(app: &TestApp, api: &reqwest::Client, query: &str) -> Value {
    app.get_json(api, &format!("/2fa{query}")).await["autostart"].clone()
}
