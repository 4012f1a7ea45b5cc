//! The Authy REST API client.
//!
//! A [`Client`] holds the API key, the base URL and a `reqwest::Client`; each
//! API family is a small handle borrowed from it:
//!
//! | handle | endpoints |
//! |---|---|
//! | [`Client::users`] | register, status, remove, register activity, QR code, update e-mail, registration status |
//! | [`Client::tokens`] | SMS, voice call, e-mail, verify |
//! | [`Client::onetouch`] | create and get approval requests |
//! | [`Client::phones`] | phone verification start / check / status, phone information |
//! | [`Client::apps`] | application details and statistics |
//!
//! ```no_run
//! use tower_authy::authy::{AuthyId, Client, SendOptions, Token};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder("d57d919d11e6b221c9bf6f7c882028f9").build()?;
//! let id: AuthyId = "1635".parse()?;
//! client.tokens().sms(id, &SendOptions::new()).await?;
//! let token = Token::parse("0123456")?;
//! match client.tokens().verify(id, &token, None).await {
//!     Ok(_) => println!("second factor passed"),
//!     Err(e) if e.is_token_rejected() => println!("wrong code"),
//!     Err(e) => println!("Authy unavailable: {e}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Security
//!
//! - The API key travels only in the `X-Authy-API-Key` header, marked
//!   sensitive; it is never put in a URL, a log line, `Debug` output or an
//!   error (it is even scrubbed from bodies kept in errors, should a server
//!   echo it).
//! - The default HTTP client follows no redirects, so the key header is never
//!   replayed to another host. An injected `reqwest::Client` should do the
//!   same.
//! - [`Tokens::verify`] succeeds only on HTTP 200 with `"token":"is valid"`;
//!   any other answer is an error (it fails closed).
//! - Response bodies are capped at 1 MiB.
//!
//! # Retries
//!
//! Each call is classified, and retried under the [`RetryPolicy`] only when
//! doing so cannot repeat a side effect:
//!
//! - **read-only GETs** (user status, registration status, approval request,
//!   app details and stats, phone information, verification status) retry on
//!   connection failures and on HTTP 503 (a timed-out answer is not retried:
//!   the time budget is spent);
//! - **GETs with side effects** (SMS, call, verify, verification check) retry
//!   only when no connection was ever made, never on 503;
//! - **POSTs** never retry.
//!
//! The [`with_timeout`](ClientBuilder::with_timeout) applies to each attempt.
//!
//! # Tracing
//!
//! Every call runs in an `authy.request` span (level INFO) with the fields
//! `endpoint` (e.g. `"sms"`), `authy_id` when there is one, `http.status`
//! and `attempts`. The key, tokens, codes and URLs are never recorded.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use reqwest::Url;
use serde::{Deserialize, Deserializer, Serialize};

use crate::ApiKey;

mod apps;
mod checks;
mod error;
mod onetouch;
mod phones;
mod tokens;
mod transport;
mod users;

pub use crate::outbound::BuildError;
pub use crate::outbound::RetryPolicy;
pub use apps::{AppDetails, AppStats, Apps, MonthlyStats};
pub use error::{AuthyError, InvalidInput, TransportKind, codes};
pub use onetouch::{ApprovalRequest, ApprovalUuid, LogoResolution, NewApprovalRequest, OneTouch};
pub use phones::{
    PhoneInfo, PhoneNumber, PhoneType, Phones, StartVerification, VerificationCode,
    VerificationStarted, VerificationState, VerificationStatus, Via,
};
pub use tokens::{EmailSent, SendOptions, Token, TokenSent, Tokens, VerifiedDevice, VerifiedToken};
pub use users::{
    Activity, ActivityType, DetailedDevice, NewUser, QrCode, QrCodeOptions, RegisteredUser,
    UserStatus, Users,
};

/// The production API root.
pub const DEFAULT_BASE_URL: &str = "https://api.authy.com";

/// An Authy user ID, as returned by [`Users::register`].
///
/// Serialised as a JSON number; read from a number or a digit string (Authy
/// has sent both).
///
/// ```
/// use tower_authy::authy::AuthyId;
///
/// let id: AuthyId = "1635".parse().unwrap();
/// assert_eq!(id, AuthyId(1635));
/// assert_eq!(id.to_string(), "1635");
/// assert!("16x5".parse::<AuthyId>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AuthyId(pub u64);

impl AuthyId {
    /// The numeric value.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for AuthyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for AuthyId {
    type Err = InvalidInput;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // `u64::from_str` accepts a leading `+`; an ID is digits only.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidInput::new("authy_id", "must be a decimal number"));
        }
        s.parse()
            .map(AuthyId)
            .map_err(|_| InvalidInput::new("authy_id", "is too large"))
    }
}

