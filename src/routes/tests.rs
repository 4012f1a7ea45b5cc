//! Route behaviour that depends on time, checked by seeding session states
//! directly (no waiting): a stale first factor, a pass from long ago.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use tower::ServiceExt;
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

use crate::TwoFactor;
use crate::config::{Policy, StatusMode};
use crate::method::{Ability, Channel, CodeSent, Method, ProviderError};
use crate::session::{self, AuthState, Passed, SecondFactorMethod, unix};
use crate::store::{AdminStore, Factor, FactorKind, FactorState, MemoryStore, UserId};

/// Accepts one code, "1234567".
#[derive(Debug)]
struct OneCode;

#[async_trait]
impl Method for OneCode {
    fn kind(&self) -> FactorKind {
        FactorKind::Authy
    }
    fn abilities(&self) -> &[Ability] {
        &[Ability::CheckCode, Ability::SendCode(Channel::Sms)]
    }
    async fn send_code(&self, _: &Factor, _: Channel, _: bool) -> Result<CodeSent, ProviderError> {
        Ok(CodeSent { ignored: false })
    }
    async fn check_code(&self, _: &Factor, code: &str) -> Result<(), ProviderError> {
        if code == "1234567" {
            Ok(())
        } else {
            Err(ProviderError::CodeRejected)
        }
    }
}

/// `POST /seed/{state}`: puts the session in a state; `GET /peek`: shows it.
async fn seed(session: Session, Path(which): Path<String>) -> &'static str {
    let now = unix(SystemTime::now());
    let hour_ago = now - 3600;
    let state = match which.as_str() {
        "stale_pending" => AuthState {
            user_id: "alice".into(),
            first_factor_at: hour_ago,
            passed: None,
            csrf: "csrf".into(),
            approval: None,
            next: None,
            pushed: false,
            nonce: String::new(),
        },
        _ => AuthState {
            user_id: "alice".into(),
            first_factor_at: hour_ago,
            passed: Some(Passed {
                method: SecondFactorMethod::Code,
                at: hour_ago,
                generation: 0,
            }),
            csrf: "csrf".into(),
            approval: None,
            next: None,
            pushed: false,
            nonce: String::new(),
        },
    };
    session::save(&session, &state).await.unwrap();
    "seeded"
}

async fn peek(session: Session) -> String {
    match session::load(&session).await.unwrap() {
        None => "anonymous".into(),
        Some(state) => format!("{:?}", state.passed.map(|p| p.at)),
    }
}

async fn app() -> Router {
    let store = Arc::new(MemoryStore::new());
    let mut enrollment = Factor::authy(UserId::new("alice"), "1", None, SystemTime::now());
    enrollment.state = FactorState::Active;
    store.put_factor(&enrollment).await.unwrap();
    let policy = Policy::builder()
        .with_onetouch(false)
        .with_status_mode(StatusMode::Polling {
            every: Duration::from_secs(1),
        })
        .build()
        .unwrap();
    let two_factor = TwoFactor::builder(OneCode, store)
        .with_policy(policy)
        .build()
        .unwrap();
    Router::new()
        .route("/seed/{state}", post(seed))
        .route("/peek", get(peek))
        .merge(two_factor.router())
        .layer(SessionManagerLayer::new(Sessions::default()).with_secure(false))
}

