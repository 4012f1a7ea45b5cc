//! Request execution: one place that builds requests, sends the key, reads
//! bounded bodies, retries what is safe to retry, and turns answers into
//! typed values or errors.

use http::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use http::{HeaderName, Method, StatusCode};
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tracing::Instrument as _;

use super::error::scrub;
use super::lenient::bool_value;
use super::{AuthyError, AuthyId, Client};
use crate::outbound::{self, ReadError};

const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-authy-api-key");
const USER_AGENT_VALUE: &str = concat!("tower-authy/", env!("CARGO_PKG_VERSION"));

/// What a call does, which decides its HTTP method and when it may be
/// retried (see the module documentation of [`crate::authy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// GET without side effects: retried on connection errors and 503.
    Read,
    /// GET with side effects (sends a code, consumes a token): retried only
    /// when no connection was made, so the request never reached a server.
    Act,
    /// POST: never retried.
    Write,
}

/// One API call, before it is sent. Deliberately not `Debug`: its path may
/// hold a token.
pub(crate) struct Call {
    /// Short endpoint name for tracing, e.g. `sms`.
    pub(crate) endpoint: &'static str,
    pub(crate) kind: Kind,
    /// Path segments below the base URL; each is percent-encoded on its own.
    pub(crate) path: Vec<String>,
    pub(crate) authy_id: Option<AuthyId>,
    /// Parameters: the query string of a GET, the JSON body of a POST.
    pub(crate) params: Map<String, Value>,
    /// A POST body serialised by the caller, in place of `params` (when
    /// member order matters).
    pub(crate) json_body: Option<Vec<u8>>,
}

impl Call {
    /// A call under `/protected/json/…`.
    pub(crate) fn protected(endpoint: &'static str, kind: Kind, path: &[&str]) -> Self {
        Self::new(endpoint, kind, "protected", path)
    }

    /// A call under `/onetouch/json/…`.
    pub(crate) fn onetouch(endpoint: &'static str, kind: Kind, path: &[&str]) -> Self {
        Self::new(endpoint, kind, "onetouch", path)
    }

    fn new(endpoint: &'static str, kind: Kind, family: &str, path: &[&str]) -> Self {
        let mut segments = vec![family.to_owned(), "json".to_owned()];
        segments.extend(path.iter().map(|s| (*s).to_owned()));
        Self {
            endpoint,
            kind,
            path: segments,
            authy_id: None,
            params: Map::new(),
            json_body: None,
        }
    }

    /// Names the user in the tracing span.
    pub(crate) fn authy_id(mut self, id: AuthyId) -> Self {
        self.authy_id = Some(id);
        self
    }

    /// Adds a parameter.
    pub(crate) fn param(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.params.insert(name.to_owned(), value.into());
        self
    }

    /// Adds a parameter when it is present.
    pub(crate) fn param_opt(self, name: &str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(value) => self.param(name, value),
            None => self,
        }
    }

    /// Sends this JSON as the POST body instead of `params`.
    pub(crate) fn json_body(mut self, json: Vec<u8>) -> Self {
        self.json_body = Some(json);
        self
    }

    fn method(&self) -> Method {
        match self.kind {
            Kind::Read | Kind::Act => Method::GET,
            Kind::Write => Method::POST,
        }
    }

    /// GET parameters as query pairs; only scalars are ever put on a GET.
    fn query_pairs(&self) -> Vec<(&str, String)> {
        self.params
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (name.as_str(), text)
            })
            .collect()
    }
}

impl Client {
    /// Sends `call` (with retries as its kind allows) and decodes a success
    /// answer into `T`.
    pub(crate) async fn execute<T: DeserializeOwned>(&self, call: Call) -> Result<T, AuthyError> {
        self.execute_checked(call, |_| None).await
    }

