//! Regressions from a security review: exemptions are decided on the route
//! axum matched, the webhook's exemption is for its own methods, the
//! callback path is checked at build time, and SQL migrations run
//! concurrently. Each failed before its fix.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Form;
use axum::http::{Request, StatusCode, header};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use tower::ServiceExt;
use tower_authy::authy::Client;
use tower_authy::config::{Policy, StatusMode};
use tower_authy::store::{MemoryStore, UserId};
use tower_authy::webhook::Webhook;
use tower_authy::{TwoFactor, session};
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

fn polling() -> Policy {
    Policy::builder()
        .with_status_mode(StatusMode::Polling {
            every: Duration::from_secs(2),
        })
        .build()
        .unwrap()
}

fn two_factor() -> TwoFactor {
    TwoFactor::builder(
        Client::builder("key").build().unwrap(),
        Arc::new(MemoryStore::new()),
    )
    .with_policy(polling())
    .build()
    .unwrap()
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
}

/// The first factor only: the second stays pending.
async fn login(session: Session, Form(form): Form<LoginForm>) -> &'static str {
    session::sign_in(&session, form.username.as_str())
        .await
        .unwrap();
    "signed in"
}

fn with_sessions(app: Router) -> Router {
    app.route("/login", post(login))
        .layer(SessionManagerLayer::new(Sessions::default()).with_secure(false))
}