impl<'de> Deserialize<'de> for AuthyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(u64),
            Text(String),
        }
        match Wire::deserialize(deserializer)? {
            Wire::Number(n) => Ok(AuthyId(n)),
            Wire::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Authy accepted a request that returns nothing but a message, e.g.
/// `User was added to remove.`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Ack {
    /// Authy's message.
    #[serde(default)]
    pub message: String,
}

/// An Authy API client. Cheap to clone (the state is shared).
///
/// `Debug` shows the base URL and settings, never the key.
///
/// ```
/// use tower_authy::authy::Client;
///
/// let client = Client::builder("super-secret-key")
///     .with_base_url("http://127.0.0.1:4000/simulator")
///     .build()
///     .unwrap();
/// let shown = format!("{client:?}");
/// assert!(shown.contains("127.0.0.1:4000/simulator"));
/// assert!(!shown.contains("super-secret-key"));
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    key: ApiKey,
    /// The key as a header value, marked sensitive so that HTTP tracing
    /// layers print it redacted.
    key_header: HeaderValue,
    timeout: Duration,
    retry: RetryPolicy,
}

impl Client {
    /// Starts configuring a client for the given API key.
    pub fn builder(api_key: impl Into<ApiKey>) -> ClientBuilder {
        ClientBuilder {
            api_key: api_key.into(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            http_client: None,
            connect_timeout: None,
            timeout: ClientBuilder::DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            allow_plain_http: false,
        }
    }

    /// The API root requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.base_url.as_str()
    }

    /// Users: registration, status, removal, activity, QR codes.
    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }

    /// One-time codes: SMS, voice call, e-mail, and verification.
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens::new(self)
    }

    /// OneTouch push approval requests.
    pub fn onetouch(&self) -> OneTouch<'_> {
        OneTouch::new(self)
    }

    /// Phone verification and phone information.
    pub fn phones(&self) -> Phones<'_> {
        Phones::new(self)
    }

    /// The application's details and statistics.
    pub fn apps(&self) -> Apps<'_> {
        Apps::new(self)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]; every setting has a safe default.
///
/// ```
/// use std::time::Duration;
/// use tower_authy::authy::{Client, RetryPolicy};
///
/// let client = Client::builder("api-key")
///     .with_base_url("https://api.authy.com")
///     .with_connect_timeout(Duration::from_secs(2))
///     .with_timeout(Duration::from_secs(5))
///     .with_retry(RetryPolicy::new(1, Duration::from_millis(50)))
///     .build()
///     .unwrap();
/// # let _ = client;
/// assert!(Client::builder("api-key").with_base_url("not a url").build().is_err());
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    api_key: ApiKey,
    base_url: String,
    http_client: Option<reqwest::Client>,
    connect_timeout: Option<Duration>,
    timeout: Duration,
    retry: RetryPolicy,
    allow_plain_http: bool,
}

impl ClientBuilder {
    /// Default connect timeout: 5 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = crate::outbound::DEFAULT_CONNECT_TIMEOUT;
    /// Default total timeout per attempt: 10 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// The API root, without `/protected/json`: `https://api.authy.com` (the
    /// default) or e.g. `http://127.0.0.1:4000/simulator`. A path prefix is
    /// kept and the API paths are appended to it.
    pub fn with_base_url(mut self, base_url: &str) -> Self {
        self.base_url = base_url.to_owned();
        self
    }

    /// Sends requests through this `reqwest::Client` (to share a connection
    /// pool or set a proxy; default: a client of its own, rustls, no
    /// redirects). The total [`with_timeout`](Self::with_timeout) still
    /// applies to every request; the connect timeout is the client's own.
    ///
    /// # Warning
    ///
    /// Configure it not to follow redirects
    /// (`reqwest::redirect::Policy::none()`): reqwest forwards custom headers,
    /// the API key among them, to the redirect target.
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// How long to wait for a connection (default 5 s). Only for the default
    /// HTTP client: [`build`](Self::build) refuses it with
    /// [`with_http_client`](Self::with_http_client).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one attempt may take from connecting to the last body byte
    /// (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How safe calls are retried (default: [`RetryPolicy::default`]).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Accepts a plain `http://` base URL to a host that is not loopback
    /// (default: no; loopback addresses and `localhost` are always
    /// accepted, for the simulator).
    ///
    /// # Warning
    ///
    /// The API key then crosses the network unencrypted. Use it only on a
    /// network you trust, e.g. a simulator in a neighbouring container.
    pub fn with_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }

    /// Checks the configuration and creates the client.
    pub fn build(self) -> Result<Client, BuildError> {
        let base_url = self.parse_base_url()?;
        let key = self.api_key.expose();
        if key.is_empty() {
            return Err(BuildError::InvalidApiKey);
        }
        let mut key_header = HeaderValue::from_str(key).map_err(|_| BuildError::InvalidApiKey)?;
        key_header.set_sensitive(true);

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
                key: self.api_key,
                key_header,
                timeout: self.timeout,
                retry: self.retry,
            }),
        })
    }

    fn parse_base_url(&self) -> Result<Url, BuildError> {
        let invalid = |reason: &str| BuildError::InvalidUrl(reason.to_owned());
        let url = crate::outbound::base_url(&self.base_url, self.allow_plain_http)?;
        // A common mistake that would double the API path on every call.
        let path = url.path().to_ascii_lowercase();
        if path.ends_with("/protected/json") || path.ends_with("/onetouch/json") {
            return Err(invalid(
                "give the API root, without /protected/json or /onetouch/json",
            ));
        }
        Ok(url)
    }
}

