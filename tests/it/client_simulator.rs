//! The Authy client against the simulator, endpoint by endpoint (spec §2.0
//! rows 1–19): what a caller gets back through the typed API, on success and
//! on Authy's errors. Codes are read from the virtual phone, and expiry is
//! reached by moving the simulator's clock, never by sleeping.

use std::collections::BTreeMap;
use std::fmt::Debug;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tower_authy::authy::{AuthyError, AuthyId, Client, NewUser, PhoneNumber, Token};
use tower_authy::simulator::{Simulator, SimulatorBuilder};

use crate::common;

mod apps;
mod onetouch;
mod phones;
mod tokens;
mod users;

/// The application's key: 32 hex digits like a real Authy key, which also
/// lets a test have the simulator echo it back (see `apps.rs`).
pub(crate) const KEY: &str = "5eed0fc0ffee0ddba11ca7f00d5a1e57";

/// A simulator on a fresh loopback port and a client pointed at it.
pub(crate) struct World {
    pub sim: Simulator,
    pub client: Client,
    pub base: String,
    http: reqwest::Client,
}

impl World {
    pub(crate) async fn start() -> Self {
        Self::start_with(Simulator::builder()).await
    }

    pub(crate) async fn start_with(builder: SimulatorBuilder) -> Self {
        Self::start_at(builder, "").await
    }

    /// The simulator mounted under `prefix` (e.g. `/simulator`, as the
    /// quickstart mounts it), or at the root for `""`.
    pub(crate) async fn start_at(builder: SimulatorBuilder, prefix: &str) -> Self {
        let sim = builder.with_api_key(KEY).build();
        let router = if prefix.is_empty() {
            sim.router()
        } else {
            axum::Router::new().nest(prefix, sim.router())
        };
        let addr = common::serve(router).await;
        let base = format!("http://{addr}{prefix}");
        let client = Client::builder(KEY)
            .with_base_url(&base)
            .build()
            .expect("a loopback base URL is accepted");
        Self {
            sim,
            client,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Another client on the same simulator, with another key.
    pub(crate) fn client_with_key(&self, key: &str) -> Client {
        Client::builder(key)
            .with_base_url(&self.base)
            .build()
            .unwrap()
    }

    pub(crate) async fn register(&self, email: &str, country_code: u16, number: &str) -> AuthyId {
        let phone = PhoneNumber::new(country_code, number).unwrap();
        self.client
            .users()
            .register(&NewUser::new(email, phone))
            .await
            .expect("registration")
            .id
    }

    /// A call to the virtual phone's control API, which must succeed.
    pub(crate) async fn phone(&self, method: Method, path: &str) -> Value {
        let url = format!("{}/phone/api/{path}", self.base);
        let response = self.http.request(method, url).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "phone/api/{path}: {body}");
        body
    }

    /// The codes sent to a user, oldest first.
    pub(crate) async fn messages(&self, id: AuthyId) -> Vec<Value> {
        let body = self
            .phone(Method::GET, &format!("users/{id}/messages"))
            .await;
        body.as_array().unwrap().clone()
    }

    /// The newest code sent to a user, which must have come by `channel`.
    pub(crate) async fn last_code(&self, id: AuthyId, channel: &str) -> Token {
        let messages = self.messages(id).await;
        let last = messages.last().expect("a code was sent");
        assert_eq!(last["channel"], channel, "{last}");
        Token::parse(last["code"].as_str().unwrap()).unwrap()
    }

    /// The soft token the user's virtual Authy app shows now.
    pub(crate) async fn soft_token(&self, id: AuthyId) -> Token {
        let body = self.phone(Method::GET, &format!("users/{id}/token")).await;
        Token::parse(body["token"].as_str().unwrap()).unwrap()
    }

    pub(crate) async fn set_app(&self, id: AuthyId, installed: bool) {
        let method = if installed {
            Method::POST
        } else {
            Method::DELETE
        };
        let body = self.phone(method, &format!("users/{id}/app")).await;
        assert_eq!(body["app_installed"], installed);
    }

    /// The number of users the simulator knows.
    pub(crate) async fn user_count(&self) -> usize {
        self.phone(Method::GET, "users")
            .await
            .as_array()
            .unwrap()
            .len()
    }

    /// A raw GET on the API, key in the header, for what the client itself
    /// never sends.
    pub(crate) async fn raw_get(&self, path_and_query: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}/{path_and_query}", self.base))
            .header("X-Authy-API-Key", KEY)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }
}

/// Authy's error as a caller sees it: message and per-field errors.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub message: String,
    pub field_errors: BTreeMap<String, String>,
    pub error: AuthyError,
}

/// Unwraps an [`AuthyError::Api`] with this HTTP status and Authy code, and
/// checks that no error shows the API key.
#[track_caller]
pub(crate) fn api_error<T: Debug>(
    result: Result<T, AuthyError>,
    status: u16,
    code: &str,
) -> ApiError {
    let error = result.expect_err("the call should fail");
    assert_no_key(&error);
    match &error {
        AuthyError::Api {
            status: got_status,
            code: got_code,
            message,
            field_errors,
            ..
        } => {
            assert_eq!(got_status.as_u16(), status, "{error}");
            assert_eq!(got_code.as_deref(), Some(code), "{error}");
            assert_eq!(error.code(), Some(code));
            ApiError {
                message: message.clone(),
                field_errors: field_errors.clone(),
                error,
            }
        }
        other => panic!("expected an Authy API error, got {other:?}"),
    }
}

/// The key must not show in an error, however it is printed.
#[track_caller]
pub(crate) fn assert_no_key(error: &AuthyError) {
    let shown = format!("{error} | {error:?} | {error:#?}");
    assert!(!shown.contains(KEY), "the API key leaked: {shown}");
}
