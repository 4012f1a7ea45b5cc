//! The Twilio Verify v2 REST client (spec §1–§5).
//!
//! A [`Client`] holds the credentials, the base URL and a `reqwest::Client`;
//! each resource is a small handle borrowed from it:
//!
//! | handle | endpoints |
//! |---|---|
//! | [`Client::services`] | create, fetch, list, delete services |
//! | [`Client::service`] → [`ServiceHandle::verifications`] | start (sms, call, email, whatsapp), fetch, cancel, approve; check a code |
//! | [`ServiceHandle::entities`] | create, fetch, list, delete entities |
//! | [`ServiceHandle::factors`] | TOTP factors: create, verify, fetch, list, delete; push factors made server-side (simulator) |
//! | [`ServiceHandle::challenges`] | create (TOTP with a code, push with details), fetch, list, answer with a code |
//! | [`ServiceHandle::webhooks`] | create, list, delete the service's webhooks |
//! | [`ServiceHandle::access_tokens`] | tokens for the mobile app to register a push factor |
//!
//! ```no_run
//! use tower_authy::verify::{Channel, Client, Credentials, ServiceSid, StartVerification};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder(Credentials::auth_token(
//!     "AC0123456789abcdef0123456789abcdef",
//!     "auth-token",
//! ))
//! .build()?;
//! let sid: ServiceSid = "VA0123456789abcdef0123456789abcdef".parse()?;
//! let service = client.service(&sid);
//! service
//!     .verifications()
//!     .start(&StartVerification::new("+15017122661", Channel::Sms))
//!     .await?;
//! let check = service.verifications().check_to("+15017122661", "123456").await?;
//! println!("{}", if check.is_approved() { "passed" } else { "wrong code" });
//! # Ok(())
//! # }
//! ```
//!
//! # Security
//!
//! - The credentials travel only in the `Authorization` header, marked
//!   sensitive; never in a URL, a log line, `Debug` output or an error (a
//!   copy echoed in a body is scrubbed).
//! - The default HTTP client follows no redirects; list pages are followed
//!   only within the base URL.
//! - A code check passes only on `status: "approved"` (a wrong code is a
//!   200 with `pending`); bodies are capped at 1 MiB.
//!
//! # Retries
//!
//! GETs (fetch, list) retry on HTTP 503 and on transport failures other
//! than a timeout after connecting (no connection, a connect timeout, a
//! reset); DELETEs only when no connection was made; POSTs never: a send would send again,
//! and a check that passed is gone, so its retry would read "not found"
//! (spec §8.2).
//!
//! # Tracing
//!
//! Every call runs in a `verify.request` span (INFO) with `endpoint`,
//! `http.status` and `attempts`. No credential, code, phone or URL is
//! recorded.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http::HeaderValue;
use reqwest::Url;

use crate::Secret;
use crate::outbound::{BuildError, RetryPolicy};

mod challenges;
mod entities;
mod error;
mod resources;
mod services;
mod sid;
mod transport;
mod verifications;

pub use challenges::{Challenges, NewChallenge};
pub use entities::{Entities, Factors, NewTotpFactor};
pub use error::{InvalidInput, TransportKind, VerifyError, codes};
pub use resources::{
    AccessToken, Binding, Challenge, ChallengeDetails, ChallengeStatus, Channel, DetailField,
    Entity, Factor, FactorStatus, FactorType, SendCodeAttempt, Service, TotpSettings, Verification,
    VerificationCheck, VerificationStatus, Webhook,
};
pub use services::{AccessTokens, NewService, NewWebhook, ServiceHandle, Services, Webhooks};
pub use sid::{
    AccessTokenSid, AccountSid, ChallengeSid, EntitySid, FactorSid, Identity, ServiceSid,
    VerificationSid, WebhookSid,
};
pub use verifications::{StartVerification, Verifications, is_e164, is_email};

/// The production API root.
pub const DEFAULT_BASE_URL: &str = "https://verify.twilio.com";

/// Who the client calls as: the account SID and auth token (fine for local
/// testing), or an API key (`SK…`) and its secret (what Twilio recommends in
/// production). `Debug` shows the SID only.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    secret: Secret,
}

impl Credentials {
    /// The account SID (`AC…`) and its auth token.
    pub fn auth_token(account_sid: impl Into<String>, auth_token: impl Into<Secret>) -> Self {
        Self {
            username: account_sid.into(),
            secret: auth_token.into(),
        }
    }

    /// An API key SID (`SK…`) and its secret.
    pub fn api_key(key_sid: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Self {
            username: key_sid.into(),
            secret: secret.into(),
        }
    }

    /// The account or API key SID.
    pub fn username(&self) -> &str {
        &self.username
    }

    pub(crate) fn secret_text(&self) -> &str {
        std::str::from_utf8(self.secret.expose()).unwrap_or("")
    }

