//! Passkey clauses: a WebAuthn credential is a factor whose credential id
//! is its identity (one user's alone, even when two users race to bind
//! it), whose credential reads back whole, and whose signature counter
//! only moves forward, atomically.

use std::sync::Arc;

use super::factors::race;
use super::{Store, expect_conflict, secs, t0, unique, user};
use crate::store::{Factor, FactorKind, IdentityUse, StoreError};

/// A passkey of `user` with credential id `id` (its credential, as a
/// library keeps it, is some hundreds of bytes of JSON).
fn passkey(user: &crate::store::UserId, id: &str, at: std::time::SystemTime) -> Factor {
    let mut factor =
        Factor::pending(user.clone(), FactorKind::Webauthn, "YubiKey", id, at).activated();
    factor.identity = Some(format!("webauthn:{id}"));
    factor.secret = Some(format!(
        r#"{{"cred":{{"cred_id":"{id}","cred":{{"type_":"ES256","key":{{"EC_EC2":{{"curve":"SECP256R1","x":"{}","y":"{}"}}}}}},"counter":0,"transports":["usb","nfc"],"user_verified":true,"backup_eligible":false,"backup_state":false}}}}"#,
        "x".repeat(43),
        "y".repeat(43),
    ));
    factor
}

/// A credential reads back whole; its id binds to one user only, and of
/// two users racing to bind one, exactly one wins.
pub async fn passkey_credentials<S: Store>(first: &Arc<S>, second: &Arc<S>) {
    let now = t0();
    let (ann, ben) = (user("ann"), user("ben"));
    let id = unique("cred");
    let key = passkey(&ann, &id, now);
    first
        .insert_factor(&key, IdentityUse::Exclusive)
        .await
        .unwrap();
    let [stored] = &second.factors(&ann).await.unwrap()[..] else {
        panic!("ann has one passkey");
    };
    assert_eq!(stored, &key, "the credential reads back whole");
    first
        .touch_factor(&ann, &key.id, now + secs(5))
        .await
        .unwrap();
    let [stored] = &second.factors(&ann).await.unwrap()[..] else {
        panic!("ann has one passkey");
    };
    assert_eq!(stored.last_used_at, Some(now + secs(5)), "its last use");

    let theirs = passkey(&ben, &id, now);
    assert!(
        matches!(
            second.insert_factor(&theirs, IdentityUse::Exclusive).await,
            Err(StoreError::IdentityInUse)
        ),
        "a credential id belongs to one user"
    );
    assert!(second.factors(&ben).await.unwrap().is_empty());

    let raced = unique("raced");
    let (wins, errors) = race(first, second, {
        let raced = raced.clone();
        move |store, n| {
            let owner = user(if n == 0 { "cat" } else { "dan" });
            let factor = passkey(&owner, &raced, now);
            async move { store.insert_factor(&factor, IdentityUse::Exclusive).await }
        }
    })
    .await;
    assert_eq!(wins, 1, "of two users binding one credential, one wins");
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, StoreError::IdentityInUse)),
        "the other is refused: {errors:?}"
    );
}

/// The signature counter only moves forward: the same value or a lower one
/// is a conflict, of two handles racing one value exactly one wins, and
/// replacing the credential (its flags updated) keeps the counter given.
pub async fn passkey_counters<S: Store>(first: &Arc<S>, second: &Arc<S>) {
    let now = t0();
    let eli = user("eli");
    let key = passkey(&eli, &unique("counted"), now);
    first
        .insert_factor(&key, IdentityUse::Exclusive)
        .await
        .unwrap();
    first.advance_step(&eli, &key.id, 5).await.unwrap();
    expect_conflict(
        second.advance_step(&eli, &key.id, 5).await,
        "the same counter again",
    );
    expect_conflict(
        second.advance_step(&eli, &key.id, 4).await,
        "a counter gone back",
    );
    let (wins, errors) = race(first, second, {
        let (eli, id) = (eli.clone(), key.id.clone());
        move |store, _| {
            let (eli, id) = (eli.clone(), id.clone());
            async move { store.advance_step(&eli, &id, 6).await }
        }
    })
    .await;
    assert_eq!(wins, 1, "one of two answers with one counter passes");
    assert!(errors.iter().all(StoreError::is_conflict), "{errors:?}");
    let [stored] = &second.factors(&eli).await.unwrap()[..] else {
        panic!("eli has one passkey");
    };
    assert_eq!(stored.last_step, Some(6));
    let mut updated = stored.clone();
    updated.secret = Some(
        stored
            .secret
            .clone()
            .unwrap()
            .replace(r#""backup_state":false"#, r#""backup_state":true"#),
    );
    first
        .replace_factor(stored, &updated, IdentityUse::Exclusive)
        .await
        .unwrap();
    let [stored] = &second.factors(&eli).await.unwrap()[..] else {
        panic!("eli has one passkey");
    };
    assert_eq!(stored, &updated, "the new flags, the same counter");
}
