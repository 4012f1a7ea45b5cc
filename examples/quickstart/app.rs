//! The quickstart application itself, apart from reading the environment
//! (`main.rs`), so that the browser tests (`tests/browser`) serve the very
//! same app in process: its assembly and its protected pages. Accounts
//! (sign-up, sign-in) are `accounts.rs`; the page frame is `pages.rs`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_authy::config::{Policy, RememberDevice};
use tower_authy::method::passkey::Passkeys;
use tower_authy::method::verify::Verify;
use tower_authy::session::SecondFactorMethod;
use tower_authy::simulator::{CallbackMethod, DEFAULT_ACCOUNT_SID, Simulator, VerifySimulator};
use tower_authy::store::{FactorKind, SharedStore};
use tower_authy::verify::{self, VerifyWebhook};
use tower_authy::webhook::Webhook;
use tower_authy::{ApiKey, TwoFactor, TwoFactorBuilder, Verified, authy::Client};
use tower_authy::{origin, session};
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

use crate::accounts::{AppUser, hash_password, login, login_page, logout, register, register_page};
use crate::pages::{escape, page};

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) users: Arc<RwLock<HashMap<String, AppUser>>>,
    pub(crate) two_factor: TwoFactor,
    /// No phone: users add an authenticator app after registering.
    pub(crate) local: bool,
    /// With the Verify simulator: its root, where the protected page's
    /// "pair the virtual phone" plays the mobile app registering a push
    /// factor with Twilio's SDK.
    pub(crate) verify_phone: Option<String>,
    /// Checked when the user name is unknown, so that a wrong name takes as
    /// long as a wrong password.
    pub(crate) decoy_hash: Arc<String>,
    /// Sign-in and sign-up attempts per client and per user name.
    pub(crate) limits: Arc<crate::limits::Limits>,
}

/// Where second factors come from (`TWO_FACTOR_PROVIDER`).
pub enum Provider {
    /// A real Authy application at this API root (without `/protected/json`).
    AuthyApi { url: String },
    /// The crate's Authy simulator, mounted in the app under `/simulator`.
    AuthySimulator,
    /// Twilio Verify at this API root, with these credentials and service.
    VerifyApi {
        url: String,
        account_sid: String,
        auth_token: String,
        service_sid: String,
    },
    /// The crate's Verify simulator, mounted in the app under `/simulator`
    /// (its auth token is the config's key).
    VerifySimulator,
    /// No vendor: authenticator apps and backup codes only.
    Local,
}

/// Everything the application is built from; `main.rs` reads it from the
/// environment, the browser tests set it directly.
pub struct Config {
    /// The external base URL, without a trailing slash: callbacks are signed
    /// for it.
    pub public_url: String,
    /// The port the app listens on: the app reaches its own simulator there.
    pub port: u16,
    /// The Authy API key, or the simulator's (unused with `Local`).
    pub key: ApiKey,
    pub provider: Provider,
    /// The 2FA store.
    pub store: SharedStore,
    /// Signs remember-device cookies.
    pub remember_key: ApiKey,
    /// Seals authenticator-app seeds and hashes backup codes (32+ bytes).
    pub secret_key: String,
}

