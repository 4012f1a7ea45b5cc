//! Enrollment clauses.

use std::sync::Arc;

use super::{Store, expect_conflict, expect_not_found, secs, t0, user};
use crate::store::{Enrollment, EnrollmentState};

/// Enrollments read back as stored; a put replaces; unknown users read `None`.
pub async fn enrollments<S: Store>(store: &Arc<S>) {
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
pub async fn enrollment_transitions<S: Store>(store: &Arc<S>) {
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

/// Replacing is compare-and-set on the record's state and provider id:
/// a stale expectation is a conflict and changes nothing; of two racing
/// replacements of one record, exactly one wins.
pub async fn enrollment_replacement<S: Store>(first: &Arc<S>, second: &Arc<S>) {
    let now = t0();
    let rita = user("rita");
    let a = Enrollment::pending(rita.clone(), "100", None, now);
    first.replace_enrollment(None, &a).await.unwrap();
    expect_conflict(
        first
            .replace_enrollment(None, &Enrollment::pending(rita.clone(), "101", None, now))
            .await,
        "replacing a record expected to be absent",
    );
    let b = Enrollment::pending(rita.clone(), "102", None, now + secs(1));
    second.replace_enrollment(Some(&a), &b).await.unwrap();
    expect_conflict(
        first
            .replace_enrollment(
                Some(&a),
                &Enrollment::pending(rita.clone(), "103", None, now),
            )
            .await,
        "replacing with a stale expectation",
    );
    assert_eq!(
        first.enrollment(&rita).await.unwrap(),
        Some(b.clone()),
        "a refused replacement changes nothing"
    );
    let mut enabled = b.clone();
    enabled.state = EnrollmentState::Enabled;
    first.put_enrollment(&enabled).await.unwrap();
    expect_conflict(
        first
            .replace_enrollment(
                Some(&b),
                &Enrollment::pending(rita.clone(), "104", None, now),
            )
            .await,
        "the state changed meanwhile",
    );

    for round in 0..10 {
        let sam = user("sam");
        let base = Enrollment::pending(sam.clone(), "200", None, now);
        first.put_enrollment(&base).await.unwrap();
        let tasks: Vec<_> = [(first.clone(), "201"), (second.clone(), "202")]
            .into_iter()
            .map(|(store, id)| {
                let (base, sam) = (base.clone(), sam.clone());
                tokio::spawn(async move {
                    store
                        .replace_enrollment(Some(&base), &Enrollment::pending(sam, id, None, now))
                        .await
                })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            if task.await.unwrap().is_ok() {
                wins += 1;
            }
        }
        assert_eq!(
            wins, 1,
            "round {round}: exactly one racing replacement wins"
        );
    }
}
