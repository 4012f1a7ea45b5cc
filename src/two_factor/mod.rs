//! [`TwoFactor`]: the one place the crate's configuration lives. The
//! router, the layer and the webhook are all made from it, so the prefix,
//! the login path, the pending time, the store and the methods exist once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use http::Method;

use crate::config::Policy;
use crate::domain::{EnrollError, PairError, Rules};
use crate::layer::RequireSecondFactorLayer;
use tower_sessions::Session;

use crate::Secret;
use crate::method::{self, EnrollmentRequest, Methods};
use crate::session::SessionError;
use crate::store::{Factor, FactorKind, SharedStore, UserId};
use crate::ui::Ui;
use crate::verify::{VerifyWebhook, VerifyWebhookBuilder};
use crate::webhook::{Webhook, WebhookBuilder};

mod build;
mod paths;

/// Every path the router serves, after the prefix (`""` is the
/// challenge), with its methods. The layer exempts exactly these (GET
/// implies HEAD); an application route on the same path with another
/// method keeps its guard.
pub(crate) const ROUTES: &[(&str, &[Method])] = &[
    ("", &[Method::GET]),
    ("/token", &[Method::POST]),
    ("/sms", &[Method::POST]),
    ("/call", &[Method::POST]),
    ("/email", &[Method::POST]),
    ("/whatsapp", &[Method::POST]),
    ("/skip", &[Method::POST]),
    ("/onetouch", &[Method::POST]),
    ("/status", &[Method::GET]),
    ("/events", &[Method::GET]),
    ("/enroll", &[Method::GET, Method::POST]),
    ("/enroll/verify", &[Method::POST]),
    ("/disable", &[Method::POST]),
    ("/devices/forget", &[Method::POST]),
    ("/factors", &[Method::GET]),
    ("/factors/{id}/remove", &[Method::POST]),
    ("/factors/{id}/confirm", &[Method::POST]),
    ("/totp", &[Method::POST]),
    ("/totp/confirm", &[Method::POST]),
    ("/contact", &[Method::POST]),
    ("/backup-codes", &[Method::POST]),
    ("/backup", &[Method::POST]),
    ("/webauthn/register/start", &[Method::POST]),
    ("/webauthn/register/finish", &[Method::POST]),
    ("/webauthn/authenticate/start", &[Method::POST]),
    ("/webauthn/authenticate/finish", &[Method::POST]),
];

/// Everything the routes share: the rules, and where things are.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) rules: Rules,
    pub(crate) prefix: String,
    pub(crate) login_path: String,
    pub(crate) logout_path: Option<String>,
    /// Where the settings page links back to, in the application.
    pub(crate) return_path: String,
    pub(crate) callback_path: String,
    pub(crate) webhook: Option<Webhook>,
    /// The Verify webhook, and where it is served.
    pub(crate) verify_webhook: Option<(String, VerifyWebhook)>,
    pub(crate) ui: Ui,
}

impl Shared {
    /// The settings page (`{prefix}/enroll`), where most changes answer.
    pub(crate) fn settings_page(&self) -> String {
        format!("{}/enroll", self.prefix)
    }
}

/// tower-authy set up for one application: hands out the router to mount
/// and the layer to wrap protected routes in. Cheap to clone.
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, routing::get};
/// use tower_authy::{TwoFactor, authy::Client, config::{Policy, StatusMode}, store::MemoryStore};
/// use tower_sessions::{MemoryStore as Sessions, SessionManagerLayer};
///
/// # fn demo() -> Result<(), tower_authy::ConfigError> {
/// let client = Client::builder("authy-api-key").build()?;
/// let policy = Policy::builder()
///     .with_status_mode(StatusMode::Polling { every: std::time::Duration::from_secs(2) })
///     .build()?;
/// let two_factor = TwoFactor::builder(client, Arc::new(MemoryStore::new()))
///     .with_policy(policy)
///     .build()?;
/// let app: Router = Router::new()
///     .route("/protected", get(|| async { "secret" }))
///     .layer(two_factor.layer())
///     .merge(two_factor.router())
///     .layer(SessionManagerLayer::new(Sessions::default()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TwoFactor {
    shared: Arc<Shared>,
}

