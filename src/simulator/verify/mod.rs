//! A faithful local stand-in for Twilio Verify v2 (spec §7), with a virtual
//! phone, so that an application (and Twilio's own libraries) can run the
//! Verify flows with no account.
//!
//! It serves `v2/…` relative to where it is mounted: a
//! [`verify::Client`](crate::verify::Client) whose base URL is that mount
//! point works unchanged.
//!
//! ```no_run
//! use tower_authy::simulator::VerifySimulator;
//!
//! # async fn run() -> std::io::Result<()> {
//! let sim = VerifySimulator::builder()
//!     .with_account("AC0123456789abcdef0123456789abcdef", "auth-token")
//!     .with_service("My App")
//!     .with_webhook_url("http://127.0.0.1:3000/2fa/verify/callback")
//!     .build();
//! let app = axum::Router::new().nest("/simulator", sim.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:4001").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! # Where the simulator had to choose (spec §7's choices)
//!
//! - Basic auth with a configured account (SID and auth token) or API key
//!   (`SK…` and secret); anything else is 401/20003. Push factors may also be
//!   created as a device does, with `token:<access token>`.
//! - A verification lives 10 minutes; creating one again while it is
//!   pending resends the same code under the same SID, and the 6th delivery
//!   is 429/60203. Five checks are evaluated, the 6th is 429/60202 and ends
//!   it; approved, canceled, expired and maxed-out verifications answer
//!   404/20404.
//! - TOTP factors: a 20-byte seed, SHA-1 only (another `Config.Alg` is
//!   400/60306); a wrong code leaves the factor unverified (200), the 6th is
//!   429/60310. TOTP challenges: a wrong code leaves them pending, the 6th is
//!   429/60308; an unverified factor is 403/60318; an expired challenge
//!   403/60323. Unverified factors vanish after an hour.
//! - Push factors may be created from the server (`FactorType=push`), and are
//!   verified at once; their challenges are answered on the virtual phone.
//! - Webhooks: form-encoded, signed with the account's auth token
//!   (HMAC-SHA1, spec §5.7), fields `uuid, type, account_sid, service_sid,
//!   entity_identity, factor_sid, factor_type` (+ `challenge_sid`). Factor
//!   events are delivered in the background; approving or denying on the
//!   phone delivers before it answers, and reports the delivery.
//! - Lists are paged with `PageSize` (default 50) and `Page`.
//!
//! # The virtual phone
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | `phone` | the page: pending pushes with Approve and Deny (form posts, no script needed), authenticator-app codes, codes received |
//! | GET | `phone/api/verify/messages?to=` | codes sent to that phone or e-mail, newest last: `[{"channel","to","code","at"}]` |
//! | GET | `phone/api/verify/challenges?identity=` | push challenges: `[{"sid","factor_sid","status","message","details","created_at","expires_at"}]` |
//! | POST | `phone/api/verify/challenges/{sid}/approve` | approves; delivers the signed webhook before answering |
//! | POST | `phone/api/verify/challenges/{sid}/deny` | denies; the same |
//! | POST | `phone/api/verify/push-factors` | `identity`, `friendly_name` (form or JSON): registers a verified push factor, as the mobile SDK would → `{"sid"}` |
//! | GET | `phone/api/verify/factors/{sid}/code` | a TOTP factor's current code: `{"code"}` |

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use super::clock::Clock;
use crate::Secret;

mod challenges;
mod events;
mod factors;
mod phone;
mod reply;
mod services;
mod state;
mod verifications;

use state::State;

/// The Verify simulator's default account, when none is configured.
pub const DEFAULT_ACCOUNT_SID: &str = "AC00000000000000000000000000000000";

struct Inner {
    /// Account SID → auth token.
    accounts: BTreeMap<String, Secret>,
    /// API key SID → (secret, account SID).
    api_keys: BTreeMap<String, (Secret, String)>,
    base_url: String,
    webhook_url: Option<String>,
    built_services: Vec<String>,
    clock: Clock,
    state: Mutex<State>,
    http: reqwest::Client,
}

