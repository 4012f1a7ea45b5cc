//! # tower-authy
//!
//! Demand a second factor — Authy SMS and voice codes, authenticator-app soft
//! tokens, and OneTouch push approvals — before a signed-in user reaches
//! protected routes of an Axum/Tower application.
//!
//! This release holds the foundation:
//!
//! - [`authy`]: a complete async client for the Authy REST API;
//! - [`webhook::signature`]: the OneTouch callback signature, to sign and to
//!   verify in constant time;
//! - `simulator` (feature `simulator`): a faithful local Authy API with a
//!   "virtual phone", for development and tests now that the Authy API is
//!   closed to new customers and its sandbox is gone.
//!
//! ## Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `simulator` | the local Authy simulator and its virtual phone |
//! | `testing` | the store conformance suite, [`store::conformance`] |
//! | `sqlite` | the SQL store on SQLite, [`store::SqliteStore`] |
//! | `postgres` | the SQL store on PostgreSQL, [`store::PostgresStore`] |
//! | `axum-login` | axum-login's user as the first factor, [`axum_login`] |

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod api_key;
pub mod authy;
#[cfg(feature = "axum-login")]
pub mod axum_login;
pub mod config;
mod layer;
mod params;
pub mod provider;
mod routes;
pub mod session;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod store;
mod ui;
pub mod webhook;

pub use api_key::ApiKey;
pub use config::ConfigError;
pub use layer::{RequireSecondFactor, RequireSecondFactorLayer, Requirement, ResponseFuture};
pub use params::ParamsError;
pub use routes::{TwoFactor, TwoFactorBuilder};
