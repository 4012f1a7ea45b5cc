//! Request execution: builds each call's URL from escaped segments, sends
//! the Basic credentials, reads bounded bodies, retries what is safe to
//! retry, follows list pages within the API, and turns answers into typed
//! values or errors.

use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, Method, StatusCode};
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tracing::Instrument as _;

use super::Client;
use super::error::{VerifyError, scrub};
use super::resources::Meta;
use crate::outbound::{self, ReadError};

const USER_AGENT_VALUE: &str = concat!("tower-authy/", env!("CARGO_PKG_VERSION"));

/// The most of a failure's body a decode error keeps.
const KEPT_BODY: usize = 4096;

/// The most pages a list follows: 100 pages of 50.
const MAX_PAGES: usize = 100;

/// What a call does, which decides when it may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// GET: retried on 503 and on every transport failure but a timeout
    /// once connected (no connection, a connect timeout, a reset), which
    /// has spent its time already.
    Read,
    /// DELETE: retried only when no connection was made.
    Delete,
    /// POST (a send, a check, a create): never retried.
    Write,
}

/// One API call, before it is sent. Not `Debug`: its form may hold a code.
pub(crate) struct Call {
    /// Short endpoint name for tracing, e.g. `verification.start`.
    pub(crate) endpoint: &'static str,
    pub(crate) kind: Kind,
    /// Path segments below the base URL; each is percent-encoded on its own.
    pub(crate) path: Vec<String>,
    /// The form body of a POST, or the query of a GET, in order; a name may
    /// repeat (Twilio's arrays).
    pub(crate) params: Vec<(String, String)>,
}

impl Call {
    pub(crate) fn new(endpoint: &'static str, kind: Kind, path: &[&str]) -> Self {
        Self {
            endpoint,
            kind,
            path: std::iter::once("v2")
                .chain(path.iter().copied())
                .map(str::to_owned)
                .collect(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter.
    pub(crate) fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.params.push((name.to_owned(), value.into()));
        self
    }

    /// Adds a parameter when it is present (Twilio's libraries omit unset
    /// ones, never send them empty).
    pub(crate) fn param_opt(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.param(name, value),
            None => self,
        }
    }

    fn method(&self) -> Method {
        match self.kind {
            Kind::Read => Method::GET,
            Kind::Delete => Method::DELETE,
            Kind::Write => Method::POST,
        }
    }
}

impl Client {
    /// Sends `call` and decodes a success into `T`.
    pub(crate) async fn execute<T: DeserializeOwned>(&self, call: Call) -> Result<T, VerifyError> {
        let url = outbound::join(&self.inner.base_url, &call.path);
        self.traced(&call, async {
            let (status, body) = self.send_with_retries(&call, url).await?;
            self.interpret(status, &body)
        })
        .await
    }

    /// Sends a DELETE; success is any 2xx.
    pub(crate) async fn execute_delete(&self, call: Call) -> Result<(), VerifyError> {
        let url = outbound::join(&self.inner.base_url, &call.path);
        self.traced(&call, async {
            let (status, body) = self.send_with_retries(&call, url).await?;
            if status.is_success() {
                Ok(())
            } else {
                self.interpret::<Value>(status, &body).map(|_| ())
            }
        })
        .await
    }

    /// Sends a list call and follows `meta.next_page_url` (only within the
    /// API's base URL, so the credentials never go elsewhere), gathering the
    /// items under `meta.key`.
    pub(crate) async fn execute_list<T: DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<Vec<T>, VerifyError> {
        let first = outbound::join(&self.inner.base_url, &call.path);
        let call = call.param("PageSize", "50");
        self.traced(&call, async {
            let mut items = Vec::new();
            let mut url = Some(first);
            let mut params = call.params.clone();
            for _ in 0..MAX_PAGES {
                let Some(page_url) = url.take() else {
                    return Ok(items);
                };
                let page = Call {
                    endpoint: call.endpoint,
                    kind: Kind::Read,
                    path: Vec::new(),
                    params: std::mem::take(&mut params),
                };
                let (status, body) = self.send_with_retries(&page, page_url).await?;
                let mut map: Map<String, Value> = self.interpret(status, &body)?;
                let meta: Meta = map
                    .remove("meta")
                    .and_then(|meta| serde_json::from_value(meta).ok())
                    .ok_or_else(|| self.decode(status, "a list without its meta", &body))?;
                let page_items = map
                    .remove(&meta.key)
                    .ok_or_else(|| self.decode(status, "a list without its items", &body))?;
                let page_items: Vec<T> = serde_json::from_value(page_items).map_err(|e| {
                    self.decode(
                        status,
                        format!("a list with unexpected items ({:?} error)", e.classify()),
                        &body,
                    )
                })?;
                items.extend(page_items);
                url = match meta.next_page_url {
                    None => None,
                    Some(next) => Some(self.within_api(&next).ok_or_else(|| {
                        self.decode(status, "a next page outside the API's base URL", &body)
                    })?),
                };
            }
            // The last page allowed may well be the last page.
            if url.is_none() {
                return Ok(items);
            }
            Err(VerifyError::decode(
                StatusCode::OK,
                format!("a list longer than {MAX_PAGES} pages"),
                String::new(),
            ))
        })
        .await
    }