/// A local Twilio Verify v2 API with a virtual phone. Cheap to clone: clones
/// share one state.
#[derive(Clone)]
pub struct VerifySimulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for VerifySimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifySimulator")
            .field("accounts", &self.inner.accounts.keys().collect::<Vec<_>>())
            .field("base_url", &self.inner.base_url)
            .field("webhook_url", &self.inner.webhook_url)
            .finish_non_exhaustive()
    }
}

impl VerifySimulator {
    /// A builder: no account (one with [`DEFAULT_ACCOUNT_SID`] and a random
    /// token is made), no service, no webhook.
    pub fn builder() -> VerifySimulatorBuilder {
        VerifySimulatorBuilder::default()
    }

    /// The Verify API and the virtual phone's API, as a router to serve
    /// alone or nest anywhere.
    pub fn router(&self) -> Router {
        const SERVICE: &str = "/v2/Services/{service}";
        const ENTITY: &str = "/v2/Services/{service}/Entities/{identity}";
        Router::new()
            .route("/v2/Services", post(services::create).get(services::list))
            .route(
                SERVICE,
                get(services::fetch)
                    .post(services::update)
                    .delete(services::delete),
            )
            .route(
                &format!("{SERVICE}/Verifications"),
                post(verifications::create),
            )
            .route(
                &format!("{SERVICE}/Verifications/{{sid}}"),
                get(verifications::fetch).post(verifications::update),
            )
            .route(
                &format!("{SERVICE}/VerificationCheck"),
                post(verifications::check),
            )
            .route(
                &format!("{SERVICE}/Entities"),
                post(factors::create_entity).get(factors::list_entities),
            )
            .route(
                ENTITY,
                get(factors::fetch_entity).delete(factors::delete_entity),
            )
            .route(
                &format!("{ENTITY}/Factors"),
                post(factors::create).get(factors::list),
            )
            .route(
                &format!("{ENTITY}/Factors/{{sid}}"),
                get(factors::fetch)
                    .post(factors::update)
                    .delete(factors::delete),
            )
            .route(
                &format!("{ENTITY}/Challenges"),
                post(challenges::create).get(challenges::list),
            )
            .route(
                &format!("{ENTITY}/Challenges/{{sid}}"),
                get(challenges::fetch).post(challenges::update),
            )
            .route(
                &format!("{ENTITY}/Challenges/{{sid}}/Notifications"),
                post(challenges::notify),
            )
            .route(
                &format!("{SERVICE}/AccessTokens"),
                post(services::create_access_token),
            )
            .route(
                &format!("{SERVICE}/AccessTokens/{{sid}}"),
                get(services::fetch_access_token),
            )
            .route(
                &format!("{SERVICE}/Webhooks"),
                post(services::create_webhook).get(services::list_webhooks),
            )
            .route(
                &format!("{SERVICE}/Webhooks/{{sid}}"),
                get(services::fetch_webhook)
                    .post(services::update_webhook)
                    .delete(services::delete_webhook),
            )
            .merge(phone::routes())
            .method_not_allowed_fallback(reply::method_not_allowed)
            .fallback(reply::not_found_route)
            .with_state(self.clone())
    }

    /// The first configured account's SID.
    pub fn account_sid(&self) -> &str {
        self.inner
            .accounts
            .keys()
            .next()
            .map_or(DEFAULT_ACCOUNT_SID, String::as_str)
    }

    /// The auth token of `account_sid` (also the webhooks' HMAC key).
    pub fn auth_token(&self, account_sid: &str) -> Option<&Secret> {
        self.inner.accounts.get(account_sid)
    }

    /// The SIDs of the services made at build time, in the order given.
    pub fn service_sids(&self) -> &[String] {
        &self.inner.built_services
    }

