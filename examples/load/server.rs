//! The application under load, in a process of its own so its memory is
//! its own: the bare route, the route behind `RequireSecondFactor`, the
//! route behind axum-login's `login_required!`, and (for the waiters mode)
//! an Authy application whose provider, the simulator, runs in the load
//! generator's process.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, State};
use axum::routing::{get, post};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, login_required};
use serde::Deserialize;
use tower_authy::authy::Client;
use tower_authy::method::EnrollmentRequest;
use tower_authy::store::{MemoryStore, UserId};
use tower_authy::webhook::Webhook;
use tower_authy::{ApiKey, TwoFactor, Verified, session};
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

/// axum-login's side: every user name is a user, no password (the first
/// factor is not what is measured).
#[derive(Debug, Clone)]
struct User(String);

impl AuthUser for User {
    type Id = String;

    fn id(&self) -> String {
        self.0.clone()
    }

    fn session_auth_hash(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

#[derive(Debug, Clone)]
struct Backend;

#[derive(Debug, Clone, Deserialize)]
struct Name {
    username: String,
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Name;
    type Error = std::convert::Infallible;

    async fn authenticate(&self, name: Name) -> Result<Option<User>, Self::Error> {
        Ok(Some(User(name.username)))
    }

    async fn get_user(&self, name: &String) -> Result<Option<User>, Self::Error> {
        Ok(Some(User(name.clone())))
    }
}

/// The baseline: what an application does without a layer to know who is
/// signed in — one read of the session.
async fn bare(session: Session) -> String {
    let status = session::status(&session).await.expect("session");
    status
        .user_id()
        .map(ToString::to_string)
        .unwrap_or_default()
}

async fn protected(verified: Verified) -> String {
    verified.user_id.to_string()
}

async fn axum_login_protected(auth: AuthSession<Backend>) -> String {
    auth.user.map(|user| user.0).unwrap_or_default()
}

async fn sign_in(session: Session, Form(name): Form<Name>) -> &'static str {
    session::sign_in(&session, name.username)
        .await
        .expect("sign in");
    "signed in"
}

async fn axum_login_sign_in(
    mut auth: AuthSession<Backend>,
    Form(name): Form<Name>,
) -> &'static str {
    let user = User(name.username);
    auth.login(&user).await.expect("sign in");
    "signed in"
}

/// A sign-up: the user registers their phone with the provider.
async fn enroll(State(two_factor): State<TwoFactor>, Form(name): Form<Name>) -> &'static str {
    let number: u64 = name.username.trim_start_matches('u').parse().unwrap_or(0);
    let request = EnrollmentRequest::new(
        format!("{}@example.com", name.username),
        1,
        format!("555{:07}", number % 10_000_000),
    );
    two_factor
        .enroll(&UserId::new(name.username), &request)
        .await
        .expect("enrolled");
    "enrolled"
}

/// The floor of a waiting challenge: a request held open with no 2FA
/// behind it, as a long-poll (`/bench/hold`) or an event stream
/// (`/bench/hold/events`), until `POST /bench/release`.
#[derive(Clone, Default)]
struct Hold(Arc<tokio::sync::Notify>);

async fn hold(State(hold): State<Hold>) -> &'static str {
    hold.0.notified().await;
    "released"
}

async fn hold_events(State(hold): State<Hold>) -> axum::response::Response {
    use axum::response::IntoResponse;
    use axum::response::sse::{Event, Sse};
    let first = futures_util::stream::once(async {
        Ok::<_, std::convert::Infallible>(Event::default().data("waiting"))
    });
    let then = futures_util::stream::once(async move {
        hold.0.notified().await;
        Ok(Event::default().data("released"))
    });
    Sse::new(futures_util::StreamExt::chain(first, then)).into_response()
}

async fn release(State(hold): State<Hold>) -> &'static str {
    hold.0.notify_waiters();
    "released"
}

/// The app: `simulator` is the provider's base URL (the load generator's
/// simulator) and `base` this app's own, for the callback.
pub fn app(base: &str, simulator: &str, api_key: &str) -> Router {
    let callback = format!("{base}/2fa/callback");
    let client = Client::builder(api_key)
        .with_base_url(simulator)
        .build()
        .expect("client");
    let two_factor = TwoFactor::builder(client, Arc::new(MemoryStore::new()))
        .with_secret_key("a load-test key of at least thirty-two bytes")
        .with_authenticator_apps()
        .with_webhook(Webhook::builder(ApiKey::new(api_key)).with_public_url(&callback))
        .build()
        .expect("two factor");
    let sessions = Sessions::default();

    let ours = Router::new()
        .route("/protected", get(protected))
        .layer(two_factor.layer())
        .route("/bare", get(bare))
        .route("/login", post(sign_in))
        .route("/bench/enroll", post(enroll).with_state(two_factor.clone()))
        .merge(two_factor.router())
        .layer(SessionManagerLayer::new(sessions.clone()).with_secure(false));
    let theirs = Router::new()
        .route("/axum-login/protected", get(axum_login_protected))
        .route_layer(login_required!(Backend))
        .route("/axum-login/login", post(axum_login_sign_in))
        .layer(
            AuthManagerLayerBuilder::new(
                Backend,
                SessionManagerLayer::new(sessions).with_secure(false),
            )
            .build(),
        );
    let held = Router::new()
        .route("/bench/hold", get(hold))
        .route("/bench/hold/events", get(hold_events))
        .route("/bench/release", post(release))
        .with_state(Hold::default());
    ours.merge(theirs).merge(held)
}

/// Serves the app on one worker thread (the load generator has the other
/// core) and prints its address; the parent passes the simulator's.
pub fn serve(simulator: &str, api_key: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let app = app(&base, simulator, api_key);
        println!("listening {base}");
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .expect("serve");
    });
}
