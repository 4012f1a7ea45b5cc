//! Integration tests: one binary, one module per concern (linking one test
//! binary instead of many keeps the suite fast on small machines).

// The dev-dependency on this crate turns every feature on; should it ever
// not, say so instead of skipping the tests that need them.
#[cfg(not(all(
    feature = "simulator",
    feature = "testing",
    feature = "sqlite",
    feature = "postgres",
    feature = "axum-login"
)))]
compile_error!(
    "tests/it needs the features simulator, testing, sqlite, postgres and axum-login \
     (the dev-dependency on tower-authy in Cargo.toml turns them on)"
);

mod adding_factors;
mod app;
mod axum_login;
mod backup_codes;
mod common;

mod client_faults;
mod client_simulator;
mod custom_store_example;
mod faults;
mod from_readme;
mod layer_exemptions;
mod methods;
mod official_clients;
mod passkey;
mod poll;
mod postgres_server;
mod routes_challenge;
mod routes_enroll;
mod routes_factors;
mod routes_onetouch;
mod security_changes;
mod security_events;
mod simulator_api;
mod simulator_phone;
mod store_memory;
mod store_sql;
mod totp;
mod verify;
mod webhook;
