//! What every provider client (Authy, Verify) does the same way on the way
//! out: the retry policy, the build-time checks of a base URL, the default
//! HTTP client (no redirects) and bodies read with a cap.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;

mod retry;

pub use retry::RetryPolicy;

/// Bodies larger than this are refused, so a hostile or broken server cannot
/// exhaust memory.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The default connect timeout of a provider client.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A setting of a provider client's builder that cannot work. Converts
/// into [`ConfigError`](crate::ConfigError), so `?` works in set-up code
/// that builds the client and the rest together.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL is not an absolute `http(s)` API root.
    #[error("the base URL is not usable: {0}")]
    InvalidUrl(String),
    /// The base URL is plain `http://` to a host that is not loopback; the
    /// credentials would cross the network in clear text (see each builder's
    /// `with_plain_http`).
    #[error(
        "refusing plain http:// to a non-loopback host: the credentials would travel unencrypted"
    )]
    PlainHttp,
    /// The Authy API key is empty or cannot be sent in an HTTP header.
    #[error("the Authy API key is empty or contains characters not allowed in an HTTP header")]
    InvalidApiKey,
    /// Verify credentials are empty, or not an account or API key SID.
    #[error("the Twilio credentials are not usable: {0}")]
    InvalidCredentials(&'static str),
    /// A timeout is zero, or the retry policy retries too often.
    #[error("{setting} is out of range: {reason}")]
    OutOfRange {
        /// The setting's name.
        setting: &'static str,
        /// The allowed range.
        reason: String,
    },
    /// A connect timeout was set together with an injected `reqwest::Client`,
    /// which keeps its own connect timeout.
    #[error(
        "connect_timeout cannot be applied to an injected reqwest::Client; set it on that client"
    )]
    ConnectTimeoutWithCustomClient,
    /// The default HTTP client could not be created (TLS set-up failed).
    #[error("could not create the HTTP client")]
    HttpClient(#[source] reqwest::Error),
}

/// Checks an API root: http(s) with a host, no credentials, query or
/// fragment; plain http only to loopback unless `allow_plain_http`. A
/// trailing slash is dropped (`/prefix/` and `/prefix` are one root).
pub(crate) fn base_url(text: &str, allow_plain_http: bool) -> Result<Url, BuildError> {
    let invalid = |reason: &str| BuildError::InvalidUrl(reason.to_owned());
    let mut url = Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_plain_http || is_loopback(&url) => {}
        "http" => return Err(BuildError::PlainHttp),
        _ => return Err(invalid("the scheme must be http or https")),
    }
    if url.host().is_none() || url.cannot_be_a_base() {
        return Err(invalid("a host is required"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials in the URL are not allowed"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query string or fragment is not allowed"));
    }
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty();
    }
    Ok(url)
}

/// `url` with `path` appended segment by segment (each one percent-encoded,
/// so an ID can never change the path's shape).
pub(crate) fn join(base: &Url, path: &[String]) -> Url {
    let mut url = base.clone();
    // `base_url` only accepts URLs that have a host, which are never
    // "cannot-be-a-base".
    url.path_segments_mut()
        .expect("base URL checked when the client was built")
        .pop_if_empty()
        .extend(path);
    url
}

/// Checks the timeouts and retry policy a builder was given, and makes the
/// HTTP client: the injected one, or one that follows no redirects (so
/// credentials are never replayed to another host).
pub(crate) fn http_client(
    injected: Option<reqwest::Client>,
    connect_timeout: Option<Duration>,
    timeout: Duration,
    retry: RetryPolicy,
) -> Result<reqwest::Client, BuildError> {
    if timeout.is_zero() {
        return Err(BuildError::OutOfRange {
            setting: "total timeout",
            reason: "must be greater than zero".into(),
        });
    }
    if retry.max_retries() > RetryPolicy::MAX_RETRIES {
        return Err(BuildError::OutOfRange {
            setting: "retry policy",
            reason: format!("at most {} retries", RetryPolicy::MAX_RETRIES),
        });
    }
    match (injected, connect_timeout) {
        (Some(_), Some(_)) => Err(BuildError::ConnectTimeoutWithCustomClient),
        (Some(client), None) => Ok(client),
        (None, connect_timeout) => {
            let connect_timeout = connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
            if connect_timeout.is_zero() {
                return Err(BuildError::OutOfRange {
                    setting: "connect timeout",
                    reason: "must be greater than zero".into(),
                });
            }
            reqwest::Client::builder()
                .connect_timeout(connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(BuildError::HttpClient)
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // IPv6 hosts come bracketed: `[::1]`.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// How a request failed to reach a provider or to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connect or total timeout ran out.
    Timeout,
    /// No connection could be made (refused, unreachable, DNS, TLS handshake).
    Connect,
    /// The connection broke while the request or response was in flight.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timeout => "the request timed out",
            Self::Connect => "could not connect",
            Self::Other => "the connection failed",
        })
    }
}

impl TransportKind {
    /// What kind of failure `error` is.
    pub(crate) fn of(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_connect() {
            Self::Connect
        } else {
            Self::Other
        }
    }
}

/// Replaces any copy of `secret` in `text`, should a server echo it.
pub(crate) fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, "[redacted]")
    }
}

/// Why a body was not read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Over [`MAX_BODY_BYTES`].
    TooLarge,
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

/// The response's body, at most [`MAX_BODY_BYTES`] (refused as soon as its
/// length says more, or it grows past it).
pub(crate) async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|len| len > MAX_BODY_BYTES as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
