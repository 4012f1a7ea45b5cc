//! Why an Authy [`Client`](super::Client) could not be built.

/// A setting of [`ClientBuilder`](super::ClientBuilder) that cannot work.
/// Converts into [`ConfigError`](crate::ConfigError), so `?` works in set-up
/// code that builds the client and the rest together.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL is not an absolute `http(s)` API root.
    #[error("the Authy base URL is not usable: {0}")]
    InvalidUrl(String),
    /// The base URL is plain `http://` to a host that is not loopback; the
    /// API key would cross the network in clear text. See
    /// [`ClientBuilder::with_plain_http`](super::ClientBuilder::with_plain_http).
    #[error("refusing plain http:// to a non-loopback host: the API key would travel unencrypted")]
    PlainHttp,
    /// The API key is empty or cannot be sent in an HTTP header.
    #[error("the Authy API key is empty or contains characters not allowed in an HTTP header")]
    InvalidApiKey,
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
