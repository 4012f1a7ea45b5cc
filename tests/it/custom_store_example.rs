//! The store of `examples/custom_store` passes the conformance suite, so the
//! example stays true to the contracts it documents.

use std::sync::Arc;

use tower_authy::store::conformance;

#[path = "../../examples/custom_store/store.rs"]
mod store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_custom_store_example_conforms() {
    let store = store::HashMapStore::new();
    conformance::run(Arc::new(store.clone()), Arc::new(store)).await;
}
