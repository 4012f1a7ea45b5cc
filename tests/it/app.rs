#![allow(dead_code)]
//! A whole application for the route tests: the simulator nested under
//! `/simulator` (as the quickstart does), the 2FA router and layer, real
//! sessions, a password-less `/login` standing in for the first factor, and
//! HTTP clients that keep cookies like a browser or an API client.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::Form;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, ORIGIN};
use serde::Deserialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tower_authy::authy::Client;
use tower_authy::config::Policy;
use tower_authy::method::verify::Verify;
use tower_authy::method::{EnrollmentRequest, Method};
use tower_authy::simulator::{CallbackMethod, Simulator, VerifySimulator};
use tower_authy::store::{
    AdminStore, AuthyStore, Factor, FactorState, FactorStore, MemoryStore, SharedStore, StoreError,
    UserId,
};
use tower_authy::verify;
use tower_authy::webhook::Webhook;
use tower_authy::{TwoFactor, session};
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

/// The user's first factor (the tests' users have one phone at most).
pub trait FirstFactor {
    /// The oldest of the user's factors, if any.
    fn first_factor(
        &self,
        user: &UserId,
    ) -> impl std::future::Future<Output = Result<Option<Factor>, StoreError>> + Send;
}

impl<T: FactorStore + ?Sized> FirstFactor for T {
    async fn first_factor(&self, user: &UserId) -> Result<Option<Factor>, StoreError> {
        Ok(self.factors(user).await?.into_iter().next())
    }
}

pub struct TestApp {
    pub base: String,
    pub sim: Simulator,
    pub store: SharedStore,
    /// The same store, for seeding records.
    pub admin: Arc<dyn AdminStore>,
    pub client: Client,
    pub two_factor: TwoFactor,
    /// The Verify simulator under `/verify`, when Verify is the provider.
    pub verify: Option<VerifySimulator>,
    /// OneTouch callbacks held back instead of delivered, while holding.
    pub held: HeldCallbacks,
    /// The simulator's SMS endpoint, stalled on demand.
    pub stall: Stall,
}

/// A switch in front of the simulator's SMS endpoint: while on, each SMS
/// request waits (the provider is slow) until [`Stall::release`]; `arrived`
/// says a request is waiting.
#[derive(Clone, Default)]
pub struct Stall {
    on: Arc<std::sync::atomic::AtomicBool>,
    released: Arc<tokio::sync::Notify>,
    pub arrived: Arc<tokio::sync::Notify>,
}

impl Stall {
    /// Stalls SMS requests from now on.
    pub fn stall(&self) {
        self.on.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Lets the stalled requests answer, and the next ones through.
    pub fn release(&self) {
        self.on.store(false, std::sync::atomic::Ordering::SeqCst);
        self.released.notify_waiters();
    }
}

async fn stall_sms(
    axum::extract::State(stall): axum::extract::State<Stall>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let stalled = stall.on.load(std::sync::atomic::Ordering::SeqCst)
        && request
            .uri()
            .path()
            .contains("/simulator/protected/json/sms/");
    if stalled {
        let released = stall.released.notified();
        stall.arrived.notify_one();
        released.await;
    }
    next.run(request).await
}

/// A switch in front of the app's OneTouch callback route: while on, each
/// callback is answered 200 and kept (headers and body, exactly as signed),
/// for a test to deliver later, in any order, any number of times
/// ([`TestApp::deliver`]). Off by default: callbacks pass straight through.
#[derive(Clone, Default)]
pub struct HeldCallbacks(Arc<std::sync::Mutex<Option<Vec<HeldCallback>>>>);

/// One callback as the provider sent it.
#[derive(Clone)]
pub struct HeldCallback {
    pub headers: axum::http::HeaderMap,
    pub body: axum::body::Bytes,
}

impl HeldCallbacks {
    /// Starts holding callbacks back.
    pub fn hold(&self) {
        *self.0.lock().unwrap() = Some(Vec::new());
    }

