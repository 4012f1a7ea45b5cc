//! Security changes racing each other and guesses spread over factors,
//! found by a review of issue 9; each test failed before its fix.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::sync::Notify;
use tower::ServiceExt;
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

use crate::TwoFactor;
use crate::config::Policy;
use crate::method::{Ability, Method, ProviderError};
use crate::session;
use crate::store::{AdminStore, Factor, FactorKind, FactorStore, MemoryStore, UserId};

#[derive(Debug, Default)]
struct Gate {
    entered: Notify,
    release: Notify,
}

/// "222222" is right at once; "111111" is right once the gate opens.
#[derive(Debug)]
struct HeldCheck(Arc<Gate>);

#[async_trait]
impl Method for HeldCheck {
    fn kind(&self) -> FactorKind {
        FactorKind::Authy
    }
    fn abilities(&self) -> &[Ability] {
        &[Ability::CheckCode]
    }
    async fn check_code(&self, _: &Factor, code: &str) -> Result<(), ProviderError> {
        match code {
            "222222" => Ok(()),
            "111111" => {
                self.0.entered.notify_one();
                self.0.release.notified().await;
                Ok(())
            }
            _ => Err(ProviderError::CodeRejected),
        }
    }
}

/// Wrong for every code; counts the checks.
#[derive(Debug, Clone, Default)]
struct Counting(Arc<AtomicUsize>);

#[async_trait]
impl Method for Counting {
    fn kind(&self) -> FactorKind {
        FactorKind::Authy
    }
    fn abilities(&self) -> &[Ability] {
        &[Ability::CheckCode]
    }
    async fn check_code(&self, _: &Factor, _: &str) -> Result<(), ProviderError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(ProviderError::CodeRejected)
    }
}

fn cookie_of(answer: &Response) -> Option<String> {
    answer
        .headers()
        .get(header::SET_COOKIE)
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
}

fn post_json(cookie: &str, path: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header("sec-fetch-site", "same-origin")
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap()
}

/// Alice's app on `method`, with her factors `ids` (Authy IDs), and a
/// protected page.
async fn app(method: impl Method + 'static, ids: &[&str]) -> (Router, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let now = std::time::SystemTime::now();
    for id in ids {
        let factor = Factor::authy(UserId::new("alice"), *id, None, now).activated();
        store.put_factor(&factor).await.unwrap();
    }
    let policy = Policy::builder().with_onetouch(false).build().unwrap();
    let two_factor = TwoFactor::builder(method, store.clone())
        .with_policy(policy)
        .build()
        .unwrap();
    let login = |session: Session| async move {
        session::sign_in(&session, "alice").await.unwrap();
    };
    let router = Router::new()
        .route("/protected", get(|| async { "secret" }))
        .layer(two_factor.layer())
        .route("/login", post(login))
        .merge(two_factor.router())
        .layer(SessionManagerLayer::new(Sessions::default()).with_secure(false));
    (router, store)
}

/// A thief's removal in flight while the owner removes the stolen phone:
/// the thief's late change must not keep the thief's pass (before: it
/// stamped the newest generation and stayed in, while the owner's change
/// was meant to void it).
#[tokio::test]
async fn a_change_in_flight_does_not_keep_a_pass_voided_meanwhile() {
    let gate = Arc::new(Gate::default());
    let (app, store) = app(HeldCheck(gate.clone()), &["1", "2"]).await;
    let send = |request: Request<Body>| app.clone().oneshot(request);
    let stolen = store.factors(&UserId::new("alice")).await.unwrap()[0].clone();
    let mut cookies = Vec::new();
    for _ in 0..2 {
        let signed_in = send(Request::post("/login").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let cookie = cookie_of(&signed_in).unwrap();
        let passed = send(post_json(
            &cookie,
            "/2fa/token",
            r#"{"token":"222222"}"#.into(),
        ))
        .await
        .unwrap();
        assert_eq!(passed.status(), StatusCode::OK);
        cookies.push(cookie_of(&passed).unwrap_or(cookie));
    }
    let (thief, owner) = (cookies[0].clone(), cookies[1].clone());
    let remove = format!("/2fa/factors/{}/remove", stolen.id);
    let body = |code: &str| format!(r#"{{"confirm":true,"token":"{code}"}}"#);
    let in_flight = tokio::spawn(send(post_json(&thief, &remove, body("111111"))));
    gate.entered.notified().await;
    let removed = send(post_json(&owner, &remove, body("222222")))
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    gate.release.notify_one();
    in_flight.await.unwrap().unwrap();
    assert_eq!(store.factors(&UserId::new("alice")).await.unwrap().len(), 1);
    let protected = |cookie: &str| {
        Request::get("/protected")
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT, "application/json")
            .body(Body::empty())
            .unwrap()
    };
    let thiefs = send(protected(&thief)).await.unwrap();
    assert_eq!(
        thiefs.status(),
        StatusCode::UNAUTHORIZED,
        "the thief's pass is void"
    );
    let owners = send(protected(&owner)).await.unwrap();
    assert_eq!(
        owners.status(),
        StatusCode::OK,
        "the owner's change kept the owner's pass"
    );
}

/// With three factors that take codes, the lockout of 5 wrong codes allows
/// 5 checks, not 15 (before: one counted attempt tried every factor).
#[tokio::test]
async fn the_lockout_counts_every_factor_checked() {
    let counting = Counting::default();
    let (app, _) = app(counting.clone(), &["1", "2", "3"]).await;
    let send = |request: Request<Body>| app.clone().oneshot(request);
    let signed_in = send(Request::post("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let cookie = cookie_of(&signed_in).unwrap();
    let mut locked = false;
    for guess in 0..20 {
        let code = format!(r#"{{"token":"{:06}"}}"#, 100_000 + guess);
        let answer = send(post_json(&cookie, "/2fa/token", code)).await.unwrap();
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            locked = true;
            break;
        }
    }
    assert!(locked, "locked out at last");
    let checked = counting.0.load(Ordering::SeqCst);
    assert!(
        checked <= 5,
        "{checked} checks before a lockout of 5 wrong codes"
    );
}
