//! A faithful local stand-in for the Authy API, with a "virtual phone".
//!
//! The Authy API is closed to new customers and its sandbox is gone, so this
//! module serves the same endpoints (spec §2.0 rows 1–19) with the same status
//! codes, error codes, messages and JSON shapes, from memory. Official Authy
//! client libraries work against it unchanged: point their base URL at the
//! router's mount point.
//!
//! ```no_run
//! use tower_authy::simulator::{CallbackMethod, Simulator};
//!
//! # async fn run() -> std::io::Result<()> {
//! let sim = Simulator::builder()
//!     .with_api_key("d57d919d11e6b221c9bf6f7c882028f9")
//!     .with_callback("http://127.0.0.1:3000/2fa/callback", CallbackMethod::Post)
//!     .build();
//! let app = axum::Router::new().nest("/simulator", sim.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! # The Authy API
//!
//! Under `protected/json/…` and `onetouch/json/…`. Parameters are read from
//! the query string and the body, form-encoded (with bracket keys, `[]` or
//! PHP's `[0]`) or JSON, on any method; the API key from the
//! `X-Authy-API-Key` header, the `api_key` query parameter, or the body.
//! Where the simulator had to choose:
//!
//! - `protected/xml/…` and `onetouch/xml/…` answer 400 with error code
//!   `60002` and a message saying the simulator speaks JSON only (XML shapes
//!   were never documented).
//! - Removing a user takes effect at once (the real API waits about 24 hours).
//! - `users/{id}/secret` answers a `qr_code` URL under the simulator; that URL
//!   serves the `otpauth://` URI as text: no PNG is rendered.
//! - `registrations/status` answers 404 `60035` (the JWT registration flow is
//!   not simulated).
//! - A OneTouch request for a user without the virtual app answers 403
//!   `60050`; an approval request with `seconds_to_expire` `0` never expires.
//! - Verifying without `force` a user who never verified accepts any token,
//!   like the real API: clients must send `force=true`.
//! - No rate limiting (`60003`) is simulated.
//!
//! # The virtual phone
//!
//! An HTML page at `phone` and a JSON control API under `phone/api/` (paths
//! relative to the mount point):
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | `phone/api/users` | `[{"authy_id","email","country_code","phone_number","app_installed"}]`; `?country_code=&phone_number=` filter |
//! | GET | `phone/api/users/{authy_id}/messages` | codes sent, oldest first: `[{"channel","code","at"}]` |
//! | GET | `phone/api/phones/{country_code}/{phone_number}/messages` | phone-verification codes sent to a number |
//! | GET | `phone/api/users/{authy_id}/approval_requests` | `[{"uuid","status","message","details"}]` |
//! | POST | `phone/api/approval_requests/{uuid}/approve` | approves and delivers the signed callback |
//! | POST | `phone/api/approval_requests/{uuid}/deny` | denies and delivers the signed callback |
//! | POST | `phone/api/users/{authy_id}/app` | installs the virtual Authy app |
//! | DELETE | `phone/api/users/{authy_id}/app` | uninstalls it |
//! | GET | `phone/api/users/{authy_id}/token` | `{"token":"…"}`, the app's current soft token |
//!
//! Approve and deny answer only once the callback was delivered, with the
//! outcome: `{"uuid","status","callback":{"url","method","status"}}` (or
//! `"error"` instead of `"status"` when delivery failed, and `"callback":null`
//! when none is configured). A request that is not pending answers 409.

mod apps;
mod callback;
mod clock;
mod number;
mod onetouch;
mod phone_api;
mod phone_page;
mod phones;
mod reply;
mod request;
mod state;
mod tokens;
mod totp;
mod users;
mod verify;

pub use verify::{DEFAULT_ACCOUNT_SID, VerifySimulator, VerifySimulatorBuilder};

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{any, get, post};

use crate::ApiKey;
use clock::Clock;
use reply::Reply;
use state::State;

/// How the simulator delivers OneTouch callbacks (spec §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallbackMethod {
    /// POST with the payload as a JSON body (the default).
    #[default]
    Post,
    /// GET with the payload as the canonical bracket-form query string.
    Get,
}

impl CallbackMethod {
    /// `POST` or `GET`, as signed into `X-Authy-Signature`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Get => "GET",
        }
    }
}

#[derive(Debug, Clone)]
struct CallbackConfig {
    url: String,
    method: CallbackMethod,
}

struct Inner {
    api_key: ApiKey,
    app_name: String,
    app_id: u32,
    app_object_id: String,
    callback: Option<CallbackConfig>,
    app_installed_by_default: bool,
    clock: Clock,
    state: Mutex<State>,
    http: reqwest::Client,
}

