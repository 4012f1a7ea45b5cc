//! Where tower-authy keeps what must outlive a request: enrollments, OneTouch
//! approval requests, failed-code counters and lockouts, grace logins,
//! remembered-device revocations and seen callback nonces.
//!
//! The store is the only state several application instances share: a
//! callback may land on one instance while the browser waits on another.
//! [`AuthyStore`] is made of small traits, one per concern, so that a
//! framework author can implement them over their own database and check the
//! result with the public conformance suite (feature `testing`, one test
//! per clause with [`store_conformance_tests!`](crate::store_conformance_tests)).
//! [`AdminStore`] holds what only the application's own tools need (putting
//! or deleting a record, resetting grace logins); the middleware never calls
//! it.
//!
//! Every method that depends on the time takes `now` from the caller, so
//! expiry is decided by one clock and can be tested without waiting.
//!
//! # Contracts common to every method
//!
//! - A method that fails returns a [`StoreError`] and changes nothing.
//! - Expired records (nonces, lockouts) read as absent.
//! - Status transitions and counters are atomic: two callers racing on one
//!   record never both win, and no increment is lost.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

mod error;
mod memory;
mod purge;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;

#[cfg(feature = "testing")]
pub mod conformance;

pub use error::StoreError;
pub use memory::MemoryStore;
pub use purge::{PurgeTask, spawn_purger};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::{Backend, SqlStore};
#[cfg(feature = "postgres")]
pub use sql::{PostgresBackend, PostgresStore};
#[cfg(feature = "sqlite")]
pub use sql::{SqliteBackend, SqliteStore};

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

/// Where a user stands with the second factor. No record means "not enrolled".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnrollmentState {
    /// Registered with the provider; 2FA is not enforced until a first code or
    /// approval confirms possession.
    PendingConfirmation,
    /// Confirmed: every sign-in must pass the second factor.
    Enabled,
    /// Turned off (after a fresh second factor); kept for the audit trail.
    Disabled,
}

impl EnrollmentState {
    /// A stable name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingConfirmation => "pending_confirmation",
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }
}

impl fmt::Display for EnrollmentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored name that is not a state or status of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);

impl std::str::FromStr for EnrollmentState {
    type Err = UnknownName;

    /// The state a stored name stands for.
    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Ok(match name {
            "pending_confirmation" => Self::PendingConfirmation,
            "enabled" => Self::Enabled,
            "disabled" => Self::Disabled,
            _ => return Err(UnknownName(name.to_owned())),
        })
    }
}

/// A user's enrollment with the second-factor provider.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Enrollment {
    /// The application's user.
    pub user_id: UserId,
    /// The provider's id for the user: the Authy ID, for Authy.
    pub provider_user_id: String,
    /// Where the user stands.
    pub state: EnrollmentState,
    /// The phone number as it may be shown (`XXX-XXX-4567`), if known.
    pub masked_phone: Option<String>,
    /// When the enrollment was first stored.
    pub created_at: SystemTime,
    /// When it last changed.
    pub updated_at: SystemTime,
}

impl Enrollment {
    /// A new enrollment, pending confirmation, created at `now`.
    pub fn pending(
        user_id: UserId,
        provider_user_id: impl Into<String>,
        masked_phone: Option<String>,
        now: SystemTime,
    ) -> Self {
        Self {
            user_id,
            provider_user_id: provider_user_id.into(),
            state: EnrollmentState::PendingConfirmation,
            masked_phone,
            created_at: now,
            updated_at: now,
        }
    }
}

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

/// A OneTouch approval request as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Enrollment records, one per application user.
#[async_trait]
pub trait EnrollmentStore: Send + Sync {
    /// The user's enrollment, or `None` when the user never enrolled (or the
    /// record was deleted).
    async fn enrollment(&self, user: &UserId) -> Result<Option<Enrollment>, StoreError>;

    /// Stores `enrollment` only if the user's record is still `expected`
    /// (same state and provider id; `None`: no record), atomically;
    /// [`StoreError::Conflict`] otherwise, changing nothing. Use it when the
    /// decision to replace was made before a slow step (a provider call).
    async fn replace_enrollment(
        &self,
        expected: Option<&Enrollment>,
        enrollment: &Enrollment,
    ) -> Result<(), StoreError>;

    /// Moves the user's enrollment from `from` to `to` at `now`, atomically.
    /// [`StoreError::NotFound`] when there is no record;
    /// [`StoreError::Conflict`] when its state is not `from` (nothing changes).
    async fn transition_enrollment(
        &self,
        user: &UserId,
        from: EnrollmentState,
        to: EnrollmentState,
        now: SystemTime,
    ) -> Result<Enrollment, StoreError>;
}

/// OneTouch approval requests and waiting for their outcome.
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Stores a new request. [`StoreError::Conflict`] if its uuid is known.
    async fn insert_approval(&self, record: &ApprovalRecord) -> Result<(), StoreError>;

    /// The request as it reads at `now` (see [`ApprovalRecord::as_of`]), or
    /// `None` for an unknown uuid.
    async fn approval(
        &self,
        uuid: &str,
        now: SystemTime,
    ) -> Result<Option<ApprovalRecord>, StoreError>;

    /// Moves a pending request to the final status `to`, exactly once, and
    /// wakes everybody waiting on it (in every process sharing the store).
    /// [`StoreError::NotFound`] for an unknown uuid; [`StoreError::Conflict`]
    /// when it is already final or expired at `now` (nothing changes);
    /// [`StoreError::InvalidInput`] when `to` is `Pending`.
    async fn complete_approval(
        &self,
        uuid: &str,
        to: ApprovalStatus,
        now: SystemTime,
    ) -> Result<ApprovalRecord, StoreError>;

    /// Waits until the request leaves `pending`, its expiry passes, or
    /// `timeout` elapses, and returns it as it then reads (`None` for an
    /// unknown uuid). A transition made through any handle of the same store
    /// wakes the waiter at once; a request already final returns at once.
    async fn wait_for_approval(
        &self,
        uuid: &str,
        timeout: Duration,
    ) -> Result<Option<ApprovalRecord>, StoreError>;
}

