//! Configuration errors shared by the crate's builders. Builders start from
//! secure defaults and report bad settings here; nothing panics.

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
