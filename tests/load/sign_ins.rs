//! The scenario, the same on every store.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower_authy::config::Policy;
use tower_authy::store::{AttemptKey, AttemptKind, AuthyStore, FactorState, UserId};

use crate::app::TestApp;

/// Sign-ins at once.
const USERS: usize = 1000;
/// Longer than any sign-in may take: a waiter still waiting then hangs.
const NO_HANG: Duration = Duration::from_secs(120);
/// Requests in flight to set up users and to play the phones and the
/// provider's callbacks.
const PARALLEL: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Approve,
    Deny,
    Code,
    WrongCodeFirst,
}

impl Plan {
    fn of(index: usize) -> Self {
        [Self::Approve, Self::Deny, Self::Code, Self::WrongCodeFirst][index % 4]
    }

    fn pushes(self) -> bool {
        matches!(self, Self::Approve | Self::Deny)
    }
}

/// What one user's sign-in ended in.
#[derive(Debug)]
struct Outcome {
    user: String,
    plan: Plan,
    /// The challenge's final answer (`complete`, `denied`).
    status: String,
    /// How it passed, when it did.
    method: Option<String>,
    /// `/api/me` afterwards: 200 with this user, or 401.
    me: (u16, Value),
    /// The wrong-code count right after the wrong code.
    failures_after_wrong_code: Option<u32>,
}

