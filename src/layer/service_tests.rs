//! The layer in a real axum app with real sessions, driven in process.

use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use tower::ServiceExt;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

use super::RequireSecondFactorLayer;
use crate::session::{self, AuthState, Passed, SecondFactorMethod, unix};

/// Puts the session in a named state (an exempt test-only route).
async fn set_state(session: Session, Path(which): Path<String>) -> &'static str {
    let now = unix(SystemTime::now());
    let state = |first_factor_at, passed| AuthState {
        user_id: "alice".into(),
        first_factor_at,
        passed,
        csrf: "t".into(),
        approval: None,
        next: None,
        pushed: false,
        nonce: String::new(),
    };
    match which.as_str() {
        "pending" => session::save(&session, &state(now, None)).await.unwrap(),
        "stale" => session::save(&session, &state(now - 601, None))
            .await
            .unwrap(),
        "complete" => {
            let passed = Passed {
                method: SecondFactorMethod::Code,
                at: now,
                generation: 0,
            };
            session::save(&session, &state(now, Some(passed)))
                .await
                .unwrap()
        }
        "signin" => session::sign_in(&session, "alice").await.unwrap(),
        _ => session.insert("other", 1).await.unwrap(),
    }
    "ok"
}

/// The layer as `TwoFactor::layer` makes it by default.
fn layer() -> RequireSecondFactorLayer {
    RequireSecondFactorLayer::new("/login", "/2fa", Duration::from_secs(600))
}

fn app(layer: RequireSecondFactorLayer) -> Router {
    Router::new()
        .route("/protected", get(|| async { "secret" }))
        .route("/admin", get(|| async { "admin" }))
        .route("/2fa", get(|| async { "challenge" }))
        .route("/login", get(|| async { "login" }))
        .route("/test/{state}", post(set_state))
        .layer(layer.with_exempt_path("/test"))
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false))
}

/// Runs `state` then `GET path` in one session; returns the answer.
async fn get_in(
    app: &Router,
    state: &str,
    path: &str,
    accept: &str,
) -> (StatusCode, String, String) {
    let setup = app
        .clone()
        .oneshot(
            Request::post(format!("/test/{state}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = setup
        .headers()
        .get(header::SET_COOKIE)
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .unwrap_or_default();
    let response = app
        .clone()
        .oneshot(
            Request::get(path)
                .header(header::ACCEPT, accept)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        location,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";
const JSON: &str = "application/json";

#[tokio::test]
async fn anonymous_sessions_go_to_login() {
    let app = app(layer());
    let (status, location, _) = get_in(&app, "anonymous", "/protected", HTML).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/login?next=%2Fprotected");
    let (status, _, body) = get_in(&app, "anonymous", "/protected", JSON).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("\"login_required\""), "{body}");
}

#[tokio::test]
async fn first_factor_only_goes_to_the_challenge_with_next() {
    let app = app(layer());
    let (status, location, _) = get_in(&app, "pending", "/protected?tab=a&x=1", HTML).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/2fa?next=%2Fprotected%3Ftab%3Da%26x%3D1");
    let (status, _, body) = get_in(&app, "pending", "/protected", "*/*").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "API clients get 401, not a redirect"
    );
    assert!(body.contains("\"second_factor_required\""), "{body}");
    let (status, _, _) = get_in(&app, "signin", "/protected", JSON).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "sign_in leaves the second factor pending"
    );
}

#[tokio::test]
async fn both_factors_pass() {
    let app = app(layer());
    let (status, _, body) = get_in(&app, "complete", "/protected", HTML).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "secret"));
}

#[tokio::test]
async fn a_stale_first_factor_starts_over() {
    let app = app(layer());
    let (status, location, _) = get_in(&app, "stale", "/protected", HTML).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/login?"), "{location}");
    let shorter = app_with_ttl(Duration::from_secs(3600));
    let (status, location, _) = get_in(&shorter, "stale", "/protected", HTML).await;
    assert!(
        location.starts_with("/2fa?"),
        "a longer ttl keeps it pending: {status} {location}"
    );
}

