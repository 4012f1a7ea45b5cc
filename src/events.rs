//! Security events: what changed in a user's second-factor protection, for
//! the application to tell its user (an e-mail "a passkey was added to
//! your account"). Give a listener to
//! [`TwoFactorBuilder::with_security_events`](crate::TwoFactorBuilder::with_security_events);
//! it is called after the change is stored, on the request's task, so it
//! should be quick (queue the e-mail, do not send it inline).
//!
//! ```
//! use std::sync::Arc;
//! use tower_authy::events::SecurityEvent;
//! use tower_authy::store::MemoryStore;
//! use tower_authy::TwoFactor;
//!
//! # fn demo() -> Result<(), tower_authy::ConfigError> {
//! let two_factor = TwoFactor::local(Arc::new(MemoryStore::new()))
//!     .with_secret_key("an application secret key of 32+ bytes")
//!     .with_authenticator_apps()
//!     .with_security_events(|event: &SecurityEvent| {
//!         tracing::info!(?event, "tell the user");
//!     })
//!     .build()?;
//! # let _ = two_factor;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::store::{FactorKind, UserId};

/// A change to a user's second-factor protection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityEvent {
    /// A factor was added and confirmed (or registered, for a passkey).
    FactorAdded {
        /// Whose.
        user: UserId,
        /// What kind.
        kind: FactorKind,
        /// The user's name for it.
        label: String,
    },
    /// A factor was removed.
    FactorRemoved {
        /// Whose.
        user: UserId,
        /// What kind.
        kind: FactorKind,
        /// The user's name for it.
        label: String,
    },
    /// Two-factor sign-in was turned off: the user's last factor went.
    TwoFactorOff {
        /// Whose.
        user: UserId,
    },
    /// A backup code passed the challenge (and is gone).
    BackupCodeUsed {
        /// Whose.
        user: UserId,
        /// How many are left.
        left: usize,
    },
    /// A new set of backup codes replaced the old one.
    BackupCodesRenewed {
        /// Whose.
        user: UserId,
    },
    /// Too many wrong codes: the user is locked out until then.
    LockedOut {
        /// Whose.
        user: UserId,
        /// When the lockout ends.
        until: SystemTime,
    },
    /// A device was remembered (its browser skips the second factor).
    DeviceRemembered {
        /// Whose.
        user: UserId,
    },
}

/// What hears security events. Closures `Fn(&SecurityEvent)` are listeners.
pub trait SecurityEvents: Send + Sync + 'static {
    /// Called once per event, after the change was stored.
    fn notify(&self, event: &SecurityEvent);
}

impl<F> SecurityEvents for F
where
    F: Fn(&SecurityEvent) + Send + Sync + 'static,
{
    fn notify(&self, event: &SecurityEvent) {
        self(event);
    }
}

/// The listener of a set-up, if it has one.
#[derive(Clone, Default)]
pub(crate) struct Listener(Option<Arc<dyn SecurityEvents>>);

impl Listener {
    pub(crate) fn new(listener: Arc<dyn SecurityEvents>) -> Self {
        Self(Some(listener))
    }

    /// Tells the listener, if any; logs the event either way.
    pub(crate) fn tell(&self, event: SecurityEvent) {
        tracing::info!(?event, "tower-authy: security event");
        if let Some(listener) = &self.0 {
            listener.notify(&event);
        }
    }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Listener(set)"
        } else {
            "Listener(none)"
        })
    }
}
