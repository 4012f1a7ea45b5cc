//! Approval request clauses: lifecycle, expiry, races, waiting.

use std::time::{Duration, SystemTime};

use std::sync::Arc;

use super::{Store, expect_conflict, expect_not_found, secs, t0, unique, user};
use crate::store::{ApprovalRecord, ApprovalStatus, StoreError};

/// Approval requests: insert once, read, complete exactly once.
pub async fn approvals<S: Store>(first: &Arc<S>, second: &Arc<S>) {
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
pub async fn approval_expiry<S: Store>(store: &Arc<S>) {
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
pub async fn approval_race<S: Store>(first: &Arc<S>, second: &Arc<S>) {
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
pub async fn waiting<S: Store>(first: &Arc<S>, second: &Arc<S>) {
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