/// What an attempt counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptKind {
    /// Codes checked (each counted before the check, cleared by a right one).
    Code,
    /// Codes and pushes sent.
    Send,
}

impl AttemptKind {
    /// A stable name for storage: `code`, `send`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Send => "send",
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

/// Attempt counters and lockouts (codes checked; codes and pushes sent), one
/// per [`AttemptKey`]: what one key counts never changes another's.
#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Counts one attempt under `key` at `now`, atomically — unless the key
    /// is locked at `now`: then nothing changes and the answer is
    /// [`Attempt::Refused`]. Attempts older than the rule's window are
    /// forgotten first; the attempt that reaches `max_failures` locks the
    /// key until `now + lockout` and starts a new count.
    ///
    /// Callers count an attempt *before* checking it and clear the count on
    /// success, so that concurrent attempts can never pass the limit: of any
    /// number of concurrent calls within one lockout, at most `max_failures`
    /// are counted.
    async fn record_attempt(
        &self,
        key: &AttemptKey,
        rule: LockoutRule,
        now: SystemTime,
    ) -> Result<Attempt, StoreError>;

    /// The key's state at `now`; an expired lockout or window reads as none.
    async fn attempt_state(
        &self,
        key: &AttemptKey,
        now: SystemTime,
    ) -> Result<AttemptState, StoreError>;

    /// Forgets the key's count and lockout (after a success, or by an admin).
    async fn clear_attempts(&self, key: &AttemptKey) -> Result<(), StoreError>;
}

/// The outcome of asking for a grace login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GraceLogin {
    /// Granted; `remaining` are left after this one.
    Granted {
        /// Grace logins left after this one.
        remaining: u32,
    },
    /// None left: the user must enroll.
    Exhausted,
}

/// Grace logins of users who must enroll but have not yet.
#[async_trait]
pub trait GraceLoginStore: Send + Sync {
    /// Uses one of the user's `limit` grace logins, atomically: concurrent
    /// calls never grant more than `limit` in all.
    async fn use_grace_login(&self, user: &UserId, limit: u32) -> Result<GraceLogin, StoreError>;

    /// How many grace logins the user has used.
    async fn grace_logins_used(&self, user: &UserId) -> Result<u32, StoreError>;
}

/// Operations for the application's own tools (an admin page, a batch
/// enrollment, tests): the middleware never calls them, so a store may leave
/// them out. The conformance suite checks them on stores that have them.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Stores the enrollment, replacing any record of the same user.
    async fn put_enrollment(&self, enrollment: &Enrollment) -> Result<(), StoreError>;

    /// Deletes the user's enrollment; returns whether there was one.
    async fn delete_enrollment(&self, user: &UserId) -> Result<bool, StoreError>;

    /// Starts the user's count of grace logins again (for example after a
    /// policy change).
    async fn reset_grace_logins(&self, user: &UserId) -> Result<(), StoreError>;
}

/// Per-user revocation of remembered devices: a remember-device cookie names
/// the generation it was issued in and is void once the generation moves on.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// The user's current generation (0 for a user never revoked).
    async fn device_generation(&self, user: &UserId) -> Result<u64, StoreError>;

    /// Voids every device remembered so far, atomically; returns the new generation.
    async fn revoke_devices(&self, user: &UserId) -> Result<u64, StoreError>;
}

/// Whether a nonce was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonceInsert {
    /// First seen now: the callback may proceed.
    Fresh,
    /// Seen before and not yet expired: a replay (or a duplicate delivery).
    Seen,
}

/// Seen callback nonces: the replay guard.
#[async_trait]
pub trait NonceStore: Send + Sync {
    /// Records `nonce` until `expires_at` if it is absent at `now`, atomically:
    /// of many concurrent inserts of one nonce exactly one is `Fresh`. An
    /// expired nonce counts as absent.
    async fn insert_nonce(
        &self,
        nonce: &str,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> Result<NonceInsert, StoreError>;
}

/// Housekeeping.
#[async_trait]
pub trait PurgeStore: Send + Sync {
    /// Deletes what has expired by `now`: nonces, lapsed lockouts and
    /// failure windows, and approval requests final or expired for longer
    /// than `keep_approvals`. Returns how many records went.
    async fn purge_expired(
        &self,
        now: SystemTime,
        keep_approvals: Duration,
    ) -> Result<u64, StoreError>;
}

/// Everything tower-authy persists. Implemented for every type that
/// implements the parts; use it as `Arc<dyn AuthyStore>`.
pub trait AuthyStore:
    EnrollmentStore
    + ApprovalStore
    + AttemptStore
    + GraceLoginStore
    + DeviceStore
    + NonceStore
    + PurgeStore
    + fmt::Debug
{
}

impl<T> AuthyStore for T where
    T: EnrollmentStore
        + ApprovalStore
        + AttemptStore
        + GraceLoginStore
        + DeviceStore
        + NonceStore
        + PurgeStore
        + fmt::Debug
{
}

/// A shared store handle.
pub type SharedStore = Arc<dyn AuthyStore>;
