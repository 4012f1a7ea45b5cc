//! axum-login's signed-in user is the first factor: its login leaves the
//! second factor pending, its logout ends the 2FA state, and another user
//! signing in on the same session starts over.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::Path;
use axum::middleware::from_fn;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
use tokio::net::TcpListener;
use tower_authy::TwoFactor;
use tower_authy::authy::Client;
use tower_authy::config::{Policy, StatusMode};
use tower_authy::method::{EnrollmentRequest, Method};
use tower_authy::simulator::Simulator;
use tower_authy::store::{AdminStore, MemoryStore};
use tower_sessions::{MemoryStore as Sessions, SessionManagerLayer};

use crate::app::location;

#[derive(Debug, Clone)]
struct User {
    name: String,
}

impl AuthUser for User {
    type Id = String;
    fn id(&self) -> String {
        self.name.clone()
    }
    fn session_auth_hash(&self) -> &[u8] {
        self.name.as_bytes()
    }
}

#[derive(Debug, Clone)]
struct Backend;

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = String;
    type Error = std::convert::Infallible;

    async fn authenticate(&self, name: String) -> Result<Option<User>, Self::Error> {
        Ok(Some(User { name }))
    }

    async fn get_user(&self, name: &UserId<Self>) -> Result<Option<User>, Self::Error> {
        Ok(Some(User { name: name.clone() }))
    }
}

async fn login(mut auth: AuthSession<Backend>, Path(name): Path<String>) -> impl IntoResponse {
    let user = auth.authenticate(name).await.unwrap().unwrap();
    auth.login(&user).await.unwrap();
    "signed in"
}

async fn logout(mut auth: AuthSession<Backend>) -> impl IntoResponse {
    auth.logout().await.unwrap();
    "signed out"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_login_users_must_pass_the_second_factor() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sim = Simulator::builder().build();
    let store = Arc::new(MemoryStore::new());
    let client = Client::builder(sim.api_key().clone())
        .with_base_url(&format!("{base}/simulator"))
        .build()
        .unwrap();
    let policy = Policy::builder()
        .with_status_mode(StatusMode::Polling {
            every: std::time::Duration::from_secs(1),
        })
        .build()
        .unwrap();
    let two_factor = TwoFactor::builder(client.clone(), store.clone())
        .with_policy(policy)
        .build()
        .unwrap();
    let protected = Router::new()
        .route("/protected", get(|| async { "secret" }))
        .layer(two_factor.layer())
        .layer(from_fn(tower_authy::axum_login::first_factor::<Backend>));
    let app = Router::new()
        .route("/login/{name}", post(login))
        .route("/logout", post(logout))
        .merge(protected)
        .merge(two_factor.router())
        .nest("/simulator", sim.router())
        .layer(
            AuthManagerLayerBuilder::new(
                Backend,
                SessionManagerLayer::new(Sessions::default()).with_secure(false),
            )
            .build(),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut users = HashMap::new();
    for (name, phone) in [("alice", "555-300-0001"), ("bob", "555-300-0002")] {
        let enrollment = client
            .enroll_phone(
                &name.into(),
                &EnrollmentRequest::new(format!("{name}@example.com"), 1, phone),
                SystemTime::now(),
            )
            .await
            .unwrap()
            .activated();
        store.put_factor(&enrollment).await.unwrap();
        users.insert(name, enrollment.provider_ref);
    }
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str| {
        browser
            .get(format!("{base}{path}"))
            .header("accept", "text/html")
            .send()
    };
    let post = |path: &str| {
        browser
            .post(format!("{base}{path}"))
            .header("origin", &base)
            .send()
    };

    let anonymous = get("/protected").await.unwrap();
    assert!(
        location(&anonymous).starts_with("/login?"),
        "{}",
        location(&anonymous)
    );
    post("/login/alice").await.unwrap();
    let pending = get("/protected").await.unwrap();
    assert!(
        location(&pending).starts_with("/2fa?"),
        "axum-login alone is not enough"
    );

    let token: serde_json::Value = reqwest::get(format!(
        "{base}/simulator/phone/api/users/{}/token",
        users["alice"]
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let passed = browser
        .post(format!("{base}/2fa/token"))
        .header("origin", &base)
        // A browser's form post asks for HTML (else the answer is JSON).
        .header("accept", "text/html")
        .form(&[("token", token["token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(passed.status(), 303);
    assert_eq!(get("/protected").await.unwrap().status(), 200);

    // Another axum-login user on the same browser starts over.
    post("/login/bob").await.unwrap();
    let bob = get("/protected").await.unwrap();
    assert!(
        location(&bob).starts_with("/2fa?"),
        "bob does not inherit alice's second factor"
    );

    post("/logout").await.unwrap();
    let out = get("/protected").await.unwrap();
    assert!(
        location(&out).starts_with("/login?"),
        "an axum-login logout ends the 2FA state"
    );
}
