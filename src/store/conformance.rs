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

use super::{
    ApprovalRecord, ApprovalStatus, AttemptState, Enrollment, EnrollmentState, GraceLogin,
    LockoutRule, NonceInsert, SharedStore, StoreError, UserId,
};

/// Runs every clause. `first` and `second` must be two handles onto the same
/// data (for a SQL store, two separate pools), so that wake-ups across
/// processes are checked too.
pub async fn run(first: SharedStore, second: SharedStore) {
    enrollments(&first).await;
    enrollment_transitions(&first).await;
    approvals(&first, &second).await;
    approval_expiry(&first).await;
    approval_race(&first, &second).await;
    waiting(&first, &second).await;
    attempts(&first).await;
    attempt_race(&first).await;
    grace_logins(&first).await;
    devices(&first, &second).await;
    nonces(&first).await;
    nonce_race(&first, &second).await;
    purge(&first).await;
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

fn user(prefix: &str) -> UserId {
    UserId::new(unique(prefix))
}

/// A time on a whole millisecond, near the real clock.
fn t0() -> SystemTime {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn expect_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected StoreError::Conflict, got {other:?}"),
    }
}

fn expect_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("{what}: expected StoreError::NotFound, got {other:?}"),
    }
}

/// Enrollments read back as stored; a put replaces; unknown users read `None`.
pub async fn enrollments(store: &SharedStore) {
    let now = t0();
    let alice = user("alice");
    assert_eq!(
        store.enrollment(&alice).await.unwrap(),
        None,
        "unknown user reads None"
    );
    let enrollment = Enrollment::pending(alice.clone(), "1635", Some("XXX-XXX-4567".into()), now);
    store.put_enrollment(&enrollment).await.unwrap();
    assert_eq!(
        store.enrollment(&alice).await.unwrap(),
        Some(enrollment.clone()),
        "an enrollment reads back as stored"
    );
    let mut replaced = Enrollment::pending(alice.clone(), "1777", None, now + secs(5));
    replaced.state = EnrollmentState::Disabled;
    store.put_enrollment(&replaced).await.unwrap();
    assert_eq!(
        store.enrollment(&alice).await.unwrap(),
        Some(replaced),
        "put_enrollment replaces the user's record"
    );
    assert!(
        store.delete_enrollment(&alice).await.unwrap(),
        "delete reports a record"
    );
    assert!(
        !store.delete_enrollment(&alice).await.unwrap(),
        "second delete finds none"
    );
    assert_eq!(
        store.enrollment(&alice).await.unwrap(),
        None,
        "deleted reads None"
    );
}

/// Transitions are compare-and-set: a wrong `from` is a conflict and changes nothing.
pub async fn enrollment_transitions(store: &SharedStore) {
    let now = t0();
    let bob = user("bob");
    expect_not_found(
        store
            .transition_enrollment(
                &bob,
                EnrollmentState::PendingConfirmation,
                EnrollmentState::Enabled,
                now,
            )
            .await,
        "transition of an unknown user",
    );
    let pending = Enrollment::pending(bob.clone(), "42", None, now);
    store.put_enrollment(&pending).await.unwrap();
    let enabled = store
        .transition_enrollment(
            &bob,
            EnrollmentState::PendingConfirmation,
            EnrollmentState::Enabled,
            now + secs(1),
        )
        .await
        .unwrap();
    assert_eq!(enabled.state, EnrollmentState::Enabled);
    assert_eq!(
        enabled.updated_at,
        now + secs(1),
        "a transition stamps updated_at"
    );
    assert_eq!(enabled.created_at, now, "a transition keeps created_at");
    expect_conflict(
        store
            .transition_enrollment(
                &bob,
                EnrollmentState::PendingConfirmation,
                EnrollmentState::Disabled,
                now + secs(2),
            )
            .await,
        "transition from a state the record is not in",
    );
    assert_eq!(
        store.enrollment(&bob).await.unwrap(),
        Some(enabled),
        "a refused transition changes nothing"
    );
}