/// Optional `user_ip` parameter shared by several handles: the end user's IP
/// address, which Authy uses for fraud signals.
pub(crate) fn user_ip_param(ip: Option<IpAddr>) -> Option<String> {
    ip.map(|ip| ip.to_string())
}

/// Lenient readers for members Authy has sent in more than one type.
pub(crate) mod lenient {
    use serde::{Deserialize, Deserializer};

    /// `true`, `false`, `"true"`, `"false"` (the verify endpoint sends a
    /// string).
    pub(crate) fn bool_value(value: &serde_json::Value) -> Option<bool> {
        match value {
            serde_json::Value::Bool(b) => Some(*b),
            serde_json::Value::String(s) if s == "true" => Some(true),
            serde_json::Value::String(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    /// An optional boolean that may also arrive as a string; anything else
    /// reads as absent.
    pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        let value = Option::<serde_json::Value>::deserialize(d)?;
        Ok(value.as_ref().and_then(bool_value))
    }

    /// A boolean flag where absent, null or unreadable means `false`.
    pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(opt_bool(d)?.unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let client = Client::builder("k3y-that-must-not-leak").build().unwrap();
        let shown = format!("{client:?}");
        assert!(shown.contains("https://api.authy.com"), "{shown}");
        assert!(!shown.contains("k3y-that-must-not-leak"), "{shown}");
        let builder = format!("{:?}", Client::builder("k3y-that-must-not-leak"));
        assert!(!builder.contains("k3y-that-must-not-leak"), "{builder}");
    }

    #[test]
    fn base_url_keeps_a_path_prefix() {
        let client = Client::builder("k")
            .with_base_url("http://127.0.0.1:4000/simulator/")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:4000/simulator");
    }

    #[test]
    fn bad_configuration_is_an_error_not_a_panic() {
        let build = |url: &str| Client::builder("k").with_base_url(url).build();
        assert!(matches!(
            build("api.authy.com"),
            Err(BuildError::InvalidUrl(_))
        ));
        assert!(matches!(
            build("ftp://api.authy.com"),
            Err(BuildError::InvalidUrl(_))
        ));
        assert!(matches!(
            build("https://u:p@api.authy.com"),
            Err(BuildError::InvalidUrl(_))
        ));
        assert!(matches!(
            build("https://api.authy.com/?api_key=x"),
            Err(BuildError::InvalidUrl(_))
        ));
        assert!(matches!(
            build("http://api.authy.com"),
            Err(BuildError::PlainHttp)
        ));
        assert!(build("http://localhost:4000").is_ok());
        assert!(build("http://[::1]:4000").is_ok());
        assert!(
            Client::builder("k")
                .with_base_url("http://authy-sim:4000")
                .with_plain_http(true)
                .build()
                .is_ok()
        );
        assert!(matches!(
            Client::builder("").build(),
            Err(BuildError::InvalidApiKey)
        ));
        assert!(matches!(
            Client::builder("a\nb").build(),
            Err(BuildError::InvalidApiKey)
        ));
        assert!(matches!(
            Client::builder("k").with_timeout(Duration::ZERO).build(),
            Err(BuildError::OutOfRange { .. })
        ));
        assert!(matches!(
            Client::builder("k")
                .with_http_client(reqwest::Client::new())
                .with_connect_timeout(Duration::from_secs(1))
                .build(),
            Err(BuildError::ConnectTimeoutWithCustomClient)
        ));
        assert!(matches!(
            Client::builder("k")
                .with_retry(RetryPolicy::new(11, Duration::ZERO))
                .build(),
            Err(BuildError::OutOfRange { .. })
        ));
    }

    #[test]
    fn authy_id_reads_numbers_and_digit_strings() {
        let from_number: AuthyId = serde_json::from_str("1635").unwrap();
        let from_text: AuthyId = serde_json::from_str("\"1635\"").unwrap();
        assert_eq!(from_number, AuthyId(1635));
        assert_eq!(from_text, AuthyId(1635));
        assert!(serde_json::from_str::<AuthyId>("\"+1635\"").is_err());
        assert!(serde_json::from_str::<AuthyId>("-3").is_err());
        assert_eq!(serde_json::to_string(&AuthyId(7)).unwrap(), "7");
    }
}