    fn header(&self) -> Result<HeaderValue, BuildError> {
        let sid_ok = self.username.len() == 34
            && (self.username.starts_with("AC") || self.username.starts_with("SK"))
            && self.username[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if !sid_ok {
            return Err(BuildError::InvalidCredentials(
                "the username must be an account SID (AC…) or an API key SID (SK…)",
            ));
        }
        if self.secret.expose().is_empty() {
            return Err(BuildError::InvalidCredentials("the secret is empty"));
        }
        let pair = format!("{}:{}", self.username, self.secret_text());
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
            .map_err(|_| BuildError::InvalidCredentials("the secret is not text"))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("secret", &self.secret)
            .finish()
    }
}

/// A Verify API client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    credentials: Credentials,
    authorization: HeaderValue,
    timeout: Duration,
    retry: RetryPolicy,
}

impl Client {
    /// Starts a client with these credentials, against
    /// [`DEFAULT_BASE_URL`].
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            credentials,
            base_url: DEFAULT_BASE_URL.to_owned(),
            http_client: None,
            connect_timeout: None,
            timeout: ClientBuilder::DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            allow_plain_http: false,
        }
    }

    /// The API root calls go to.
    pub fn base_url(&self) -> &str {
        self.inner.base_url.as_str()
    }

    /// The account or API key SID calls are made as.
    pub fn username(&self) -> &str {
        self.inner.credentials.username()
    }

    /// Services of the account.
    pub fn services(&self) -> Services<'_> {
        Services::new(self)
    }

    /// One service's resources.
    pub fn service<'a>(&'a self, sid: &'a ServiceSid) -> ServiceHandle<'a> {
        ServiceHandle::new(self, sid)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("username", &self.inner.credentials.username())
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`].
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    credentials: Credentials,
    base_url: String,
    http_client: Option<reqwest::Client>,
    connect_timeout: Option<Duration>,
    timeout: Duration,
    retry: RetryPolicy,
    allow_plain_http: bool,
}

impl ClientBuilder {
    /// The default total timeout of each attempt.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// The API root (default [`DEFAULT_BASE_URL`]): where `/v2/…` is, such
    /// as a Verify simulator's mount point.
    pub fn with_base_url(mut self, base_url: &str) -> Self {
        self.base_url = base_url.to_owned();
        self
    }

    /// Uses this HTTP client (it should follow no redirects).
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// The connect timeout of the default HTTP client (default 5 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The total timeout of each attempt (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How safe calls are retried (default [`RetryPolicy::default`]).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Allows `http://` to a host that is not loopback (default: refused,
    /// the credentials would travel in clear text).
    pub fn with_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }

    /// Checks the configuration and creates the client.
    pub fn build(self) -> Result<Client, BuildError> {
        let base_url = crate::outbound::base_url(&self.base_url, self.allow_plain_http)?;
        if base_url.path().to_ascii_lowercase().ends_with("/v2") {
            return Err(BuildError::InvalidUrl(
                "give the API root, without /v2".into(),
            ));
        }
        let authorization = self.credentials.header()?;
        let http = crate::outbound::http_client(
            self.http_client,
            self.connect_timeout,
            self.timeout,
            self.retry,
        )?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                credentials: self.credentials,
                authorization,
                timeout: self.timeout,
                retry: self.retry,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

    #[test]
    fn credentials_never_show_their_secret() {
        let credentials = Credentials::auth_token(ACCOUNT, "tok3n-s3cret");
        let client = Client::builder(credentials.clone()).build().unwrap();
        for text in [format!("{credentials:?}"), format!("{client:?}")] {
            assert!(!text.contains("tok3n-s3cret"), "{text}");
            assert!(text.contains(ACCOUNT), "{text}");
        }
    }

    #[test]
    fn bad_settings_are_refused_when_built() {
        let ok = || Client::builder(Credentials::auth_token(ACCOUNT, "t"));
        assert!(ok().build().is_ok());
        assert!(matches!(
            Client::builder(Credentials::auth_token("alice", "t")).build(),
            Err(BuildError::InvalidCredentials(_))
        ));
        assert!(matches!(
            Client::builder(Credentials::api_key(
                "SK0123456789abcdef0123456789abcdef",
                ""
            ))
            .build(),
            Err(BuildError::InvalidCredentials(_))
        ));
        assert!(matches!(
            ok().with_base_url("http://verify.example.com").build(),
            Err(BuildError::PlainHttp)
        ));
        assert!(ok().with_base_url("http://127.0.0.1:4001").build().is_ok());
        assert!(matches!(
            ok().with_base_url("https://verify.twilio.com/v2").build(),
            Err(BuildError::InvalidUrl(_))
        ));
        assert!(matches!(
            ok().with_timeout(Duration::ZERO).build(),
            Err(BuildError::OutOfRange { .. })
        ));
    }
}
