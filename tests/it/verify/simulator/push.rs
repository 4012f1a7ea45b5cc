//! Push: a device registers a factor on the virtual phone, the server
//! challenges it, the user answers on the phone, and the signed webhook
//! reaches the application's Verify webhook, which records the answer.

use std::time::SystemTime;

use tower_authy::store::{
    AdminStore, ApprovalRecord, ApprovalStatus, ApprovalStore, Factor, FactorKind, UserId,
};
use tower_authy::verify::{
    ChallengeStatus, FactorSid, FactorStatus, FactorType, Identity, NewChallenge, NewWebhook,
};

use super::Sim;

/// Registers a push factor for `user` on the phone and in the application's
/// store, as the application's enrolment would.
async fn push_factor(sim: &Sim, user: &str) -> (Identity, FactorSid) {
    let identity = Identity::for_user(user);
    let (status, answer) = sim
        .phone_post(
            "push-factors",
            &[("identity", identity.as_str()), ("friendly_name", "Pixel")],
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let sid: FactorSid = answer["sid"].as_str().unwrap().parse().unwrap();
    let factor = Factor::pending(
        UserId::new(user),
        FactorKind::VerifyPush,
        "Pixel",
        format!("{identity}:{sid}"),
        SystemTime::now(),
    )
    .activated();
    sim.store.put_factor(&factor).await.unwrap();
    (identity, sid)
}

/// Challenges the factor and files the approval request under the
/// challenge's SID, as the push method does.
async fn challenge(sim: &Sim, user: &str, identity: &Identity, factor: &FactorSid) -> String {
    let push = NewChallenge::push(factor.clone(), "Sign in to Sim Test?")
        .field("From", "127.0.0.1")
        .hidden("session", "s-1");
    let created = sim
        .client
        .service(&sim.service)
        .challenges(identity)
        .create(&push)
        .await
        .unwrap();
    assert_eq!(created.status, ChallengeStatus::Pending);
    assert_eq!(created.factor_type, FactorType::Push);
    let details = created.details.clone().unwrap();
    assert_eq!(details.message, "Sign in to Sim Test?");
    assert_eq!(details.fields[0].label, "From");
    let record = ApprovalRecord::pending(
        created.sid.as_str(),
        UserId::new(user),
        "binding",
        SystemTime::now(),
        Some(std::time::Duration::from_secs(300)),
    );
    sim.store.insert_approval(&record).await.unwrap();
    created.sid.to_string()
}

async fn status(sim: &Sim, sid: &str) -> ApprovalStatus {
    sim.store
        .approval(sid, SystemTime::now())
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn an_approval_on_the_phone_reaches_the_application_signed() {
    let sim = Sim::new().await;
    let (identity, factor) = push_factor(&sim, "alice").await;
    let fetched = sim
        .client
        .service(&sim.service)
        .factors(&identity)
        .fetch(&factor)
        .await
        .unwrap();
    assert_eq!(fetched.status, FactorStatus::Verified);
    let sid = challenge(&sim, "alice", &identity, &factor).await;
    let listed = sim.phone(&format!("challenges?identity={identity}")).await;
    assert_eq!(listed[0]["sid"], sid.as_str());
    assert_eq!(listed[0]["status"], "pending");

    let (code, answer) = sim
        .phone_post(&format!("challenges/{sid}/approve"), &[])
        .await;
    assert_eq!(code, 200, "{answer}");
    // The phone answers once the webhook was delivered: the application
    // has recorded it already.
    assert_eq!(answer["webhooks"][0]["status"], 200, "{answer}");
    assert_eq!(status(&sim, &sid).await, ApprovalStatus::Approved);
    let polled = sim
        .client
        .service(&sim.service)
        .challenges(&identity)
        .fetch(&sid.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(polled.status, ChallengeStatus::Approved);
    // Answered once only.
    let (code, _) = sim.phone_post(&format!("challenges/{sid}/deny"), &[]).await;
    assert_eq!(code, 409);
}

#[tokio::test]
async fn a_denial_is_recorded_and_a_late_answer_is_refused() {
    let sim = Sim::new().await;
    let (identity, factor) = push_factor(&sim, "bob").await;
    let sid = challenge(&sim, "bob", &identity, &factor).await;
    let (code, answer) = sim.phone_post(&format!("challenges/{sid}/deny"), &[]).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(status(&sim, &sid).await, ApprovalStatus::Denied);

    let late = challenge(&sim, "bob", &identity, &factor).await;
    sim.advance(301);
    let (code, _) = sim
        .phone_post(&format!("challenges/{late}/approve"), &[])
        .await;
    assert_eq!(code, 409);
    assert_eq!(status(&sim, &late).await, ApprovalStatus::Pending);
}

#[tokio::test]
async fn another_users_factor_cannot_answer_for_alice() {
    let sim = Sim::new().await;
    let (alice, alice_factor) = push_factor(&sim, "alice").await;
    let sid = challenge(&sim, "alice", &alice, &alice_factor).await;
    // Mallory's own factor and challenge, filed (wrongly) under Alice's
    // request: the webhook sees Mallory's factor and refuses.
    let (mallory, mallory_factor) = push_factor(&sim, "mallory").await;
    let created = sim
        .client
        .service(&sim.service)
        .challenges(&mallory)
        .create(&NewChallenge::push(mallory_factor, "Hi"))
        .await
        .unwrap();
    let record = ApprovalRecord::pending(
        created.sid.as_str(),
        UserId::new("alice"),
        "binding",
        SystemTime::now(),
        Some(std::time::Duration::from_secs(300)),
    );
    sim.store.insert_approval(&record).await.unwrap();
    let (code, answer) = sim
        .phone_post(&format!("challenges/{}/approve", created.sid), &[])
        .await;
    assert_eq!(code, 200);
    assert_eq!(answer["webhooks"][0]["status"], 403, "{answer}");
    assert_eq!(
        status(&sim, created.sid.as_str()).await,
        ApprovalStatus::Pending
    );
    assert_eq!(status(&sim, &sid).await, ApprovalStatus::Pending);
}

#[tokio::test]
async fn webhooks_and_access_tokens_are_managed_through_the_api() {
    let sim = Sim::new().await;
    let service = sim.client.service(&sim.service);
    let before = service.webhooks().list().await.unwrap();
    assert_eq!(before.len(), 1, "the simulator's own");
    let made = service
        .webhooks()
        .create(&NewWebhook::challenges(
            "app",
            "https://app.example.com/2fa/verify/callback",
        ))
        .await
        .unwrap();
    assert_eq!(made.event_types, ["challenge.approved", "challenge.denied"]);
    assert_eq!(made.webhook_method, "POST");
    assert_eq!(service.webhooks().list().await.unwrap().len(), 2);
    service.webhooks().delete(&made.sid).await.unwrap();
    assert_eq!(service.webhooks().list().await.unwrap().len(), 1);

    let identity = Identity::for_user("carol");
    let token = service
        .access_tokens()
        .create(&identity, "Carol's phone", 120)
        .await
        .unwrap();
    assert_eq!(token.entity_identity, identity);
    assert!(!format!("{token:?}").contains(&token.token));
    // A device registers with the token, as Twilio's SDK does.
    let device = reqwest::Client::new()
        .post(format!(
            "{}/v2/Services/{}/Entities/{identity}/Factors",
            sim.base, sim.service
        ))
        .basic_auth("token", Some(&token.token))
        .form(&[("FriendlyName", "Carol's phone"), ("FactorType", "push")])
        .send()
        .await
        .unwrap();
    assert_eq!(device.status(), 201);
    let listed = service.factors(&identity).list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, FactorStatus::Unverified);
}

#[tokio::test]
async fn the_phone_page_shows_pushes_and_codes_and_its_forms_answer() {
    let sim = Sim::new().await;
    let (identity, factor) = push_factor(&sim, "dave").await;
    let sid = challenge(&sim, "dave", &identity, &factor).await;
    sim.client
        .service(&sim.service)
        .verifications()
        .start(&tower_authy::verify::StartVerification::new(
            "+15017122669",
            tower_authy::verify::Channel::Sms,
        ))
        .await
        .unwrap();
    let code = sim.codes("+15017122669").await.pop().unwrap();
    let page = reqwest::get(format!("{}/phone", sim.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign in to Sim Test?"), "{page}");
    assert!(
        page.contains(&format!("/api/verify/challenges/{sid}/approve\"")),
        "{page}"
    );
    assert!(page.contains(&code));
    // The page's form, as a browser without JavaScript posts it.
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!(
            "{}/phone/api/verify/challenges/{sid}/approve",
            sim.base
        ))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/verify/phone");
    assert_eq!(status(&sim, &sid).await, ApprovalStatus::Approved);
    let page = reqwest::get(format!("{}/phone", sim.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("No pending push."), "{page}");
}
