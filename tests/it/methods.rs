//! The method registry (issue 9, item 2): what a kind of factor can do
//! decides what the challenge offers and which routes act, an application
//! plugs in its own `Method`, and a code is checked against every factor of
//! the user that takes codes (or the one `factor_id` names).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use axum::Router;
use axum::routing::get;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, ORIGIN};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower_authy::config::{ConfigError, Policy, StatusMode};
use tower_authy::method::{Ability, Channel, EnrollmentRequest, Method, ProviderError};
use tower_authy::store::{
    AdminStore, Factor, FactorKind, FactorState, FactorStore, MemoryStore, UserId,
};
use tower_authy::{EnrollError, TwoFactor, session};
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};

use crate::app::TestApp;

/// What the application's own method was asked to do.
#[derive(Debug, Default)]
struct Calls {
    checks: AtomicUsize,
    other: AtomicUsize,
}

/// A method that can only check codes: "424242" is right.
#[derive(Debug, Clone)]
struct CodesOnly(Arc<Calls>);

#[async_trait]
impl Method for CodesOnly {
    fn kind(&self) -> FactorKind {
        FactorKind::Authy
    }

    fn abilities(&self) -> &[Ability] {
        &[Ability::CheckCode]
    }

    async fn check_code(&self, _: &Factor, code: &str) -> Result<(), ProviderError> {
        self.0.checks.fetch_add(1, Ordering::SeqCst);
        if code == "424242" {
            Ok(())
        } else {
            Err(ProviderError::CodeRejected)
        }
    }

    async fn send_code(
        &self,
        _: &Factor,
        _: Channel,
        _: bool,
    ) -> Result<tower_authy::method::CodeSent, ProviderError> {
        // Outside its abilities: the crate must never call it.
        self.0.other.fetch_add(1, Ordering::SeqCst);
        Err(ProviderError::NotPossible("not this method".into()))
    }

    async fn can_push(&self, _: &Factor) -> Result<bool, ProviderError> {
        self.0.other.fetch_add(1, Ordering::SeqCst);
        Ok(true)
    }
}

/// An application on `method` with an opt-in policy and pushes polled (no
/// webhook), served on a loopback port; returns its base URL and store.
async fn serve(method: CodesOnly) -> (String, Arc<MemoryStore>, TwoFactor) {
    let store = Arc::new(MemoryStore::new());
    let policy = Policy::builder()
        .with_status_mode(StatusMode::Polling {
            every: Duration::from_secs(1),
        })
        .build()
        .unwrap();
    let two_factor = TwoFactor::builder(method, store.clone())
        .with_policy(policy)
        .build()
        .unwrap();
    let login = |session: Session, body: String| async move {
        session::sign_in(&session, body.as_str()).await.unwrap();
    };
    let app = Router::new()
        .route("/protected", get(|| async { "protected" }))
        .layer(two_factor.layer())
        .route("/login", axum::routing::post(login))
        .merge(two_factor.router())
        .layer(SessionManagerLayer::new(Sessions::default()).with_secure(false));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, store, two_factor)
}

/// A signed-in JSON client for `user`.
async fn signed_in(base: &str, user: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(ORIGIN, HeaderValue::from_str(base).unwrap());
    let api = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    let answer = api
        .post(format!("{base}/login"))
        .body(user.to_owned())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "signed in");
    api
}

