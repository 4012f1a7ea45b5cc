//! Factor clauses.

use std::sync::Arc;

use super::{Store, expect_conflict, expect_not_found, secs, t0, unique, user};
use crate::store::{Factor, FactorKind, FactorState, IdentityUse, StoreError, UserId};

fn authy(user: &UserId, authy_id: &str, at: std::time::SystemTime) -> Factor {
    Factor::authy(user.clone(), authy_id, Some("XXX-XXX-4567".into()), at)
}

/// Two handles racing one operation each; how many succeeded, and the
/// errors of the others.
pub(super) async fn race<S, T, F, Fut>(
    first: &Arc<S>,
    second: &Arc<S>,
    op: F,
) -> (usize, Vec<StoreError>)
where
    S: Store,
    T: Send + 'static,
    F: Fn(Arc<S>, usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
{
    let tasks: Vec<_> = [first.clone(), second.clone()]
        .into_iter()
        .enumerate()
        .map(|(n, store)| tokio::spawn(op(store, n)))
        .collect();
    let (mut wins, mut errors) = (0, Vec::new());
    for task in tasks {
        match task.await.expect("a racing task panicked") {
            Ok(_) => wins += 1,
            Err(error) => errors.push(error),
        }
    }
    (wins, errors)
}

/// Factors read back as stored, oldest first; a put replaces the one of the
/// same id; deleting a user's factors says how many went; an unknown user
/// has none.
pub async fn factors<S: Store>(store: &Arc<S>) {
    let now = t0();
    let alice = user("alice");
    assert_eq!(
        store.factors(&alice).await.unwrap(),
        vec![],
        "an unknown user has no factors"
    );
    let older = authy(&alice, &unique("1635"), now);
    let newer = authy(&alice, &unique("1636"), now + secs(5)).activated();
    store
        .insert_factor(&newer, IdentityUse::Exclusive)
        .await
        .unwrap();
    store
        .insert_factor(&older, IdentityUse::Exclusive)
        .await
        .unwrap();
    assert_eq!(
        store.factors(&alice).await.unwrap(),
        vec![older.clone(), newer.clone()],
        "factors read back as stored, oldest first"
    );
    let mut relabelled = older.clone();
    relabelled.label = "Work phone".into();
    relabelled.last_used_at = Some(now + secs(9));
    store.put_factor(&relabelled).await.unwrap();
    assert_eq!(
        store.factors(&alice).await.unwrap(),
        vec![relabelled, newer],
        "put_factor replaces the factor of the same id"
    );
    assert!(
        store.factors(&user("bob")).await.unwrap().is_empty(),
        "another user's factors are not alice's"
    );
    assert_eq!(store.delete_factors(&alice).await.unwrap(), 2);
    assert_eq!(store.delete_factors(&alice).await.unwrap(), 0);
    assert!(store.factors(&alice).await.unwrap().is_empty());
}

/// Transitions are compare-and-set and stamp the last use; of two racing
/// confirmations of one pending factor exactly one wins; touching records
/// a use.
pub async fn factor_transitions<S: Store>(first: &Arc<S>, second: &Arc<S>) {
    let now = t0();
    let bob = user("bob");
    let pending = authy(&bob, &unique("42"), now);
    expect_not_found(
        first
            .transition_factor(
                &bob,
                &pending.id,
                FactorState::Pending,
                FactorState::Active,
                now,
            )
            .await,
        "transition of an unknown factor",
    );
    expect_not_found(
        first.touch_factor(&bob, &pending.id, now).await,
        "touching an unknown factor",
    );
    first
        .insert_factor(&pending, IdentityUse::Exclusive)
        .await
        .unwrap();
    let (wins, errors) = race(first, second, {
        let (bob, id) = (bob.clone(), pending.id.clone());
        move |store, _| {
            let (bob, id) = (bob.clone(), id.clone());
            async move {
                store
                    .transition_factor(
                        &bob,
                        &id,
                        FactorState::Pending,
                        FactorState::Active,
                        now + secs(1),
                    )
                    .await
            }
        }
    })
    .await;
    assert_eq!(wins, 1, "exactly one of two racing confirmations wins");
    assert!(
        errors.iter().all(StoreError::is_conflict),
        "the loser is a conflict: {errors:?}"
    );
    let [active] = &first.factors(&bob).await.unwrap()[..] else {
        panic!("bob has one factor");
    };
    assert_eq!(active.state, FactorState::Active);
    assert_eq!(
        active.last_used_at,
        Some(now + secs(1)),
        "a transition stamps the last use"
    );
    assert_eq!(active.created_at, now, "a transition keeps created_at");
    expect_conflict(
        first
            .transition_factor(
                &bob,
                &active.id,
                FactorState::Pending,
                FactorState::Active,
                now + secs(2),
            )
            .await,
        "transition from a state the factor is not in",
    );
    first
        .touch_factor(&bob, &active.id, now + secs(3))
        .await
        .unwrap();
    let touched = first.factors(&bob).await.unwrap().remove(0);
    assert_eq!(
        touched.last_used_at,
        Some(now + secs(3)),
        "a touch is a use"
    );
    assert_eq!(
        touched.state,
        FactorState::Active,
        "a touch keeps the state"
    );
}

/// Replacing is compare-and-set on the factor's id, state and provider
/// reference: a stale expectation is a conflict and changes nothing; of two
/// racing replacements of one factor exactly one wins.
pub async fn factor_replacement<S: Store>(first: &Arc<S>, second: &Arc<S>) {
    let now = t0();
    let rita = user("rita");
    let a = authy(&rita, &unique("100"), now);
    first
        .insert_factor(&a, IdentityUse::Exclusive)
        .await
        .unwrap();
    let b = authy(&rita, &unique("102"), now + secs(1));
    second
        .replace_factor(&a, &b, IdentityUse::Exclusive)
        .await
        .unwrap();
    assert_eq!(first.factors(&rita).await.unwrap(), vec![b.clone()]);
    expect_conflict(
        first
            .replace_factor(
                &a,
                &authy(&rita, &unique("103"), now),
                IdentityUse::Exclusive,
            )
            .await,
        "replacing a factor that is gone",
    );
    let mut confirmed = b.clone();
    confirmed.state = FactorState::Active;
    first.put_factor(&confirmed).await.unwrap();
    expect_conflict(
        first
            .replace_factor(
                &b,
                &authy(&rita, &unique("104"), now),
                IdentityUse::Exclusive,
            )
            .await,
        "the state changed meanwhile",
    );
    assert_eq!(
        first.factors(&rita).await.unwrap(),
        vec![confirmed],
        "a refused replacement changes nothing"
    );

    for round in 0..10 {
        let sam = user("sam");
        let base = authy(&sam, &unique("200"), now);
        first
            .insert_factor(&base, IdentityUse::Exclusive)
            .await
            .unwrap();
        let (wins, _) = race(first, second, {
            let (base, sam) = (base.clone(), sam.clone());
            move |store, n| {
                let (base, new) = (base.clone(), authy(&sam, &unique(&format!("20{n}")), now));
                async move {
                    store
                        .replace_factor(&base, &new, IdentityUse::Exclusive)
                        .await
                }
            }
        })
        .await;
        assert_eq!(
            wins, 1,
            "round {round}: exactly one racing replacement wins"
        );
        assert_eq!(first.factors(&sam).await.unwrap().len(), 1, "round {round}");
    }
}

/// An exclusive identity belongs to one user: another user's binding is
/// refused with `IdentityInUse` (of two racing ones exactly one wins), and
/// an identity bound as shared is refused to an exclusive binding too; a
/// user holds an identity, and an id, once; factors without an identity
/// never clash.
pub async fn factor_identities<S: Store>(first: &Arc<S>, second: &Arc<S>) {
    let now = t0();
    let (ann, ben) = (user("ann"), user("ben"));
    let phone = unique("300");
    first
        .insert_factor(&authy(&ann, &phone, now), IdentityUse::Exclusive)
        .await
        .unwrap();
    for use_ in [IdentityUse::Exclusive, IdentityUse::Shared] {
        match first.insert_factor(&authy(&ben, &phone, now), use_).await {
            Err(StoreError::IdentityInUse) => {}
            other => panic!("{use_:?} binding of ann's exclusive identity: {other:?}"),
        }
    }
    assert!(
        first.factors(&ben).await.unwrap().is_empty(),
        "a refused binding stores nothing"
    );
    expect_conflict(
        first
            .insert_factor(&authy(&ann, &phone, now), IdentityUse::Exclusive)
            .await,
        "the same user binding an identity twice",
    );
    let own = first.factors(&ann).await.unwrap().remove(0);
    let mut same_id = authy(&ann, &unique("301"), now);
    same_id.id = own.id.clone();
    expect_conflict(
        first.insert_factor(&same_id, IdentityUse::Exclusive).await,
        "a second factor of the same id",
    );

    let shared = unique("310");
    first
        .insert_factor(&authy(&ann, &shared, now), IdentityUse::Shared)
        .await
        .unwrap();
    first
        .insert_factor(&authy(&ben, &shared, now), IdentityUse::Shared)
        .await
        .expect("a shared identity may be bound again, shared");
    match first
        .insert_factor(&authy(&user("cat"), &shared, now), IdentityUse::Exclusive)
        .await
    {
        Err(StoreError::IdentityInUse) => {}
        other => panic!("an exclusive binding of a shared identity: {other:?}"),
    }

    let mut local = Factor::pending(
        ann.clone(),
        crate::store::FactorKind::Authy,
        "app",
        "x",
        now,
    );
    local.identity = None;
    let mut also_local = local.clone();
    also_local.id = crate::store::FactorId::random();
    also_local.user_id = ben.clone();
    first
        .insert_factor(&local, IdentityUse::Exclusive)
        .await
        .unwrap();
    first
        .insert_factor(&also_local, IdentityUse::Exclusive)
        .await
        .expect("factors without an identity never clash");

    for round in 0..10 {
        let contested = unique("320");
        let (wins, errors) = race(first, second, {
            let contested = contested.clone();
            move |store, _| {
                let factor = authy(&user("racer"), &contested, now);
                async move { store.insert_factor(&factor, IdentityUse::Exclusive).await }
            }
        })
        .await;
        assert_eq!(wins, 1, "round {round}: one of two racing bindings wins");
        assert!(
            matches!(errors[..], [StoreError::IdentityInUse]),
            "round {round}: the loser is IdentityInUse: {errors:?}"
        );
    }
}

/// Removing gives the factor back and says whether another factor still
/// holds its identity; a removed factor is gone (a second removal is
/// `NotFound`); removing while confirming leaves no factor behind.
pub async fn factor_removal<S: Store>(first: &Arc<S>, second: &Arc<S>) {
    let now = t0();
    let (dan, eve) = (user("dan"), user("eve"));
    let phone = unique("400");
    let dans = authy(&dan, &phone, now);
    let eves = authy(&eve, &phone, now);
    first
        .insert_factor(&dans, IdentityUse::Shared)
        .await
        .unwrap();
    first
        .insert_factor(&eves, IdentityUse::Shared)
        .await
        .unwrap();
    let removed = first.remove_factor(&dan, &dans.id).await.unwrap();
    assert_eq!(removed.factor, dans, "removal gives the factor back");
    assert!(
        removed.identity_still_used,
        "eve's factor still holds the identity"
    );
    expect_not_found(
        first.remove_factor(&dan, &dans.id).await,
        "removing a removed factor",
    );
    expect_not_found(
        first.remove_factor(&dan, &eves.id).await,
        "removing another user's factor",
    );
    let last = first.remove_factor(&eve, &eves.id).await.unwrap();
    assert!(
        !last.identity_still_used,
        "no factor holds the identity now"
    );

    for round in 0..10 {
        let fay = user("fay");
        let pending = authy(&fay, &unique("410"), now);
        first
            .insert_factor(&pending, IdentityUse::Exclusive)
            .await
            .unwrap();
        let id = pending.id.clone();
        let confirm = {
            let (store, fay, id) = (first.clone(), fay.clone(), id.clone());
            tokio::spawn(async move {
                store
                    .transition_factor(&fay, &id, FactorState::Pending, FactorState::Active, now)
                    .await
            })
        };
        let remove = {
            let (store, fay, id) = (second.clone(), fay.clone(), id.clone());
            tokio::spawn(async move { store.remove_factor(&fay, &id).await })
        };
        let confirmed = confirm.await.unwrap();
        remove.await.unwrap().expect("removal of a stored factor");
        match confirmed {
            Ok(_) => {}
            Err(error) => assert!(error.is_not_found(), "round {round}: {error:?}"),
        }
        assert!(
            first.factors(&fay).await.unwrap().is_empty(),
            "round {round}: removing while confirming leaves nothing"
        );
    }
}

/// A local factor keeps its sealed secret as given; its last accepted time
/// step only moves forward (the replay guard of authenticator-app codes):
/// the same step or an earlier one is a conflict, and of two handles
/// racing one step exactly one wins.
pub async fn factor_steps<S: Store>(first: &Arc<S>, second: &Arc<S>) {
    let now = t0();
    let carol = user("carol");
    let mut app = Factor::pending(carol.clone(), FactorKind::Totp, "Phone app", "", now);
    app.secret = Some(unique("sealed"));
    expect_not_found(
        first.advance_step(&carol, &app.id, 1).await,
        "advancing an unknown factor",
    );
    first
        .insert_factor(&app, IdentityUse::Exclusive)
        .await
        .unwrap();
    let [stored] = &second.factors(&carol).await.unwrap()[..] else {
        panic!("carol has one factor");
    };
    assert_eq!(stored.secret, app.secret, "the sealed secret reads back");
    assert_eq!(stored.last_step, None, "no step accepted yet");
    first.advance_step(&carol, &app.id, 100).await.unwrap();
    expect_conflict(
        second.advance_step(&carol, &app.id, 100).await,
        "the same step again",
    );
    expect_conflict(
        second.advance_step(&carol, &app.id, 99).await,
        "an earlier step after a later one",
    );
    let (wins, errors) = race(first, second, {
        let (carol, id) = (carol.clone(), app.id.clone());
        move |store, _| {
            let (carol, id) = (carol.clone(), id.clone());
            async move { store.advance_step(&carol, &id, 101).await }
        }
    })
    .await;
    assert_eq!(wins, 1, "exactly one of two racing uses of one step wins");
    assert!(
        errors.iter().all(StoreError::is_conflict),
        "the loser is a conflict: {errors:?}"
    );
    let [stored] = &first.factors(&carol).await.unwrap()[..] else {
        panic!("carol has one factor");
    };
    assert_eq!(stored.last_step, Some(101));
    let mut changed = stored.clone();
    changed.label = "Work phone app".into();
    first.put_factor(&changed).await.unwrap();
    let [stored] = &second.factors(&carol).await.unwrap()[..] else {
        panic!("carol has one factor");
    };
    assert_eq!(
        (&stored.secret, stored.last_step),
        (&app.secret, Some(101)),
        "a put keeps the secret and the step it carries"
    );
}
