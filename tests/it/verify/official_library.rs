//! Fidelity: Twilio's own Python library, `twilio` 9.13.0, works against the
//! Verify simulator unchanged (every call of `tests/fidelity/twilio_python.py`),
//! and its `RequestValidator` accepts the simulator's webhooks.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::mpsc;
use tower_authy::simulator::VerifySimulator;

use crate::common::{python_venv, run};

const PACKAGE: &str = "twilio==9.13.0";
const ACCOUNT: &str = "AC33333333333333333333333333333333";
const TOKEN: &str = "fidelityAuthToken0123456789abcdef";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity/twilio_python.py")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilios_python_library_works_unchanged_and_accepts_the_webhooks() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}/verify");
    let hook_url = format!("http://{addr}/hooks/verify");
    let sim = VerifySimulator::builder()
        .with_account(ACCOUNT, TOKEN)
        .with_service("Fidelity")
        .with_webhook_url(&hook_url)
        .with_base_url(&base)
        .build();
    let (tx, mut deliveries) = mpsc::unbounded_channel::<(HeaderMap, Bytes)>();
    let receiver = axum::routing::post(move |headers: HeaderMap, body: Bytes| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((headers, body));
            "ok"
        }
    });
    let router = Router::new()
        .nest("/verify", sim.router())
        .route("/hooks/verify", receiver);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let python = python_venv("twilio-python-9.13.0", PACKAGE).await;
    let output = run(Command::new(&python)
        .arg(script())
        .arg("api")
        .env("SIM_URL", &base)
        .env("SIM_ACCOUNT", ACCOUNT)
        .env("SIM_TOKEN", TOKEN)
        .env("SIM_SERVICE", &sim.service_sids()[0]))
    .await;
    assert!(output.contains(" passed, 0 failed"), "{output}");

    // The script approved a push on the phone, which answered only once the
    // webhook was delivered: `challenge.approved` is among the deliveries.
    let mut approved = None;
    while let Ok((headers, body)) = deliveries.try_recv() {
        let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap();
        let signature = headers["x-twilio-signature"].to_str().unwrap().to_owned();
        validate(&python, &hook_url, &params, &signature, true).await;
        if params
            .iter()
            .any(|(k, v)| k == "type" && v == "challenge.approved")
        {
            approved = Some((params, signature));
        }
    }
    let (mut params, signature) = approved.expect("the approval's webhook was delivered");
    assert!(params.iter().any(|(k, _)| k == "challenge_sid"));
    // The library refuses it once a parameter changes.
    params[1].1 = "challenge.denied".into();
    validate(&python, &hook_url, &params, &signature, false).await;
}

async fn validate(
    python: &Path,
    url: &str,
    params: &[(String, String)],
    signature: &str,
    expect_valid: bool,
) {
    let params: serde_json::Map<String, serde_json::Value> =
        params.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let input = json!({"token": TOKEN, "url": url, "params": params, "signature": signature});
    let mut child = Command::new(python)
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
    assert_eq!(
        output.status.success(),
        expect_valid,
        "RequestValidator: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