    /// The callbacks held so far (they stay held).
    pub fn taken(&self) -> Vec<HeldCallback> {
        self.0.lock().unwrap().clone().unwrap_or_default()
    }
}

/// Replayed callbacks carry this header, so the switch lets them through.
const REPLAYED: &str = "x-test-replayed";

async fn hold_callbacks(
    axum::extract::State(held): axum::extract::State<HeldCallbacks>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let holding = held.0.lock().unwrap().is_some();
    if !holding
        || request.uri().path() != "/2fa/callback"
        || request.headers().contains_key(REPLAYED)
    {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    if let Some(kept) = held.0.lock().unwrap().as_mut() {
        kept.push(HeldCallback {
            headers: parts.headers,
            body,
        });
    }
    "held".into_response()
}

/// Whose methods the app is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Authy,
    Verify,
}

/// The Verify simulator's account.
pub const VERIFY_ACCOUNT: &str = "AC33333333333333333333333333333333";
/// Its auth token, which signs its webhooks.
pub const VERIFY_TOKEN: &str = "appVerifyAuthToken0123456789abcd";

#[derive(Deserialize)]
struct LoginForm {
    username: String,
}

async fn login(session: Session, Form(form): Form<LoginForm>) -> impl IntoResponse {
    session::sign_in(&session, form.username.as_str())
        .await
        .unwrap();
    Redirect::to("/2fa")
}

async fn logout(
    axum::extract::State(two_factor): axum::extract::State<TwoFactor>,
    session: Session,
) -> impl IntoResponse {
    two_factor.sign_out(&session).await.unwrap();
    Redirect::to("/login")
}

async fn me(session: Session) -> axum::Json<Value> {
    let status = session::status(&session).await.unwrap();
    axum::Json(serde_json::json!({"user": status.user_id().map(|u| u.as_str().to_owned())}))
}

impl TestApp {
    /// The app with this policy, served on a loopback port.
    pub async fn start(policy: Policy) -> Self {
        Self::start_with(policy, |builder| builder).await
    }

    /// The app, with a last word on the 2FA builder.
    pub async fn start_with(
        policy: Policy,
        adjust: impl FnOnce(tower_authy::TwoFactorBuilder) -> tower_authy::TwoFactorBuilder,
    ) -> Self {
        Self::launch(policy, true, Arc::new(MemoryStore::new()), adjust).await
    }

    /// The app on this store.
    pub async fn start_on<S: AuthyStore + AdminStore + 'static>(
        policy: Policy,
        store: Arc<S>,
    ) -> Self {
        Self::launch(policy, true, store, |builder| builder).await
    }