/// Seeds `state`, then sends `request` in the same session; returns the
/// answer's status, its body, and what the session then holds.
async fn after_seed(state: &str, request: Request<Body>) -> (StatusCode, String, String) {
    let app = app().await;
    let seeded = app
        .clone()
        .oneshot(
            Request::post(format!("/seed/{state}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = seeded.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (mut parts, body) = request.into_parts();
    parts
        .headers
        .insert(header::COOKIE, cookie.parse().unwrap());
    let answer = app
        .clone()
        .oneshot(Request::from_parts(parts, body))
        .await
        .unwrap();
    let status = answer.status();
    // The session id may have been cycled: follow it.
    let cookie = answer
        .headers()
        .get(header::SET_COOKIE)
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .unwrap_or(cookie);
    let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
        .await
        .unwrap();
    let peeked = app
        .oneshot(
            Request::get("/peek")
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let peeked = axum::body::to_bytes(peeked.into_body(), 1 << 16)
        .await
        .unwrap();
    (
        status,
        String::from_utf8_lossy(&body).into_owned(),
        String::from_utf8_lossy(&peeked).into_owned(),
    )
}

fn post_token(token: &str) -> Request<Body> {
    Request::post("/2fa/token")
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/json")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(format!("{{\"token\":\"{token}\"}}")))
        .unwrap()
}

#[tokio::test]
async fn a_stale_first_factor_cannot_complete_even_with_the_right_code() {
    let (status, body, session) = after_seed("stale_pending", post_token("1234567")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("login_required"), "{body}");
    assert_eq!(session, "anonymous", "the stale state is cleared");
}

#[tokio::test]
async fn posting_a_code_to_a_passed_session_does_not_make_it_fresh() {
    let before = unix(SystemTime::now()) - 3600;
    let (status, body, session) = after_seed("passed_long_ago", post_token("0000000")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"complete\""), "{body}");
    assert!(
        session == format!("Some({before})") || session == format!("Some({})", before + 1),
        "the pass keeps its time: {session}"
    );
}

#[tokio::test]
async fn a_stale_session_cannot_turn_two_factor_off() {
    let disable = Request::post("/2fa/disable")
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/json")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(r#"{"confirm": true}"#))
        .unwrap();
    let (status, body, _) = after_seed("passed_long_ago", disable).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("fresh_factor_required"), "{body}");
}

#[test]
fn the_layer_exempts_exactly_the_routes_the_router_serves() {
    let served: Vec<&str> = super::handlers()
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    let exempt: Vec<&str> = crate::two_factor::ROUTES
        .iter()
        .map(|(path, _)| *path)
        .collect();
    assert_eq!(served, exempt);
}

/// Counts the writes of sessions.
#[derive(Debug, Clone, Default)]
struct CountingSessions {
    inner: Sessions,
    writes: Arc<std::sync::atomic::AtomicUsize>,
}

#[async_trait]
impl tower_sessions::SessionStore for CountingSessions {
    async fn save(
        &self,
        record: &tower_sessions::session::Record,
    ) -> tower_sessions::session_store::Result<()> {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.save(record).await
    }

    async fn load(
        &self,
        id: &tower_sessions::session::Id,
    ) -> tower_sessions::session_store::Result<Option<tower_sessions::session::Record>> {
        self.inner.load(id).await
    }

    async fn delete(
        &self,
        id: &tower_sessions::session::Id,
    ) -> tower_sessions::session_store::Result<()> {
        self.inner.delete(id).await
    }
}

/// Pages that change nothing write no session (issue 9: a session written
/// back needlessly by a request in flight undoes a sign-out made meanwhile
/// in another tab). Before: every `GET /2fa?next=` and every HTML
/// enrollment page wrote it.
#[tokio::test]
async fn pages_that_change_nothing_write_no_session() {
    let store = Arc::new(MemoryStore::new());
    let mut enrollment = Factor::authy(UserId::new("alice"), "1", None, SystemTime::now());
    enrollment.state = FactorState::Active;
    store.put_factor(&enrollment).await.unwrap();
    let policy = Policy::builder().with_onetouch(false).build().unwrap();
    let two_factor = TwoFactor::builder(OneCode, store)
        .with_policy(policy)
        .build()
        .unwrap();
    let sessions = CountingSessions::default();
    let writes = sessions.writes.clone();
    let app = Router::new()
        .route(
            "/signin",
            post(|session: Session| async move {
                session::sign_in(&session, "alice").await.unwrap();
            }),
        )
        .merge(two_factor.router())
        .layer(SessionManagerLayer::new(sessions).with_secure(false));
    let signed_in = app
        .clone()
        .oneshot(Request::post("/signin").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let cookie = signed_in.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let get = |path: &'static str| {
        let app = app.clone();
        let cookie = cookie.clone();
        async move {
            let answer = app
                .oneshot(
                    Request::get(path)
                        .header(header::ACCEPT, "text/html")
                        .header(header::COOKIE, cookie)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(answer.status(), StatusCode::OK, "{path}");
        }
    };
    get("/2fa?next=/reports").await;
    let after_next = writes.load(std::sync::atomic::Ordering::SeqCst);
    get("/2fa?next=/reports").await;
    get("/2fa").await;
    get("/2fa/enroll").await;
    get("/2fa/enroll").await;
    assert_eq!(
        writes.load(std::sync::atomic::Ordering::SeqCst),
        after_next,
        "no page that changed nothing wrote the session"
    );
}