/// Builds a [`TwoFactor`].
#[derive(Debug)]
#[must_use]
pub struct TwoFactorBuilder {
    methods: Methods,
    /// A kind given a second method: `build()` refuses it.
    duplicate: Option<FactorKind>,
    secret_key: Option<Secret>,
    old_secret_keys: Vec<Secret>,
    authenticator_apps: bool,
    backup_codes: bool,
    store: SharedStore,
    policy: Policy,
    prefix: String,
    login_path: String,
    logout_path: Option<String>,
    return_path: String,
    webhook: Option<WebhookBuilder>,
    verify_webhook: Option<VerifyWebhookBuilder>,
    templates: BTreeMap<String, String>,
    events: crate::events::Listener,
}

impl TwoFactor {
    /// Starts with a first [`Method`](method::Method) (the Authy client), or
    /// a provider's bundle of them ([`IntoMethods`](method::IntoMethods)),
    /// and a store; more
    /// kinds of factor come with
    /// [`with_method`](TwoFactorBuilder::with_method).
    pub fn builder(method: impl method::IntoMethods, store: SharedStore) -> TwoFactorBuilder {
        Self::local(store).with_method(method)
    }

    /// Starts with a store and no vendor at all: the factors are the local
    /// ones the builder turns on
    /// ([`with_authenticator_apps`](TwoFactorBuilder::with_authenticator_apps),
    /// [`with_backup_codes`](TwoFactorBuilder::with_backup_codes), under
    /// [`with_secret_key`](TwoFactorBuilder::with_secret_key)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower_authy::{TwoFactor, store::MemoryStore};
    ///
    /// let two_factor = TwoFactor::local(Arc::new(MemoryStore::new()))
    ///     .with_secret_key("a random key of at least 32 bytes, kept secret")
    ///     .with_authenticator_apps()
    ///     .with_backup_codes()
    ///     .build()?;
    /// # let _ = two_factor;
    /// # Ok::<(), tower_authy::ConfigError>(())
    /// ```
    pub fn local(store: SharedStore) -> TwoFactorBuilder {
        TwoFactorBuilder {
            methods: Methods::default(),
            duplicate: None,
            secret_key: None,
            old_secret_keys: Vec::new(),
            authenticator_apps: false,
            backup_codes: false,
            store,
            policy: Policy::default(),
            prefix: "/2fa".into(),
            login_path: "/login".into(),
            logout_path: Some("/logout".into()),
            return_path: "/".into(),
            webhook: None,
            verify_webhook: None,
            templates: BTreeMap::new(),
            events: crate::events::Listener::default(),
        }
    }

    /// Everything the routes share.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The layer for the protected routes, set up with this router's paths
    /// and the policy's pending time.
    pub fn layer(&self) -> RequireSecondFactorLayer {
        let shared = &self.shared;
        let layer = RequireSecondFactorLayer::new(
            &shared.login_path,
            &shared.prefix,
            shared.rules.policy.pending_ttl,
        )
        .with_store(shared.rules.store.clone())
        .with_own_routes(
            ROUTES
                .iter()
                .map(|(route, methods)| (format!("{}{route}", shared.prefix), methods.to_vec()))
                // The Verify webhook: POST only, and exactly its path.
                .chain(
                    shared
                        .verify_webhook
                        .iter()
                        .map(|(path, _)| (path.clone(), vec![Method::POST])),
                ),
        );
        let layer = match &shared.logout_path {
            // The application's own route: every method it serves.
            Some(logout) => layer.with_exempt_route(logout),
            None => layer,
        };
        match &shared.webhook {
            Some(_) => layer.with_callback(&shared.callback_path),
            None => layer,
        }
    }

    /// The store, for the application's own needs (an admin page, say).
    pub fn store(&self) -> &SharedStore {
        &self.shared.rules.store
    }

    /// Signs the session out for good: records its sign-in as signed out in
    /// the store, so that a request of the same session still in flight (a
    /// long-poll, a code being checked) writes nothing and cannot bring it
    /// back, then deletes the session. If the store cannot record it, the
    /// session is deleted all the same (and the failure logged).
    ///
    /// ```no_run
    /// # async fn logout(two_factor: tower_authy::TwoFactor, session: tower_sessions::Session) {
    /// two_factor.sign_out(&session).await.ok();
    /// # }
    /// ```
    pub async fn sign_out(&self, session: &Session) -> Result<(), SessionError> {
        let state = crate::session::load(session).await;
        if let Ok(Some(state)) = &state {
            if let Err(refusal) = self
                .shared
                .rules
                .signed_out(&state.nonce, SystemTime::now())
                .await
            {
                tracing::warn!(%refusal, "tower-authy: could not record a sign-out");
            }
        }
        crate::session::sign_out(session).await?;
        state.map(drop)
    }

