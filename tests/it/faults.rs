//! Faults survived (issue 14): a record the store cannot read back fails
//! that user closed — a clear 503, nothing passes — while everybody else
//! signs in as before.

use std::sync::Arc;

use serde_json::{Value, json};
use tower_authy::config::Policy;
use tower_authy::store::{FactorState, SqliteStore};

use crate::app::TestApp;

async fn sqlite(name: &str) -> SqliteStore {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("faults-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::connect(&format!("sqlite:{}", dir.join("store.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_record_fails_its_user_closed_and_no_one_else() {
    let store = sqlite("corrupt").await;
    let pool = store.pool().clone();
    let app = TestApp::start_on(Policy::default(), Arc::new(store)).await;
    let ana_id = app.enroll("ana", FactorState::Active).await;
    let ben_id = app.enroll("ben", FactorState::Active).await;
    // Ana's factor no longer reads back: a kind no version of the crate wrote.
    let changed =
        sqlx::query("UPDATE tower_authy_factors SET kind = 'bogus' WHERE user_id = 'ana'")
            .execute(&pool)
            .await
            .unwrap();
    assert_eq!(changed.rows_affected(), 1);

    let ana = app.api();
    app.sign_in(&ana, "ana").await;
    let (status, body) = answer(app.get(&ana, "/2fa").await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("storage_unavailable")),
        "{body}"
    );
    // Even Ana's right code (her Authy app's current one) passes nothing.
    let right = app.soft_token(ana_id).await;
    for (path, form) in [
        ("/2fa/sms", json!({})),
        ("/2fa/token", json!({"token": right})),
        ("/2fa/onetouch", json!({})),
    ] {
        let (status, body) = answer(app.post_json(&ana, path, form).await).await;
        assert_eq!(status, 503, "{path}: {body}");
        assert_eq!(body["error"], "storage_unavailable", "{path}: {body}");
    }
    assert_eq!(app.status(&ana, "/api/me").await, 401, "nothing passes");

    let ben = app.api();
    app.sign_in(&ben, "ben").await;
    let (status, body) = answer(app.post_json(&ben, "/2fa/sms", json!({})).await).await;
    assert_eq!(status, 200, "{body}");
    let code = app.last_code(ben_id).await;
    let (status, body) = answer(
        app.post_json(&ben, "/2fa/token", json!({"token": code}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("complete")),
        "{body}"
    );
    assert_eq!(app.status(&ben, "/api/me").await, 200);
}

/// A write that meets SQLite's write lock held by someone else (another
/// process, a long migration) waits for it instead of failing, and
/// completes once it is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_database_is_waited_for_not_failed() {
    use sqlx::{Connection, Executor};
    let store = sqlite("locked").await;
    let file = store.pool().connect_options().get_filename().to_owned();
    let app = TestApp::start_on(Policy::default(), Arc::new(store)).await;
    let authy_id = app.enroll("cy", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "cy").await;
    let (status, _) = answer(app.post_json(&api, "/2fa/sms", json!({})).await).await;
    assert_eq!(status, 200);
    let code = app.last_code(authy_id).await;

    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite:{}", file.display()))
        .await
        .unwrap();
    other.execute("BEGIN IMMEDIATE").await.unwrap();
    let checking = {
        let (app, api) = (app.url("/2fa/token"), api.clone());
        tokio::spawn(async move { api.post(app).json(&json!({"token": code})).send().await })
    };
    // The check counts the attempt first, a write: it cannot finish while
    // the lock is held (it would be a pass without a count).
    let early = tokio::time::timeout(std::time::Duration::from_millis(300), async {
        while !checking.is_finished() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(early.is_err(), "the code was checked without counting it");
    other.execute("ROLLBACK").await.unwrap();
    let (status, body) = answer(checking.await.unwrap().unwrap()).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("complete")),
        "{body}"
    );
}

/// The provider answers one user's SMS request only after the client gave
/// up: that user gets a clear 503 when the client's timeout runs out, and
/// meanwhile another user's whole OneTouch sign-in goes through (the call
/// holds no store lock and no shared worker).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_provider_holds_up_only_its_own_request() {
    let app = Arc::new(
        TestApp::start_with_client_timeout(Policy::default(), std::time::Duration::from_secs(5))
            .await,
    );
    app.enroll("dee", FactorState::Active).await;
    let eve_id = app.enroll("eve", FactorState::Active).await;
    app.stall.stall();

    let dee = app.api();
    app.sign_in(&dee, "dee").await;
    let arrived = app.stall.arrived.notified();
    let slow = {
        let (app, dee) = (app.clone(), dee.clone());
        tokio::spawn(async move { answer(app.post_json(&dee, "/2fa/sms", json!({})).await).await })
    };
    arrived.await;

    // Dee's SMS is stuck at the provider: Eve signs in all the same.
    let eve = app.api();
    app.sign_in(&eve, "eve").await;
    let (status, pushed) = answer(app.post_json(&eve, "/2fa/onetouch", json!({})).await).await;
    assert_eq!(status, 200, "{pushed}");
    let requests = app
        .phone(&format!("users/{eve_id}/approval_requests"))
        .await;
    let uuid = requests[0]["uuid"].as_str().unwrap().to_owned();
    app.answer(&uuid, "approve").await;
    let (status, body) = answer(app.get(&eve, "/2fa/status?wait=10").await).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("complete")),
        "{body}"
    );
    assert_eq!(app.status(&eve, "/api/me").await, 200);
    // All of it while Dee's call was still waiting (a call that held a lock
    // Eve needs would have kept her waiting for its whole timeout).
    assert!(
        !slow.is_finished(),
        "Eve was served only after Dee's call ended"
    );

    // Dee's request ends with the client's timeout, clearly, passing nothing.
    let (status, body) = slow.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "provider_unavailable", "{body}");
    assert_eq!(app.status(&dee, "/api/me").await, 401);
    app.stall.release();
}