/// The whole application: pages, the 2FA routes and, with
/// a simulator, the simulator and its virtual phone.
pub fn app(config: Config) -> Result<Router, Box<dyn std::error::Error>> {
    let Config {
        public_url,
        port,
        key,
        provider,
        store,
        remember_key,
        secret_key,
    } = config;
    let callback_url = format!("{public_url}/2fa/callback");

    let secure = public_url.starts_with("https://");
    let remember =
        RememberDevice::new(Duration::from_secs(30 * 24 * 3600), remember_key).with_secure(secure);
    let policy = Policy::builder().with_remember_device(remember).build()?;
    // The app reaches a simulator of its own over loopback, like any API.
    let local_api = format!("http://127.0.0.1:{port}/simulator");

    let local = matches!(provider, Provider::Local);
    let verify_phone = matches!(provider, Provider::VerifySimulator).then(|| local_api.clone());
    // The provider: Authy or Verify, real or simulated in this very
    // process, or none. Switching is the builder's first argument.
    let (builder, simulator): (_, Option<Router>) = match provider {
        Provider::AuthyApi { url } => {
            let client = Client::builder(key.clone()).with_base_url(&url).build()?;
            (authy(client, store, &key, &callback_url), None)
        }
        Provider::AuthySimulator => {
            let simulator = Simulator::builder()
                .with_api_key(key.clone())
                .with_callback(&callback_url, CallbackMethod::Post)
                .build();
            let client = Client::builder(key.clone())
                .with_base_url(&local_api)
                .build()?;
            (
                authy(client, store, &key, &callback_url),
                Some(simulator.router()),
            )
        }
        Provider::VerifyApi {
            url,
            account_sid,
            auth_token,
            service_sid,
        } => {
            let credentials = verify::Credentials::auth_token(account_sid, auth_token.as_str());
            let client = verify::Client::builder(credentials)
                .with_base_url(&url)
                .build()?;
            let builder = verify_set_up(
                client,
                service_sid.parse()?,
                store,
                &auth_token,
                &public_url,
            );
            (builder, None)
        }
        Provider::VerifySimulator => {
            let token = key.expose_for_display().to_owned();
            let simulator = VerifySimulator::builder()
                .with_account(DEFAULT_ACCOUNT_SID, token.as_str())
                .with_service("tower-authy quickstart")
                .with_webhook_url(format!("{public_url}/2fa/verify/callback"))
                .with_base_url(&local_api)
                .build();
            let credentials = verify::Credentials::auth_token(DEFAULT_ACCOUNT_SID, token.as_str());
            let client = verify::Client::builder(credentials)
                .with_base_url(&local_api)
                .build()?;
            let service = simulator.service_sids()[0].parse()?;
            let builder = verify_set_up(client, service, store, &token, &public_url);
            (builder, Some(simulator.router()))
        }
        Provider::Local => (TwoFactor::local(store), None),
    };
    // Authenticator apps, passkeys and backup codes beside the phone, or
    // alone.
    let passkeys = Passkeys::builder(passkey_url(&public_url))
        .with_rp_name("tower-authy quickstart")
        .build()?;
    let two_factor = builder
        .with_method(passkeys)
        // Where an application would e-mail its user.
        .with_security_events(|event: &tower_authy::events::SecurityEvent| {
            tracing::warn!(?event, "quickstart: would tell the user");
        })
        .with_policy(policy)
        .with_secret_key(secret_key)
        .with_authenticator_apps()
        .with_backup_codes()
        .build()?;

    let app = App {
        users: Arc::default(),
        two_factor: two_factor.clone(),
        local,
        verify_phone,
        decoy_hash: Arc::new(hash_password("decoy password").ok_or("argon2 failed")?),
        limits: Arc::default(),
    };
    let protected = Router::new()
        .route("/protected", get(protected_page))
        .route(
            "/pair-phone",
            post(pair_phone).route_layer(middleware::from_fn(origin::require_same_origin)),
        )
        .route("/api/me", get(me))
        .route("/profile", get(profile))
        .layer(two_factor.layer().with_exempt_path("/logout"));
    // The app's own forms refuse cross-site posts, like the 2FA routes do:
    // no signing in (or out) on someone else's behalf.
    let forms = Router::new()
        .route("/register", get(register_page).post(register))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route_layer(middleware::from_fn(origin::require_same_origin));
    let mut router = Router::new()
        .route("/", get(|| async { Redirect::to("/protected") }))
        // The crate's settings page: factors, authenticator apps, backup
        // codes, turning 2FA off.
        .route("/settings", get(|| async { Redirect::to("/2fa/enroll") }))
        .merge(forms)
        .merge(protected)
        .merge(two_factor.router());
    if let Some(simulator) = simulator {
        router = router.nest_service("/simulator", simulator);
    }
    Ok(router
        .with_state(app)
        .layer(SessionManagerLayer::new(Sessions::default()).with_secure(secure)))
}

/// Authy: its client, and the OneTouch webhook at `/2fa/callback`.
fn authy(client: Client, store: SharedStore, key: &ApiKey, callback_url: &str) -> TwoFactorBuilder {
    TwoFactor::builder(client, store)
        .with_webhook(Webhook::builder(key.clone()).with_public_url(callback_url))
}

/// Twilio Verify: its phones and pushes, and the Verify webhook at
/// `/2fa/verify/callback`, signed with the account's auth token.
fn verify_set_up(
    client: verify::Client,
    service: verify::ServiceSid,
    store: SharedStore,
    auth_token: &str,
    public_url: &str,
) -> TwoFactorBuilder {
    TwoFactor::builder(Verify::new(client, service), store).with_verify_webhook(
        VerifyWebhook::builder(auth_token)
            .with_public_url(format!("{public_url}/2fa/verify/callback")),
    )
}

