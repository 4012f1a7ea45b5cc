//! A secret key for HMACs (callback signatures, remember-device tokens):
//! never in `Debug`, `Display` or logs, compared in constant time.

use secrecy::{ExposeSecret, SecretString};

use crate::ApiKey;

/// A secret key.
///
/// `Debug` prints `Secret([redacted])`; the bytes are read only inside the
/// crate, where they key an HMAC.
///
/// ```
/// let key = tower_authy::Secret::new("0123456789abcdef0123456789abcdef");
/// assert_eq!(format!("{key:?}"), "Secret([redacted])");
/// ```
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(SecretString::from(key.into()))
    }

    pub(crate) fn expose(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<String> for Secret {
    fn from(key: String) -> Self {
        Self::new(key)
    }
}

impl From<&str> for Secret {
    fn from(key: &str) -> Self {
        Self::new(key)
    }
}

/// Authy signs OneTouch callbacks with the application's API key.
impl From<&ApiKey> for Secret {
    fn from(key: &ApiKey) -> Self {
        Self::new(key.expose())
    }
}

impl From<ApiKey> for Secret {
    fn from(key: ApiKey) -> Self {
        Self::from(&key)
    }
}
