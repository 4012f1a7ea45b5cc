//! The SQL stores pass the conformance suite, one test per clause, on a
//! real SQLite file and a real PostgreSQL server, with two separate pools as
//! the two handles.

use std::sync::Arc;

use tower_authy::store::{PostgresStore, SqliteStore};

use crate::postgres_server;

mod sqlite {
    use super::*;

    /// Two pools onto a fresh database file, migrated by both (idempotent).
    async fn pair() -> (Arc<SqliteStore>, Arc<SqliteStore>) {
        let dir = tempdir("sqlite-conformance");
        let url = format!("sqlite:{}", dir.join("store.db").display());
        let first = SqliteStore::connect(&url).await.unwrap();
        first.migrate().await.unwrap();
        let second = SqliteStore::connect(&url).await.unwrap();
        second.migrate().await.unwrap();
        (Arc::new(first), Arc::new(second))
    }

    tower_authy::store_conformance_tests!(pair());
}

mod postgres {
    use super::*;

    /// Two pools onto a fresh database of the test server (the purge
    /// clause must not purge what a clause running beside it just stored),
    /// migrating at once: two instances must not trip over each other.
    async fn pair() -> (Arc<PostgresStore>, Arc<PostgresStore>) {
        let url = fresh_database("conformance").await;
        let (first, second) =
            tokio::join!(PostgresStore::connect(&url), PostgresStore::connect(&url));
        let (first, second) = (first.unwrap(), second.unwrap());
        let (a, b) = tokio::join!(first.migrate(), second.migrate());
        a.unwrap();
        b.unwrap();
        (Arc::new(first), Arc::new(second))
    }

    tower_authy::store_conformance_tests!(pair());
}

/// The URL of a new, empty database on the test server.
async fn fresh_database(prefix: &str) -> String {
    let server = postgres_server::url().await;
    let admin: sqlx::PgPool = sqlx::PgPool::connect(&server).await.unwrap();
    let name = format!("{prefix}_{}", uuid_like().replace('-', "_"));
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    format!("{}/{name}", server.rsplit_once('/').unwrap().0)
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    // Tests run in parallel: the counter keeps their files apart.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{nanos}-{n}", std::process::id())
}

/// What version 1 of the schema left, to be carried over by `migrate`.
const SCHEMA_V1: &str = include_str!("../../src/store/sql/schema_v1.sql");
const V1_ROWS: &str = "CREATE TABLE tower_authy_migrations \
     (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL); \
     INSERT INTO tower_authy_migrations VALUES (1, 0); \
     INSERT INTO tower_authy_attempts VALUES ('alice', 2, 99999999999999, NULL); \
     INSERT INTO tower_authy_attempts VALUES ('bob', 0, 0, 99999999999999);";

/// Version 1 counted Alice's sends under the user id "\u{1}send\u{1}alice".
const V1_SENDS: &str = "INSERT INTO tower_authy_attempts VALUES ($1, 1, 99999999999999, NULL)";

