//! COUNT users waiting on a OneTouch approval at once (half long-polls, half
//! Server-Sent Events), all approved on the simulator: how soon each waiter
//! hears of its approval, that none is lost, and what a waiting challenge
//! costs the server in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{Notify, Semaphore};
use tower_authy::simulator::{CallbackMethod, Simulator};

use crate::{API_KEY, Served};

/// Requests in flight while users are set up.
const PARALLEL: usize = 128;
/// Phones approving at the same moment (each approval's callback and
/// wake-up queue behind the others' on the server's one thread).
const APPROVALS_AT_ONCE: usize = 32;

pub fn run(count: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let floor = held_requests(count).await;
        waiters(count, floor).await;
    });
}

/// The same number of requests held open by a server with no 2FA (half
/// long-polls, half event streams), in a server process of their own: the
/// floor under a waiting challenge (connection, task, HTTP buffers).
/// Returns KiB per held request.
async fn held_requests(count: usize) -> f64 {
    let served = Served::start("http://127.0.0.1:9/unused");
    let base = served.base.clone();
    let http = reqwest::Client::new();
    let idle_kib = served.rss_kib();
    let streaming = Arc::new(AtomicUsize::new(0));
    let all_streaming = Arc::new(Notify::new());
    let mut held = Vec::with_capacity(count);
    for index in 0..count {
        let (http, base) = (http.clone(), base.clone());
        let (streaming, all_streaming) = (streaming.clone(), all_streaming.clone());
        held.push(tokio::spawn(async move {
            if index % 2 == 0 {
                let answer = http.get(format!("{base}/bench/hold")).send().await;
                return answer.expect("held").status().as_u16();
            }
            let mut stream = http
                .get(format!("{base}/bench/hold/events"))
                .send()
                .await
                .expect("held");
            let mut text = String::new();
            while let Some(chunk) = stream.chunk().await.expect("an event") {
                text.push_str(&String::from_utf8_lossy(&chunk));
                if text.contains("data: waiting") && !text.contains("counted") {
                    text.push_str("counted");
                    if streaming.fetch_add(1, Ordering::SeqCst) + 1 == count / 2 {
                        all_streaming.notify_one();
                    }
                }
            }
            200
        }));
    }
    if streaming.load(Ordering::SeqCst) < count / 2 {
        all_streaming.notified().await;
    }
    let holding_kib = served.rss_kib();
    // The long-polls were sent first; a release now reaches them all or
    // the count below says otherwise.
    http.post(format!("{base}/bench/release"))
        .send()
        .await
        .expect("release");
    let mut released = 0;
    for task in held {
        if task.await.expect("a held request") == 200 {
            released += 1;
        }
    }
    let per = holding_kib.saturating_sub(idle_kib) as f64 / count as f64;
    println!(
        "floor: {released} of {count} requests held open by a server with no 2FA: \
         idle {idle_kib} KiB, holding {holding_kib} KiB: {per:.1} KiB per held request"
    );
    per
}

struct User {
    name: String,
    cookie: String,
}