/// The scenario on `store`; with `two_instances`, the browsers use one
/// instance of the app and the provider's callbacks reach the other.
pub async fn run<S: AuthyStore + tower_authy::store::AdminStore + 'static>(
    name: &str,
    store: Arc<S>,
    two_instances: bool,
) {
    let policy = Policy::builder()
        // Lockouts and send limits well above one sign-in's use, so the
        // counters are read, not hit.
        .with_lockout(5, Duration::from_secs(600), Duration::from_secs(600))
        .build()
        .unwrap();
    let hooks = Arc::new(TestApp::start_on(policy.clone(), store.clone()).await);
    hooks.held.hold();
    let app = if two_instances {
        Arc::new(TestApp::start_beside(&hooks, policy, store).await)
    } else {
        hooks.clone()
    };

    // Every user registered with the provider, with an active phone.
    let authy_ids: Vec<u64> = futures_util::stream::iter(0..USERS)
        .map(|index| {
            let app = app.clone();
            async move {
                app.enroll(&format!("user{index}"), FactorState::Active)
                    .await
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await;

    // The phones: each push is answered once every push has been made, in
    // a shuffled order.
    let pushes = (0..USERS).filter(|i| Plan::of(*i).pushes()).count();
    let (pushed, mut on_phones) = mpsc::unbounded_channel::<(String, Plan)>();
    let phones = {
        let app = hooks.clone();
        tokio::spawn(async move {
            let mut requests = Vec::with_capacity(pushes);
            while requests.len() < pushes {
                requests.push(on_phones.recv().await.expect("every push reaches a phone"));
            }
            requests.shuffle(&mut rand::rng());
            futures_util::stream::iter(requests)
                .for_each_concurrent(PARALLEL, |(uuid, plan)| {
                    let app = app.clone();
                    async move {
                        let verb = if plan == Plan::Approve {
                            "approve"
                        } else {
                            "deny"
                        };
                        app.answer(&uuid, verb).await;
                    }
                })
                .await;
            // The provider's callbacks, held back so far: out of order,
            // a fifth of them twice.
            let mut callbacks = app.held.taken();
            assert_eq!(callbacks.len(), pushes, "one callback per answered push");
            let twice: Vec<_> = callbacks.iter().step_by(5).cloned().collect();
            callbacks.extend(twice);
            callbacks.shuffle(&mut rand::rng());
            let statuses: Vec<u16> = futures_util::stream::iter(callbacks)
                .map(|callback| {
                    let app = app.clone();
                    async move { app.deliver(&callback).await }
                })
                .buffer_unordered(PARALLEL)
                .collect()
                .await;
            statuses
        })
    };

    let sign_ins: Vec<_> = authy_ids
        .iter()
        .enumerate()
        .map(|(index, authy_id)| {
            let (app, pushed, authy_id) = (app.clone(), pushed.clone(), *authy_id);
            tokio::spawn(async move {
                tokio::time::timeout(NO_HANG, sign_in(&app, index, authy_id, pushed))
                    .await
                    .unwrap_or_else(|_| panic!("user{index}'s sign-in hung"))
            })
        })
        .collect();
    drop(pushed);
    let mut outcomes = Vec::with_capacity(USERS);
    for task in sign_ins {
        outcomes.push(task.await.expect("a sign-in"));
    }
    let deliveries = phones.await.expect("the phones");

    let mut wrong = Vec::new();
    for outcome in &outcomes {
        let user = outcome.user.as_str();
        let expected = match outcome.plan {
            Plan::Approve => ("complete", Some("one_touch")),
            Plan::Deny => ("denied", None),
            Plan::Code | Plan::WrongCodeFirst => ("complete", Some("code")),
        };
        let passed = expected.0 == "complete";
        let me_ok = if passed {
            outcome.me.0 == 200 && outcome.me.1["user"] == user
        } else {
            outcome.me.0 == 401
        };
        let counted =
            outcome.plan != Plan::WrongCodeFirst || outcome.failures_after_wrong_code == Some(1);
        if (outcome.status.as_str(), outcome.method.as_deref()) != expected || !me_ok || !counted {
            wrong.push(format!("{outcome:?}"));
        }
    }
    // Every send counted, once: one push or one SMS per user.
    for (index, _) in authy_ids.iter().enumerate() {
        let user = UserId::new(format!("user{index}"));
        let sends = app
            .store
            .attempt_state(
                &AttemptKey::user(AttemptKind::Send, &user),
                std::time::SystemTime::now(),
            )
            .await
            .unwrap();
        if sends.failures != 1 {
            wrong.push(format!("{user}: {} sends counted, 1 made", sends.failures));
        }
    }
    // Every delivery, first or repeated, is answered 200: a repeat is
    // recorded once and changes nothing.
    let refused = deliveries.iter().filter(|s| **s != 200).count();
    assert_eq!(refused, 0, "{name}: callbacks refused: {deliveries:?}");
    println!(
        "{name}: {USERS} sign-ins ({pushes} pushes, {} callbacks delivered, {refused} refused), {} wrong",
        deliveries.len(),
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{name}: {} sign-ins went wrong, first: {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

async fn sign_in(
    app: &TestApp,
    index: usize,
    authy_id: u64,
    pushed: mpsc::UnboundedSender<(String, Plan)>,
) -> Outcome {
    let plan = Plan::of(index);
    let user = format!("user{index}");
    let api = app.api();
    app.sign_in(&api, &user).await;
    let mut failures_after_wrong_code = None;
    let answer: Value = if plan.pushes() {
        let sent: Value = app
            .post_json(&api, "/2fa/onetouch", json!({}))
            .await
            .json()
            .await
            .unwrap();
        let uuid = sent["uuid"]
            .as_str()
            .unwrap_or_else(|| panic!("{user}: {sent}"));
        pushed.send((uuid.to_owned(), plan)).unwrap();
        drop(pushed);
        loop {
            let status = app.get_json(&api, "/2fa/status?wait=25").await;
            if status["status"] != "pending" {
                break status;
            }
        }
    } else {
        drop(pushed);
        let sent = app.post_json(&api, "/2fa/sms", json!({})).await;
        assert_eq!(sent.status(), 200, "{user}: SMS");
        let code = app.last_code(authy_id).await;
        if plan == Plan::WrongCodeFirst {
            let wrong = if code == "0000000" {
                "1111111"
            } else {
                "0000000"
            };
            let refused = app
                .post_json(&api, "/2fa/token", json!({"token": wrong}))
                .await;
            assert_ne!(refused.status(), 200, "{user}: a wrong code");
            let counted = app
                .store
                .attempt_state(
                    &AttemptKey::user(AttemptKind::Code, &UserId::new(user.as_str())),
                    std::time::SystemTime::now(),
                )
                .await
                .unwrap();
            failures_after_wrong_code = Some(counted.failures);
        }
        app.post_json(&api, "/2fa/token", json!({"token": code}))
            .await
            .json()
            .await
            .unwrap()
    };
    let me = app.get(&api, "/api/me").await;
    let me = (me.status().as_u16(), me.json().await.unwrap_or(Value::Null));
    Outcome {
        user,
        plan,
        status: answer["status"].as_str().unwrap_or("?").to_owned(),
        method: answer["method"].as_str().map(str::to_owned),
        me,
        failures_after_wrong_code,
    }
}
