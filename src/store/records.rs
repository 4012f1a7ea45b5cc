//! The records the store keeps, and the names they are stored under.

use std::fmt;
use std::time::{Duration, SystemTime};

/// The application's own id for a user: whatever its first-factor login
/// knows the user by, as text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Wraps an application user id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({:?})", self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for UserId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&str> for UserId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

/// A stored name that is not a state or status of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);

/// The status of a OneTouch approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApprovalStatus {
    /// Waiting for the user.
    Pending,
    /// The user approved it.
    Approved,
    /// The user denied it.
    Denied,
    /// Its time ran out before an answer.
    Expired,
}

impl ApprovalStatus {
    /// Whether the status is final (anything but pending).
    pub fn is_final(self) -> bool {
        self != Self::Pending
    }

    /// A stable name for storage, the same as Authy's.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }
}

impl fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ApprovalStatus {
    type Err = UnknownName;

    /// The status a stored (or Authy) name stands for.
    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Ok(match name {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "expired" => Self::Expired,
            _ => return Err(UnknownName(name.to_owned())),
        })
    }
}

/// A OneTouch approval request as the store keeps it. `Debug` leaves the
/// session binding out.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApprovalRecord {
    /// The provider's request id (Authy's approval request uuid).
    pub uuid: String,
    /// The user it asks.
    pub user_id: UserId,
    /// An opaque value tying the request to the browser session that created
    /// it, so another session cannot complete with it.
    pub session_binding: String,
    /// Where it stands. A pending request past `expires_at` reads `Expired`.
    pub status: ApprovalStatus,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it stops being answerable; `None` for never.
    pub expires_at: Option<SystemTime>,
    /// When it reached a final status.
    pub processed_at: Option<SystemTime>,
}

impl fmt::Debug for ApprovalRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApprovalRecord")
            .field("uuid", &self.uuid)
            .field("user_id", &self.user_id)
            .field("session_binding", &"[redacted]")
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("processed_at", &self.processed_at)
            .finish()
    }
}

impl ApprovalRecord {
    /// A new pending request created at `now`, expiring after `ttl` (`None`: never).
    pub fn pending(
        uuid: impl Into<String>,
        user_id: UserId,
        session_binding: impl Into<String>,
        now: SystemTime,
        ttl: Option<Duration>,
    ) -> Self {
        Self {
            uuid: uuid.into(),
            user_id,
            session_binding: session_binding.into(),
            status: ApprovalStatus::Pending,
            created_at: now,
            expires_at: ttl.map(|ttl| now + ttl),
            processed_at: None,
        }
    }

    /// The record as it reads at `now`: a pending request past its expiry is
    /// `Expired` (processed at its expiry time).
    pub fn as_of(mut self, now: SystemTime) -> Self {
        if let (ApprovalStatus::Pending, Some(expires_at)) = (self.status, self.expires_at) {
            if now >= expires_at {
                self.status = ApprovalStatus::Expired;
                self.processed_at = Some(expires_at);
            }
        }
        self
    }
}
