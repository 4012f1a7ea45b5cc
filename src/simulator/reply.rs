//! Answers in the Authy API's envelope: compact JSON (Python's `authy` does a
//! raw substring test for `"token":"is valid"`), `error_code` as a string.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// A JSON answer with a status code.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// 200 with `body`.
    pub(crate) fn ok(body: Value) -> Self {
        Self::with_status(StatusCode::OK, body)
    }

    /// Any status with `body`.
    pub(crate) fn with_status(status: StatusCode, body: Value) -> Self {
        Self { status, body }
    }

    /// The error envelope of spec §1.4:
    /// `{"message","success":false,"errors":{"message"},"error_code":"600xx"}`.
    pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::with_status(
            status,
            json!({
                "message": message,
                "success": false,
                "errors": {"message": message},
                "error_code": code,
            }),
        )
    }

    /// Adds `key: value` at the top level of the body.
    pub(crate) fn and(mut self, key: &str, value: Value) -> Self {
        if let Value::Object(map) = &mut self.body {
            map.insert(key.to_owned(), value);
        }
        self
    }

    /// 401 60001, for a missing or wrong API key.
    pub(crate) fn invalid_api_key() -> Self {
        Self::error(StatusCode::UNAUTHORIZED, "60001", "Invalid API key")
    }

    /// 404 60026, for an Authy ID the simulator does not know.
    pub(crate) fn user_not_found() -> Self {
        Self::error(StatusCode::NOT_FOUND, "60026", "User not found.")
    }

    /// 400 60004 `Invalid parameter: <name> - Parameter is required`.
    pub(crate) fn missing(name: &str) -> Self {
        Self::invalid_parameter(name, "Parameter is required")
    }

    /// 400 60004 `Invalid parameter: <name> - <reason>`.
    pub(crate) fn invalid_parameter(name: &str, reason: &str) -> Self {
        Self::error(
            StatusCode::BAD_REQUEST,
            "60004",
            format!("Invalid parameter: {name} - {reason}"),
        )
    }

    /// 400 60004 for a value that should have been an integer.
    pub(crate) fn not_an_integer(name: &str, value: &str) -> Self {
        Self::invalid_parameter(name, &format!("'{value}' is not a valid Integer"))
    }

    /// 400 60027 `User was not valid`, with each field error both inside
    /// `errors` and at the top level, as the API's own answers have them.
    pub(crate) fn user_not_valid(fields: &[(&str, &str)]) -> Self {
        const MESSAGE: &str = "User was not valid";
        let mut errors = Map::new();
        let mut body = Map::new();
        for (field, problem) in fields {
            errors.insert((*field).to_owned(), json!(problem));
            body.insert((*field).to_owned(), json!(problem));
        }
        errors.insert("message".into(), json!(MESSAGE));
        body.insert("message".into(), json!(MESSAGE));
        body.insert("success".into(), json!(false));
        body.insert("errors".into(), Value::Object(errors));
        body.insert("error_code".into(), json!("60027"));
        Self::with_status(StatusCode::BAD_REQUEST, Value::Object(body))
    }

    /// 400 60002, for a body or query the simulator cannot read.
    pub(crate) fn invalid_request(detail: impl std::fmt::Display) -> Self {
        Self::error(
            StatusCode::BAD_REQUEST,
            "60002",
            format!("Invalid request: {detail}"),
        )
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        // serde_json's `to_string` is compact: no space after `:` or `,`.
        let body = serde_json::to_string(&self.body).unwrap_or_else(|_| "{}".to_owned());
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response()
    }
}

/// The answer of every handler: success or error, both JSON.
pub(crate) type Answer = Result<Reply, Reply>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_are_repeated_at_the_top_level() {
        let reply = Reply::user_not_valid(&[("cellphone", "is invalid")]);
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            reply.body,
            json!({"message":"User was not valid","success":false,
                   "errors":{"cellphone":"is invalid","message":"User was not valid"},
                   "cellphone":"is invalid","error_code":"60027"})
        );
    }

    #[test]
    fn error_codes_are_strings_and_json_is_compact() {
        let body = serde_json::to_string(&Reply::user_not_found().body).unwrap();
        assert!(body.contains(r#""error_code":"60026""#), "{body}");
        assert!(!body.contains(": "), "{body}");
    }
}