/// PostgreSQL goes away with a challenge pending, browsers on one instance
/// and the provider's callbacks on another: meanwhile the routes answer a
/// clear 503 and nothing passes; once it is back (no restart of either
/// instance) the challenge completes, and the waiting browser is woken by
/// the other instance's notification (the LISTEN connection came back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_fails_closed_and_its_return_completes_the_challenge() {
    use tower_authy::store::PostgresStore;
    let server = crate::postgres_server::Stoppable::start("faults").await;
    // The application's own pool, which gives up on a connection after 2 s
    // (the store's own waits 10 s): the outage's answers come sooner.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(std::time::Duration::from_secs(2))
        .connect(&server.url)
        .await
        .unwrap();
    let store = PostgresStore::with_pool(pool).await.unwrap();
    store.migrate().await.unwrap();
    let store = Arc::new(store);
    let hooks = TestApp::start_on(Policy::default(), store.clone()).await;
    let browsers = TestApp::start_beside(&hooks, Policy::default(), store).await;
    let authy_id = browsers.enroll("gus", FactorState::Active).await;
    let gus = browsers.api();
    browsers.sign_in(&gus, "gus").await;
    let (status, pushed) = answer(browsers.post_json(&gus, "/2fa/onetouch", json!({})).await).await;
    assert_eq!(status, 200, "{pushed}");

    server.crash().await;
    let (status, body) = answer(browsers.get(&gus, "/2fa/status").await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("storage_unavailable")),
        "{body}"
    );
    // Even his right code (his Authy app's current one) passes nothing.
    let right = hooks.soft_token(authy_id).await;
    let (status, body) = answer(
        browsers
            .post_json(&gus, "/2fa/token", json!({"token": right}))
            .await,
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        browsers.status(&gus, "/api/me").await,
        401,
        "nothing passes"
    );

    server.resume().await;
    let waiting = {
        let (url, gus) = (browsers.url("/2fa/status?wait=25"), gus.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let response = gus.get(url).send().await.unwrap();
            (answer(response).await, started.elapsed())
        })
    };
    // The phone approves; the callback reaches the other instance.
    let requests = hooks
        .phone(&format!("users/{authy_id}/approval_requests"))
        .await;
    let uuid = requests[0]["uuid"].as_str().unwrap().to_owned();
    let delivered = hooks.answer(&uuid, "approve").await;
    assert_eq!(delivered["callback"]["status"], 200, "{delivered}");
    let ((status, body), took) = waiting.await.unwrap();
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("complete")),
        "{body}"
    );
    assert!(
        took < std::time::Duration::from_secs(15),
        "woken by the notification, not by the end of its wait: {took:?}"
    );
    assert_eq!(browsers.status(&gus, "/api/me").await, 200);
}
