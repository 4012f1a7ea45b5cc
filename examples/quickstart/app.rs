//! The quickstart application itself, apart from reading the environment
//! (`main.rs`), so that the browser tests (`tests/browser`) serve the very
//! same app in process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash};
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower_authy::config::{Policy, RememberDevice};
use tower_authy::method::EnrollmentRequest;
use tower_authy::method::passkey::Passkeys;
use tower_authy::method::verify::Verify;
use tower_authy::session::SecondFactorMethod;
use tower_authy::simulator::{CallbackMethod, DEFAULT_ACCOUNT_SID, Simulator, VerifySimulator};
use tower_authy::store::{FactorKind, SharedStore, UserId};
use tower_authy::verify::{self, VerifyWebhook};
use tower_authy::webhook::Webhook;
use tower_authy::{ApiKey, TwoFactor, TwoFactorBuilder, Verified, authy::Client};
use tower_authy::{origin, session};
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

struct AppUser {
    /// `None` while the account is being made (its name reserved, its
    /// phone not yet registered with the provider): nobody can sign in to
    /// it, so a sign-up rolled back leaves no session behind for whoever
    /// takes the name next.
    password_hash: Option<String>,
}

#[derive(Clone)]
struct App {
    users: Arc<RwLock<HashMap<String, AppUser>>>,
    two_factor: TwoFactor,
    /// No phone: users add an authenticator app after registering.
    local: bool,
    /// With the Verify simulator: its root, where the protected page's
    /// "pair the virtual phone" plays the mobile app registering a push
    /// factor with Twilio's SDK.
    verify_phone: Option<String>,
    /// Checked when the user name is unknown, so that a wrong name takes as
    /// long as a wrong password.
    decoy_hash: Arc<String>,
    /// Sign-in and sign-up attempts per client and per user name.
    limits: Arc<crate::limits::Limits>,
}

/// The answer to one attempt too many: 429, the form again, and when to
/// come back.
fn too_many(form: Html<String>, retry_after: u64) -> Response {
    let Html(page) = form;
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(axum::http::header::RETRY_AFTER, retry_after.to_string())],
        Html(page),
    )
        .into_response()
}

/// The client's address, when the app is served with connect info (as
/// `main.rs` and the tests serve it); every request shares one key without.
fn client_key(what: &str, client: Option<&ConnectInfo<SocketAddr>>) -> String {
    match client {
        Some(ConnectInfo(addr)) => format!("{what}-client:{}", addr.ip()),
        None => format!("{what}-client:unknown"),
    }
}

/// Argon2 takes tens of milliseconds of CPU on purpose: off the async
/// runtime's threads, so that a burst of sign-ins does not stall every
/// other request.
async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    tokio::task::spawn_blocking(work).await.ok()
}

/// Whether `password` matches the stored argon2 `hash`.
fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn hash_password(password: &str) -> Option<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .ok()
        .map(|hash| hash.to_string())
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

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;\
         margin:3rem auto;padding:0 1rem;line-height:1.5}}label{{display:block;margin-top:.6rem}}\
         input{{font-size:1rem;padding:.35rem;width:100%;box-sizing:border-box}}\
         button{{margin-top:.8rem;padding:.45rem 1rem}}.error{{color:#a40000}}</style></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title)
    ))
}

fn form_error(error: Option<&str>) -> String {
    error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    })
}

async fn register_page(State(app): State<App>) -> Html<String> {
    register_form(app.local, None)
}

/// The sign-up form; without a phone provider (`local`), no phone fields:
/// the user adds an authenticator app next.
fn register_form(local: bool, error: Option<&str>) -> Html<String> {
    let phone = if local {
        ""
    } else {
        "<label for=\"email\">E-mail</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required>\
         <label for=\"country_code\">Country calling code</label><input id=\"country_code\" name=\"country_code\" inputmode=\"numeric\" value=\"1\" required>\
         <label for=\"phone_number\">Phone number</label><input id=\"phone_number\" name=\"phone_number\" type=\"tel\" autocomplete=\"tel-national\" required>"
    };
    page(
        "Create an account",
        &format!(
            "{}<form method=\"post\" action=\"/register\">\
             <label for=\"username\">User name</label><input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"password\">Password (8 characters or more)</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"8\" required>\
             {phone}<button type=\"submit\">Create account</button></form>\
             <p>Already registered? <a href=\"/login\">Sign in</a>.</p>",
            form_error(error)
        ),
    )
}

#[derive(Deserialize)]
struct Registration {
    username: String,
    password: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    country_code: String,
    #[serde(default)]
    phone_number: String,
}

