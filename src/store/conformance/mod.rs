//! The store conformance suite: every clause of the [`super`] contracts, for
//! any implementation. Third-party stores run it in their own tests:
//!
//! One named test per clause, so a failure names the broken promise:
//!
//! ```
//! mod my_store_conforms {
//!     use std::sync::Arc;
//!     use tower_authy::store::MemoryStore;
//!
//!     // Two handles onto the same data (for a database, two connection
//!     // pools), made afresh for every test.
//!     async fn pair() -> (Arc<MemoryStore>, Arc<MemoryStore>) {
//!         let store = MemoryStore::new();
//!         (Arc::new(store.clone()), Arc::new(store))
//!     }
//!
//!     tower_authy::store_conformance_tests!(pair());
//! }
//! # fn main() {}
//! ```
//!
//! The macro needs `tokio` (features `macros`, `rt-multi-thread`) among the
//! crate's dev-dependencies. Or run every clause in one test:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use tower_authy::store::{MemoryStore, conformance};
//!
//! let store = MemoryStore::new();
//! conformance::run(Arc::new(store.clone()), Arc::new(store)).await;
//! # }
//! ```
//!
//! Each clause panics with a message naming the broken contract. Records use
//! fresh random ids, so the suite can run again and again on one database.
//! Timestamps are compared to the millisecond, the precision every store must
//! keep.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{AdminStore, AuthyStore, StoreError, UserId};

mod approvals;
mod counters;
mod factors;
mod passkeys;

pub use approvals::{approval_expiry, approval_race, approvals, waiting};
pub use counters::{
    attempt_keys, attempt_race, attempts, devices, grace_logins, nonce_race, nonces, purge,
};

/// What the suite checks: every store trait, the admin operations included
/// (the suite seeds and inspects records with them).
pub trait Store: AuthyStore + AdminStore + 'static {}

impl<T: AuthyStore + AdminStore + 'static> Store for T {}
pub use factors::{
    factor_identities, factor_removal, factor_replacement, factor_steps, factor_transitions,
    factors,
};
pub use passkeys::{passkey_counters, passkey_credentials};

/// Runs every clause. `first` and `second` must be two handles onto the same
/// data (for a SQL store, two separate pools), so that wake-ups across
/// processes are checked too.
pub async fn run<S: Store>(first: Arc<S>, second: Arc<S>) {
    factors::factors(&first).await;
    factors::factor_transitions(&first, &second).await;
    factors::factor_replacement(&first, &second).await;
    factors::factor_identities(&first, &second).await;
    factors::factor_removal(&first, &second).await;
    factors::factor_steps(&first, &second).await;
    passkeys::passkey_credentials(&first, &second).await;
    passkeys::passkey_counters(&first, &second).await;
    approvals::approvals(&first, &second).await;
    approvals::approval_expiry(&first).await;
    approvals::approval_race(&first, &second).await;
    approvals::waiting(&first, &second).await;
    counters::attempts(&first).await;
    counters::attempt_keys(&first).await;
    counters::attempt_race(&first).await;
    counters::grace_logins(&first).await;
    counters::devices(&first, &second).await;
    counters::nonces(&first).await;
    counters::nonce_race(&first, &second).await;
    counters::purge(&first).await;
}

/// One `#[tokio::test]` per clause of the store contracts, in the module
/// where it is invoked. `$pair` is an expression that gives a future of two
/// handles `(Arc<S>, Arc<S>)` onto the same, fresh data; it is evaluated
/// once per test. The tests run in parallel, so each needs data of its own
/// (a new database or schema): the purge clause deletes whatever has
/// expired, other clauses' records included. See the
/// [module docs](crate::store::conformance).
#[macro_export]
macro_rules! store_conformance_tests {
    ($pair:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn factors() {
            let (first, _second) = $pair.await;
            $crate::store::conformance::factors(&first).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn factor_transitions() {
            let (first, second) = $pair.await;
            $crate::store::conformance::factor_transitions(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn factor_replacement() {
            let (first, second) = $pair.await;
            $crate::store::conformance::factor_replacement(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn factor_identities() {
            let (first, second) = $pair.await;
            $crate::store::conformance::factor_identities(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn factor_removal() {
            let (first, second) = $pair.await;
            $crate::store::conformance::factor_removal(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn factor_steps() {
            let (first, second) = $pair.await;
            $crate::store::conformance::factor_steps(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn passkey_credentials() {
            let (first, second) = $pair.await;
            $crate::store::conformance::passkey_credentials(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn passkey_counters() {
            let (first, second) = $pair.await;
            $crate::store::conformance::passkey_counters(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn approvals() {
            let (first, second) = $pair.await;
            $crate::store::conformance::approvals(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn approval_expiry() {
            let (first, _second) = $pair.await;
            $crate::store::conformance::approval_expiry(&first).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn approval_race() {
            let (first, second) = $pair.await;
            $crate::store::conformance::approval_race(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn waiting() {
            let (first, second) = $pair.await;
            $crate::store::conformance::waiting(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn attempts() {
            let (first, _second) = $pair.await;
            $crate::store::conformance::attempts(&first).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn attempt_keys() {
            let (first, _second) = $pair.await;
            $crate::store::conformance::attempt_keys(&first).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn attempt_race() {
            let (first, _second) = $pair.await;
            $crate::store::conformance::attempt_race(&first).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn grace_logins() {
            let (first, _second) = $pair.await;
            $crate::store::conformance::grace_logins(&first).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn devices() {
            let (first, second) = $pair.await;
            $crate::store::conformance::devices(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn nonces() {
            let (first, _second) = $pair.await;
            $crate::store::conformance::nonces(&first).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn nonce_race() {
            let (first, second) = $pair.await;
            $crate::store::conformance::nonce_race(&first, &second).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn purge() {
            let (first, _second) = $pair.await;
            $crate::store::conformance::purge(&first).await;
        }
    };
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
