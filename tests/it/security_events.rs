//! The security events an application hears (`with_security_events`), each
//! once, after the change it reports: a factor added and removed, 2FA
//! turned off, backup codes used and renewed, a lockout.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tower_authy::config::Policy;
use tower_authy::events::SecurityEvent;
use tower_authy::store::{FactorKind, UserId};

use crate::app::TestApp;
use crate::common::{SECRET_KEY, app_code, now};

type Heard = Arc<Mutex<Vec<SecurityEvent>>>;

async fn app() -> (TestApp, Heard) {
    let heard: Heard = Arc::default();
    let log = heard.clone();
    let app = TestApp::start_with(Policy::default(), move |builder| {
        builder
            .with_secret_key(SECRET_KEY)
            .with_authenticator_apps()
            .with_backup_codes()
            .with_security_events(move |event: &SecurityEvent| {
                log.lock().unwrap().push(event.clone());
            })
    })
    .await;
    (app, heard)
}

fn taken(heard: &Heard) -> Vec<SecurityEvent> {
    std::mem::take(&mut *heard.lock().unwrap())
}

async fn post(app: &TestApp, http: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    let answer = app.post_json(http, path, body).await;
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_is_heard_once() {
    let (app, heard) = app().await;
    let user = UserId::new("ned");
    let (api, secret, id, answer) = app.add_authenticator_app("ned").await;
    assert_eq!(
        taken(&heard),
        [SecurityEvent::FactorAdded {
            user: user.clone(),
            kind: FactorKind::Totp,
            label: "Authenticator app".into(),
        }]
    );
    let backup = answer["backup_codes"][0].as_str().unwrap().to_owned();

    let (status, body) = post(&app, &api, "/2fa/backup-codes", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        taken(&heard),
        [SecurityEvent::BackupCodesRenewed { user: user.clone() }]
    );
    let renewed = body["codes"][0].as_str().unwrap_or(&backup).to_owned();

    // A backup code used at the next sign-in.
    let next = app.api();
    app.sign_in(&next, "ned").await;
    let (status, body) = post(&app, &next, "/2fa/backup", json!({"code": renewed})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        taken(&heard),
        [SecurityEvent::BackupCodeUsed {
            user: user.clone(),
            left: 9,
        }]
    );

    // Removing the last factor turns two-factor sign-in off.
    let code = app_code(&secret, now() + 30);
    let (status, body) = post(
        &app,
        &next,
        &format!("/2fa/factors/{id}/remove"),
        json!({"confirm": true, "token": code}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        taken(&heard),
        [
            SecurityEvent::FactorRemoved {
                user: user.clone(),
                kind: FactorKind::Totp,
                label: "Authenticator app".into(),
            },
            SecurityEvent::TwoFactorOff { user: user.clone() },
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_is_heard_when_it_starts() {
    let (app, heard) = app().await;
    app.add_authenticator_app("ola").await;
    taken(&heard);
    let api = app.api();
    app.sign_in(&api, "ola").await;
    for _ in 0..7 {
        post(&app, &api, "/2fa/token", json!({"token": "000000"})).await;
    }
    let events = taken(&heard);
    assert_eq!(events.len(), 1, "once, when it starts: {events:?}");
    assert!(
        matches!(&events[0], SecurityEvent::LockedOut { user, .. } if user.as_str() == "ola"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_by_wrong_backup_codes_is_heard_too() {
    let (app, heard) = app().await;
    app.add_authenticator_app("pia").await;
    taken(&heard);
    let api = app.api();
    app.sign_in(&api, "pia").await;
    let mut last = Value::Null;
    for _ in 0..7 {
        let (_, body) = post(&app, &api, "/2fa/backup", json!({"code": "zzzz-zzzz-zzzz"})).await;
        last = body;
    }
    assert_eq!(last["error"], "locked_out", "{last}");
    let events = taken(&heard);
    assert_eq!(events.len(), 1, "once, when it starts: {events:?}");
    assert!(
        matches!(&events[0], SecurityEvent::LockedOut { user, .. } if user.as_str() == "pia"),
        "{events:?}"
    );
}
