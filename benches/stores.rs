//! The stores' hot operations, on memory and on SQLite (a file, WAL), each
//! beside the floor of its backend: a locked map lookup for memory, a
//! `SELECT 1` through the same pool for SQLite.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use criterion::Criterion;
use tower_authy::store::{
    AttemptKey, AttemptKind, AuthyStore, LockoutRule, MemoryStore, SqliteStore, UserId,
};

/// The operations a protected request and a code check make.
fn bench_store(
    c: &mut Criterion,
    name: &str,
    runtime: &tokio::runtime::Runtime,
    store: Arc<dyn AuthyStore>,
) {
    let mut group = c.benchmark_group(format!("store/{name}"));
    let user = UserId::from("alice");
    let key = AttemptKey::user(AttemptKind::Code, &user);
    let rule = LockoutRule::new(5, Duration::from_secs(600), Duration::from_secs(900));
    runtime.block_on(store.revoke_devices(&user)).unwrap();
    group.bench_function("device_generation", |b| {
        b.to_async(runtime)
            .iter(|| async { store.device_generation(&user).await.unwrap() });
    });
    group.bench_function("factors", |b| {
        b.to_async(runtime)
            .iter(|| async { store.factors(&user).await.unwrap() });
    });
    // A code check counts the attempt first and clears it on success.
    group.bench_function("record_and_clear_attempt", |b| {
        b.to_async(runtime).iter(|| async {
            store
                .record_attempt(&key, rule, SystemTime::now())
                .await
                .unwrap();
            store.clear_attempts(&key).await.unwrap();
        });
    });
    group.bench_function("nonce_seen", |b| {
        b.to_async(runtime)
            .iter(|| async { store.nonce_seen("n-1", SystemTime::now()).await.unwrap() });
    });
    group.finish();
}

pub fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let floor: Mutex<HashMap<String, u64>> = Mutex::new(HashMap::from([("alice".into(), 1)]));
    c.bench_function("store/memory/floor_locked_map_lookup", |b| {
        b.iter(|| floor.lock().unwrap().get("alice").copied());
    });
    bench_store(c, "memory", &runtime, Arc::new(MemoryStore::new()));

    let dir = std::env::temp_dir().join(format!("tower-authy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("bench.db").display());
    let sqlite = runtime.block_on(async {
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        store
    });
    let pool = sqlite.pool().clone();
    c.bench_function("store/sqlite/floor_select_1", |b| {
        b.to_async(&runtime).iter(|| async {
            sqlx::query_scalar::<_, i64>("SELECT 1")
                .fetch_one(&pool)
                .await
                .unwrap()
        });
    });
    bench_store(c, "sqlite", &runtime, Arc::new(sqlite));
    std::fs::remove_dir_all(&dir).ok();
}