/// A local Authy API with a virtual phone. Cheap to clone: clones share one
/// state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key is a secret: `ApiKey`'s own Debug redacts it.
        f.debug_struct("Simulator")
            .field("api_key", &self.inner.api_key)
            .field("app_name", &self.inner.app_name)
            .field("callback", &self.inner.callback)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// A builder with the defaults: a random API key, no callback, the
    /// virtual app installed for every new user, app name `Simulated App`.
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    /// The Authy API and the virtual phone, as a router to serve alone or
    /// nest anywhere (`app.nest("/simulator", sim.router())`).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/protected/json/users/new", post(users::create))
            .route("/protected/json/users/{id}/status", get(users::status))
            .route("/protected/json/users/{id}/remove", post(users::remove))
            .route("/protected/json/users/{id}/delete", post(users::remove))
            .route("/protected/json/users/delete/{id}", post(users::remove))
            .route(
                "/protected/json/users/{id}/register_activity",
                post(users::register_activity),
            )
            .route("/protected/json/users/{id}/secret", post(users::secret))
            .route("/protected/json/users/{id}/update", post(users::update))
            .route(
                "/protected/json/registrations/status",
                get(users::registration_status),
            )
            .route("/protected/json/sms/{id}", get(tokens::sms))
            .route("/protected/json/call/{id}", get(tokens::call))
            .route("/protected/json/email/{id}", post(tokens::email))
            .route("/protected/json/verify/{token}/{id}", get(tokens::verify))
            .route("/protected/json/app/details", get(apps::details))
            .route("/protected/json/app/stats", get(apps::stats))
            .route(
                "/protected/json/phones/verification/start",
                post(phones::start),
            )
            .route(
                "/protected/json/phones/verification/check",
                get(phones::check),
            )
            .route(
                "/protected/json/phones/verification/status",
                get(phones::status),
            )
            .route("/protected/json/phones/info", get(phones::info))
            .route(
                "/onetouch/json/users/{id}/approval_requests",
                post(onetouch::create),
            )
            .route(
                "/onetouch/json/approval_requests/{uuid}",
                get(onetouch::get),
            )
            .route("/protected/xml/{*rest}", any(xml_refused))
            .route("/onetouch/xml/{*rest}", any(xml_refused))
            .merge(phone_api::routes())
            .merge(phone_page::routes())
            .method_not_allowed_fallback(method_not_allowed)
            .fallback(not_found)
            .with_state(self.clone())
    }

    /// The API key clients must present (and the callbacks' HMAC key).
    pub fn api_key(&self) -> &ApiKey {
        &self.inner.api_key
    }

    /// The application name reported by `app/details` and OneTouch requests.
    pub fn app_name(&self) -> &str {
        &self.inner.app_name
    }

    /// Moves the simulator's clock forward, so that codes and approval
    /// requests expire without the test sleeping. The clock never goes back.
    pub fn advance_clock(&self, by: Duration) {
        self.inner.clock.advance(by);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in another handler must not wedge the simulator.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now_ms(&self) -> u64 {
        self.inner.clock.now_ms()
    }

    fn now_secs(&self) -> u64 {
        self.inner.clock.now_secs()
    }

    fn record_api_call(&self) {
        let now = self.now_secs();
        self.lock().month(now).api_calls += 1;
    }
}

/// Configures a [`Simulator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SimulatorBuilder {
    api_key: Option<ApiKey>,
    app_name: String,
    callback: Option<CallbackConfig>,
    app_installed_by_default: bool,
}

impl Default for SimulatorBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            app_name: "Simulated App".to_owned(),
            callback: None,
            app_installed_by_default: true,
        }
    }
}

impl SimulatorBuilder {
    /// The API key clients must present. Default: [`ApiKey::random`].
    pub fn with_api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Where and how to deliver OneTouch callbacks when a request is approved
    /// or denied on the virtual phone. Default: no callback.
    pub fn with_callback(mut self, url: impl Into<String>, method: CallbackMethod) -> Self {
        self.callback = Some(CallbackConfig {
            url: url.into(),
            method,
        });
        self
    }

    /// Whether a newly registered user has the virtual Authy app installed
    /// (then SMS and voice are ignored unless forced, and OneTouch works).
    /// Default: `true`.
    pub fn with_app_installed_by_default(mut self, installed: bool) -> Self {
        self.app_installed_by_default = installed;
        self
    }

    /// The application name shown in `app/details` and OneTouch requests.
    /// Default: `Simulated App`.
    pub fn with_app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = name.into();
        self
    }

    /// Builds the simulator.
    pub fn build(self) -> Simulator {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            // Authy sends `X-Authy-Signature` in this case, and the Java
            // library looks the header up case-sensitively.
            .http1_title_case_headers()
            .user_agent("AuthySimulator (tower-authy)")
            .build()
            .unwrap_or_default();
        Simulator {
            inner: Arc::new(Inner {
                api_key: self.api_key.unwrap_or_else(ApiKey::random),
                app_name: self.app_name,
                app_id: 100_001,
                app_object_id: state::random_hex(24),
                callback: self.callback,
                app_installed_by_default: self.app_installed_by_default,
                clock: Clock::default(),
                state: Mutex::new(State::default()),
                http,
            }),
        }
    }
}

async fn xml_refused() -> Reply {
    Reply::error(
        StatusCode::BAD_REQUEST,
        "60002",
        "Invalid request: the simulator speaks JSON only; use /json/ instead of /xml/",
    )
}

async fn not_found() -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        "60002",
        "Invalid request: no such endpoint",
    )
}

async fn method_not_allowed() -> Reply {
    Reply::error(
        StatusCode::METHOD_NOT_ALLOWED,
        "60002",
        "Invalid request: method not allowed on this endpoint",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_api_key() {
        let sim = Simulator::builder()
            .with_api_key("do-not-print-this-key")
            .with_callback("http://127.0.0.1:1/cb", CallbackMethod::Get)
            .build();
        let shown = format!("{sim:?}");
        assert!(!shown.contains("do-not-print"), "{shown}");
        assert!(shown.contains("Simulator"), "{shown}");
        assert!(sim.api_key().matches("do-not-print-this-key"));
    }

    #[test]
    fn the_router_builds_and_the_clock_moves() {
        let sim = Simulator::builder().build();
        let _router = sim.router();
        let before = sim.now_secs();
        sim.advance_clock(Duration::from_secs(600));
        assert!(sim.now_secs() >= before + 600);
    }
}