async fn waiters(count: usize, floor_kib: f64) {
    // The provider: the simulator, here, told of the app once it is up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let simulator_base = format!("http://{}/simulator", listener.local_addr().expect("addr"));
    let served = Served::start(&simulator_base);
    let base = served.base.clone();
    let simulator = Simulator::builder()
        .with_api_key(API_KEY)
        .with_callback(format!("{base}/2fa/callback"), CallbackMethod::Post)
        .build();
    let router = axum::Router::new().nest("/simulator", simulator.router());
    tokio::spawn(async move { axum::serve(listener, router).await.expect("simulator") });

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let idle_kib = served.rss_kib();

    // Sign-up and sign-in of every user.
    let started = Instant::now();
    let users = Arc::new(Semaphore::new(PARALLEL));
    let mut setting_up = Vec::new();
    for index in 0..count {
        let (http, base, permit) = (http.clone(), base.clone(), users.clone());
        setting_up.push(tokio::spawn(async move {
            let _permit = permit.acquire_owned().await.expect("permit");
            let name = format!("u{index}");
            let form = [("username", name.as_str())];
            let enrolled = http
                .post(format!("{base}/bench/enroll"))
                .form(&form)
                .send()
                .await;
            assert_eq!(enrolled.expect("enroll").status(), 200, "enrolled");
            let login = http
                .post(format!("{base}/login"))
                .form(&form)
                .send()
                .await
                .expect("login");
            let cookie = cookie_of(&login).expect("a session");
            User { name, cookie }
        }));
    }
    let mut signed_in = Vec::with_capacity(count);
    for task in setting_up {
        signed_in.push(task.await.expect("a user"));
    }
    println!(
        "waiters: {count} users enrolled and signed in ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let users_kib = served.rss_kib();

    // Each pushes, then waits: even ones by long-poll, odd ones by SSE.
    let ready = Arc::new(AtomicUsize::new(0));
    let all_ready = Arc::new(Notify::new());
    let pushes = Arc::new(Semaphore::new(PARALLEL));
    let (uuids_tx, mut uuids_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut waiting = Vec::with_capacity(count);
    for (index, user) in signed_in.into_iter().enumerate() {
        let (http, base) = (http.clone(), base.clone());
        let (ready, all_ready, pushes, uuids) = (
            ready.clone(),
            all_ready.clone(),
            pushes.clone(),
            uuids_tx.clone(),
        );
        waiting.push(tokio::spawn(async move {
            let permit = pushes.acquire_owned().await.expect("permit");
            let pushed: Value = http
                .post(format!("{base}/2fa/onetouch"))
                .header("accept", "application/json")
                .header("origin", &base)
                .header("cookie", &user.cookie)
                .json(&serde_json::json!({}))
                .send()
                .await
                .expect("push")
                .json()
                .await
                .expect("JSON");
            let uuid = pushed["uuid"].as_str().expect("a uuid").to_owned();
            drop(permit);
            let on_ready = || {
                if ready.fetch_add(1, Ordering::SeqCst) + 1 == count {
                    all_ready.notify_one();
                }
            };
            let _ = uuids.send(uuid.clone());
            drop(uuids);
            let (status, at) = if index % 2 == 0 {
                long_poll(&http, &base, &user.cookie, on_ready).await
            } else {
                event_stream(&http, &base, &user.cookie, on_ready).await
            };
            (user.name, status, (uuid, at))
        }));
    }
    drop(uuids_tx);
    let mut uuids = Vec::with_capacity(count);
    while let Some(uuid) = uuids_rx.recv().await {
        uuids.push(uuid);
    }
    let notified = all_ready.notified();
    if ready.load(Ordering::SeqCst) < count {
        notified.await;
    }
    let waiting_kib = served.rss_kib();
    println!("waiters: {count} waiting (long-polls sent, event streams reported pending)");

    // Approve them all, as their phones would.
    let approving = Arc::new(Semaphore::new(APPROVALS_AT_ONCE));
    let mut approvals = Vec::with_capacity(count);
    for uuid in uuids {
        let (http, simulator_base, permit) =
            (http.clone(), simulator_base.clone(), approving.clone());
        approvals.push(tokio::spawn(async move {
            let _permit = permit.acquire_owned().await.expect("permit");
            let at = Instant::now();
            let url = format!("{simulator_base}/phone/api/approval_requests/{uuid}/approve");
            let answer = http
                .post(url)
                .header("accept", "application/json")
                .send()
                .await;
            let answer = answer.expect("approve");
            let status = answer.status();
            let body = answer.text().await.unwrap_or_default();
            assert_eq!(status, 200, "approved: {body}");
            (uuid, at)
        }));
    }
    let mut approved_at = std::collections::HashMap::new();
    for task in approvals {
        let (uuid, at) = task.await.expect("an approval");
        approved_at.insert(uuid, at);
    }
    let mut latencies = Vec::with_capacity(count);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for task in waiting {
        let (name, status, (uuid, at)) = task.await.expect("a waiter");
        *outcomes.entry(status).or_default() += 1;
        let approved = approved_at
            .get(&uuid)
            .unwrap_or_else(|| panic!("{name}'s approval"));
        latencies.push(at.saturating_duration_since(*approved));
    }
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!("waiters: outcomes {outcomes:?} of {count}");
    println!(
        "waiters: approval -> notified p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(pick(0.5)),
        ms(pick(0.99)),
        ms(pick(1.0))
    );
    let per_waiter = waiting_kib.saturating_sub(users_kib) as f64 / count as f64;
    println!(
        "waiters: server memory: idle {idle_kib} KiB, with {count} users {users_kib} KiB, \
         with all waiting {waiting_kib} KiB: {per_waiter:.1} KiB per waiting challenge, \
         {:.1} KiB above a held request's floor ({floor_kib:.1}); {:.1} KiB per user with its challenge",
        per_waiter - floor_kib,
        (waiting_kib.saturating_sub(idle_kib)) as f64 / count as f64,
    );
    let complete = outcomes.get("complete").copied().unwrap_or(0)
        + outcomes.get("approved").copied().unwrap_or(0);
    assert_eq!(complete, count, "every waiter was notified of its approval");
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn cookie_of(response: &reqwest::Response) -> Option<String> {
    let set = response.headers().get("set-cookie")?.to_str().ok()?;
    Some(set.split(';').next()?.to_owned())
}

/// `GET /2fa/status?wait=25` until the answer is final (a wait that runs
/// out answers `pending`: ask again). Returns the final status and when it
/// came.
async fn long_poll(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    on_ready: impl FnOnce(),
) -> (String, Instant) {
    let mut on_ready = Some(on_ready);
    loop {
        let request = http
            .get(format!("{base}/2fa/status?wait=25"))
            .header("accept", "application/json")
            .header("cookie", cookie)
            .send();
        // Sent: the server holds it until the outcome.
        if let Some(ready) = on_ready.take() {
            ready();
        }
        let body: Value = request.await.expect("status").json().await.expect("JSON");
        let status = body["status"].as_str().unwrap_or("?").to_owned();
        if status != "pending" {
            return (status, Instant::now());
        }
    }
}

/// `GET /2fa/events` until its final event.
async fn event_stream(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    on_ready: impl FnOnce(),
) -> (String, Instant) {
    let mut on_ready = Some(on_ready);
    let mut stream = http
        .get(format!("{base}/2fa/events"))
        .header("accept", "text/event-stream")
        .header("cookie", cookie)
        .send()
        .await
        .expect("events");
    let mut text = String::new();
    while let Some(chunk) = stream.chunk().await.expect("an event") {
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue; // a keep-alive comment
            };
            let data: Value = serde_json::from_str(data).expect("JSON data");
            match data["status"].as_str().unwrap_or("?") {
                "pending" => {
                    if let Some(ready) = on_ready.take() {
                        ready();
                    }
                }
                status => return (status.to_owned(), Instant::now()),
            }
        }
    }
    ("stream ended".into(), Instant::now())
}