async fn register(
    State(app): State<App>,
    client: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    session: Session,
    Form(form): Form<Registration>,
) -> Response {
    let username = form.username.trim().to_owned();
    let keys = [(
        client_key("sign-up", client.as_ref().map(|c| &c.0)),
        crate::limits::PER_CLIENT,
    )];
    if let Err(retry_after) = app.limits.attempt(&keys) {
        let form = register_form(
            app.local,
            Some("Too many sign-ups from here; please wait a minute and try again."),
        );
        return too_many(form, retry_after);
    }
    let valid_name = (1..=32).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_name {
        return register_form(
            app.local,
            Some("A user name is 1 to 32 letters, digits, - or _."),
        )
        .into_response();
    }
    if form.password.chars().count() < 8 {
        return register_form(app.local, Some("The password needs 8 characters or more."))
            .into_response();
    }
    let country_code = match form
        .country_code
        .trim()
        .trim_start_matches('+')
        .parse::<u16>()
    {
        Ok(code) => Some(code),
        Err(_) if app.local => None,
        Err(_) => {
            return register_form(
                app.local,
                Some("The country calling code is a number, like 1 or 44."),
            )
            .into_response();
        }
    };
    let password = form.password.clone();
    let Some(hash) = on_blocking_pool(move || hash_password(&password))
        .await
        .flatten()
    else {
        return register_form(app.local, Some("The password could not be stored.")).into_response();
    };
    {
        // Reserved, with no usable password until the provider took the
        // phone. (Saying the name is taken tells who has an account; a
        // sign-up form cannot help it, so the message stays plain.)
        let mut users = app.users.write().expect("users lock");
        if users.contains_key(&username) {
            return register_form(app.local, Some("That user name is taken.")).into_response();
        }
        users.insert(
            username.clone(),
            AppUser {
                password_hash: None,
            },
        );
    }
    if let Some(country_code) = country_code.filter(|_| !app.local) {
        let request =
            EnrollmentRequest::new(form.email.trim(), country_code, form.phone_number.trim());
        if let Err(error) = app
            .two_factor
            .enroll(&UserId::new(username.as_str()), &request)
            .await
        {
            // No half-made account: the user may try again with other details.
            app.users.write().expect("users lock").remove(&username);
            return register_form(
                app.local,
                Some(&format!("Two-factor sign-in could not be set up: {error}")),
            )
            .into_response();
        }
    }
    if let Some(user) = app.users.write().expect("users lock").get_mut(&username) {
        user.password_hash = Some(hash);
    }
    if session::sign_in(&session, username.as_str()).await.is_err() {
        return register_form(app.local, Some("Sign-in failed; please try again.")).into_response();
    }
    if app.local {
        // The settings page sets up the authenticator app.
        return Redirect::to("/2fa/enroll").into_response();
    }
    // The challenge confirms the new phone with its first code or approval.
    Redirect::to("/2fa?next=/protected").into_response()
}

/// Where the layer was taking the browser when it sent it to sign in, and
/// whether it just signed out.
#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

async fn login_page(Query(query): Query<NextQuery>) -> Html<String> {
    let Html(page) = login_form(None, query.next.as_deref());
    if query.signed_out.is_some() {
        let notice = "<p id=\"signed-out\" role=\"status\">You are signed out.</p>";
        return Html(page.replacen("<form", &format!("{notice}<form"), 1));
    }
    Html(page)
}

/// Where a signed-in browser goes: the challenge, and after it `next` (the
/// crate keeps only a path on this site) or the protected page.
fn after_sign_in(next: Option<&str>) -> String {
    let next = next.filter(|n| !n.is_empty()).unwrap_or("/protected");
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    format!("/2fa?{query}")
}

fn login_form(error: Option<&str>, next: Option<&str>) -> Html<String> {
    let next = next
        .map(|n| {
            format!(
                "<input type=\"hidden\" name=\"next\" value=\"{}\">",
                escape(n)
            )
        })
        .unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "{}<form method=\"post\" action=\"/login\">{next}\
             <label for=\"username\">User name</label><input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\">Sign in</button></form>\
             <p>New here? <a href=\"/register\">Create an account</a>.</p>",
            form_error(error)
        ),
    )
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(
    State(app): State<App>,
    client: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    session: Session,
    Form(form): Form<Credentials>,
) -> Response {
    let username = form.username.trim();
    let keys = [
        (
            client_key("sign-in", client.as_ref().map(|c| &c.0)),
            crate::limits::PER_CLIENT,
        ),
        (format!("sign-in-name:{username}"), crate::limits::PER_NAME),
    ];
    if let Err(retry_after) = app.limits.attempt(&keys) {
        let form = login_form(
            Some("Too many sign-in attempts; please wait a few minutes and try again."),
            form.next.as_deref(),
        );
        return too_many(form, retry_after);
    }
    let hash = app
        .users
        .read()
        .expect("users lock")
        .get(username)
        .and_then(|u| u.password_hash.clone());
    let known = hash.is_some();
    let stored = hash.unwrap_or_else(|| app.decoy_hash.to_string());
    let password = form.password.clone();
    let matches = on_blocking_pool(move || password_matches(&password, &stored))
        .await
        .unwrap_or(false);
    if !(known && matches) {
        return login_form(Some("Wrong user name or password."), form.next.as_deref())
            .into_response();
    }
    if session::sign_in(&session, username).await.is_err() {
        return login_form(
            Some("Sign-in failed; please try again."),
            form.next.as_deref(),
        )
        .into_response();
    }
    Redirect::to(&after_sign_in(form.next.as_deref())).into_response()
}

async fn logout(State(app): State<App>, session: Session) -> Redirect {
    // Through `TwoFactor`: a request still in flight (a long-poll of the
    // challenge) cannot save the session back.
    let _ = app.two_factor.sign_out(&session).await;
    Redirect::to("/login?signed_out=1")
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