/// Approval requests: insert once, read, complete exactly once.
pub async fn approvals(first: &SharedStore, second: &SharedStore) {
    let now = t0();
    let carol = user("carol");
    let uuid = unique("approval");
    assert_eq!(
        first.approval(&uuid, now).await.unwrap(),
        None,
        "unknown uuid reads None"
    );
    let record = ApprovalRecord::pending(&uuid, carol.clone(), "binding-1", now, Some(secs(300)));
    first.insert_approval(&record).await.unwrap();
    assert_eq!(
        second.approval(&uuid, now).await.unwrap(),
        Some(record.clone()),
        "a request reads back as stored, through another handle too"
    );
    let duplicate = ApprovalRecord::pending(&uuid, user("mallory"), "binding-2", now, None);
    expect_conflict(
        first.insert_approval(&duplicate).await,
        "inserting a known uuid",
    );
    assert_eq!(
        first.approval(&uuid, now).await.unwrap(),
        Some(record.clone()),
        "a refused insert changes nothing"
    );

    match first
        .complete_approval(&uuid, ApprovalStatus::Pending, now)
        .await
    {
        Err(StoreError::InvalidInput(_)) => {}
        other => panic!("completing to pending: expected InvalidInput, got {other:?}"),
    }
    let done = first
        .complete_approval(&uuid, ApprovalStatus::Approved, now + secs(3))
        .await
        .unwrap();
    assert_eq!(done.status, ApprovalStatus::Approved);
    assert_eq!(
        done.processed_at,
        Some(now + secs(3)),
        "completion stamps processed_at"
    );
    expect_conflict(
        second
            .complete_approval(&uuid, ApprovalStatus::Denied, now + secs(4))
            .await,
        "a second transition",
    );
    assert_eq!(
        first.approval(&uuid, now + secs(4)).await.unwrap(),
        Some(done),
        "a refused transition changes nothing"
    );
    expect_not_found(
        first
            .complete_approval(&unique("missing"), ApprovalStatus::Approved, now)
            .await,
        "completing an unknown uuid",
    );
}

/// A pending request past its expiry reads `Expired` and can no longer complete.
pub async fn approval_expiry(store: &SharedStore) {
    let now = t0();
    let uuid = unique("expiring");
    let record = ApprovalRecord::pending(&uuid, user("dave"), "b", now, Some(secs(60)));
    store.insert_approval(&record).await.unwrap();
    let before = store
        .approval(&uuid, now + secs(59))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        before.status,
        ApprovalStatus::Pending,
        "pending until its expiry"
    );
    let after = store
        .approval(&uuid, now + secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.status,
        ApprovalStatus::Expired,
        "expired at its expiry"
    );
    assert_eq!(
        after.processed_at,
        Some(now + secs(60)),
        "expired at expires_at"
    );
    expect_conflict(
        store
            .complete_approval(&uuid, ApprovalStatus::Approved, now + secs(61))
            .await,
        "approving an expired request",
    );

    let forever = unique("forever");
    let record = ApprovalRecord::pending(&forever, user("erin"), "b", now, None);
    store.insert_approval(&record).await.unwrap();
    let later = now + secs(10 * 365 * 24 * 3600);
    assert_eq!(
        store
            .approval(&forever, later)
            .await
            .unwrap()
            .unwrap()
            .status,
        ApprovalStatus::Pending,
        "a request without expiry stays pending"
    );
}

/// Two handles completing one request at once: exactly one wins.
pub async fn approval_race(first: &SharedStore, second: &SharedStore) {
    for round in 0..20 {
        let now = t0();
        let uuid = unique("race");
        let record = ApprovalRecord::pending(&uuid, user("frank"), "b", now, Some(secs(300)));
        first.insert_approval(&record).await.unwrap();
        let (a, b) = (first.clone(), second.clone());
        let (u1, u2) = (uuid.clone(), uuid.clone());
        let approve = tokio::spawn(async move {
            a.complete_approval(&u1, ApprovalStatus::Approved, now)
                .await
        });
        let deny =
            tokio::spawn(
                async move { b.complete_approval(&u2, ApprovalStatus::Denied, now).await },
            );
        let results = [approve.await.unwrap(), deny.await.unwrap()];
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one completion wins: {results:?}"
        );
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(StoreError::Conflict(_)))),
            "round {round}: the loser gets a conflict: {results:?}"
        );
        let stored = first.approval(&uuid, now).await.unwrap().unwrap();
        assert_eq!(
            stored.status, winners[0].status,
            "round {round}: the winner's status stays"
        );
    }
}

