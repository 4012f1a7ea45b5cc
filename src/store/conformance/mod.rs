//! The store conformance suite: every clause of the [`super`] contracts, for
//! any implementation. Third-party stores run it in their own tests:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use tower_authy::store::{MemoryStore, SharedStore, conformance};
//!
//! let store = MemoryStore::new();
//! // Two handles onto the same data: for a database, two connection pools.
//! let first: SharedStore = Arc::new(store.clone());
//! let second: SharedStore = Arc::new(store);
//! conformance::run(first, second).await;
//! # }
//! ```
//!
//! Each clause panics with a message naming the broken contract. Records use
//! fresh random ids, so the suite can run again and again on one database.
//! Timestamps are compared to the millisecond, the precision every store must
//! keep.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{SharedStore, StoreError, UserId};

mod approvals;
mod counters;
mod enrollments;

pub use approvals::{approval_expiry, approval_race, approvals, waiting};
pub use counters::{attempt_race, attempts, devices, grace_logins, nonce_race, nonces, purge};
pub use enrollments::{enrollment_replacement, enrollment_transitions, enrollments};

/// Runs every clause. `first` and `second` must be two handles onto the same
/// data (for a SQL store, two separate pools), so that wake-ups across
/// processes are checked too.
pub async fn run(first: SharedStore, second: SharedStore) {
    enrollments::enrollments(&first).await;
    enrollments::enrollment_transitions(&first).await;
    enrollments::enrollment_replacement(&first, &second).await;
    approvals::approvals(&first, &second).await;
    approvals::approval_expiry(&first).await;
    approvals::approval_race(&first, &second).await;
    approvals::waiting(&first, &second).await;
    counters::attempts(&first).await;
    counters::attempt_race(&first).await;
    counters::grace_logins(&first).await;
    counters::devices(&first, &second).await;
    counters::nonces(&first).await;
    counters::nonce_race(&first, &second).await;
    counters::purge(&first).await;
}

pub(super) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

pub(super) fn user(prefix: &str) -> UserId {
    UserId::new(unique(prefix))
}

/// A time on a whole millisecond, near the real clock.
pub(super) fn t0() -> SystemTime {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    UNIX_EPOCH + Duration::from_millis(ms)
}

pub(super) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(super) fn expect_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected StoreError::Conflict, got {other:?}"),
    }
}

pub(super) fn expect_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("{what}: expected StoreError::NotFound, got {other:?}"),
    }
}
