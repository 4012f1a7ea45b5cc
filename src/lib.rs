//! # tower-authy
//!
//! Demand a second factor — Authy SMS and voice codes, authenticator-app soft
//! tokens, and OneTouch push approvals — before a signed-in user reaches
//! protected routes of an Axum/Tower application.
//!
//! Your application keeps its own first factor (a password check, or
//! `axum-login`): after it succeeds, call [`session::sign_in`]. Wrap the
//! protected routes in [`TwoFactor::layer`], merge [`TwoFactor::router`]
//! (challenge, codes, OneTouch status, enrollment, webhook under `/2fa`),
//! and pick a store. Without an Authy account, the [`simulator`] (feature
//! `simulator`) stands in, virtual phone included.
//!
//! ## Quick start
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Form, Router, response::Redirect, routing::{get, post}};
//! use tower_authy::{TwoFactor, authy::Client, session, store::MemoryStore, webhook::Webhook};
//! use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};
//!
//! #[derive(serde::Deserialize)]
//! struct Login { username: String, password: String }
//! # async fn password_matches(_: &str, _: &str) -> bool { true }
//!
//! async fn login(session: Session, Form(form): Form<Login>) -> Redirect {
//!     if password_matches(&form.username, &form.password).await {
//!         session::sign_in(&session, form.username.as_str()).await.expect("session store");
//!     }
//!     Redirect::to("/2fa")
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let key = std::env::var("AUTHY_API_KEY")?;
//!     let store = Arc::new(MemoryStore::new());
//!     let webhook = Webhook::builder(key.as_str())
//!         .with_public_url("https://app.example.com/2fa/callback");
//!     let two_factor = TwoFactor::builder(Client::builder(key.as_str()).build()?, store)
//!         .with_webhook(webhook)
//!         .build()?;
//!     let app = Router::new()
//!         .route("/protected", get(|| async { "only with both factors" }))
//!         .layer(two_factor.layer())
//!         .route("/login", post(login))
//!         .merge(two_factor.router())
//!         .layer(SessionManagerLayer::new(Sessions::default()));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! ## Without an Authy account
//!
//! During development the [`simulator`] (feature `simulator`) stands in for
//! Authy, served by the application itself: its virtual phone at
//! `/simulator/phone` shows each code sent and approves or denies pushes.
//! The README's "Add it to your app" walks through the rest
//! (`examples/from_readme.rs`).
//!
//! ```no_run
//! # #[cfg(feature = "simulator")]
//! # mod example {
//! use std::sync::Arc;
//! use axum::Router;
//! use tower_authy::simulator::{CallbackMethod, Simulator};
//! use tower_authy::{TwoFactor, authy::Client, store::MemoryStore, webhook::Webhook};
//!
//! pub fn app(base: &str) -> Result<Router, Box<dyn std::error::Error>> {
//!     let callback = format!("{base}/2fa/callback");
//!     let simulator = Simulator::builder()
//!         .with_callback(&callback, CallbackMethod::Post)
//!         .build();
//!     let client = Client::builder(simulator.api_key().clone())
//!         .with_base_url(&format!("{base}/simulator"))
//!         .build()?;
//!     let two_factor = TwoFactor::builder(client, Arc::new(MemoryStore::new()))
//!         .with_webhook(Webhook::builder(simulator.api_key().clone()).with_public_url(&callback))
//!         .build()?;
//!     Ok(Router::new()
//!         .route("/protected", axum::routing::get(|| async { "both factors" }))
//!         .layer(two_factor.layer())
//!         .merge(two_factor.router())
//!         .nest_service("/simulator", simulator.router()))
//!     // … then your /login, and the session layer outside everything.
//! }
//! # }
//! ```
//!
//! With no vendor at all, [`TwoFactor::local`] checks authenticator apps and
//! backup codes itself.
//!
//! ## How the crate is built
//!
//! | module | its one job |
//! |---|---|
//! | [`TwoFactor`] (`two_factor`) | the one place configuration lives; hands out the router, the layer and the webhook |
//! | `domain` | the rules of the second factor, without HTTP: who must pass with what, attempt reservations, lockouts and send limits, grace logins, enrollment, remembered devices, push approvals |
//! | `routes` | the mountable router: HTTP in, the rules' outcomes out as pages or JSON |
//! | [`layer`] | [`RequireSecondFactorLayer`] and the [`Verified`] extractor; reads the session only |
//! | [`session`] | this crate's state in `tower-sessions`, and every session key |
//! | [`code`] | the codes that cross the wire |
//! | [`store`] | the store traits, `MemoryStore`, the SQL store, the conformance suite |
//! | [`method`] | the method registry's seam: what each kind of factor can do; [`authy`] is the first method |
//! | [`webhook`] | OneTouch callbacks: signatures, replay guard, recording; polling |
//! | [`verify`] | Twilio Verify v2: the `X-Twilio-Signature` scheme and the Verify webhook |
//! | `sealing` | local secrets at rest: AES-256-GCM seals and keyed hashes under the application's secret key, with key rotation |
//! | `otp` | RFC 4226/6238 one-time passwords, for authenticator apps and the simulator |
//! | `ui` | the default page templates |
//! | `simulator` | (feature) the local Authy API and its virtual phone |
//!
//! ## Layer order
//!
//! The session layer goes outside everything (last `.layer` call); the 2FA
//! layer goes on the protected routes only, added *before* the public routes
//! (login, the 2FA router) are merged or routed, so they stay reachable. The
//! layer also lets the crate's own routes, the login page and the webhook
//! through (each exactly, decided on the route axum matched, never on a path
//! a parameter could imitate), and any
//! [`RequireSecondFactorLayer::with_exempt_path`], but keeping public routes
//! outside it is clearer.
//!
//! ## Security notes
//!
//! - The layer decides from the session alone and fails closed: no session
//!   layer, an unreadable session, a stale first factor — no access.
//! - Codes are verified with `force=true` (without it Authy accepts any code
//!   for a user who never verified one); wrong codes count towards a lockout;
//!   SMS and calls are rate-limited per user; codes are digit strings.
//! - Completing the second factor cycles the session id; `next` redirects go
//!   to same-origin paths only; POSTs must be same-origin (or carry the
//!   session's CSRF token).
//! - OneTouch callbacks are verified in constant time against the configured
//!   public URL, with a nonce window and a replay guard; an approval counts
//!   only for the session that asked for it.
//! - The API key, codes and contact details never appear in logs or `Debug`.
//!
//! ## The pages, and your own
//!
//! The router's HTML pages (challenge, enrollment) are templates compiled
//! into the crate: no CDN, one small inline script for the live OneTouch
//! flow, and a code path that works without JavaScript. Replace any of them
//! with [`TwoFactorBuilder::with_template`], which lists the context each
//! gets. Every route also answers JSON, for single-page apps.
//!
//! ## Examples
//!
//! | command | shows |
//! |---|---|
//! | `cargo run --example quickstart` | a complete small app: register, sign in, challenge, settings; the simulator in-process |
//! | `cargo run --example from_readme --features simulator` | the README's integration steps, as one file |
//! | `cargo run --example axum_login --features axum-login` | the same protection with axum-login as the first factor |
//! | `cargo run --example custom_store --features testing` | the store traits over your own storage, checked by [`store::conformance`] |
//! | `cargo run --example simulator --features simulator` | the Authy simulator alone, for any Authy client |
//!
//! ## Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `simulator` | the local Authy simulator and its virtual phone |
//! | `testing` | the store conformance suite, [`store::conformance`] |
//! | `sqlite` | the SQL store on SQLite, `store::SqliteStore` |
//! | `postgres` | the SQL store on PostgreSQL, `store::PostgresStore` |
//! | `axum-login` | axum-login's user as the first factor, `axum_login` |
//! | `webauthn` | passkeys and security keys, `method::passkey` (webauthn-rs; needs OpenSSL's headers) |
//! | `metrics` | counters of the `metrics` facade beside the tracing events, see [`telemetry`] |

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod api_key;
pub mod authy;
#[cfg(feature = "axum-login")]
pub mod axum_login;
pub mod code;
pub mod config;
mod domain;
pub mod events;
pub mod layer;
pub mod method;
mod negotiate;
pub mod origin;
mod otp;
mod outbound;
mod params;
mod routes;
mod sealing;
mod secret;
pub mod session;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod store;
pub mod telemetry;
mod two_factor;
mod ui;
mod utc;
pub mod verify;
pub mod webhook;

/// Internals the benchmarks measure (`benches/`); not part of the API.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod bench_support {
    /// The step an authenticator-app code matches around `unix_secs`.
    pub fn totp_matching_step(seed: &[u8], unix_secs: u64, code: &str) -> Option<u64> {
        crate::method::totp::matching_step(seed, unix_secs, code)
    }
}

pub use api_key::ApiKey;
pub use code::Code;
pub use config::ConfigError;
pub use domain::{EnrollError, PairError};
pub use layer::{RequireSecondFactor, RequireSecondFactorLayer, Requirement, Verified};
pub use secret::Secret;
pub use two_factor::{TwoFactor, TwoFactorBuilder};