async fn send(api: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let answer = api.post(url).json(&body).send().await.unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_challenge_offers_only_what_the_method_can_do() {
    let calls = Arc::new(Calls::default());
    let (base, store, _) = serve(CodesOnly(calls.clone())).await;
    let factor = Factor::authy(UserId::new("cleo"), "7", None, SystemTime::now()).activated();
    store.put_factor(&factor).await.unwrap();
    let api = signed_in(&base, "cleo").await;

    let page: Value = api
        .get(format!("{base}/2fa"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["status"], "challenge", "{page}");
    assert_eq!(page["ways"], json!(["code"]), "{page}");
    assert_eq!(
        page["channels"],
        json!({"passkey": false, "onetouch": false, "code": true, "sms": false, "call": false, "email": false, "whatsapp": false})
    );
    assert_eq!(page["factors"][0]["id"], factor.id.as_str());

    for (path, what) in [
        ("sms", "a text"),
        ("call", "a call"),
        ("email", "an e-mail"),
        ("whatsapp", "a WhatsApp message"),
        ("onetouch", "a push"),
    ] {
        let (status, body) = send(&api, format!("{base}/2fa/{path}"), json!({})).await;
        assert_eq!(body["error"], "channel_off", "{what}: {status} {body}");
    }
    assert_eq!(
        calls.other.load(Ordering::SeqCst),
        0,
        "nothing outside the method's abilities was asked of it"
    );

    let (status, wrong) = send(
        &api,
        format!("{base}/2fa/token"),
        json!({"token": "000000"}),
    )
    .await;
    assert_eq!(
        (status, &wrong["error"]),
        (401, &json!("code_rejected")),
        "{wrong}"
    );
    let (status, right) = send(
        &api,
        format!("{base}/2fa/token"),
        json!({"token": "424242"}),
    )
    .await;
    assert_eq!(status, 200, "{right}");
    assert_eq!(right["status"], "complete");
    assert_eq!(calls.checks.load(Ordering::SeqCst), 2);
    let protected = api.get(format!("{base}/protected")).send().await.unwrap();
    assert_eq!(protected.status(), 200);
    let stored = store.factors(&UserId::new("cleo")).await.unwrap();
    assert!(stored[0].last_used_at.is_some(), "the use is recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_method_that_registers_phones_enrolling_one_is_refused_clearly() {
    let (base, store, two_factor) = serve(CodesOnly(Arc::default())).await;
    let api = signed_in(&base, "dora").await;
    let (status, body) = send(
        &api,
        format!("{base}/2fa/enroll"),
        json!({"email": "dora@example.com", "country_code": "1", "phone_number": "5550100123"}),
    )
    .await;
    assert_eq!(body["error"], "not_possible", "{status} {body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not register phones"),
        "{body}"
    );
    let refused = two_factor
        .enroll(
            &UserId::new("dora"),
            &EnrollmentRequest::new("dora@example.com", 1, "5550100123"),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(EnrollError::Provider(ProviderError::NotPossible(_)))
        ),
        "{refused:?}"
    );
    assert!(
        store
            .factors(&UserId::new("dora"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[test]
fn one_method_serves_one_kind() {
    let store = Arc::new(MemoryStore::new());
    let built = TwoFactor::builder(CodesOnly(Arc::default()), store)
        .with_method(CodesOnly(Arc::default()))
        .build();
    assert!(
        matches!(built, Err(ConfigError::DuplicateMethod(FactorKind::Authy))),
        "{built:?}"
    );
}

/// Two phones on one account: a code from either passes, the one it came
/// from records the use, and `factor_id` limits the check to one factor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_from_any_of_the_users_phones_passes_and_factor_id_picks_one() {
    let app = TestApp::start(Policy::default()).await;
    let first_id = app.enroll("eve", FactorState::Active).await;
    let second = app
        .client
        .enroll_phone(
            &UserId::new("eve"),
            &EnrollmentRequest::new("eve@example.com", 1, "5550199002"),
            SystemTime::now(),
        )
        .await
        .unwrap()
        .activated();
    app.admin.put_factor(&second).await.unwrap();
    let second_id: u64 = second.provider_ref.parse().unwrap();
    let factors = app.store.factors(&UserId::new("eve")).await.unwrap();
    let first = factors
        .iter()
        .find(|f| f.provider_ref == first_id.to_string())
        .unwrap()
        .clone();

    let api = app.api();
    app.sign_in(&api, "eve").await;
    let page = app.get_json(&api, "/2fa").await;
    assert_eq!(page["factors"].as_array().unwrap().len(), 2, "{page}");

    let token = app.fresh_soft_token(second_id).await;
    let (status, unknown) = send(
        &api,
        app.url("/2fa/token"),
        json!({"token": token, "factor_id": "no-such-factor"}),
    )
    .await;
    assert_eq!((status, &unknown["error"]), (404, &json!("unknown_factor")));
    let (status, elsewhere) = send(
        &api,
        app.url("/2fa/token"),
        json!({"token": token, "factor_id": first.id.as_str()}),
    )
    .await;
    assert_eq!(
        (status, &elsewhere["error"]),
        (401, &json!("code_rejected")),
        "the second phone's code is not the first phone's: {elsewhere}"
    );
    assert_eq!(
        elsewhere["attempts_left"], 4,
        "the unknown factor counted nothing; the wrong one counted once"
    );
    let token = app.fresh_soft_token(second_id).await;
    let (status, passed) = send(&api, app.url("/2fa/token"), json!({"token": token})).await;
    assert_eq!(status, 200, "{passed}");
    assert_eq!(passed["status"], "complete");

    let after = app.store.factors(&UserId::new("eve")).await.unwrap();
    let used = |id: &tower_authy::store::FactorId| {
        after
            .iter()
            .find(|f| &f.id == id)
            .and_then(|f| f.last_used_at)
            .is_some()
    };
    assert!(used(&second.id), "the phone the code came from records it");
    assert!(!used(&first.id), "the other phone does not");
}
