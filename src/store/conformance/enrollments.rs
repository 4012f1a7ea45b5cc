//! Enrollment clauses.

use super::{expect_conflict, expect_not_found, secs, t0, user};
use crate::store::{Enrollment, EnrollmentState, SharedStore};

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