    /// Moves the simulator's clock forward, so that codes and challenges
    /// expire without the test sleeping. The clock never goes back.
    pub fn advance_clock(&self, by: Duration) {
        self.inner.clock.advance(by);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now(&self) -> u64 {
        self.inner.clock.now_secs()
    }

    /// A resource's absolute URL.
    fn url(&self, path: &str) -> String {
        format!("{}/v2{path}", self.inner.base_url)
    }
}

/// Configures a [`VerifySimulator`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct VerifySimulatorBuilder {
    accounts: Vec<(String, Secret)>,
    api_keys: Vec<(String, Secret, String)>,
    services: Vec<String>,
    webhook_url: Option<String>,
    base_url: Option<String>,
    seed: Option<u64>,
}

impl VerifySimulatorBuilder {
    /// An account clients may call as (SID `AC…` and auth token).
    pub fn with_account(mut self, sid: impl Into<String>, auth_token: impl Into<Secret>) -> Self {
        self.accounts.push((sid.into(), auth_token.into()));
        self
    }

    /// An API key (`SK…` and secret) of the first account.
    pub fn with_api_key(mut self, sid: impl Into<String>, secret: impl Into<Secret>) -> Self {
        self.api_keys
            .push((sid.into(), secret.into(), String::new()));
        self
    }

    /// A service made at build time, in the first account.
    pub fn with_service(mut self, friendly_name: impl Into<String>) -> Self {
        self.services.push(friendly_name.into());
        self
    }

    /// A webhook (every event) on each service made at build time.
    pub fn with_webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// The root of the `url` and paging links in answers (default
    /// `https://verify.twilio.com`; set it to where the simulator is served
    /// for clients to follow links).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Seeds the SIDs and codes, for reproducible runs (default: random).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Builds the simulator.
    pub fn build(self) -> VerifySimulator {
        let mut state = State::new(self.seed);
        let mut accounts: BTreeMap<String, Secret> = self.accounts.into_iter().collect();
        if accounts.is_empty() {
            accounts.insert(DEFAULT_ACCOUNT_SID.to_owned(), Secret::new(state.hex(32)));
        }
        let first = accounts.keys().next().cloned().unwrap_or_default();
        let api_keys = self
            .api_keys
            .into_iter()
            .map(|(sid, secret, _)| (sid, (secret, first.clone())))
            .collect();
        let clock = Clock::default();
        let now = clock.now_secs();
        let mut built_services = Vec::new();
        for name in &self.services {
            let sid = state.sid("VA");
            built_services.push(sid.clone());
            state.services.insert(
                sid.clone(),
                state::Service {
                    sid: sid.clone(),
                    account_sid: first.clone(),
                    friendly_name: name.clone(),
                    code_length: 6,
                    totp_issuer: None,
                    created: now,
                    updated: now,
                },
            );
            if let Some(url) = &self.webhook_url {
                let webhook_sid = state.sid("YW");
                state.webhooks.insert(
                    webhook_sid.clone(),
                    state::Webhook {
                        sid: webhook_sid,
                        service_sid: sid,
                        account_sid: first.clone(),
                        friendly_name: "tower-authy".into(),
                        event_types: vec!["*".into()],
                        url: url.clone(),
                        enabled: true,
                        version: "v2".into(),
                        created: now,
                    },
                );
            }
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("TwilioProxy/1.1 (tower-authy Verify simulator)")
            .build()
            .unwrap_or_default();
        VerifySimulator {
            inner: Arc::new(Inner {
                accounts,
                api_keys,
                base_url: self
                    .base_url
                    .unwrap_or_else(|| "https://verify.twilio.com".into())
                    .trim_end_matches('/')
                    .to_owned(),
                webhook_url: self.webhook_url,
                built_services,
                clock,
                state: Mutex::new(state),
                http,
            }),
        }
    }
}
