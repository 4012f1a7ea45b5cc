//! The layer's cost per request: `oneshot` through `RequireSecondFactor`
//! with a session that passed both factors, against the same route without
//! the layer whose handler reads the user from the same session.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use criterion::Criterion;
use tower::ServiceExt;
use tower_authy::store::MemoryStore;
use tower_authy::{TwoFactor, Verified, session};
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

/// The baseline: the one session read an application does without the
/// layer to know who is signed in.
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

async fn login(session: Session) -> &'static str {
    session::sign_in(&session, "alice").await.expect("sign in");
    "ok"
}

fn app() -> Router {
    let two_factor = TwoFactor::local(Arc::new(MemoryStore::new()))
        .with_secret_key("a bench key of at least thirty-two bytes")
        .with_authenticator_apps()
        .build()
        .expect("two factor");
    Router::new()
        .route("/protected", get(protected))
        .layer(two_factor.layer())
        .route("/bare", get(bare))
        .route("/login", post(login))
        .merge(two_factor.router())
        .layer(SessionManagerLayer::new(Sessions::default()).with_secure(false))
}

/// Signs in and passes the challenge (opt-in, no factor: "not required"),
/// returning the session cookie.
async fn passed_session(app: &Router) -> String {
    let login = app
        .clone()
        .oneshot(Request::post("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let cookie = login.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let challenge = app
        .clone()
        .oneshot(
            Request::get("/2fa")
                .header(header::COOKIE, &cookie)
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(challenge.status(), StatusCode::SEE_OTHER, "passed");
    // The pass cycles the session id.
    let cycled = challenge.headers()[header::SET_COOKIE].to_str().unwrap();
    cycled.split(';').next().unwrap().to_owned()
}

pub fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = app();
    let cookie = runtime.block_on(passed_session(&app));
    let mut group = c.benchmark_group("layer");
    for path in ["/bare", "/protected"] {
        let request = || {
            Request::get(path)
                .header(header::COOKIE, &cookie)
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap()
        };
        let response = runtime.block_on(app.clone().oneshot(request())).unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path} served");
        group.bench_function(path.trim_start_matches('/'), |b| {
            b.to_async(&runtime)
                .iter(|| async { app.clone().oneshot(request()).await.unwrap() });
        });
    }
    group.finish();
}