    /// The app on this store, with a last word on the 2FA builder.
    pub async fn start_on_with<S: AuthyStore + AdminStore + 'static>(
        policy: Policy,
        store: Arc<S>,
        adjust: impl FnOnce(tower_authy::TwoFactorBuilder) -> tower_authy::TwoFactorBuilder,
    ) -> Self {
        Self::launch(policy, true, store, adjust).await
    }

    /// The app on Twilio Verify (its simulator under `/verify`) instead of
    /// Authy: with `callbacks`, the simulator's webhooks reach the app's
    /// `/2fa/verify/callback`; without, the policy must poll.
    pub async fn start_verify(
        policy: Policy,
        callbacks: bool,
        adjust: impl FnOnce(tower_authy::TwoFactorBuilder) -> tower_authy::TwoFactorBuilder,
    ) -> Self {
        Self::launch_on(
            Provider::Verify,
            policy,
            callbacks,
            Arc::new(MemoryStore::new()),
            adjust,
            None,
            None,
        )
        .await
    }

    /// The app with OneTouch callbacks off: the simulator sends none and the
    /// router has no webhook (for `StatusMode::Polling`).
    pub async fn start_without_callbacks(policy: Policy) -> Self {
        Self::launch(policy, false, Arc::new(MemoryStore::new()), |builder| {
            builder
        })
        .await
    }

    async fn launch<S: AuthyStore + AdminStore + 'static>(
        policy: Policy,
        callbacks: bool,
        store: Arc<S>,
        adjust: impl FnOnce(tower_authy::TwoFactorBuilder) -> tower_authy::TwoFactorBuilder,
    ) -> Self {
        Self::launch_on(
            Provider::Authy,
            policy,
            callbacks,
            store,
            adjust,
            None,
            None,
        )
        .await
    }

    /// A second instance of the app on the same store, whose provider is
    /// `first`'s simulator, whose callbacks reach `first` only: browsers on
    /// this one, webhooks on the other.
    pub async fn start_beside<S: AuthyStore + AdminStore + 'static>(
        first: &TestApp,
        policy: Policy,
        store: Arc<S>,
    ) -> Self {
        let provider = (format!("{}/simulator", first.base), first.sim.clone());
        Self::launch_on(
            Provider::Authy,
            policy,
            true,
            store,
            |b| b,
            Some(provider),
            None,
        )
        .await
    }

    /// The app whose Authy client gives up after `timeout`.
    pub async fn start_with_client_timeout(policy: Policy, timeout: std::time::Duration) -> Self {
        let store = Arc::new(MemoryStore::new());
        Self::launch_on(
            Provider::Authy,
            policy,
            true,
            store,
            |b| b,
            None,
            Some(timeout),
        )
        .await
    }

    async fn launch_on<S: AuthyStore + AdminStore + 'static>(
        provider: Provider,
        policy: Policy,
        callbacks: bool,
        store: Arc<S>,
        adjust: impl FnOnce(tower_authy::TwoFactorBuilder) -> tower_authy::TwoFactorBuilder,
        beside: Option<(String, Simulator)>,
        client_timeout: Option<std::time::Duration>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let callback = format!("{base}/2fa/callback");
        let mut sim = Simulator::builder();
        if callbacks {
            sim = sim.with_callback(&callback, CallbackMethod::Post);
        }
        let (sim, simulator_url) = match beside {
            Some((url, first)) => (first, url),
            None => (sim.build(), format!("{base}/simulator")),
        };
        let mut client = Client::builder(sim.api_key().clone()).with_base_url(&simulator_url);
        if let Some(timeout) = client_timeout {
            client = client.with_timeout(timeout);
        }
        let client = client.build().unwrap();
        let mut verify = None;
        let mut builder = match provider {
            Provider::Authy => {
                let builder = TwoFactor::builder(client.clone(), store.clone());
                if callbacks {
                    builder.with_webhook(
                        Webhook::builder(sim.api_key().clone()).with_public_url(&callback),
                    )
                } else {
                    builder
                }
            }
            Provider::Verify => {
                let hook = format!("{base}/2fa/verify/callback");
                let mut simulator = VerifySimulator::builder()
                    .with_account(VERIFY_ACCOUNT, VERIFY_TOKEN)
                    .with_service("App Test")
                    .with_base_url(format!("{base}/verify"));
                if callbacks {
                    simulator = simulator.with_webhook_url(&hook);
                }
                let simulator = simulator.build();
                let verify_client = verify::Client::builder(verify::Credentials::auth_token(
                    VERIFY_ACCOUNT,
                    VERIFY_TOKEN,
                ))
                .with_base_url(&format!("{base}/verify"))
                .build()
                .unwrap();
                let service = simulator.service_sids()[0].parse().unwrap();
                let builder =
                    TwoFactor::builder(Verify::new(verify_client, service), store.clone());
                verify = Some(simulator);
                if callbacks {
                    builder.with_verify_webhook(
                        verify::VerifyWebhook::builder(VERIFY_TOKEN).with_public_url(&hook),
                    )
                } else {
                    builder
                }
            }
        };
        builder = builder.with_policy(policy);
        let two_factor = adjust(builder).build().unwrap();
        let protected = Router::new()
            .route(
                "/protected",
                get(|| async { axum::response::Html("<h1>Protected</h1>") }),
            )
            .route("/api/me", get(me))
            .layer(two_factor.layer().with_exempt_path("/logout"));
        let app = Router::new()
            .route("/login", get(|| async { "login page" }).post(login))
            .route("/logout", post(logout).with_state(two_factor.clone()))
            .merge(protected)
            .merge(two_factor.router())
            .nest("/simulator", sim.router());
        let app = match &verify {
            Some(simulator) => app.nest("/verify", simulator.router()),
            None => app,
        }
        .layer(SessionManagerLayer::new(Sessions::default()).with_secure(false));
        let held = HeldCallbacks::default();
        let stall = Stall::default();
        let app = app
            .layer(axum::middleware::from_fn_with_state(
                held.clone(),
                hold_callbacks,
            ))
            .layer(axum::middleware::from_fn_with_state(
                stall.clone(),
                stall_sms,
            ));
        // With connect info, as an application that wants the requester's
        // address on its pushes serves.
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            sim,
            admin: store.clone(),
            store,
            client,
            two_factor,
            verify,
            held,
            stall,
        }
    }

    /// Delivers a held callback to the app's callback route, as the
    /// provider sent it; returns the status.
    pub async fn deliver(&self, callback: &HeldCallback) -> u16 {
        let mut request = reqwest::Client::new()
            .post(self.url("/2fa/callback"))
            .header(REPLAYED, "1")
            .body(callback.body.clone());
        for (name, value) in &callback.headers {
            if name != reqwest::header::CONTENT_LENGTH && name != reqwest::header::HOST {
                request = request.header(name.as_str(), value.as_bytes());
            }
        }
        request.send().await.unwrap().status().as_u16()
    }

    /// Reads `/2fa/events` until the stream ends (within 20 s), running
    /// `on_pending` once it has reported the request pending; returns all
    /// it said.
    pub async fn stream_events(
        &self,
        http: &reqwest::Client,
        on_pending: impl std::future::Future<Output = ()>,
    ) -> String {
        let mut events = http
            .get(self.url("/2fa/events"))
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(events.status(), 200);
        assert_eq!(
            events.headers()["content-type"],
            "text/event-stream",
            "an event stream"
        );
        let mut seen = String::new();
        let mut on_pending = Some(on_pending);
        let read = async {
            while let Some(chunk) = events.chunk().await.unwrap() {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if seen.contains("\"status\":\"pending\"") {
                    if let Some(action) = on_pending.take() {
                        action.await;
                    }
                }
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(20), read)
            .await
            .expect("the stream ends after the final status");
        seen
    }

    /// The Verify simulator's phone API: `GET phone/api/verify/{path}`.
    pub async fn verify_phone(&self, path: &str) -> Value {
        let answer = reqwest::get(self.url(&format!("/verify/phone/api/verify/{path}")))
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    }

    /// `POST phone/api/verify/{path}` on the Verify simulator's phone.
    pub async fn verify_phone_post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let answer = reqwest::Client::new()
            .post(self.url(&format!("/verify/phone/api/verify/{path}")))
            .form(form)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    }

    /// The codes Verify sent to `to`, oldest first.
    pub async fn verify_codes(&self, to: &str) -> Vec<String> {
        let query = serde_urlencoded::to_string([("to", to)]).unwrap();
        self.verify_phone(&format!("messages?{query}"))
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|message| message["code"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser: keeps cookies, does not follow redirects (tests look at
    /// them), asks for HTML, and sends `Origin` like browsers do on POST.
    pub fn browser(&self) -> reqwest::Client {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        headers.insert(ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap()
    }

    /// A browser whose cookies live in `jar`, so a test can plant one.
    pub fn browser_with(&self, jar: Arc<reqwest::cookie::Jar>) -> reqwest::Client {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        headers.insert(ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap()
    }

    /// An API client: keeps cookies, asks for JSON, sends `Origin`.
    pub fn api(&self) -> reqwest::Client {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap()
    }

    /// `GET path` with `http`.
    pub async fn get(&self, http: &reqwest::Client, path: &str) -> reqwest::Response {
        http.get(self.url(path)).send().await.unwrap()
    }

    /// The status of `GET path`.
    pub async fn status(&self, http: &reqwest::Client, path: &str) -> reqwest::StatusCode {
        self.get(http, path).await.status()
    }

    /// The body of `GET path`.
    pub async fn text(&self, http: &reqwest::Client, path: &str) -> String {
        self.get(http, path).await.text().await.unwrap()
    }

    /// `GET path` asking for JSON, whatever the client usually asks for.
    pub async fn get_json(&self, http: &reqwest::Client, path: &str) -> Value {
        http.get(self.url(path))
            .header(ACCEPT, "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `POST path` with a form body.
    pub async fn post_form(
        &self,
        http: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        http.post(self.url(path)).form(form).send().await.unwrap()
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(
        &self,
        http: &reqwest::Client,
        path: &str,
        body: Value,
    ) -> reqwest::Response {
        http.post(self.url(path)).json(&body).send().await.unwrap()
    }

    /// Signs `username` in with the first factor.
    pub async fn sign_in(&self, http: &reqwest::Client, username: &str) {
        let answer = http
            .post(self.url("/login"))
            .form(&[("username", username)])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 303, "first-factor sign-in");
    }

    /// Registers `username` with the provider and stores an enrollment in
    /// `state`; returns the Authy ID.
    pub async fn enroll(&self, username: &str, state: FactorState) -> u64 {
        // A phone number per user name, so users never share an Authy ID.
        let digits: u64 = username
            .bytes()
            .fold(0, |acc, b| (acc * 31 + u64::from(b)) % 10_000_000);
        let phone = format!("555{digits:07}");
        let user = UserId::new(username);
        let registered = self
            .client
            .enroll_phone(
                &user,
                &EnrollmentRequest::new(format!("{username}@example.com"), 1, phone),
                SystemTime::now(),
            )
            .await
            .unwrap();
        // Every test phone shows as "ending in 67".
        let mut enrollment = Factor::authy(
            user,
            registered.provider_ref,
            Some("XXX-XXX-XX67".into()),
            SystemTime::now(),
        );
        enrollment.state = state;
        self.admin.put_factor(&enrollment).await.unwrap();
        enrollment.provider_ref.parse().unwrap()
    }

    /// `user` signs in on a new API client and adds an authenticator app
    /// (the app must be built with them): the client, the app's secret, the
    /// factor's id and the confirmation's answer.
    pub async fn add_authenticator_app(
        &self,
        user: &str,
    ) -> (reqwest::Client, String, String, Value) {
        let api = self.api();
        self.sign_in(&api, user).await;
        let started = self
            .post_json(&api, "/2fa/totp", serde_json::json!({}))
            .await;
        assert_eq!(started.status(), 201);
        let setup: Value = started.json().await.unwrap();
        let secret = setup["secret"].as_str().unwrap().to_owned();
        let id = setup["factor_id"].as_str().unwrap().to_owned();
        let code = crate::common::app_code(&secret, crate::common::now());
        let confirmed = self
            .post_json(
                &api,
                "/2fa/totp/confirm",
                serde_json::json!({"factor_id": id, "code": code}),
            )
            .await;
        assert_eq!(confirmed.status(), 200);
        let answer = confirmed.json().await.unwrap();
        (api, secret, id, answer)
    }

    /// The app's soft token, after moving the simulator's clock past the
    /// window in which earlier tokens count as used.
    pub async fn fresh_soft_token(&self, authy_id: u64) -> String {
        self.sim.advance_clock(std::time::Duration::from_secs(60));
        self.soft_token(authy_id).await
    }

    /// The virtual phone's JSON API.
    pub async fn phone(&self, path: &str) -> Value {
        reqwest::get(self.url(&format!("/simulator/phone/api/{path}")))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The last code sent to the user.
    pub async fn last_code(&self, authy_id: u64) -> String {
        let messages = self.phone(&format!("users/{authy_id}/messages")).await;
        messages
            .as_array()
            .unwrap()
            .last()
            .expect("a code was sent")["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The virtual app's current soft token.
    pub async fn soft_token(&self, authy_id: u64) -> String {
        self.phone(&format!("users/{authy_id}/token")).await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Approves or denies a OneTouch request on the virtual phone; the
    /// callback has reached the app when this returns.
    pub async fn answer(&self, uuid: &str, verb: &str) -> Value {
        let answer = reqwest::Client::new()
            .post(self.url(&format!(
                "/simulator/phone/api/approval_requests/{uuid}/{verb}"
            )))
            .header(ACCEPT, "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        answer.json().await.unwrap()
    }
}

/// The `Location` of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
