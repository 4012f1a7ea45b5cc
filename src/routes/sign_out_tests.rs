//! Issue 9, item 7: a sign-out cannot be undone by a request of the same
//! session still in flight. Before, a code check that loaded the session
//! before the sign-out completed it afterwards, and saved it back — passed,
//! under a new id the browser received.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use tokio::sync::Notify;
use tower::ServiceExt;
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

use crate::TwoFactor;
use crate::config::Policy;
use crate::method::{Ability, Method, ProviderError};
use crate::session;
use crate::store::{AdminStore, Factor, FactorKind, MemoryStore, UserId};

/// Checks codes slowly: says when a check began, and answers (accepting
/// it) only once released.
#[derive(Debug, Default)]
struct Gate {
    entered: Notify,
    release: Notify,
}

#[derive(Debug)]
struct SlowCheck(Arc<Gate>);

#[async_trait]
impl Method for SlowCheck {
    fn kind(&self) -> FactorKind {
        FactorKind::Authy
    }
    fn abilities(&self) -> &[Ability] {
        &[Ability::CheckCode]
    }
    async fn check_code(&self, _: &Factor, _: &str) -> Result<(), ProviderError> {
        self.0.entered.notify_one();
        self.0.release.notified().await;
        Ok(())
    }
}

async fn login(session: Session) {
    session::sign_in(&session, "alice").await.unwrap();
}

async fn logout(State(two_factor): State<TwoFactor>, session: Session) {
    two_factor.sign_out(&session).await.unwrap();
}

async fn peek(session: Session) -> String {
    match session::load(&session).await.unwrap() {
        None => "anonymous".into(),
        Some(state) => format!("passed: {}", state.passed.is_some()),
    }
}

fn cookie_of(answer: &axum::response::Response) -> Option<String> {
    answer
        .headers()
        .get(header::SET_COOKIE)
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
}

#[tokio::test]
async fn a_code_check_in_flight_cannot_bring_a_signed_out_session_back() {
    let store = Arc::new(MemoryStore::new());
    let factor = Factor::authy(
        UserId::new("alice"),
        "1",
        None,
        std::time::SystemTime::now(),
    );
    store.put_factor(&factor.activated()).await.unwrap();
    let gate = Arc::new(Gate::default());
    let policy = Policy::builder().with_onetouch(false).build().unwrap();
    let two_factor = TwoFactor::builder(SlowCheck(gate.clone()), store)
        .with_policy(policy)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout).with_state(two_factor.clone()))
        .route("/peek", get(peek))
        .merge(two_factor.router())
        .layer(SessionManagerLayer::new(Sessions::default()).with_secure(false));
    let send = |request: Request<Body>| app.clone().oneshot(request);

    let signed_in = send(Request::post("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let cookie = cookie_of(&signed_in).expect("a session cookie");
    let token = Request::post("/2fa/token")
        .header(header::COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"token": "1234567"}"#))
        .unwrap();
    let in_flight = tokio::spawn(send(token));
    // The check runs with the session loaded: now sign out in another tab.
    gate.entered.notified().await;
    let out = send(
        Request::post("/logout")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    gate.release.notify_one();
    let answer = in_flight.await.unwrap().unwrap();

    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(
        cookie_of(&answer).is_none(),
        "no new session id is handed out"
    );
    let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&body).contains("login_required"),
        "{body:?}"
    );
    let peeked = send(
        Request::get("/peek")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let peeked = axum::body::to_bytes(peeked.into_body(), 1 << 16)
        .await
        .unwrap();
    assert_eq!(&peeked[..], b"anonymous", "the session stays signed out");
}