/// Signs in with the password only; returns the session cookie.
async fn pending_session(app: &Router) -> String {
    let response = app
        .clone()
        .oneshot(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("username=alice"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn call(app: &Router, method: &str, path: &str, cookie: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .header(header::ACCEPT, "application/json")
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A layer inside `nest("/{lang}", …)` (a locale prefix the handler does
/// not need): `/2fa/account` is routed to the protected handler with
/// `lang = "2fa"`, and since the layer now judges the original URI it finds
/// it "under the challenge prefix" and lets a password-only session in.
#[tokio::test]
async fn challenge_prefix_exemption_does_not_reach_nested_protected_routes() {
    let two_factor = two_factor();
    let localized = Router::new()
        .route("/account", get(|| async { "account secrets" }))
        .layer(two_factor.layer());
    let app = with_sessions(
        Router::new()
            .nest("/{lang}", localized)
            .merge(two_factor.router()),
    );
    let cookie = pending_session(&app).await;

    let (status, _) = call(&app, "GET", "/en/account", &cookie).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the ordinary URL is guarded"
    );

    let (status, body) = call(&app, "GET", "/2fa/account", &cookie).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a protected route reached under the challenge prefix must still need the second factor, got {body:?}"
    );
}

/// The same with the application's own exemption (`/logout` in the
/// quickstart): `/logout/account` is the protected page for `lang = "logout"`.
#[tokio::test]
async fn exempt_path_does_not_reach_nested_protected_routes() {
    let two_factor = two_factor();
    let localized = Router::new()
        .route("/account", get(|| async { "account secrets" }))
        .layer(two_factor.layer().with_exempt_path("/logout"));
    let app = with_sessions(
        Router::new()
            .route("/logout", post(|| async { "bye" }))
            .nest("/{lang}", localized)
            .merge(two_factor.router()),
    );
    let cookie = pending_session(&app).await;
    let (status, body) = call(&app, "GET", "/logout/account", &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "got {body:?}");
}

/// A requirement written against the routes of the router it guards (as
/// the crate's own example does, `starts_with("/admin")`) now receives the
/// original URI when that router is nested, and silently stops applying.
#[tokio::test]
async fn requirement_sees_the_path_of_the_router_it_guards() {
    let two_factor = two_factor();
    let admin = Router::new()
        .route("/admin/users", get(|| async { "user list" }))
        .layer(two_factor.layer().with_requirement(
            |request: &http::request::Parts, _: &UserId| request.uri.path().starts_with("/admin"),
        ));
    let app = with_sessions(
        Router::new()
            .nest("/console", admin)
            .merge(two_factor.router()),
    );
    let cookie = pending_session(&app).await;
    let (status, body) = call(&app, "GET", "/console/admin/users", &cookie).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the admin area needs the second factor, got {body:?}"
    );
}

fn callback_mode(public_url: &str) -> Result<TwoFactor, tower_authy::ConfigError> {
    TwoFactor::builder(
        Client::builder("key").build().unwrap(),
        Arc::new(MemoryStore::new()),
    )
    .with_webhook(Webhook::builder("key").with_public_url(public_url))
    .build()
}

/// The callback path comes from the public URL and is exempted by path
/// alone, every method: a protected route on the same path with another
/// method (`DELETE /account`) loses its guard.
#[tokio::test]
async fn callback_exemption_is_for_the_webhook_only() {
    let two_factor = callback_mode("https://app.example.com/account").unwrap();
    let protected = Router::new()
        .route("/account", delete(|| async { "account deleted" }))
        .layer(two_factor.layer());
    let app = with_sessions(protected.merge(two_factor.router()));
    let cookie = pending_session(&app).await;
    let (status, body) = call(&app, "DELETE", "/account", &cookie).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "DELETE /account needs the second factor, got {body:?}"
    );
}

/// `with_public_url` says "a trailing slash matters" (the URL must be the
/// console's exactly), yet such a URL cannot be configured at all.
#[test]
fn a_console_url_with_a_trailing_slash_can_be_configured() {
    let built = callback_mode("https://app.example.com/hooks/authy/");
    assert!(built.is_ok(), "{:?}", built.err());
}

fn fresh_dir(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("review-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `migrate()` "is safe to call from several instances at once": on a fresh
/// SQLite file, four instances (four pools) migrate together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sqlite_migrations_all_succeed() {
    use tower_authy::store::SqliteStore;
    let mut failures = Vec::new();
    for round in 0..20 {
        let dir = fresh_dir(&format!("sqlite-migrate-{round}"));
        let url = format!("sqlite:{}", dir.join("store.db").display());
        let mut stores = Vec::new();
        for _ in 0..4 {
            stores.push(SqliteStore::connect(&url).await.unwrap());
        }
        let results =
            futures_util::future::join_all(stores.iter().map(|store| store.migrate())).await;
        failures.extend(results.into_iter().filter_map(Result::err));
    }
    assert!(
        failures.is_empty(),
        "{} of 80 migrate() calls failed, first: {:?}",
        failures.len(),
        failures.first()
    );
}

/// The same on a fresh PostgreSQL database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_postgres_migrations_all_succeed() {
    use tower_authy::store::PostgresStore;
    let server = crate::postgres_server::url().await;
    let admin = PostgresStore::connect(&server).await.unwrap();
    for round in 0..5 {
        let name = format!("migrate_{}_{round}", std::process::id());
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(admin.pool())
            .await
            .unwrap();
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(admin.pool())
            .await
            .unwrap();
        let url = format!("{}/{name}", server.rsplit_once('/').unwrap().0);
        let mut stores = Vec::new();
        for _ in 0..4 {
            stores.push(PostgresStore::connect(&url).await.unwrap());
        }
        let results =
            futures_util::future::join_all(stores.iter().map(|store| store.migrate())).await;
        for (i, result) in results.into_iter().enumerate() {
            assert!(result.is_ok(), "round {round}, instance {i}: {result:?}");
        }
    }
}

/// A console URL with no path (a host of its own for hooks) is refused
/// with a clear word, and served once its mount path is given: never at the
/// site's root, where its exemption would cover the home page.
#[test]
fn a_console_url_without_a_path_needs_a_mount_path() {
    let refused = callback_mode("https://hooks.example.com");
    assert!(
        matches!(refused, Err(tower_authy::ConfigError::Missing(why)) if why.contains("with_mount_path")),
        "{refused:?}"
    );
    let built = TwoFactor::builder(
        Client::builder("key").build().unwrap(),
        Arc::new(MemoryStore::new()),
    )
    .with_webhook(
        Webhook::builder("key")
            .with_public_url("https://hooks.example.com")
            .with_mount_path("/hooks/authy"),
    )
    .build();
    assert!(built.is_ok(), "{:?}", built.err());
}

/// A public URL whose path is one of the crate's own routes (or the login
/// page) is a configuration error, not a panic when the router is made.
#[test]
fn a_callback_path_on_another_route_is_a_config_error() {
    for url in [
        "https://app.example.com/2fa/token",
        "https://app.example.com/2fa",
        "https://app.example.com/login",
    ] {
        assert!(
            matches!(
                callback_mode(url),
                Err(tower_authy::ConfigError::PathClash { .. })
            ),
            "{url}"
        );
    }
}

/// A hook written against the matched route (as the docs advise) holds
/// wherever the layer sits, nested under the area's prefix too.
#[tokio::test]
async fn a_requirement_on_the_matched_route_holds_inside_nest() {
    use axum::extract::MatchedPath;
    let two_factor = two_factor();
    let admin = Router::new()
        .route("/users", get(|| async { "user list" }))
        .layer(two_factor.layer().with_requirement(
            |request: &http::request::Parts, _: &UserId| {
                request
                    .extensions
                    .get::<MatchedPath>()
                    .is_none_or(|route| route.as_str().starts_with("/admin"))
            },
        ));
    let app = with_sessions(
        Router::new()
            .nest("/admin", admin)
            .merge(two_factor.router()),
    );
    let cookie = pending_session(&app).await;
    let (status, body) = call(&app, "GET", "/admin/users", &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "got {body:?}");
}

/// A trailing slash is no route of ours: a protected fallback is not
/// reached through `/2fa/` or `/login/`, with or without a session.
#[tokio::test]
async fn a_trailing_slash_does_not_reach_a_protected_fallback() {
    let two_factor = two_factor();
    let protected = Router::new()
        .route("/protected", get(|| async { "secret" }))
        .fallback(|| async { "fallback secrets" })
        .layer(two_factor.layer());
    let app = with_sessions(protected.merge(two_factor.router()));
    let cookie = pending_session(&app).await;
    let mut reached = Vec::new();
    for path in [
        "/anything",
        "/2fa/",
        "/2fa/token/",
        "/2fa/enroll/verify/",
        "/login/",
    ] {
        for cookie in [cookie.as_str(), ""] {
            let (status, body) = call(&app, "GET", path, cookie).await;
            if status == StatusCode::OK {
                reached.push(format!("{path} -> {body}"));
            }
        }
    }
    assert!(
        reached.is_empty(),
        "protected fallback reached: {reached:#?}"
    );
}

/// The crate's routes are exempt for their own methods only: the
/// application's `DELETE /2fa/enroll` keeps its guard.
#[tokio::test]
async fn a_crate_route_is_exempt_for_its_own_methods_only() {
    let two_factor = two_factor();
    let protected = Router::new()
        .route(
            "/2fa/enroll",
            axum::routing::delete(|| async { "phone removed" }),
        )
        .layer(two_factor.layer());
    let app = with_sessions(protected.merge(two_factor.router()));
    let cookie = pending_session(&app).await;
    let (status, body) = call(&app, "DELETE", "/2fa/enroll", &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "got {body:?}");
    let (status, _) = call(&app, "HEAD", "/2fa", &cookie).await;
    assert_ne!(
        status,
        StatusCode::UNAUTHORIZED,
        "HEAD of the challenge passes"
    );
}

/// The mount path is a literal path, never a pattern.
#[test]
fn a_mount_path_is_a_literal() {
    for mount in ["/{x}", "/hooks/{*rest}", "/hooks/*"] {
        let built = TwoFactor::builder(
            Client::builder("key").build().unwrap(),
            Arc::new(MemoryStore::new()),
        )
        .with_webhook(
            Webhook::builder("key")
                .with_public_url("https://hooks.example.com")
                .with_mount_path(mount),
        )
        .build();
        assert!(
            matches!(built, Err(tower_authy::ConfigError::InvalidPath { .. })),
            "{mount}"
        );
    }
}
