//! The memory store passes the conformance suite: one test per clause.

use std::sync::Arc;

use tower_authy::store::MemoryStore;

/// Two handles onto one fresh store.
async fn pair() -> (Arc<MemoryStore>, Arc<MemoryStore>) {
    let store = MemoryStore::new();
    (Arc::new(store.clone()), Arc::new(store))
}

tower_authy::store_conformance_tests!(pair());