/// Waiters wake at the transition (made through the other handle), at
/// expiry, or at their timeout; final and unknown requests answer at once.
pub async fn waiting(first: &SharedStore, second: &SharedStore) {
    // Woken by a transition through the second handle. The waiter's own
    // timeout is far longer than the guard, so only a wake-up can pass.
    let uuid = unique("wait");
    let record = ApprovalRecord::pending(&uuid, user("gina"), "b", t0(), Some(secs(600)));
    first.insert_approval(&record).await.unwrap();
    let waiter = {
        let (store, uuid) = (first.clone(), uuid.clone());
        tokio::spawn(async move { store.wait_for_approval(&uuid, secs(120)).await })
    };
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    second
        .complete_approval(&uuid, ApprovalStatus::Approved, SystemTime::now())
        .await
        .unwrap();
    let woken = tokio::time::timeout(secs(20), waiter)
        .await
        .expect("a transition through another handle wakes the waiter")
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        woken.status,
        ApprovalStatus::Approved,
        "the waiter sees the new status"
    );

    // Already final: at once. Unknown: None at once.
    let again = tokio::time::timeout(secs(20), first.wait_for_approval(&uuid, secs(120)))
        .await
        .expect("a final request answers at once")
        .unwrap()
        .unwrap();
    assert_eq!(again.status, ApprovalStatus::Approved);
    let unknown = tokio::time::timeout(
        secs(20),
        first.wait_for_approval(&unique("nope"), secs(120)),
    )
    .await
    .expect("an unknown request answers at once")
    .unwrap();
    assert_eq!(unknown, None);

    // Nothing happens: the waiter's own timeout ends the wait, still pending.
    let idle = unique("idle");
    let record = ApprovalRecord::pending(&idle, user("hank"), "b", t0(), Some(secs(600)));
    first.insert_approval(&record).await.unwrap();
    let still = first
        .wait_for_approval(&idle, Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        still.status,
        ApprovalStatus::Pending,
        "a timed-out wait reads pending"
    );

    // Expiry ends the wait too, long before the waiter's timeout.
    let short = unique("short");
    let record = ApprovalRecord::pending(
        &short,
        user("ivy"),
        "b",
        SystemTime::now(),
        Some(Duration::from_millis(300)),
    );
    first.insert_approval(&record).await.unwrap();
    let expired = tokio::time::timeout(secs(20), first.wait_for_approval(&short, secs(120)))
        .await
        .expect("expiry wakes the waiter")
        .unwrap()
        .unwrap();
    assert_eq!(
        expired.status,
        ApprovalStatus::Expired,
        "the waiter sees the expiry"
    );
}

/// Failures count within a window, lock at the limit, and lapse.
pub async fn attempts(store: &SharedStore) {
    let now = t0();
    let rule = LockoutRule::new(3, secs(600), secs(900));
    let jack = user("jack");
    let clean = AttemptState {
        failures: 0,
        locked_until: None,
    };
    assert_eq!(
        store.attempt_state(&jack, now).await.unwrap(),
        clean,
        "a new user has no failures"
    );
    let one = store.record_failure(&jack, rule, now).await.unwrap();
    assert_eq!(
        one,
        AttemptState {
            failures: 1,
            locked_until: None
        }
    );
    let two = store
        .record_failure(&jack, rule, now + secs(1))
        .await
        .unwrap();
    assert_eq!(two.failures, 2);
    let locked = store
        .record_failure(&jack, rule, now + secs(2))
        .await
        .unwrap();
    assert_eq!(
        locked.locked_until,
        Some(now + secs(2) + secs(900)),
        "the failure that reaches the limit locks for the lockout time"
    );
    assert_eq!(locked.failures, 0, "a lockout starts a new count");
    let during = store.attempt_state(&jack, now + secs(100)).await.unwrap();
    assert_eq!(
        during.locked_until,
        Some(now + secs(902)),
        "locked during the lockout"
    );
    let after = store.attempt_state(&jack, now + secs(903)).await.unwrap();
    assert_eq!(after, clean, "an expired lockout reads as none");

    let kate = user("kate");
    store.record_failure(&kate, rule, now).await.unwrap();
    store
        .record_failure(&kate, rule, now + secs(10))
        .await
        .unwrap();
    let next_window = store
        .record_failure(&kate, rule, now + secs(601))
        .await
        .unwrap();
    assert_eq!(
        next_window,
        AttemptState {
            failures: 1,
            locked_until: None
        },
        "failures older than the window are forgotten"
    );
    store.clear_attempts(&kate).await.unwrap();
    assert_eq!(
        store.attempt_state(&kate, now + secs(602)).await.unwrap(),
        clean,
        "clear forgets"
    );
}