// Behind the layer, `Verified` says who passed both factors and how: no
// second session read.
async fn protected_page(State(app): State<App>, verified: Verified) -> Html<String> {
    let pair = match app.verify_phone {
        Some(_) => {
            "<form method=\"post\" action=\"/pair-phone\"><button type=\"submit\">Pair the virtual phone for push approvals</button></form>"
        }
        None => "",
    };
    page(
        "Protected",
        &format!(
            "<p id=\"welcome\">Signed in as <strong>{}</strong>, second factor: {}.</p>\
             <p><a href=\"/settings\">Two-factor settings</a> · <a href=\"/profile\">Profile</a> · <a href=\"/api/me\">/api/me</a></p>\
             {pair}<form method=\"post\" action=\"/logout\"><button type=\"submit\">Sign out</button></form>",
            escape(verified.user_id.as_str()),
            how(verified.method)
        ),
    )
}

/// How a session passed, in words (not the crate's stable names, which are
/// for programs).
fn how(method: SecondFactorMethod) -> &'static str {
    match method {
        SecondFactorMethod::Code => "a code",
        SecondFactorMethod::OneTouch => "an approval on your phone",
        SecondFactorMethod::Passkey => "a passkey",
        SecondFactorMethod::BackupCode => "a backup code",
        SecondFactorMethod::RememberedDevice => "this remembered device",
        SecondFactorMethod::GraceLogin => "none yet (one of your sign-ins before setting it up)",
        SecondFactorMethod::NotRequired => "none (two-factor sign-in is off)",
        _ => "checked",
    }
}

/// With the Verify simulator: the virtual phone registers a push factor
/// for the user's entity, as the application's mobile app would with
/// Twilio's SDK, and the app pairs it as the user's factor.
async fn pair_phone(State(app): State<App>, session: Session, verified: Verified) -> Response {
    let Some(root) = &app.verify_phone else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let identity = verify::Identity::for_user(verified.user_id.as_str());
    let registered = async {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{root}/phone/api/verify/push-factors"))
            .form(&[
                ("identity", identity.as_str()),
                ("friendly_name", "Virtual phone"),
            ])
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        answer["sid"].as_str().map(str::to_owned)
    };
    let Some(sid) = registered.await else {
        return page("Pairing failed", "<p>The virtual phone did not answer.</p>").into_response();
    };
    match app
        .two_factor
        .pair_device(&session, FactorKind::VerifyPush, &sid)
        .await
    {
        Ok(_) => Redirect::to("/protected?paired=1").into_response(),
        Err(error) => page(
            "Pairing failed",
            &format!("<p id=\"pair-error\">{}</p>", escape(&error.to_string())),
        )
        .into_response(),
    }
}

async fn me(verified: Verified) -> Json<serde_json::Value> {
    Json(json!({"user": verified.user_id, "second_factor": verified.method}))
}

async fn profile(State(app): State<App>, session: Session, verified: Verified) -> Html<String> {
    let csrf = session::csrf_token(&session)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let factors = app
        .two_factor
        .store()
        .factors(&verified.user_id)
        .await
        .unwrap_or_default();
    let enrollment = factors.into_iter().find(|factor| factor.is_active());
    let hidden = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(&csrf)
    );
    let settings = match enrollment {
        Some(e) => format!(
            "<p>Two-factor sign-in is <strong>on</strong> for {}.</p>\
             <form method=\"post\" action=\"/2fa/devices/forget\">{hidden}<button type=\"submit\">Forget remembered devices</button></form>\
             <form method=\"post\" action=\"/2fa/disable\">{hidden}\
             <label for=\"token\">A current code, to turn it off</label>\
             <input id=\"token\" name=\"token\" autocomplete=\"one-time-code\" inputmode=\"numeric\" required>\
             <label><input type=\"checkbox\" name=\"confirm\" value=\"true\" required> Yes, turn it off</label>\
             <button type=\"submit\">Turn two-factor sign-in off</button></form>",
            escape(e.hint.as_deref().unwrap_or("your phone"))
        ),
        _ => "<p>Two-factor sign-in is <strong>off</strong>. <a href=\"/2fa/enroll\">Turn it on</a>.</p>".into(),
    };
    page(
        "Two-factor settings",
        &format!("{settings}<p><a href=\"/protected\">Back</a></p>"),
    )
}

/// Where passkeys work: the public URL, with a loopback IP address spelled
/// `localhost` (browsers refuse an IP address as a passkey's site).
pub fn passkey_url(public_url: &str) -> String {
    for ip in ["127.0.0.1", "[::1]"] {
        for scheme in ["http://", "https://"] {
            let prefix = format!("{scheme}{ip}");
            if let Some(rest) = public_url.strip_prefix(&prefix) {
                return format!("{scheme}localhost{rest}");
            }
        }
    }
    public_url.to_owned()
}