    /// Registers a user who has no second factor yet (a sign-up form, a
    /// batch enrollment): the provider learns the phone number, and the
    /// enrollment waits for its first code or approval, which the challenge
    /// asks for. A user already enrolled is refused: changing a number goes
    /// through the enrollment routes, which ask for a second factor.
    pub async fn enroll(
        &self,
        user: &UserId,
        request: &EnrollmentRequest,
    ) -> Result<Factor, EnrollError> {
        use crate::domain::Replace;
        self.shared
            .rules
            .enroll(user, request, Replace::Nothing, None, SystemTime::now())
            .await
    }
}

impl TwoFactor {
    /// Pairs a device the provider already knows as a new factor of the
    /// session's user: a Verify push factor (`kind`
    /// [`FactorKind::VerifyPush`]) that the application's mobile app
    /// registered with Twilio's SDK under the entity
    /// [`Identity::for_user`](crate::verify::Identity::for_user), given by
    /// its factor SID. Like any new factor while two-factor sign-in is on, it
    /// needs a session that just passed a second factor; and it is never the
    /// first factor (a lost phone must leave another way in). The provider
    /// confirms the device is ready and the user's before it is stored.
    pub async fn pair_device(
        &self,
        session: &Session,
        kind: FactorKind,
        device_ref: &str,
    ) -> Result<Factor, PairError> {
        let state = crate::session::load(session)
            .await
            .ok()
            .flatten()
            .ok_or(PairError::NotSignedIn)?;
        let passed = state
            .passed
            .map(|p| (p.method, crate::session::from_unix(p.at)));
        self.shared
            .rules
            .pair_device(&state.user_id, kind, device_ref, passed, SystemTime::now())
            .await
    }
}

impl TwoFactorBuilder {
    /// Adds a [`Method`](method::Method): factors of its kind can then be used wherever
    /// its abilities allow — the challenge offers them, the code route
    /// checks their codes (default: only the method given to
    /// [`TwoFactor::builder`]). One method per kind: `build()` refuses a
    /// second ([`ConfigError::DuplicateMethod`](crate::ConfigError::DuplicateMethod)).
    pub fn with_method(mut self, method: impl method::IntoMethods) -> Self {
        for method in method.into_methods() {
            if let Err(kind) = self.methods.add(method) {
                self.duplicate.get_or_insert(kind);
            }
        }
        self
    }

    /// The application's secret key (default: none): it seals local
    /// secrets such as authenticator-app seeds (AES-256-GCM, under a key
    /// derived from it). At least 32 bytes, random, kept out of the
    /// repository; losing it makes every authenticator app unusable.
    pub fn with_secret_key(mut self, key: impl Into<Secret>) -> Self {
        self.secret_key = Some(key.into());
        self
    }

    /// Earlier secret keys that still open what they sealed (default:
    /// none), for rotating the key: new seals always use
    /// [`with_secret_key`](Self::with_secret_key)'s.
    pub fn with_old_secret_keys(mut self, keys: impl IntoIterator<Item = Secret>) -> Self {
        self.old_secret_keys = keys.into_iter().collect();
        self
    }

    /// Lets users add authenticator apps (Google Authenticator, 1Password,
    /// Aegis…: RFC 6238, SHA-1, 6 digits, 30 s), checked locally with no
    /// vendor (default: off). Needs
    /// [`with_secret_key`](Self::with_secret_key).
    pub fn with_authenticator_apps(mut self) -> Self {
        self.authenticator_apps = true;
        self
    }

    /// Gives users a set of 10 single-use backup codes when their first
    /// factor is confirmed, renewable from the settings page, accepted by
    /// the challenge as the way of last resort (default: off). Needs
    /// [`with_secret_key`](Self::with_secret_key): codes are stored as
    /// keyed hashes.
    pub fn with_backup_codes(mut self) -> Self {
        self.backup_codes = true;
        self
    }

