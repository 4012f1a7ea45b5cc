//! Load with nothing lost: 1 000 complete sign-ins at once against the
//! in-process app and its Authy simulator — OneTouch approvals and denials
//! and codes (some wrong first) interleaved, the OneTouch callbacks held
//! back and then delivered out of order, a fifth of them twice — on each
//! store (on PostgreSQL, browsers on one instance of the app and callbacks
//! on another). Each session must end in exactly its own request's outcome, no
//! approval may complete another session, every send and wrong code must be
//! counted, and no waiter may hang.

#[path = "../it/app.rs"]
mod app;
#[path = "../it/common.rs"]
mod common;
// Shared with tests/it, which also uses the server it can crash.
#[allow(dead_code)]
#[path = "../it/postgres_server.rs"]
mod postgres_server;
mod sign_ins;

use std::sync::Arc;

use tower_authy::store::{MemoryStore, PostgresStore, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sign_ins_on_the_memory_store() {
    sign_ins::run("memory", Arc::new(MemoryStore::new()), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sign_ins_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("tower-authy-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("store.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    sign_ins::run("sqlite", Arc::new(store), false).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sign_ins_on_postgres_across_two_instances() {
    let server = postgres_server::url().await;
    let admin = PostgresStore::connect(&server).await.unwrap();
    let name = format!("load_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::raw_sql(&sql).execute(admin.pool()).await.unwrap();
    }
    let url = format!("{}/{name}", server.rsplit_once('/').unwrap().0);
    let store = PostgresStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    sign_ins::run("postgres, two instances", Arc::new(store), true).await;
}
