//! Attempt counters: their keys, their state, and the rule that locks them.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::{UnknownName, UserId};

/// What an attempt counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptKind {
    /// Codes checked (each counted before the check, cleared by a right one).
    Code,
    /// Codes and pushes sent.
    Send,
    /// Enrollments started (each registers a user with the provider).
    Enroll,
}

impl AttemptKind {
    /// A stable name for storage: `code`, `send`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Send => "send",
            Self::Enroll => "enroll",
        }
    }
}

impl fmt::Display for AttemptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AttemptKind {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        match name {
            "code" => Ok(Self::Code),
            "send" => Ok(Self::Send),
            "enroll" => Ok(Self::Enroll),
            _ => Err(UnknownName(name.to_owned())),
        }
    }
}

/// The key of one attempt counter: what it counts ([`AttemptKind`]) and
/// for whom (the subject). Two keys never share a count: a user's wrong
/// codes and the same user's sends are two counters.
///
/// A store keeps a counter per `(kind, subject)` pair and treats the
/// subject as opaque text.
///
/// ```
/// use tower_authy::store::{AttemptKey, AttemptKind, UserId};
/// let codes = AttemptKey::user(AttemptKind::Code, &UserId::new("alice"));
/// assert_eq!((codes.kind().as_str(), codes.subject()), ("code", "user:alice"));
/// assert_ne!(codes, AttemptKey::user(AttemptKind::Send, &UserId::new("alice")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttemptKey {
    kind: AttemptKind,
    subject: String,
}

impl AttemptKey {
    /// The counter of `kind` for an application user.
    pub fn user(kind: AttemptKind, user: &UserId) -> Self {
        Self {
            kind,
            subject: format!("user:{user}"),
        }
    }

    /// The counter of `kind` for a provider identity — an Authy ID, a phone
    /// number, an e-mail address — whichever application users it serves,
    /// so that opening more accounts multiplies neither the guesses at one
    /// identity nor the messages sent to it.
    ///
    /// ```
    /// use tower_authy::store::{AttemptKey, AttemptKind};
    /// let key = AttemptKey::identity(AttemptKind::Code, "authy", "1635");
    /// assert_eq!(key.subject(), "identity:authy:1635");
    /// ```
    pub fn identity(kind: AttemptKind, provider: &str, id: &str) -> Self {
        Self {
            kind,
            subject: format!("identity:{provider}:{id}"),
        }
    }

    /// A key read back from storage, as [`kind`](Self::kind) and
    /// [`subject`](Self::subject) gave it.
    pub fn from_parts(kind: AttemptKind, subject: impl Into<String>) -> Self {
        Self {
            kind,
            subject: subject.into(),
        }
    }

    /// What it counts.
    pub fn kind(&self) -> AttemptKind {
        self.kind
    }

    /// For whom, as text (`user:alice`).
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

/// What the store knows about one attempt counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptState {
    /// Failures counted in the current window.
    pub failures: u32,
    /// Until when the user is locked out, if they are.
    pub locked_until: Option<SystemTime>,
}

impl AttemptState {
    /// A state, for store implementations (the struct is non-exhaustive,
    /// so other crates cannot write it as a literal).
    ///
    /// ```
    /// use tower_authy::store::AttemptState;
    /// let clean = AttemptState::new(0, None);
    /// assert_eq!((clean.failures, clean.locked_until), (0, None));
    /// ```
    pub fn new(failures: u32, locked_until: Option<SystemTime>) -> Self {
        Self {
            failures,
            locked_until,
        }
    }
}

/// What counting an attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attempt {
    /// Counted; the state after counting (locked when this attempt reached
    /// the limit — it may still be checked, the next may not).
    Counted(AttemptState),
    /// Not counted: the user is locked out until then.
    Refused {
        /// When the lockout ends.
        until: SystemTime,
    },
}

/// How failed codes lock a user out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockoutRule {
    /// Failures that lock the user out.
    pub max_failures: u32,
    /// How long failures are remembered, counted from the first one.
    pub window: Duration,
    /// How long the lockout lasts.
    pub lockout: Duration,
}

impl LockoutRule {
    /// A rule: `max_failures` within `window` lock the user out for `lockout`.
    pub fn new(max_failures: u32, window: Duration, lockout: Duration) -> Self {
        Self {
            max_failures,
            window,
            lockout,
        }
    }
}