async fn assert_counters_carried_over<S: tower_authy::store::AttemptStore>(store: &S) {
    use std::time::SystemTime;
    use tower_authy::store::{AttemptKey, AttemptKind, UserId};
    let now = SystemTime::now();
    let key = |kind, user: &str| AttemptKey::user(kind, &UserId::new(user));
    let state = |kind, user| {
        let key = key(kind, user);
        async move { store.attempt_state(&key, now).await.unwrap() }
    };
    assert_eq!(
        state(AttemptKind::Code, "alice").await.failures,
        2,
        "wrong codes kept"
    );
    assert_eq!(
        state(AttemptKind::Send, "alice").await.failures,
        1,
        "sends kept as sends"
    );
    assert!(
        state(AttemptKind::Code, "bob").await.locked_until.is_some(),
        "a lockout survives the upgrade"
    );
    assert_eq!(
        state(AttemptKind::Code, "\u{1}send\u{1}alice")
            .await
            .failures,
        0,
        "the old namespace is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_database_of_version_1_keeps_its_counters() {
    let dir = tempdir("sqlite-v1");
    let url = format!("sqlite:{}", dir.join("store.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    sqlx::raw_sql(SCHEMA_V1)
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::raw_sql(V1_ROWS).execute(store.pool()).await.unwrap();
    sqlx::query(V1_SENDS)
        .bind("\u{1}send\u{1}alice")
        .execute(store.pool())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_counters_carried_over(&store).await;
    let old: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name = 'tower_authy_attempts'")
            .fetch_optional(store.pool())
            .await
            .unwrap();
    assert_eq!(old, None, "version 1's table is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_of_version_1_keeps_its_counters() {
    let url = fresh_database("v1").await;
    let store = PostgresStore::connect(&url).await.unwrap();
    sqlx::raw_sql(SCHEMA_V1)
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::raw_sql(V1_ROWS).execute(store.pool()).await.unwrap();
    sqlx::query(V1_SENDS)
        .bind("\u{1}send\u{1}alice")
        .execute(store.pool())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_counters_carried_over(&store).await;
    let old: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('tower_authy_attempts')::text")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(old, None, "version 1's table is gone");
}

/// What version 2 left: one enrollment per user. Dan and Erin share an
/// Authy ID (version 2 let them); Carol turned 2FA off.
const SCHEMA_V2: &str = include_str!("../../src/store/sql/schema_v2.sql");
const V2_ROWS: &str = "DROP TABLE tower_authy_attempts; \
     CREATE TABLE tower_authy_migrations \
     (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL); \
     INSERT INTO tower_authy_migrations VALUES (1, 0); \
     INSERT INTO tower_authy_migrations VALUES (2, 0); \
     INSERT INTO tower_authy_enrollments VALUES ('alice', '111', 'enabled', 'XXX-XXX-4567', 1000, 2000); \
     INSERT INTO tower_authy_enrollments VALUES ('bob', '222', 'pending_confirmation', NULL, 1000, 1000); \
     INSERT INTO tower_authy_enrollments VALUES ('carol', '333', 'disabled', NULL, 1000, 3000); \
     INSERT INTO tower_authy_enrollments VALUES ('dan', '444', 'enabled', NULL, 1000, 1000); \
     INSERT INTO tower_authy_enrollments VALUES ('erin', '444', 'enabled', NULL, 1000, 1000);";

async fn assert_enrollments_carried_over<S: tower_authy::store::FactorStore>(store: &S) {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    use tower_authy::store::{
        Factor, FactorId, FactorKind, FactorState, IdentityUse, StoreError, UserId,
    };
    let ms = |n| UNIX_EPOCH + Duration::from_millis(n);
    let only = |user: &'static str| async move {
        let factors = store.factors(&UserId::new(user)).await.unwrap();
        assert!(factors.len() <= 1, "{user}: {factors:?}");
        factors.into_iter().next()
    };
    let alice = only("alice").await.expect("alice's phone is a factor");
    assert_eq!(alice.id, FactorId::new("authy-111"));
    assert_eq!(alice.kind, FactorKind::Authy);
    assert_eq!(alice.state, FactorState::Active, "enabled is active");
    assert_eq!(alice.label, "Phone ending in 67");
    assert_eq!(alice.provider_ref, "111");
    assert_eq!(alice.identity.as_deref(), Some("authy:111"));
    assert_eq!(alice.hint.as_deref(), Some("XXX-XXX-4567"));
    assert_eq!(alice.created_at, ms(1000));
    assert_eq!(alice.last_used_at, Some(ms(2000)));
    let bob = only("bob").await.expect("bob's phone is a factor");
    assert_eq!(bob.state, FactorState::Pending, "pending stays pending");
    assert_eq!(bob.label, "Phone");
    assert_eq!(bob.last_used_at, None);
    assert_eq!(only("carol").await, None, "a disabled enrollment is gone");
    assert!(only("dan").await.is_some() && only("erin").await.is_some());
    let now = SystemTime::now();
    let intruder = |authy_id| Factor::authy(UserId::new("mallory"), authy_id, None, now);
    for authy_id in ["111", "444"] {
        match store
            .insert_factor(&intruder(authy_id), IdentityUse::Exclusive)
            .await
        {
            Err(StoreError::IdentityInUse) => {}
            other => panic!("binding Authy ID {authy_id} to another user: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_database_of_version_2_keeps_its_enrollments_as_factors() {
    let dir = tempdir("sqlite-v2");
    let url = format!("sqlite:{}", dir.join("store.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    for script in [SCHEMA_V1, SCHEMA_V2, V2_ROWS] {
        sqlx::raw_sql(script).execute(store.pool()).await.unwrap();
    }
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_enrollments_carried_over(&store).await;
    let old: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name = 'tower_authy_enrollments'")
            .fetch_optional(store.pool())
            .await
            .unwrap();
    assert_eq!(old, None, "version 2's table is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_of_version_2_keeps_its_enrollments_as_factors() {
    let url = fresh_database("v2").await;
    let store = PostgresStore::connect(&url).await.unwrap();
    for script in [SCHEMA_V1, SCHEMA_V2, V2_ROWS] {
        sqlx::raw_sql(script).execute(store.pool()).await.unwrap();
    }
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_enrollments_carried_over(&store).await;
    let old: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('tower_authy_enrollments')::text")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(old, None, "version 2's table is gone");
}
