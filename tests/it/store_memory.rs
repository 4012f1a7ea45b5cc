//! The memory store passes the conformance suite.

use std::sync::Arc;

use tower_authy::store::{MemoryStore, SharedStore, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conforms() {
    let store = MemoryStore::new();
    let first: SharedStore = Arc::new(store.clone());
    let second: SharedStore = Arc::new(store);
    conformance::run(first, second).await;
}