    /// Like [`execute`](Self::execute), then `check` may still reject the
    /// decoded success (returning why); the answer is then a decode error
    /// that keeps the raw body.
    pub(crate) async fn execute_checked<T, F>(&self, call: Call, check: F) -> Result<T, AuthyError>
    where
        T: DeserializeOwned,
        F: FnOnce(&T) -> Option<&'static str>,
    {
        let span = tracing::info_span!(
            "authy.request",
            endpoint = call.endpoint,
            authy_id = tracing::field::Empty,
            http.status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        if let Some(id) = call.authy_id {
            span.record("authy_id", id.get());
        }
        async move {
            let result = match self.send_with_retries(&call).await {
                Err(error) => Err(error),
                Ok((status, body)) => {
                    let key = self.inner.key.expose();
                    interpret(status, &body, key).and_then(|value| match check(&value) {
                        None => Ok(value),
                        Some(reason) => Err(AuthyError::decode(
                            status,
                            reason,
                            scrub(&String::from_utf8_lossy(&body), key),
                        )),
                    })
                }
            };
            if let Err(error) = &result {
                tracing::debug!(%error, "Authy call failed");
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn send_with_retries(&self, call: &Call) -> Result<(StatusCode, Vec<u8>), AuthyError> {
        let url = self.endpoint_url(&call.path);
        let policy = self.inner.retry;
        let mut retry = 0;
        loop {
            let outcome = self.send_once(call, url.clone()).await;
            tracing::Span::current().record("attempts", retry + 1);
            if retry >= policy.max_retries() || !may_retry(call.kind, &outcome) {
                return outcome;
            }
            let delay = policy.delay(retry);
            tracing::debug!(retry = retry + 1, ?delay, "retrying");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    async fn send_once(&self, call: &Call, url: Url) -> Result<(StatusCode, Vec<u8>), AuthyError> {
        let method = call.method();
        let mut request = self
            .inner
            .http
            .request(method.clone(), url)
            .header(API_KEY_HEADER, self.inner.key_header.clone())
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, USER_AGENT_VALUE)
            .timeout(self.inner.timeout);
        if method == Method::GET {
            if !call.params.is_empty() {
                request = request.query(&call.query_pairs());
            }
        } else if let Some(json) = &call.json_body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(json.clone());
        } else {
            request = request.json(&call.params);
        }

        let response = request.send().await.map_err(AuthyError::transport)?;
        let status = response.status();
        tracing::Span::current().record("http.status", status.as_u16());
        let body = outbound::read_capped(response).await.map_err(|e| match e {
            ReadError::TooLarge => AuthyError::decode(
                status,
                format!("HTTP {} with a body over 1 MiB", status.as_u16()),
                String::new(),
            ),
            ReadError::Transport(e) => AuthyError::transport(e),
        })?;
        Ok((status, body))
    }

    fn endpoint_url(&self, path: &[String]) -> Url {
        outbound::join(&self.inner.base_url, path)
    }
}

/// Whether the outcome of one attempt may be retried, by the rule of
/// [`Kind`].
fn may_retry(kind: Kind, outcome: &Result<(StatusCode, Vec<u8>), AuthyError>) -> bool {
    match (kind, outcome) {
        (Kind::Write, _) => false,
        (Kind::Read, Ok((status, _))) => *status == StatusCode::SERVICE_UNAVAILABLE,
        (Kind::Act, Ok(_)) => false,
        (Kind::Read, Err(AuthyError::Transport { source, .. })) => {
            // A request timeout has spent its budget; a connect timeout has not.
            source.is_connect() || !source.is_timeout()
        }
        (Kind::Act, Err(AuthyError::Transport { source, .. })) => source.is_connect(),
        (_, Err(_)) => false,
    }
}

/// Turns a status and body into `T` (a success) or the matching error. The
/// body is JSON whatever the `Content-Type` says (Authy has sent JSON as
/// `text/html`). Any copy of `key` in the body is scrubbed before the body
/// is kept in an error.
pub(crate) fn interpret<T: DeserializeOwned>(
    status: StatusCode,
    body: &[u8],
    key: &str,
) -> Result<T, AuthyError> {
    let raw = || scrub(&String::from_utf8_lossy(body), key);
    let code = status.as_u16();

    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            let reason = if body.iter().all(u8::is_ascii_whitespace) {
                format!("HTTP {code} with an empty body")
            } else if e.is_eof() {
                format!("HTTP {code} with a truncated JSON body")
            } else {
                format!("HTTP {code} with a non-JSON body")
            };
            return Err(AuthyError::decode(status, reason, raw()));
        }
    };
    let Value::Object(map) = value else {
        return Err(AuthyError::decode(
            status,
            format!("HTTP {code} with JSON that is not an object"),
            raw(),
        ));
    };

    // Authy answers every success with 200 (its official clients test for
    // exactly 200); anything else is not a success, whatever the body says.
    if status != StatusCode::OK {
        return Err(
            AuthyError::from_envelope(status, &map, key).unwrap_or_else(|| {
                AuthyError::decode(
                    status,
                    format!("HTTP {code} without an Authy error message"),
                    raw(),
                )
            }),
        );
    }
    match map.get("success").and_then(bool_value) {
        Some(true) => {}
        Some(false) => {
            return Err(
                AuthyError::from_envelope(status, &map, key).unwrap_or_else(|| {
                    AuthyError::decode(status, format!("HTTP {code} with \"success\":false"), raw())
                }),
            );
        }
        None => {
            return Err(AuthyError::decode(
                status,
                format!("HTTP {code} without a boolean \"success\""),
                raw(),
            ));
        }
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| {
        AuthyError::decode(
            status,
            scrub(&format!("HTTP {code} with unexpected JSON: {e}"), key),
            raw(),
        )
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Msg {
        message: String,
    }

    fn run(status: u16, body: &str) -> Result<Msg, AuthyError> {
        interpret(
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
            "the-key",
        )
    }

    #[test]
    fn success_may_be_a_boolean_or_the_string_true() {
        assert_eq!(
            run(200, r#"{"success":true,"message":"a"}"#)
                .unwrap()
                .message,
            "a"
        );
        assert_eq!(
            run(200, r#"{"success":"true","message":"b"}"#)
                .unwrap()
                .message,
            "b"
        );
    }

    #[test]
    fn a_200_without_success_true_fails_closed() {
        let err = run(200, r#"{"message":"a"}"#).unwrap_err();
        assert!(matches!(err, AuthyError::Decode { .. }), "{err:?}");
        let err = run(200, r#"{"success":"yes","message":"a"}"#).unwrap_err();
        assert!(matches!(err, AuthyError::Decode { .. }), "{err:?}");
        let err = run(
            200,
            r#"{"success":false,"message":"nope","error_code":"60000"}"#,
        )
        .unwrap_err();
        assert_eq!(err.code(), Some("60000"));
    }

    #[test]
    fn error_envelope_with_field_errors() {
        let body = r#"{"message":"User was not valid","success":false,
            "errors":{"cellphone":"is invalid","message":"User was not valid"},
            "cellphone":"is invalid","error_code":"60027"}"#;
        match run(400, body).unwrap_err() {
            AuthyError::Api {
                status,
                code,
                message,
                field_errors,
                ..
            } => {
                assert_eq!(status, StatusCode::BAD_REQUEST);
                assert_eq!(code.as_deref(), Some("60027"));
                assert_eq!(message, "User was not valid");
                assert_eq!(field_errors.len(), 1);
                assert_eq!(field_errors["cellphone"], "is invalid");
            }
            other => panic!("expected an API error, got {other:?}"),
        }
    }

    #[test]
    fn empty_errors_object_and_message_only_inside_errors() {
        let err = run(404, r#"{"message":"Approval request not found: x","success":false,"errors":{},"error_code":"60049"}"#).unwrap_err();
        assert_eq!(err.code(), Some("60049"));
        assert!(err.is_not_found());
        let err = run(500, r#"{"success":false,"errors":{"message":"boom"}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Authy API error without a code (HTTP 500): boom"
        );
    }

    #[test]
    fn html_error_page_is_not_a_json_error() {
        let err = run(502, "<html><body>Bad Gateway</body></html>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected answer from the Authy API: HTTP 502 with a non-JSON body"
        );
        match err {
            AuthyError::Decode { body, status, .. } => {
                assert_eq!(status, StatusCode::BAD_GATEWAY);
                assert!(body.contains("Bad Gateway"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_200_is_a_success() {
        let err = run(201, r#"{"success":true,"message":"a"}"#).unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::CREATED));
        let err = run(302, "").unwrap_err();
        assert!(matches!(err, AuthyError::Decode { .. }), "{err:?}");
    }

    #[test]
    fn truncated_empty_and_non_object_bodies() {
        let err = run(200, r#"{"success":true,"mess"#).unwrap_err();
        assert!(err.to_string().contains("truncated JSON"), "{err}");
        let err = run(200, "").unwrap_err();
        assert!(err.to_string().contains("empty body"), "{err}");
        let err = run(200, "[1,2]").unwrap_err();
        assert!(err.to_string().contains("not an object"), "{err}");
        let err = run(500, r#"{"success":false}"#).unwrap_err();
        assert!(matches!(err, AuthyError::Decode { .. }), "{err:?}");
    }

    #[test]
    fn missing_members_are_a_decode_error() {
        let err = run(200, r#"{"success":true}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `message`"), "{err}");
    }

    #[test]
    fn an_echoed_key_is_scrubbed() {
        let err = run(500, "echo: X-Authy-API-Key: the-key").unwrap_err();
        let AuthyError::Decode { body, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(body, "echo: X-Authy-API-Key: [redacted]");
        let err = run(401, r#"{"message":"bad key the-key","error_code":"60001"}"#).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("the-key"));
        assert!(err.is_invalid_api_key());
    }

    #[test]
    fn get_parameters_become_query_text() {
        let call = Call::protected("sms", Kind::Act, &["sms", "1"])
            .param("force", true)
            .param("action", "login")
            .param_opt("locale", None::<String>);
        assert_eq!(call.method(), Method::GET);
        assert_eq!(
            call.query_pairs(),
            vec![("action", "login".to_owned()), ("force", "true".to_owned())]
        );
        assert_eq!(call.path, ["protected", "json", "sms", "1"]);
    }

    #[test]
    fn retry_rules() {
        let ok = |code: u16| Ok((StatusCode::from_u16(code).unwrap(), Vec::new()));
        assert!(may_retry(Kind::Read, &ok(503)));
        assert!(!may_retry(Kind::Read, &ok(500)));
        assert!(!may_retry(Kind::Act, &ok(503)));
        assert!(!may_retry(Kind::Write, &ok(503)));
    }
}
