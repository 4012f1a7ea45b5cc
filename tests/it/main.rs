//! Integration tests: one binary, one module per concern (linking one test
//! binary instead of many keeps the suite fast on small machines).

mod app;
#[cfg(feature = "axum-login")]
mod axum_login;
mod common;

mod client_faults;
mod client_simulator;
mod custom_store_example;
mod official_clients;
mod poll;
#[cfg(feature = "postgres")]
mod postgres_server;
mod routes_challenge;
mod routes_enroll;
mod routes_onetouch;
mod simulator_api;
mod simulator_phone;
mod store_memory;
#[cfg(all(feature = "sqlite", feature = "postgres"))]
mod store_sql;
mod webhook;