fn app_with_ttl(ttl: Duration) -> Router {
    app(RequireSecondFactorLayer::new("/login", "/2fa", ttl))
}

#[tokio::test]
async fn own_routes_and_login_are_never_blocked_but_tricks_are() {
    let app = app(layer());
    for state in ["anonymous", "pending"] {
        assert_eq!(get_in(&app, state, "/2fa", HTML).await.2, "challenge");
        assert_eq!(get_in(&app, state, "/login", HTML).await.2, "login");
        let (status, _, _) = get_in(&app, state, "/2fa/../protected", HTML).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "dot segments do not borrow the exemption"
        );
    }
}

#[tokio::test]
async fn the_requirement_hook_chooses_what_needs_two_factors() {
    let layer = layer().with_requirement(
        |request: &http::request::Parts, user: &crate::store::UserId| {
            assert_eq!(user.as_str(), "alice");
            request.uri.path().starts_with("/admin")
        },
    );
    let app = app(layer);
    assert_eq!(
        get_in(&app, "pending", "/protected", HTML).await.2,
        "secret"
    );
    let (status, location, _) = get_in(&app, "pending", "/admin", HTML).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/2fa?next=%2Fadmin")
    );
    let (status, location, _) = get_in(&app, "anonymous", "/protected", HTML).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/login?next=%2Fprotected"),
        "the hook never lets an anonymous session through"
    );
}

#[tokio::test]
async fn without_a_session_layer_it_fails_closed() {
    let app = Router::new()
        .route("/protected", get(|| async { "secret" }))
        .layer(layer());
    let response = app
        .oneshot(Request::get("/protected").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn sign_in_cycles_the_session_id() {
    let app = app(layer());
    let first = app
        .clone()
        .oneshot(Request::post("/test/other").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let fixed = first.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let signed_in = app
        .clone()
        .oneshot(
            Request::post("/test/signin")
                .header(header::COOKIE, &fixed)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let cycled = signed_in.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(
        fixed, cycled,
        "a session id fixed before sign-in is not the one after it"
    );
}

#[tokio::test]
async fn nested_routes_are_judged_by_the_path_the_client_asked_for() {
    // `Router::nest` strips `/app` from the URI the inner routes see; `next`
    // and the exemptions must still name the full path.
    let layer = layer().with_exempt_path("/app/public");
    let inner = Router::new()
        .route("/protected", get(|| async { "secret" }))
        .route("/public", get(|| async { "public" }))
        .layer(layer);
    let app = Router::new()
        .nest("/app", inner)
        .route("/test/{state}", post(set_state))
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false));
    let (status, location, _) = get_in(&app, "pending", "/app/protected?x=1", HTML).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/2fa?next=%2Fapp%2Fprotected%3Fx%3D1");
    let (status, _, body) = get_in(&app, "pending", "/app/public", HTML).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "public"));
}

#[tokio::test]
async fn a_passed_session_reaches_the_handler_as_verified() {
    use crate::layer::Verified;
    let who =
        |verified: Verified| async move { format!("{} {}", verified.user_id, verified.method) };
    let maybe = |verified: Option<Verified>| async move {
        verified.map_or("nobody".to_owned(), |v| v.user_id.to_string())
    };
    let layer =
        layer().with_requirement(|request: &http::request::Parts, _: &crate::store::UserId| {
            request.uri.path() != "/maybe"
        });
    let app = Router::new()
        .route("/who", get(who))
        .route("/maybe", get(maybe))
        .route("/test/{state}", post(set_state))
        .layer(layer.with_exempt_path("/test"))
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false));
    let (status, _, body) = get_in(&app, "complete", "/who", HTML).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice code"));
    let (status, _, body) = get_in(&app, "complete", "/maybe", HTML).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
    let (status, _, body) = get_in(&app, "pending", "/maybe", HTML).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "nobody"),
        "let through without the second factor: not verified"
    );
}
