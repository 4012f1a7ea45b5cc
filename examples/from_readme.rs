//! The README's "Add it to your app" section as one file: an Axum app with
//! its own sign-in, the second factor in front of `/`, and the crate's Authy
//! simulator standing in for Authy during development.
//!
//! ```text
//! cargo run --example from_readme --features simulator
//! ```
//!
//! Sign in at <http://127.0.0.1:3000/login> as `alice`, password
//! `correct horse`; approve the push on the virtual phone at
//! <http://127.0.0.1:3000/simulator/phone>.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tower_authy::config::{EnrollmentPolicy, Policy};
use tower_authy::method::EnrollmentRequest;
use tower_authy::simulator::{CallbackMethod, Simulator};
use tower_authy::store::{MemoryStore, SharedStore, UserId};
use tower_authy::webhook::Webhook;
use tower_authy::{TwoFactor, Verified, authy::Client, session};
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (app, two_factor) = app(&base);
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, service).await });
    // The simulator is served by the app itself: enroll once it listens.
    sign_up_alice(&two_factor).await?;
    println!("sign in at {base}/login (alice, correct horse); the phone: {base}/simulator/phone");
    server.await??;
    Ok(())
}

// README step 1: the provider. In development, the simulator, served by the
// app itself under /simulator; in production, `Client::builder(api_key)`.
fn provider(base: &str) -> (Simulator, Client) {
    let simulator = Simulator::builder()
        .with_callback(format!("{base}/2fa/callback"), CallbackMethod::Post)
        .build();
    let client = Client::builder(simulator.api_key().clone())
        .with_base_url(&format!("{base}/simulator"))
        .build()
        .expect("a client");
    (simulator, client)
}

// README step 2: `TwoFactor`, with a store, a policy and the webhook that
// hears OneTouch approvals.
fn two_factor(base: &str, simulator: &Simulator, client: Client) -> TwoFactor {
    let store: SharedStore = Arc::new(MemoryStore::new());
    let policy = Policy::builder()
        // Opt-in: users without a factor pass with the password alone;
        // `Mandatory { .. }` sends them to enroll first.
        .with_enrollment(EnrollmentPolicy::OptIn)
        .build()
        .expect("a policy");
    TwoFactor::builder(client, store)
        .with_policy(policy)
        .with_webhook(
            Webhook::builder(simulator.api_key().clone())
                .with_public_url(format!("{base}/2fa/callback")),
        )
        .build()
        .expect("two factor")
}

/// The application's users: name → password (a real app stores hashes).
type Users = Arc<HashMap<String, String>>;

#[derive(Clone)]
struct AppState {
    users: Users,
    two_factor: TwoFactor,
}

// README step 3: enroll users — at sign-up, like this, or from the
// settings page the router serves at /2fa/enroll.
pub async fn sign_up_alice(two_factor: &TwoFactor) -> Result<(), tower_authy::EnrollError> {
    let request = EnrollmentRequest::new("alice@example.com", 1, "5551234567");
    two_factor.enroll(&UserId::new("alice"), &request).await?;
    Ok(())
}

/// The whole app, for `main` and for the test that follows the README.
pub fn app(base: &str) -> (Router, TwoFactor) {
    let (simulator, client) = provider(base);
    let two_factor = two_factor(base, &simulator, client);
    let users: Users = Arc::new(HashMap::from([("alice".into(), "correct horse".into())]));
    let state = AppState {
        users,
        two_factor: two_factor.clone(),
    };
    // README step 4: the layer in front of what needs both factors, your
    // sign-in and sign-out outside it, the crate's routes, and sessions
    // outside everything.
    let router = Router::new()
        .route("/", get(home))
        .layer(two_factor.layer())
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .with_state(state)
        .merge(two_factor.router())
        .nest_service("/simulator", simulator.router())
        .layer(SessionManagerLayer::new(Sessions::default()).with_secure(false));
    (router, two_factor)
}

async fn home(verified: Verified) -> Html<String> {
    Html(format!(
        "<h1>Hello {}</h1><form method=post action=/logout><button>Sign out</button></form>",
        verified.user_id
    ))
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

async fn login_page(Query(query): Query<Next>) -> Html<String> {
    let next = query.next.unwrap_or_else(|| "/".into());
    Html(format!(
        "<form method=post action=/login><input type=hidden name=next value=\"{}\">\
         <input name=username><input name=password type=password><button>Sign in</button></form>",
        next.replace('"', "&quot;")
    ))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    next: Option<String>,
}

// README step 5: after your own password check, `session::sign_in`; then
// the challenge, which returns to `next` (kept only if it is a path of this
// site).
async fn login(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<Credentials>,
) -> Response {
    let known = state.users.get(&form.username);
    let matches = known
        .is_some_and(|password| bool::from(password.as_bytes().ct_eq(form.password.as_bytes())));
    if !matches {
        return Html("Wrong user name or password.").into_response();
    }
    if session::sign_in(&session, form.username.as_str())
        .await
        .is_err()
    {
        return Html("Sign-in failed; please try again.").into_response();
    }
    let next = form.next.unwrap_or_else(|| "/".into());
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/2fa?{query}")).into_response()
}

// README step 6: sign out through `TwoFactor`, so a request still in
// flight cannot bring the session back.
async fn logout(State(state): State<AppState>, session: Session) -> Redirect {
    let _ = state.two_factor.sign_out(&session).await;
    Redirect::to("/login")
}
