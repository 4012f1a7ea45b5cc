//! The Verify client against the Verify simulator, endpoint by endpoint, and
//! the simulator's own refusals (spec §7).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tower_authy::simulator::VerifySimulator;
use tower_authy::store::MemoryStore;
use tower_authy::verify::{Client, Credentials, ServiceSid, VerifyWebhook};

mod codes;
mod factors;
mod push;
mod raw;

pub(super) const ACCOUNT: &str = "AC11111111111111111111111111111111";
pub(super) const TOKEN: &str = "simulatorAuthToken0123456789abcd";
pub(super) const API_KEY: &str = "SK22222222222222222222222222222222";
pub(super) const API_SECRET: &str = "simulatorApiKeySecret0123456789a";

pub(super) struct Sim {
    pub(super) sim: VerifySimulator,
    pub(super) base: String,
    pub(super) client: Client,
    pub(super) service: ServiceSid,
    pub(super) store: Arc<MemoryStore>,
}

impl Sim {
    /// A simulator with one service whose webhook goes to a
    /// [`VerifyWebhook`] on `store`, served on loopback under `/verify`.
    pub(super) async fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}/verify");
        let hook_url = format!("http://{addr}/2fa/verify/callback");
        let sim = VerifySimulator::builder()
            .with_account(ACCOUNT, TOKEN)
            .with_api_key(API_KEY, API_SECRET)
            .with_service("Sim Test")
            .with_webhook_url(&hook_url)
            .with_base_url(&base)
            .with_seed(7)
            .build();
        let store = Arc::new(MemoryStore::new());
        let webhook = VerifyWebhook::builder(TOKEN)
            .with_public_url(&hook_url)
            .build(store.clone())
            .unwrap();
        let router = axum::Router::new()
            .nest("/verify", sim.router())
            .route("/2fa/verify/callback", webhook.method_router());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let client = Client::builder(Credentials::auth_token(ACCOUNT, TOKEN))
            .with_base_url(&base)
            .build()
            .unwrap();
        let service = sim.service_sids()[0].parse().unwrap();
        Self {
            sim,
            base,
            client,
            service,
            store,
        }
    }

    pub(super) async fn phone(&self, path: &str) -> Value {
        let answer = reqwest::get(format!("{}/phone/api/verify/{path}", self.base))
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    }

    pub(super) async fn phone_post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let answer = reqwest::Client::new()
            .post(format!("{}/phone/api/verify/{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap())
    }

    /// The codes sent to `to`, oldest first.
    pub(super) async fn codes(&self, to: &str) -> Vec<String> {
        let to = serde_urlencoded::to_string([("to", to)]).unwrap();
        self.phone(&format!("messages?{to}"))
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["code"].as_str().unwrap().to_owned())
            .collect()
    }

    pub(super) fn advance(&self, seconds: u64) {
        self.sim.advance_clock(Duration::from_secs(seconds));
    }
}
