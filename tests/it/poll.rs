//! The polling path (status callbacks off): a final status read from Authy is
//! recorded through the same transition as a callback, once.

use crate::app::FirstFactor;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tower_authy::authy::{AuthyId, Client, NewApprovalRequest};
use tower_authy::simulator::Simulator;
use tower_authy::store::{
    AdminStore, ApprovalRecord, ApprovalStatus, ApprovalStore, Factor, MemoryStore, UserId,
};
use tower_authy::webhook::{PollError, poll_approval};

use crate::common::serve;

struct Setup {
    client: Client,
    store: Arc<MemoryStore>,
    base: String,
    uuid: String,
}

async fn setup() -> Setup {
    let sim = Simulator::builder().build();
    let base = format!("http://{}", serve(sim.router()).await);
    let client = Client::builder(sim.api_key().clone())
        .with_base_url(&base)
        .build()
        .unwrap();
    let phone = tower_authy::authy::PhoneNumber::new(1, "555-201-0001").unwrap();
    let user = client
        .users()
        .register(&tower_authy::authy::NewUser::new("poll@example.com", phone))
        .await
        .unwrap();
    let uuid = client
        .onetouch()
        .create(
            AuthyId(user.id.0),
            &NewApprovalRequest::new("Log in?").seconds_to_expire(120),
        )
        .await
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let now = SystemTime::now();
    let alice = UserId::new("alice");
    store
        .put_factor(&Factor::authy(
            alice.clone(),
            user.id.to_string(),
            None,
            now,
        ))
        .await
        .unwrap();
    let record = ApprovalRecord::pending(
        uuid.as_str(),
        alice,
        "b",
        now,
        Some(Duration::from_secs(120)),
    );
    store.insert_approval(&record).await.unwrap();
    Setup {
        client,
        store,
        base,
        uuid: uuid.as_str().to_owned(),
    }
}

#[tokio::test]
async fn polling_records_the_answer_from_authy() {
    let s = setup().await;
    let pending = poll_approval(&s.client, &*s.store, &s.uuid, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(
        pending.status,
        ApprovalStatus::Pending,
        "nothing answered yet"
    );
    let approve = reqwest::Client::new()
        .post(format!(
            "{}/phone/api/approval_requests/{}/approve",
            s.base, s.uuid
        ))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(approve.status(), 200);
    let recorded = poll_approval(&s.client, &*s.store, &s.uuid, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(recorded.status, ApprovalStatus::Approved);
    let stored = s
        .store
        .approval(&s.uuid, SystemTime::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, recorded, "recorded in the store");
}

#[tokio::test]
async fn polling_refuses_unknown_requests_and_other_users() {
    let s = setup().await;
    let unknown = poll_approval(
        &s.client,
        &*s.store,
        "00000000-0000-0000-0000-000000000000",
        SystemTime::now(),
    )
    .await;
    assert!(
        matches!(unknown, Err(PollError::UnknownRequest)),
        "{unknown:?}"
    );
    // The store says the request is Mallory's, but Authy says it is Alice's.
    let mallory = UserId::new("mallory");
    let now = SystemTime::now();
    s.store
        .put_factor(&Factor::authy(mallory.clone(), "424242", None, now))
        .await
        .unwrap();
    let other = uuid_of_other_request(&s).await;
    s.store
        .insert_approval(&ApprovalRecord::pending(&other, mallory, "b", now, None))
        .await
        .unwrap();
    let mismatch = poll_approval(&s.client, &*s.store, &other, now).await;
    assert!(
        matches!(mismatch, Err(PollError::UserMismatch)),
        "{mismatch:?}"
    );
    assert_eq!(
        s.store.approval(&other, now).await.unwrap().unwrap().status,
        ApprovalStatus::Pending,
        "nothing recorded"
    );
}

async fn uuid_of_other_request(s: &Setup) -> String {
    let stored = s
        .store
        .approval(&s.uuid, SystemTime::now())
        .await
        .unwrap()
        .unwrap();
    let enrollment = s
        .store
        .first_factor(&stored.user_id)
        .await
        .unwrap()
        .unwrap();
    let id: u64 = enrollment.provider_ref.parse().unwrap();
    s.client
        .onetouch()
        .create(AuthyId(id), &NewApprovalRequest::new("Another"))
        .await
        .unwrap()
        .as_str()
        .to_owned()
}
