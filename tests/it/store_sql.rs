//! The SQL stores pass the conformance suite on a real SQLite file and a real
//! PostgreSQL server, with two separate pools as the two handles.

use std::sync::Arc;

use tower_authy::store::{PostgresStore, SharedStore, SqliteStore, conformance};

use crate::postgres_server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_conforms() {
    let dir = tempdir("sqlite-conformance");
    let url = format!("sqlite:{}", dir.join("store.db").display());
    let first = SqliteStore::connect(&url).await.unwrap();
    first.migrate().await.unwrap();
    let second = SqliteStore::connect(&url).await.unwrap();
    second.migrate().await.unwrap(); // idempotent
    let (first, second): (SharedStore, SharedStore) = (Arc::new(first), Arc::new(second));
    conformance::run(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms_across_pools() {
    let url = postgres_server::url().await;
    let (first, second) = tokio::join!(PostgresStore::connect(&url), PostgresStore::connect(&url));
    let (first, second) = (first.unwrap(), second.unwrap());
    // Two instances migrating at once must not trip over each other.
    let (a, b) = tokio::join!(first.migrate(), second.migrate());
    a.unwrap();
    b.unwrap();
    let (first, second): (SharedStore, SharedStore) = (Arc::new(first), Arc::new(second));
    conformance::run(first, second).await;
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}
