//! Where tower-authy keeps what must outlive a request: users' factors, OneTouch
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

mod attempts;
mod error;
mod factors;
mod memory;
mod purge;
mod records;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;

#[cfg(feature = "testing")]
pub mod conformance;

pub use attempts::{Attempt, AttemptKey, AttemptKind, AttemptState, LockoutRule};
pub use error::StoreError;
pub(crate) use factors::holds;
pub use factors::{Factor, FactorId, FactorKind, FactorState, IdentityUse, Removed};
pub use memory::MemoryStore;
pub use purge::{PurgeTask, spawn_purger};
pub use records::{ApprovalRecord, ApprovalStatus, UnknownName, UserId};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::{Backend, SqlStore};
#[cfg(feature = "postgres")]
pub use sql::{PostgresBackend, PostgresStore};
#[cfg(feature = "sqlite")]
pub use sql::{SqliteBackend, SqliteStore};

/// A user's second factors (design.md, "Factors"): zero or more per user,
/// each pending until its first use confirms it.
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// The user's factors, oldest first (empty for a user who has none).
    async fn factors(&self, user: &UserId) -> Result<Vec<Factor>, StoreError>;

    /// Adds `factor`, atomically, if its identity is free:
    /// [`StoreError::IdentityInUse`] when `identity` is
    /// [`IdentityUse::Exclusive`] and another user's factor holds the same
    /// [`Factor::identity`] (of two such concurrent inserts one wins);
    /// [`StoreError::Conflict`] when the user already has a factor of that
    /// id or that identity. Nothing changes on error.
    async fn insert_factor(&self, factor: &Factor, identity: IdentityUse)
    -> Result<(), StoreError>;

    /// Replaces `expected` by `factor` (of the same user), atomically, if
    /// `expected` is still stored as it was (same id, state and provider
    /// reference), with the identity check of
    /// [`insert_factor`](Self::insert_factor); [`StoreError::Conflict`]
    /// when it changed or is gone. Use it when the decision to replace was
    /// made before a slow step (a provider call).
    async fn replace_factor(
        &self,
        expected: &Factor,
        factor: &Factor,
        identity: IdentityUse,
    ) -> Result<(), StoreError>;

    /// Moves the factor from `from` to `to`, atomically, and records `now`
    /// as its last use (a factor is confirmed by using it).
    /// [`StoreError::NotFound`] when the user has no such factor;
    /// [`StoreError::Conflict`] when its state is not `from` (of two
    /// concurrent confirmations one wins; nothing changes for the other).
    async fn transition_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        from: FactorState,
        to: FactorState,
        now: SystemTime,
    ) -> Result<Factor, StoreError>;

    /// Records that the factor passed a challenge at `now`.
    /// [`StoreError::NotFound`] when the user has no such factor.
    async fn touch_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        now: SystemTime,
    ) -> Result<(), StoreError>;

    /// Records `step` as the factor's last accepted time step, atomically,
    /// if it is later than the one recorded (or none is): the replay guard
    /// of authenticator-app codes. [`StoreError::Conflict`] when `step` is
    /// at or before the recorded one (a code used again, or an older one
    /// after a newer; of two concurrent calls with one step, one wins);
    /// [`StoreError::NotFound`] when the user has no such factor.
    async fn advance_step(&self, user: &UserId, id: &FactorId, step: u64)
    -> Result<(), StoreError>;

    /// Removes the factor, atomically, and says whether another factor
    /// still holds its identity (then its provider user must stay).
    /// [`StoreError::NotFound`] when the user has no such factor (removed
    /// meanwhile: of two concurrent removals one wins).
    async fn remove_factor(&self, user: &UserId, id: &FactorId) -> Result<Removed, StoreError>;
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
    /// Stores the factor as it is, replacing the user's factor of the same
    /// id; its identity is bound as [`IdentityUse::Shared`] (no check: an
    /// administrator's import may hold what it likes).
    async fn put_factor(&self, factor: &Factor) -> Result<(), StoreError>;

    /// Deletes every factor of the user; returns how many there were.
    async fn delete_factors(&self, user: &UserId) -> Result<u64, StoreError>;

    /// Starts the user's count of grace logins again (for example after a
    /// policy change).
    async fn reset_grace_logins(&self, user: &UserId) -> Result<(), StoreError>;
}

/// Each user's security generation: a remember-device cookie and a session's
/// pass name the generation they were made in, and are void once it moves
/// on — when the user forgets their devices, removes a factor or turns 2FA
/// off. The layer reads it once per request of a passed session.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// The user's current generation (0 for a user never revoked).
    async fn device_generation(&self, user: &UserId) -> Result<u64, StoreError>;

    /// Voids every device remembered and every pass made so far,
    /// atomically; returns the new generation.
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

/// Seen nonces: the callbacks' replay guard, and the sessions signed out
/// (so that a request still in flight cannot bring one back).
#[async_trait]
pub trait NonceStore: Send + Sync {
    /// Whether `nonce` is recorded and unexpired at `now`. Changes nothing.
    async fn nonce_seen(&self, nonce: &str, now: SystemTime) -> Result<bool, StoreError>;

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
    FactorStore
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
    T: FactorStore
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
