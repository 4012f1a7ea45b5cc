//! The Authy application API key: the credential for every API call and the
//! HMAC key of OneTouch callbacks. It never appears in `Debug` or `Display`.

use secrecy::{ExposeSecret, SecretString};

/// An Authy application API key.
///
/// `Debug` prints `ApiKey([redacted])`; the key can be read only inside the
/// crate, where it goes into the `X-Authy-API-Key` header or an HMAC.
///
/// ```
/// let key = tower_authy::ApiKey::new("d57d919d11e6b221c9bf6f7c882028f9");
/// assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
/// ```
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(SecretString::from(key.into()))
    }

    /// A fresh random 32-character alphanumeric key, the shape Authy issues
    /// (for the simulator and for tests).
    #[cfg(feature = "simulator")]
    pub fn random() -> Self {
        use rand::Rng;
        use rand::distr::Alphanumeric;
        let key: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        Self::new(key)
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Compares a presented key with this one in constant time.
    #[cfg(feature = "simulator")]
    pub(crate) fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        self.expose().as_bytes().ct_eq(presented.as_bytes()).into()
    }

    /// Returns the key itself. Needed to print the key a local simulator was
    /// started with, or to hand it to another Authy client; never log it.
    pub fn expose_for_display(&self) -> &str {
        self.expose()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        Self::new(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        Self::new(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("super-secret-key");
        assert!(!format!("{key:?}").contains("super-secret"));
        assert!(key.matches("super-secret-key"));
        assert!(!key.matches("super-secret-kez"));
        assert!(!key.matches("super-secret-key-longer"));
    }
}