    /// Who hears of security changes (a factor added or removed, 2FA
    /// turned off, backup codes used or renewed, a lockout, a device
    /// remembered), to tell the user: see [`crate::events`].
    pub fn with_security_events(mut self, listener: impl crate::events::SecurityEvents) -> Self {
        self.events = crate::events::Listener::new(std::sync::Arc::new(listener));
        self
    }

    /// The policy (default: [`Policy::default`]).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Where the routes are mounted (default `/2fa`).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The application's sign-in page (default `/login`).
    pub fn with_login_path(mut self, path: impl Into<String>) -> Self {
        self.login_path = path.into();
        self
    }

    /// The application's sign-out route, which the challenge page posts to
    /// from its "Sign out" button (with the `csrf` field), and which the
    /// layer lets through (default `/logout`; `None`: no button).
    pub fn with_logout_path(mut self, path: Option<&str>) -> Self {
        self.logout_path = path.map(str::to_owned);
        self
    }

    /// The application's page the settings page (`{prefix}/enroll`) links
    /// back to, "Back to the application" (default `/`): a path on this
    /// site.
    pub fn with_return_path(mut self, path: impl Into<String>) -> Self {
        self.return_path = path.into();
        self
    }

    /// Receives OneTouch callbacks (needed for [`StatusMode::Callback`](crate::config::StatusMode::Callback);
    /// default: none), on this two-factor set-up's own store, at the path of
    /// the webhook's public URL.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower_authy::{TwoFactor, authy::Client, store::MemoryStore, webhook::Webhook};
    ///
    /// let key = "authy-api-key";
    /// let two_factor = TwoFactor::builder(Client::builder(key).build()?, Arc::new(MemoryStore::new()))
    ///     .with_webhook(Webhook::builder(key).with_public_url("https://app.example.com/hooks/authy"))
    ///     .build()?;
    /// // The router now serves POST and GET /hooks/authy.
    /// # let _ = two_factor;
    /// # Ok::<(), tower_authy::ConfigError>(())
    /// ```
    pub fn with_webhook(mut self, webhook: WebhookBuilder) -> Self {
        self.webhook = Some(webhook);
        self
    }

    /// Receives Twilio Verify events (needed for Verify push in
    /// [`StatusMode::Callback`](crate::config::StatusMode::Callback); default: none), on this two-factor set-up's
    /// own store, at the path of the webhook's public URL.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower_authy::{TwoFactor, store::MemoryStore, verify::VerifyWebhook};
    ///
    /// let two_factor = TwoFactor::local(Arc::new(MemoryStore::new()))
    ///     .with_secret_key("a random key of at least 32 bytes, kept secret")
    ///     .with_authenticator_apps()
    ///     .with_verify_webhook(
    ///         VerifyWebhook::builder("auth-token")
    ///             .with_public_url("https://app.example.com/2fa/verify/callback"),
    ///     )
    ///     .build()?;
    /// // The router now serves POST /2fa/verify/callback.
    /// # let _ = two_factor;
    /// # Ok::<(), tower_authy::ConfigError>(())
    /// ```
    pub fn with_verify_webhook(mut self, webhook: VerifyWebhookBuilder) -> Self {
        self.verify_webhook = Some(webhook);
        self
    }