    async fn traced<T>(
        &self,
        call: &Call,
        work: impl Future<Output = Result<T, VerifyError>>,
    ) -> Result<T, VerifyError> {
        let span = tracing::info_span!(
            "verify.request",
            endpoint = call.endpoint,
            http.status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        async move {
            let result = work.await;
            if let Err(error) = &result {
                tracing::debug!(%error, "Verify call failed");
            }
            result
        }
        .instrument(span)
        .await
    }

    /// `next` if it lies under the base URL (same scheme, host, port and
    /// path prefix).
    fn within_api(&self, next: &str) -> Option<Url> {
        let next = Url::parse(next).ok()?;
        let base = &self.inner.base_url;
        let prefix = base.path().trim_end_matches('/');
        let same_origin = next.origin() == base.origin();
        let under = next.path() == prefix || next.path().starts_with(&format!("{prefix}/"));
        (same_origin && under && next.username().is_empty() && next.password().is_none())
            .then_some(next)
    }

    async fn send_with_retries(
        &self,
        call: &Call,
        url: Url,
    ) -> Result<(StatusCode, Vec<u8>), VerifyError> {
        let policy = self.inner.retry;
        let mut retry = 0;
        loop {
            let outcome = self.send_once(call, url.clone()).await;
            tracing::Span::current().record("attempts", retry + 1);
            if retry >= policy.max_retries() || !may_retry(call.kind, &outcome) {
                return outcome.map(|(status, _, body)| (status, body));
            }
            let delay = policy.delay(retry);
            tracing::debug!(retry = retry + 1, ?delay, "retrying");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    async fn send_once(
        &self,
        call: &Call,
        url: Url,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), VerifyError> {
        let method = call.method();
        let mut request = self
            .inner
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, self.inner.authorization.clone())
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, USER_AGENT_VALUE)
            .timeout(self.inner.timeout);
        if method == Method::POST {
            request = request.form(&call.params);
        } else if !call.params.is_empty() {
            request = request.query(&call.params);
        }
        let response = request.send().await.map_err(VerifyError::transport)?;
        let status = response.status();
        tracing::Span::current().record("http.status", status.as_u16());
        let headers = response.headers().clone();
        let body = outbound::read_capped(response).await.map_err(|e| match e {
            ReadError::TooLarge => VerifyError::decode(
                status,
                format!("HTTP {} with a body over 1 MiB", status.as_u16()),
                String::new(),
            ),
            ReadError::Transport(e) => VerifyError::transport(e),
        })?;
        if !status.is_success() {
            return Err(self.failure(status, &headers, &body));
        }
        Ok((status, headers, body))
    }

    /// The error for a non-2xx answer: Twilio's error body, else a decode
    /// error keeping the (scrubbed) raw body.
    fn failure(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> VerifyError {
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let secret = self.inner.credentials.secret_text();
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => VerifyError::from_body(status, &map, retry_after, secret)
                .unwrap_or_else(|| {
                    self.decode(
                        status,
                        format!("HTTP {} without a Twilio error", status.as_u16()),
                        body,
                    )
                }),
            _ => self.decode(status, describe(status, body), body),
        }
    }

    /// Decodes a 2xx body into `T`.
    fn interpret<T: DeserializeOwned>(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> Result<T, VerifyError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| self.decode(status, describe(status, body), body))?;
        if !value.is_object() {
            return Err(self.decode(
                status,
                format!("HTTP {} with JSON that is not an object", status.as_u16()),
                body,
            ));
        }
        // serde's message may quote a value of the body (a seed): only
        // where it stopped is said.
        serde_json::from_value(value).map_err(|e| {
            self.decode(
                status,
                format!(
                    "HTTP {} with JSON of an unexpected shape ({:?} error)",
                    status.as_u16(),
                    e.classify()
                ),
                body,
            )
        })
    }

    /// A decode error that keeps what it may of the body: nothing of a
    /// success (a TOTP factor's seed, say), at most [`KEPT_BODY`] bytes of
    /// a failure, and never the credentials, plain or Base64 as sent.
    fn decode(&self, status: StatusCode, reason: impl Into<String>, body: &[u8]) -> VerifyError {
        let secret = self.inner.credentials.secret_text();
        let encoded = self
            .inner
            .authorization
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Basic "))
            .unwrap_or_default();
        let clean = |text: &str| scrub(&scrub(text, secret), encoded);
        let kept = if status.is_success() {
            format!("[{} bytes of a success, not kept]", body.len())
        } else {
            // A character cut in two becomes U+FFFD.
            clean(&String::from_utf8_lossy(&body[..body.len().min(KEPT_BODY)]))
        };
        VerifyError::decode(status, clean(&reason.into()), kept)
    }
}

fn describe(status: StatusCode, body: &[u8]) -> String {
    let code = status.as_u16();
    if body.iter().all(u8::is_ascii_whitespace) {
        format!("HTTP {code} with an empty body")
    } else if serde_json::from_slice::<Value>(body).is_err_and(|e| e.is_eof()) {
        format!("HTTP {code} with a truncated JSON body")
    } else {
        format!("HTTP {code} with a non-JSON body")
    }
}

/// Whether the outcome of one attempt may be retried, by the rule of
/// [`Kind`].
fn may_retry(kind: Kind, outcome: &Result<(StatusCode, HeaderMap, Vec<u8>), VerifyError>) -> bool {
    match (kind, outcome) {
        (Kind::Write, _) | (_, Ok(_)) => false,
        (Kind::Read, Err(error)) => match error {
            VerifyError::Transport { source, .. } => source.is_connect() || !source.is_timeout(),
            other => other.status() == Some(StatusCode::SERVICE_UNAVAILABLE),
        },
        (Kind::Delete, Err(VerifyError::Transport { source, .. })) => source.is_connect(),
        (Kind::Delete, Err(_)) => false,
    }
}
