//! Counter clauses: attempts and lockouts, grace logins, device generations, nonces, purging.

use std::sync::Arc;

use super::{Store, secs, t0, unique, user};
use crate::store::{
    ApprovalRecord, ApprovalStatus, Attempt, AttemptKey, AttemptKind, AttemptState, GraceLogin,
    LockoutRule, NonceInsert, UserId,
};

/// The wrong-code counter of a fresh user.
fn codes(prefix: &str) -> AttemptKey {
    AttemptKey::user(AttemptKind::Code, &user(prefix))
}

/// Attempts count within a window, lock at the limit, are refused while
/// locked (changing nothing), and lapse.
pub async fn attempts<S: Store>(store: &Arc<S>) {
    let now = t0();
    let rule = LockoutRule::new(3, secs(600), secs(900));
    let jack = codes("jack");
    let clean = AttemptState {
        failures: 0,
        locked_until: None,
    };
    let counted = |attempt: Attempt| match attempt {
        Attempt::Counted(state) => state,
        other => panic!("expected the attempt to be counted, got {other:?}"),
    };
    assert_eq!(
        store.attempt_state(&jack, now).await.unwrap(),
        clean,
        "a new user has no failures"
    );
    let one = counted(store.record_attempt(&jack, rule, now).await.unwrap());
    assert_eq!(
        one,
        AttemptState {
            failures: 1,
            locked_until: None
        }
    );
    let two = counted(
        store
            .record_attempt(&jack, rule, now + secs(1))
            .await
            .unwrap(),
    );
    assert_eq!(two.failures, 2);
    let locked = counted(
        store
            .record_attempt(&jack, rule, now + secs(2))
            .await
            .unwrap(),
    );
    assert_eq!(
        locked.locked_until,
        Some(now + secs(2) + secs(900)),
        "the attempt that reaches the limit locks for the lockout time"
    );
    assert_eq!(locked.failures, 0, "a lockout starts a new count");
    assert_eq!(
        store
            .record_attempt(&jack, rule, now + secs(3))
            .await
            .unwrap(),
        Attempt::Refused {
            until: now + secs(902)
        },
        "a locked user's attempt is refused"
    );
    let during = store.attempt_state(&jack, now + secs(100)).await.unwrap();
    assert_eq!(
        during,
        AttemptState {
            failures: 0,
            locked_until: Some(now + secs(902))
        },
        "a refused attempt changes nothing"
    );
    let after = store.attempt_state(&jack, now + secs(903)).await.unwrap();
    assert_eq!(after, clean, "an expired lockout reads as none");
    let again = counted(
        store
            .record_attempt(&jack, rule, now + secs(903))
            .await
            .unwrap(),
    );
    assert_eq!(again.failures, 1, "after the lockout, attempts count again");

    let kate = codes("kate");
    store.record_attempt(&kate, rule, now).await.unwrap();
    store
        .record_attempt(&kate, rule, now + secs(10))
        .await
        .unwrap();
    let next_window = counted(
        store
            .record_attempt(&kate, rule, now + secs(601))
            .await
            .unwrap(),
    );
    assert_eq!(
        next_window,
        AttemptState {
            failures: 1,
            locked_until: None
        },
        "attempts older than the window are forgotten"
    );
    store.clear_attempts(&kate).await.unwrap();
    assert_eq!(
        store.attempt_state(&kate, now + secs(602)).await.unwrap(),
        clean,
        "clear forgets"
    );
}

/// Counters are per key: a user's code counter and send counter are two,
/// two users' are two, and a subject is opaque text (a user id shaped like
/// another key's subject is still its own).
pub async fn attempt_keys<S: Store>(store: &Arc<S>) {
    let now = t0();
    let rule = LockoutRule::new(2, secs(600), secs(900));
    let olive = user("olive");
    let olive_codes = AttemptKey::user(AttemptKind::Code, &olive);
    let olive_sends = AttemptKey::user(AttemptKind::Send, &olive);
    store.record_attempt(&olive_codes, rule, now).await.unwrap();
    store.record_attempt(&olive_codes, rule, now).await.unwrap();
    assert!(
        store
            .attempt_state(&olive_codes, now)
            .await
            .unwrap()
            .locked_until
            .is_some(),
        "two codes lock the code counter"
    );
    assert_eq!(
        store.attempt_state(&olive_sends, now).await.unwrap(),
        AttemptState::new(0, None),
        "the same user's send counter is untouched"
    );
    assert!(
        matches!(
            store.record_attempt(&olive_sends, rule, now).await.unwrap(),
            Attempt::Counted(_)
        ),
        "a locked code counter does not refuse sends"
    );
    // The user id "user:<olive>" is not olive.
    let lookalike = AttemptKey::user(AttemptKind::Code, &UserId::new(olive_codes.subject()));
    assert_eq!(
        store.attempt_state(&lookalike, now).await.unwrap(),
        AttemptState::new(0, None),
        "a user id shaped like another subject is its own"
    );
    store.clear_attempts(&olive_codes).await.unwrap();
    assert_eq!(
        store
            .attempt_state(&olive_sends, now)
            .await
            .unwrap()
            .failures,
        1,
        "clearing one counter leaves the other"
    );
}

/// Concurrent attempts are all counted, and never more than the limit
/// within one lockout.
pub async fn attempt_race<S: Store>(store: &Arc<S>) {
    let now = t0();
    let rule = LockoutRule::new(1000, secs(600), secs(900));
    let liam = codes("liam");
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (store, liam) = (store.clone(), liam.clone());
            tokio::spawn(async move { store.record_attempt(&liam, rule, now).await })
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

    let strict = LockoutRule::new(5, secs(600), secs(900));
    let mia = codes("mia-guesses");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, mia) = (store.clone(), mia.clone());
            tokio::spawn(async move { store.record_attempt(&mia, strict, now).await })
        })
        .collect();
    let mut counted = 0;
    for task in tasks {
        if matches!(task.await.unwrap().unwrap(), Attempt::Counted(_)) {
            counted += 1;
        }
    }
    assert_eq!(
        counted, 5,
        "50 concurrent attempts: exactly the limit is counted"
    );
}

/// Grace logins are granted up to the limit, never beyond, even concurrently.
pub async fn grace_logins<S: Store>(store: &Arc<S>) {
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
pub async fn devices<S: Store>(first: &Arc<S>, second: &Arc<S>) {
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
pub async fn nonces<S: Store>(store: &Arc<S>) {
    let now = t0();
    let nonce = unique("nonce");
    let until = now + secs(300);
    assert!(
        !store.nonce_seen(&nonce, now).await.unwrap(),
        "an unknown nonce is not seen"
    );
    assert!(
        !store.nonce_seen(&nonce, now).await.unwrap(),
        "asking records nothing"
    );
    assert_eq!(
        store.insert_nonce(&nonce, until, now).await.unwrap(),
        NonceInsert::Fresh
    );
    assert!(store.nonce_seen(&nonce, now + secs(299)).await.unwrap());
    assert!(
        !store.nonce_seen(&nonce, until).await.unwrap(),
        "an expired nonce is not seen"
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
pub async fn nonce_race<S: Store>(first: &Arc<S>, second: &Arc<S>) {
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
pub async fn purge<S: Store>(store: &Arc<S>) {
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
