//! Fidelity: Authy's own official client, the Python package `authy` 2.2.6,
//! works against the simulator unchanged, and accepts its callback signatures.
//!
//! The test installs the package into a throwaway virtual environment under
//! Cargo's target directory (once per machine) and drives
//! `tests/fidelity/authy_python.py` against a simulator on a loopback port.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::{Mutex, mpsc};
use tower_authy::simulator::{CallbackMethod, Simulator};

use crate::common::{python_venv, run, serve};

const PACKAGE: &str = "authy==2.2.6";

/// One callback as the receiver saw it.
#[derive(Debug)]
struct Delivery {
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A loopback endpoint that hands every request it gets to the test.
async fn callback_receiver() -> (String, mpsc::UnboundedReceiver<Delivery>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = |State(tx): State<mpsc::UnboundedSender<Delivery>>,
                   method: Method,
                   OriginalUri(uri): OriginalUri,
                   headers: HeaderMap,
                   body: Bytes| async move {
        let _ = tx.send(Delivery {
            method,
            uri: uri.to_string(),
            headers,
            body,
        });
        "ok"
    };
    let router = Router::new()
        .route("/authy/callback", axum::routing::any(handler))
        .with_state(tx);
    let addr = serve(router).await;
    (format!("http://{addr}/authy/callback"), rx)
}

/// The virtual environment's interpreter with Authy's package.
async fn python() -> PathBuf {
    python_venv("authy-python-2.2.6", PACKAGE).await
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity/authy_python.py")
}

/// Runs the library's own `validate_one_touch_signature` on a captured callback.
async fn python_validates(key: &str, callback_url: &str, delivery: &Delivery) {
    let header = |name: &str| {
        delivery
            .headers
            .get(name)
            .unwrap_or_else(|| panic!("callback without {name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let params: Value = if delivery.method == Method::POST {
        serde_json::from_slice(&delivery.body).expect("POST callbacks carry JSON")
    } else {
        let query = delivery.uri.split_once('?').map(|(_, q)| q).unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    };
    let input = json!({
        "key": key,
        "signature": header("x-authy-signature"),
        "nonce": header("x-authy-signature-nonce"),
        "method": delivery.method.as_str(),
        "url": callback_url,
        "params": params,
    });
    let mut child = Command::new(python().await)
        .arg(script())
        .arg("validate")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "authy 2.2.6 refused the simulator's signature:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_authy_client_works_unchanged_and_accepts_post_callbacks() {
    let (callback_url, mut deliveries) = callback_receiver().await;
    let sim = Simulator::builder()
        .with_callback(callback_url.clone(), CallbackMethod::Post)
        .build();
    let key = sim.api_key().expose_for_display().to_owned();
    let addr = serve(sim.router()).await;

    let python = python().await;
    let output = run(Command::new(&python)
        .arg(script())
        .arg("api")
        .env("SIM_URL", format!("http://{addr}"))
        .env("SIM_KEY", &key))
    .await;
    assert!(output.contains("passed, 0 failed"), "{output}");

    // The script approved one request; the simulator delivered its callback
    // before answering the approval, so it is already here.
    let delivery = deliveries.try_recv().expect("the approval sent a callback");
    assert_eq!(delivery.method, Method::POST);
    python_validates(&key, &callback_url, &delivery).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_authy_accepts_get_callbacks() {
    let (callback_url, mut deliveries) = callback_receiver().await;
    let sim = Simulator::builder()
        .with_callback(callback_url.clone(), CallbackMethod::Get)
        .build();
    let key = sim.api_key().expose_for_display().to_owned();
    let base = format!("http://{}", serve(sim.router()).await);
    let http = reqwest::Client::new();
    let user: Value = http
        .post(format!("{base}/protected/json/users/new"))
        .header("X-Authy-API-Key", &key)
        .form(&[
            ("user[email]", "carol@example.com"),
            ("user[cellphone]", "555-444-3333"),
            ("user[country_code]", "44"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = user["user"]["id"].as_u64().expect("user id");
    let created: Value = http
        .post(format!("{base}/onetouch/json/users/{id}/approval_requests"))
        .header("X-Authy-API-Key", &key)
        .form(&[
            ("message", "Approve transfer?"),
            ("details[amount]", "10 BTC"),
            ("hidden_details[txn]", "TR-42"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uuid = created["approval_request"]["uuid"].as_str().expect("uuid");
    let denied = http
        .post(format!("{base}/phone/api/approval_requests/{uuid}/deny"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 200);

    let delivery = deliveries.try_recv().expect("the denial sent a callback");
    assert_eq!(delivery.method, Method::GET);
    assert!(delivery.body.is_empty(), "GET callbacks carry no body");
    python_validates(&key, &callback_url, &delivery).await;
}

/// npm `authy-client` 1.1.4, installed once into Cargo's target directory.
/// (Its callback check is not exercised: it rejects every modern callback,
/// whose `device_uuid` is a number — spec §4.2.)
async fn authy_client_package() -> PathBuf {
    static DIR: Mutex<Option<PathBuf>> = Mutex::const_new(None);
    let mut dir = DIR.lock().await;
    if let Some(dir) = dir.as_ref() {
        return dir.clone();
    }
    let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("authy-client-1.1.4");
    if !prefix
        .join("node_modules/authy-client/package.json")
        .exists()
    {
        std::fs::create_dir_all(&prefix).unwrap();
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&prefix)
            .arg("authy-client@1.1.4"))
        .await;
    }
    *dir = Some(prefix.clone());
    prefix
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_authy_client_works_unchanged() {
    let sim = Simulator::builder().build();
    let key = sim.api_key().expose_for_display().to_owned();
    let addr = serve(sim.router()).await;
    let prefix = authy_client_package().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity/authy_client.js");
    let output = run(Command::new("node")
        .arg(script)
        .env("NODE_PATH", prefix.join("node_modules"))
        .env("SIM_URL", format!("http://{addr}"))
        .env("SIM_KEY", &key))
    .await;
    assert!(output.contains("passed, 0 failed"), "{output}");
}
