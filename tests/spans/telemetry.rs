//! The operator's view (`tower_authy::telemetry`): passes, refusals, sends
//! and webhook refusals counted through the `metrics` facade, each also a
//! `tracing` event with a stable field, and none carrying a code.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use metrics::{
    Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use serde_json::json;
use tower_authy::config::Policy;
use tower_authy::store::FactorState;

use crate::Captured;
use crate::app::TestApp;

/// Every counter this process registered, by name and labels.
#[derive(Default)]
struct Counts(Mutex<BTreeMap<String, Arc<Count>>>);

#[derive(Default)]
struct Count(AtomicU64);

impl CounterFn for Count {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }

    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::SeqCst);
    }
}

fn name(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for &'static Counts {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let count = self.0.lock().unwrap().entry(name(key)).or_default().clone();
        Counter::from_arc(count)
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn counts() -> &'static Counts {
    static COUNTS: OnceLock<&'static Counts> = OnceLock::new();
    COUNTS.get_or_init(|| {
        let counts: &'static Counts = Box::leak(Box::default());
        metrics::set_global_recorder(counts).expect("the only recorder");
        counts
    })
}

fn count(of: &str) -> u64 {
    counts()
        .0
        .lock()
        .unwrap()
        .get(of)
        .map_or(0, |c| c.0.load(Ordering::SeqCst))
}

#[tokio::test]
async fn passes_refusals_sends_and_webhook_refusals_are_counted_and_traced() {
    counts();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("tower_authy::telemetry=info")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // A current-thread runtime: the app's tasks run under this guard too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::start(Policy::default()).await;
    let authy_id = app.enroll("tia", FactorState::Active).await;
    let api = app.api();
    app.sign_in(&api, "tia").await;

    let wrong = app
        .post_json(&api, "/2fa/token", json!({"token": "0000000"}))
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(count("tower_authy_refusals_total{reason=code_rejected}"), 1);

    let sent = app.post_json(&api, "/2fa/sms", json!({})).await;
    assert_eq!(sent.status(), 200);
    assert_eq!(count("tower_authy_sends_total{channel=sms}"), 1);

    let code = app.last_code(authy_id).await;
    let passed = app
        .post_json(&api, "/2fa/token", json!({"token": code}))
        .await;
    assert_eq!(passed.status(), 200);
    assert_eq!(count("tower_authy_passes_total{method=code}"), 1);

    let forged = reqwest::Client::new()
        .post(app.url("/2fa/callback"))
        .header(
            "x-authy-signature",
            "bm90IGEgc2lnbmF0dXJlIG9mIHRoaXMgYm9keSEhISE=",
        )
        .header("x-authy-signature-nonce", "1764000000")
        .json(&json!({"uuid": "u", "status": "approved", "authy_id": authy_id.to_string()}))
        .send()
        .await
        .unwrap();
    assert!(forged.status().is_client_error(), "{}", forged.status());
    assert_eq!(
        count("tower_authy_webhook_refusals_total{provider=authy,reason=bad_signature}"),
        1
    );

    let traced = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for line in [
        "reason=\"code_rejected\"",
        "channel=\"sms\"",
        "method=\"code\"",
        "provider=\"authy\" reason=\"bad_signature\"",
    ] {
        assert!(traced.contains(line), "{line} in:\n{traced}");
    }
    assert!(!traced.contains(&code), "no code in the events:\n{traced}");
}
