//! Two-factor sign-in on top of axum-login: axum-login checks the password,
//! tower-authy asks for the second factor.
//!
//! ```text
//! cargo run --example axum_login --features axum-login
//! ```
//!
//! Sign in at <http://127.0.0.1:3000/login> as `alice` or `bob` (password
//! `correct horse`), turn two-factor sign-in on from the protected page, sign
//! out and in again: the challenge now stands between the password and the
//! page. Without `AUTHY_API_KEY`, the crate's Authy simulator runs
//! in-process under `/simulator`, its virtual phone at `/simulator/phone`.
//! `HOST`, `PORT`, `AUTHY_API_KEY` and `AUTHY_API_URL` work as in the
//! quickstart; everything is kept in memory.

use std::collections::HashMap;
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash};
use axum::Router;
use axum::extract::Form;
use axum::middleware::from_fn;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
use serde::Deserialize;
use tower_authy::session::{self, TwoFactorStatus};
use tower_authy::simulator::{CallbackMethod, Simulator};
use tower_authy::store::{MemoryStore, SharedStore};
use tower_authy::webhook::Webhook;
use tower_authy::{ApiKey, TwoFactor, authy::Client};
use tower_sessions::{MemoryStore as Sessions, SessionManagerLayer};

#[derive(Debug, Clone)]
struct User {
    name: String,
    password_hash: String,
}

impl AuthUser for User {
    type Id = String;

    fn id(&self) -> String {
        self.name.clone()
    }

    // A new password signs out every session that used the old one.
    fn session_auth_hash(&self) -> &[u8] {
        self.password_hash.as_bytes()
    }
}

/// The application's users, in memory: name → user.
#[derive(Debug, Clone)]
struct Backend {
    users: Arc<HashMap<String, User>>,
}

#[derive(Debug, Clone, Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = std::convert::Infallible;

    async fn authenticate(&self, credentials: Credentials) -> Result<Option<User>, Self::Error> {
        let user = self.users.get(credentials.username.trim());
        let matches = user.is_some_and(|user| {
            PasswordHash::new(&user.password_hash).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(credentials.password.as_bytes(), &hash)
                    .is_ok()
            })
        });
        Ok(user.filter(|_| matches).cloned())
    }

    async fn get_user(&self, name: &UserId<Self>) -> Result<Option<User>, Self::Error> {
        Ok(self.users.get(name).cloned())
    }
}

type Auth = AuthSession<Backend>;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = env("HOST").unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = env("PORT").map_or(Ok(3000), |p| p.parse())?;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let callback_url = format!("{base}/2fa/callback");

    let mut users = HashMap::new();
    for name in ["alice", "bob"] {
        let salt = SaltString::generate(&mut OsRng);
        let password_hash = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .map_err(|e| e.to_string())?
            .to_string();
        let name = name.to_owned();
        users.insert(
            name.clone(),
            User {
                name,
                password_hash,
            },
        );
    }
    let backend = Backend {
        users: Arc::new(users),
    };

    // A real Authy application, or the simulator in this very process.
    let (key, client, simulator) = match env("AUTHY_API_KEY") {
        Some(key) => {
            let api_url = env("AUTHY_API_URL").unwrap_or_else(|| "https://api.authy.com".into());
            let client = Client::builder(key.as_str())
                .with_base_url(&api_url)
                .build()?;
            (ApiKey::new(key), client, None)
        }
        None => {
            let simulator = Simulator::builder()
                .with_callback(&callback_url, CallbackMethod::Post)
                .build();
            let key = simulator.api_key().clone();
            let client = Client::builder(key.clone())
                .with_base_url(&format!("{base}/simulator"))
                .build()?;
            (key, client, Some(simulator))
        }
    };
    let store: SharedStore = Arc::new(MemoryStore::new());
    let two_factor = TwoFactor::builder(client, store)
        .with_webhook(Webhook::builder(key).with_public_url(&callback_url))
        .build()?;

    let mut app = Router::new()
        .route("/protected", get(protected_page))
        .layer(two_factor.layer())
        .route("/", get(|| async { Redirect::to("/protected") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .merge(two_factor.router())
        // axum-login's user is the first factor, on every route that needs one.
        .layer(from_fn(tower_authy::axum_login::first_factor::<Backend>));
    if let Some(simulator) = &simulator {
        app = app.nest_service("/simulator", simulator.router());
    }
    let sessions = SessionManagerLayer::new(Sessions::default()).with_secure(false);
    let app = app.layer(AuthManagerLayerBuilder::new(backend, sessions).build());

    println!("tower-authy with axum-login on {base}");
    println!("  sign in:       {base}/login  (alice or bob, password: correct horse)");
    if simulator.is_some() {
        println!("  virtual phone: {base}/simulator/phone");
    }
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await?;
    Ok(())
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><main><h1>{title}</h1>{body}</main></body></html>"
    ))
}

async fn login_page() -> Html<String> {
    login_form("")
}

fn login_form(message: &str) -> Html<String> {
    page(
        "Sign in",
        &format!(
            "{message}<form method=\"post\" action=\"/login\">\
             <label for=\"username\">User name</label> <input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label> <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\">Sign in</button></form>"
        ),
    )
}

async fn login(mut auth: Auth, Form(credentials): Form<Credentials>) -> Response {
    let Ok(Some(user)) = auth.authenticate(credentials).await else {
        return login_form("<p role=\"alert\">Wrong user name or password.</p>").into_response();
    };
    if auth.login(&user).await.is_err() {
        return login_form("<p role=\"alert\">Sign-in failed; please try again.</p>")
            .into_response();
    }
    // The 2FA layer sends the user through the challenge when it is on.
    Redirect::to("/protected").into_response()
}

async fn logout(mut auth: Auth) -> Redirect {
    let _ = auth.logout().await;
    Redirect::to("/login")
}

async fn protected_page(auth: Auth) -> Html<String> {
    let name = auth.user.map(|user| user.name).unwrap_or_default();
    let method = match session::status(&auth.session).await {
        Ok(TwoFactorStatus::Complete { method, .. }) => method.as_str(),
        _ => "none",
    };
    // User names come from the fixed list above: nothing here needs escaping.
    page(
        "Protected",
        &format!(
            "<p>Signed in as <strong>{name}</strong>; second factor: {method}.</p>\
             <p><a href=\"/2fa/enroll\">Two-factor settings</a></p>\
             <form method=\"post\" action=\"/logout\"><button type=\"submit\">Sign out</button></form>"
        ),
    )
}
