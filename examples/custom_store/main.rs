//! Implementing the store traits over your own storage, and proving the
//! implementation right with the crate's public conformance suite.
//!
//! ```text
//! cargo run --example custom_store --features testing
//! ```
//!
//! `store.rs` is the implementation: plain maps behind a mutex, plus a watch
//! channel that wakes OneTouch waiters. `main` runs
//! `tower_authy::store::conformance::run` against it (every clause of the
//! store contracts, with two handles onto the same data) and then plugs it
//! into `TwoFactor` like any other store. The crate's own tests run the same
//! suite on this file, so the example cannot quietly rot.

mod store;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use store::HashMapStore;
use tower_authy::config::{Policy, StatusMode};
use tower_authy::store::conformance;
use tower_authy::{TwoFactor, authy::Client};

#[tokio::main]
async fn main() -> ExitCode {
    let store = HashMapStore::new();
    // Two handles onto the same data, as two pools onto one database would be.
    let first = Arc::new(store.clone());
    let second = Arc::new(store.clone());
    // Each clause panics naming the contract it found broken; the task
    // turns that into an answer here.
    match tokio::spawn(conformance::run(first, second)).await {
        Ok(()) => println!("HashMapStore passes the tower-authy store conformance suite."),
        Err(failure) => {
            eprintln!("HashMapStore breaks a store contract: {failure}");
            return ExitCode::FAILURE;
        }
    }

    // From here it is a store like the built-in ones.
    let policy = Policy::builder()
        .with_status_mode(StatusMode::Polling {
            every: Duration::from_secs(2),
        })
        .build()
        .expect("a valid policy");
    let client = Client::builder("authy-api-key")
        .build()
        .expect("a valid client");
    let two_factor = TwoFactor::builder(client, Arc::new(store))
        .with_policy(policy)
        .build()
        .expect("a valid set-up");
    let _routes: axum::Router = two_factor.router();
    println!("TwoFactor runs on it: mount its router and layer as in the quickstart.");
    ExitCode::SUCCESS
}
