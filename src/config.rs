//! Configuration errors shared by the crate's builders. Builders start from
//! secure defaults and report bad settings here; nothing panics.

/// A setting that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A URL setting is not an absolute `http` or `https` URL.
    #[error("{setting} must be an absolute http(s) URL: {reason}")]
    InvalidUrl {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting is outside the range it allows.
    #[error("{setting} is out of range: {reason}")]
    OutOfRange {
        /// The setting's name.
        setting: &'static str,
        /// The allowed range.
        reason: String,
    },
    /// A setting that has no default was not given.
    #[error("{0} must be set")]
    Missing(&'static str),
    /// The Authy base URL is plain `http://` to a host that is not loopback;
    /// the API key would cross the network in clear text. See
    /// [`ClientBuilder::allow_plain_http`](crate::authy::ClientBuilder::allow_plain_http).
    #[error("refusing plain http:// to a non-loopback host: the API key would travel unencrypted")]
    PlainHttp,
    /// The API key is empty or cannot be sent in an HTTP header.
    #[error("the Authy API key is empty or contains characters not allowed in an HTTP header")]
    InvalidApiKey,
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

/// Checks that `url` is an absolute http(s) URL with a host, and returns it
/// without a trailing query or fragment.
pub(crate) fn absolute_url(setting: &'static str, url: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidUrl {
        setting,
        reason: reason.to_owned(),
    };
    let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(invalid("the scheme must be http or https")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    if uri.query().is_some() || url.contains('#') {
        return Err(invalid("it must not carry a query or fragment"));
    }
    Ok(url.to_owned())
}