    /// Replaces one of the default page templates with the application's
    /// own [minijinja](https://docs.rs/minijinja) source (default: the
    /// crate's own pages). `build()` refuses
    /// an unknown name or a template that does not compile.
    ///
    /// | name | what it is | context |
    /// |---|---|---|
    /// | `base.html` | the layout the others extend: blocks `title` and `content`; shows `error` (`role="alert"`) and `notice` (`role="status"`) | the page's context |
    /// | `challenge.html` | `GET {prefix}`: OneTouch, the code form, "text me a code", "call me" | see below |
    /// | `enroll.html` | `GET {prefix}/enroll`, one of three `step`s: `"enroll"` (e-mail, country code, phone), `"confirm"` (the first code), `"enabled"` (forget devices, turn off) | see below |
    /// | `message.html` | a page that cannot be shown (the store or the provider is down): `title`, the `error` and its `error_code`, and `link`, `link_text` ("Try again") | the page's context |
    ///
    /// Every page gets `prefix` (where the routes are mounted), `csrf` (the
    /// session's token, to send as the hidden field `csrf` with every form),
    /// `error` and `notice` (the message to show, already worded, or
    /// nothing), `error_code` and `notice_code` (its stable code, such as
    /// `code_rejected`, `locked_out`, `provider_unavailable`, `denied`,
    /// `expired`, `sms_sent`), `attempts_left` (wrong codes left before the
    /// lockout, once one was wrong) and `locked_for` (seconds until a lockout
    /// ends), and the channels as booleans: `codes`, `sms`, `call`, and
    /// `remember` (offer "remember this device": a checkbox named
    /// `remember`). A page never shows text taken from its URL.
    ///
    /// `challenge.html` also gets `logout` (the application's sign-out route,
    /// or nothing), `onetouch` (offered to this user), `autostart` (the page
    /// may push by itself: once per challenge, never after the user asked
    /// for a text or a call, or to follow a push still waiting),
    /// `ways` (`onetouch`, `code`, `sms`, `call` as offered, strongest
    /// first: the page starts with the first and offers the others at once
    /// under "Try another way"), `onetouch_ttl` (seconds a push can be
    /// answered) and `masked_phone`. Its forms post to `{prefix}/onetouch`,
    /// `{prefix}/token` (field `token`), `{prefix}/sms` and `{prefix}/call`;
    /// `GET {prefix}/status` finishes after an approval. The default's
    /// script pushes at once and follows `{prefix}/events`; a replacement
    /// can keep it (it needs the ids and `data-*` attributes of the
    /// default's `#onetouch`) or work without script.
    ///
    /// `enroll.html` also gets `step`, `masked_phone`, `passed` (the session
    /// passed its second factor), `can_replace` (may register another
    /// number while confirming), `can_disable`, and `email`, `country_code`,
    /// `phone_number` (what a refused form held, to fill it in again; empty
    /// otherwise). Its forms post `email`,
    /// `country_code`, `phone_number` to `{prefix}/enroll`, `token` to
    /// `{prefix}/enroll/verify`, `token` and `confirm` (a checkbox) to
    /// `{prefix}/disable`, and nothing but `csrf` to
    /// `{prefix}/devices/forget`.
    ///
    /// Every page is sent with a Content-Security-Policy that lets only
    /// inline `<script>` and `<style>` elements carrying the page's nonce
    /// run: a replacement keeps `nonce="{{ csp_nonce }}"` on them (the
    /// context has `csp_nonce`, fresh for every page), and loads nothing from
    /// other origins.
    ///
    /// Autoescaping is on for every template.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower_authy::{TwoFactor, authy::Client, config::Policy, store::MemoryStore};
    ///
    /// // The default pages, in the application's own layout.
    /// let layout = r#"<!doctype html>
    /// <html lang="en"><head><meta charset="utf-8"><title>{% block title %}Acme{% endblock %}</title></head>
    /// <body><header>Acme</header><main>
    /// {% if error %}<p role="alert">{{ error }}</p>{% endif %}
    /// {% if notice %}<p role="status">{{ notice }}</p>{% endif %}
    /// {% block content %}{% endblock %}
    /// </main></body></html>"#;
    /// let policy = Policy::builder().with_onetouch(false).build()?;
    /// let store = Arc::new(MemoryStore::new());
    /// let client = || Client::builder("authy-api-key").build();
    ///
    /// let two_factor = TwoFactor::builder(client()?, store.clone())
    ///     .with_policy(policy.clone())
    ///     .with_template("base.html", layout)
    ///     .build();
    /// assert!(two_factor.is_ok());
    ///
    /// // Unknown names and broken templates are refused at start-up.
    /// let unknown = TwoFactor::builder(client()?, store.clone())
    ///     .with_policy(policy.clone())
    ///     .with_template("login.html", "<p>hi</p>")
    ///     .build();
    /// assert!(unknown.is_err());
    /// let broken = TwoFactor::builder(client()?, store)
    ///     .with_policy(policy)
    ///     .with_template("challenge.html", "{% if %}")
    ///     .build();
    /// assert!(broken.is_err());
    /// # Ok::<(), tower_authy::ConfigError>(())
    /// ```
    pub fn with_template(mut self, name: impl Into<String>, source: impl Into<String>) -> Self {
        self.templates.insert(name.into(), source.into());
        self
    }
}
