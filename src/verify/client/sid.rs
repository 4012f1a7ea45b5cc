//! Typed SIDs: a Service SID cannot be passed where a Factor SID is meant.
//! Each is its two-letter prefix and 32 hex digits (spec §1.4); what the
//! server sends is read as it is, what the caller gives is checked.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::InvalidInput;

macro_rules! sid {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Its two-letter prefix.
            pub const PREFIX: &'static str = $prefix;

            /// The SID as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidInput;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                if is_sid(text, $prefix) {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(InvalidInput::new(
                        $field,
                        concat!("must be ", $prefix, " and 32 hex digits"),
                    ))
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn is_sid(text: &str, prefix: &str) -> bool {
    text.len() == 34 && text.starts_with(prefix) && text[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

sid!(
    /// An account (`AC…`).
    AccountSid, "AC", "account SID"
);
sid!(
    /// A Verify service (`VA…`).
    ServiceSid, "VA", "service SID"
);
sid!(
    /// A verification (`VE…`), also a check's `sid`.
    VerificationSid, "VE", "verification SID"
);
sid!(
    /// An entity (`YE…`).
    EntitySid, "YE", "entity SID"
);
sid!(
    /// A factor (`YF…`).
    FactorSid, "YF", "factor SID"
);
sid!(
    /// A challenge (`YC…`).
    ChallengeSid, "YC", "challenge SID"
);
sid!(
    /// A service webhook (`YW…`).
    WebhookSid, "YW", "webhook SID"
);
sid!(
    /// An access token for a device's push factor (`YK…`).
    AccessTokenSid, "YK", "access token SID"
);

/// An entity's identity: the application's own immutable, PII-free key for a
/// user, 8 to 64 dash-separated alphanumerics (spec §4.1). This crate uses
/// [`Identity::for_user`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Identity(String);

impl Identity {
    /// The identity this crate gives a user: 32 lower-case hex digits of
    /// SHA-256(`tower-authy:` + user id), so Twilio never sees the user id.
    pub fn for_user(user_id: &str) -> Self {
        use sha2::{Digest as _, Sha256};
        let digest = Sha256::digest(format!("tower-authy:{user_id}").as_bytes());
        Self(data_encoding::HEXLOWER.encode(&digest[..16]))
    }

    /// The identity as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Identity {
    type Err = InvalidInput;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts_ok = text
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()));
        if (8..=64).contains(&text.len()) && parts_ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidInput::new(
                "identity",
                "must be 8 to 64 dash-separated letters and digits",
            ))
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_are_checked_by_prefix_and_shape() {
        assert!(
            "VA0123456789abcdef0123456789abcdef"
                .parse::<ServiceSid>()
                .is_ok()
        );
        assert!(
            "YF0123456789abcdef0123456789abcdef"
                .parse::<ServiceSid>()
                .is_err()
        );
        assert!(
            "VA0123456789abcdef0123456789abcde"
                .parse::<ServiceSid>()
                .is_err()
        );
        assert!(
            "VA0123456789abcdef0123456789abcdeg"
                .parse::<ServiceSid>()
                .is_err()
        );
        assert!(
            "VA/../../Services/VA0123456789abcd"
                .parse::<ServiceSid>()
                .is_err()
        );
    }

    #[test]
    fn identities_are_hashes_and_checked() {
        let id = Identity::for_user("alice@example.com");
        assert_eq!(id.as_str().len(), 32);
        assert!(id.as_str().parse::<Identity>().is_ok());
        assert_ne!(id, Identity::for_user("bob@example.com"));
        for bad in [
            "short",
            "has space in it",
            "-leading-dash",
            "a--b-cdefgh",
            &"x".repeat(65),
        ] {
            assert!(bad.parse::<Identity>().is_err(), "{bad}");
        }
    }
}
