//! A simulator on a fresh port and raw-HTTP helpers shared by the
//! simulator tests.

use axum::Router;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tower_authy::simulator::{Simulator, SimulatorBuilder};

use crate::common;

pub(crate) const KEY: &str = "sIm0KeYfOrTeStS00000000000000009";

/// A simulator served under `/simulator` on a fresh port, with helpers that
/// speak raw HTTP to it.
pub(crate) struct Sim {
    pub sim: Simulator,
    pub base: String,
    pub http: reqwest::Client,
}

impl Sim {
    pub(crate) async fn start() -> Self {
        Self::start_with(Simulator::builder()).await
    }

    pub(crate) async fn start_with(builder: SimulatorBuilder) -> Self {
        let sim = builder.with_api_key(KEY).build();
        let addr = common::serve(Router::new().nest("/simulator", sim.router())).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            sim,
            base: format!("http://{addr}/simulator"),
            http,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub(crate) async fn read(response: reqwest::Response) -> (StatusCode, Value) {
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, body)
    }

    /// GET an API path with the key in the header.
    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(path))
            .header("X-Authy-API-Key", KEY)
            .send()
            .await
            .unwrap();
        Self::read(response).await
    }

    /// POST form parameters to an API path with the key in the header.
    pub(crate) async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .header("X-Authy-API-Key", KEY)
            .form(form)
            .send()
            .await
            .unwrap();
        Self::read(response).await
    }

    /// POST a JSON body to an API path with the key in the header.
    pub(crate) async fn post_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .header("X-Authy-API-Key", KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        Self::read(response).await
    }

    /// A control-API GET (no key: the phone is the user's, not the app's).
    pub(crate) async fn phone(&self, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        Self::read(response).await
    }

    pub(crate) async fn register(&self, email: &str, phone: &str, cc: &str) -> u64 {
        let (status, body) = self
            .post_form(
                "protected/json/users/new",
                &[
                    ("user[email]", email),
                    ("user[cellphone]", phone),
                    ("user[country_code]", cc),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["user"]["id"].as_u64().unwrap()
    }

    pub(crate) async fn users(&self) -> Vec<Value> {
        let (status, body) = self.phone("phone/api/users").await;
        assert_eq!(status, StatusCode::OK);
        body.as_array().unwrap().clone()
    }

    pub(crate) async fn messages(&self, id: u64) -> Vec<Value> {
        let (status, body) = self.phone(&format!("phone/api/users/{id}/messages")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    pub(crate) async fn soft_token(&self, id: u64) -> String {
        let (status, body) = self.phone(&format!("phone/api/users/{id}/token")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn set_app(&self, id: u64, installed: bool) {
        let url = self.url(&format!("phone/api/users/{id}/app"));
        let request = if installed {
            self.http.post(url)
        } else {
            self.http.delete(url)
        };
        let (status, body) = Self::read(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["app_installed"], installed);
    }

    pub(crate) async fn approval(&self, id: u64, message: &str) -> String {
        let path = format!("onetouch/json/users/{id}/approval_requests");
        let (status, body) = self.post_json(&path, json!({"message": message})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["approval_request"]["uuid"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// Asserts the error envelope of spec §1.4.
#[track_caller]
pub(crate) fn assert_error(got: &(StatusCode, Value), status: u16, code: &str, message: &str) {
    let (got_status, body) = got;
    assert_eq!(got_status.as_u16(), status, "{body}");
    assert_eq!(body["error_code"], json!(code), "{body}");
    assert_eq!(body["message"], json!(message), "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
}