/// Concurrent failures are all counted.
pub async fn attempt_race(store: &SharedStore) {
    let now = t0();
    let rule = LockoutRule::new(1000, secs(600), secs(900));
    let liam = user("liam");
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (store, liam) = (store.clone(), liam.clone());
            tokio::spawn(async move { store.record_failure(&liam, rule, now).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        store.attempt_state(&liam, now).await.unwrap().failures,
        100,
        "no concurrent increment is lost"
    );
}

/// Grace logins are granted up to the limit, never beyond, even concurrently.
pub async fn grace_logins(store: &SharedStore) {
    let mia = user("mia");
    for remaining in [2, 1, 0] {
        assert_eq!(
            store.use_grace_login(&mia, 3).await.unwrap(),
            GraceLogin::Granted { remaining }
        );
    }
    assert_eq!(
        store.use_grace_login(&mia, 3).await.unwrap(),
        GraceLogin::Exhausted
    );
    assert_eq!(
        store.grace_logins_used(&mia).await.unwrap(),
        3,
        "exhausted stays at the limit"
    );
    store.reset_grace_logins(&mia).await.unwrap();
    assert_eq!(
        store.grace_logins_used(&mia).await.unwrap(),
        0,
        "reset starts again"
    );

    let noah = user("noah");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, noah) = (store.clone(), noah.clone());
            tokio::spawn(async move { store.use_grace_login(&noah, 10).await })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        if matches!(task.await.unwrap().unwrap(), GraceLogin::Granted { .. }) {
            granted += 1;
        }
    }
    assert_eq!(
        granted, 10,
        "concurrent calls never grant more than the limit"
    );
}

/// Revocation generations only move forward, one step per call.
pub async fn devices(first: &SharedStore, second: &SharedStore) {
    let olga = user("olga");
    assert_eq!(
        first.device_generation(&olga).await.unwrap(),
        0,
        "a new user is at 0"
    );
    assert_eq!(first.revoke_devices(&olga).await.unwrap(), 1);
    assert_eq!(
        second.device_generation(&olga).await.unwrap(),
        1,
        "seen through another handle"
    );
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let olga = olga.clone();
            tokio::spawn(async move { store.revoke_devices(&olga).await })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (2..=21).collect::<Vec<_>>(),
        "each revocation gets its own generation"
    );
}

/// Nonces: fresh once, seen until expiry, fresh again after.
pub async fn nonces(store: &SharedStore) {
    let now = t0();
    let nonce = unique("nonce");
    let until = now + secs(300);
    assert_eq!(
        store.insert_nonce(&nonce, until, now).await.unwrap(),
        NonceInsert::Fresh
    );
    assert_eq!(
        store
            .insert_nonce(&nonce, until, now + secs(1))
            .await
            .unwrap(),
        NonceInsert::Seen
    );
    assert_eq!(
        store
            .insert_nonce(&nonce, now + secs(900), now + secs(300))
            .await
            .unwrap(),
        NonceInsert::Fresh,
        "an expired nonce counts as absent"
    );
    assert_eq!(
        store
            .insert_nonce(&nonce, now + secs(900), now + secs(301))
            .await
            .unwrap(),
        NonceInsert::Seen
    );
}

/// Of 100 concurrent inserts of one nonce, through two handles, one is fresh.
pub async fn nonce_race(first: &SharedStore, second: &SharedStore) {
    let now = t0();
    let nonce = unique("race-nonce");
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let store = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let nonce = nonce.clone();
            tokio::spawn(async move { store.insert_nonce(&nonce, now + secs(300), now).await })
        })
        .collect();
    let mut fresh = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() == NonceInsert::Fresh {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1, "exactly one concurrent insert is fresh");
}

/// Purging drops what expired and keeps what is live.
pub async fn purge(store: &SharedStore) {
    let now = t0();
    let old_nonce = unique("old-nonce");
    let live_nonce = unique("live-nonce");
    store
        .insert_nonce(&old_nonce, now + secs(1), now)
        .await
        .unwrap();
    store
        .insert_nonce(&live_nonce, now + secs(3600), now)
        .await
        .unwrap();
    let done = unique("done");
    store
        .insert_approval(&ApprovalRecord::pending(
            &done,
            user("pia"),
            "b",
            now,
            Some(secs(60)),
        ))
        .await
        .unwrap();
    store
        .complete_approval(&done, ApprovalStatus::Approved, now)
        .await
        .unwrap();
    let pending = unique("pending");
    store
        .insert_approval(&ApprovalRecord::pending(
            &pending,
            user("quinn"),
            "b",
            now,
            None,
        ))
        .await
        .unwrap();
    let later = now + secs(120);
    let purged = store.purge_expired(later, secs(60)).await.unwrap();
    assert!(purged >= 2, "purge reports what it removed (got {purged})");
    assert_eq!(
        store.approval(&done, later).await.unwrap(),
        None,
        "old final requests go"
    );
    assert!(
        store.approval(&pending, later).await.unwrap().is_some(),
        "pending requests stay"
    );
    assert_eq!(
        store
            .insert_nonce(&live_nonce, now + secs(3600), later)
            .await
            .unwrap(),
        NonceInsert::Seen,
        "live nonces stay"
    );
    assert_eq!(
        store
            .insert_nonce(&old_nonce, later + secs(1), later)
            .await
            .unwrap(),
        NonceInsert::Fresh,
        "expired nonces go"
    );
}
