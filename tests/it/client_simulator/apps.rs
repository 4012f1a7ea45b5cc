//! Application details and statistics (spec §2.3), and the API key: refused
//! when wrong, never shown in an error.

use tower_authy::authy::{
    ApprovalUuid, AuthyError, AuthyId, NewApprovalRequest, NewUser, PhoneNumber, SendOptions,
};
use tower_authy::simulator::Simulator;

use super::{KEY, World, api_error, assert_no_key};

#[tokio::test]
async fn app_details_describe_the_application() {
    let w = World::start_with(Simulator::builder().with_app_name("Example Shop")).await;
    let app = w.client.apps().details().await.unwrap();
    assert_eq!(app.name, "Example Shop");
    assert!(app.app_id.is_some());
    assert_eq!(app.sms_enabled, Some(true));
    assert_eq!(app.phone_calls_enabled, Some(true));
    assert_eq!(app.onetouch_enabled, Some(true));
}

#[tokio::test]
async fn app_stats_count_users_codes_and_verifications() {
    let w = World::start().await;
    let ada = w.register("ada@example.com", 1, "987-654-3210").await;
    w.register("bob@example.com", 1, "987-654-3211").await;
    let forced = SendOptions::new().force(true);
    w.client.tokens().sms(ada, &forced).await.unwrap();
    w.client.tokens().call(ada, &forced).await.unwrap();
    // Ignored sends are not counted as sent.
    w.client
        .tokens()
        .sms(ada, &SendOptions::new())
        .await
        .unwrap();
    let code = w.last_code(ada, "call").await;
    w.client.tokens().verify(ada, &code, None).await.unwrap();

    let stats = w.client.apps().stats().await.unwrap();
    assert_eq!(stats.total_users, Some(2));
    assert_eq!(stats.count, Some(stats.stats.len() as u64));
    // Summed over months, in case the test runs across a month's end.
    let sum = |f: fn(&tower_authy::authy::MonthlyStats) -> u64| -> u64 {
        stats.stats.iter().map(f).sum()
    };
    assert_eq!(sum(|m| m.users_count), 2);
    assert_eq!(sum(|m| m.sms_count), 1);
    assert_eq!(sum(|m| m.calls_count), 1);
    assert_eq!(sum(|m| m.auths_count), 1);
    // Two registrations, three sends, one verify and this call.
    assert_eq!(sum(|m| m.api_calls_count), 7);
}

#[tokio::test]
async fn a_wrong_api_key_is_refused_by_every_family() {
    let w = World::start().await;
    let id = w.register("ada@example.com", 1, "987-654-3210").await;
    let wrong_key = "0ddba110ddba110ddba110ddba110ddb";
    let client = w.client_with_key(wrong_key);
    let uuid = ApprovalUuid::parse("8d031630-d15b-0134-b0a8-0a77bbe8093e").unwrap();
    let phone = PhoneNumber::new(1, "987-654-3211").unwrap();

    let errors: Vec<AuthyError> = vec![
        client
            .users()
            .register(&NewUser::new("bob@example.com", phone.clone()))
            .await
            .unwrap_err(),
        client.users().status(id).await.unwrap_err(),
        client
            .tokens()
            .sms(id, &SendOptions::new().force(true))
            .await
            .unwrap_err(),
        client
            .onetouch()
            .create(id, &NewApprovalRequest::new("Sign in?"))
            .await
            .unwrap_err(),
        client.onetouch().get(&uuid).await.unwrap_err(),
        client.phones().info(&phone).await.unwrap_err(),
        client.apps().details().await.unwrap_err(),
    ];
    for error in errors {
        assert!(error.is_invalid_api_key(), "{error:?}");
        let error = api_error::<()>(Err(error), 401, "60001");
        assert_eq!(error.message, "Invalid API key");
        let shown = format!("{} | {:?}", error.error, error.error);
        assert!(!shown.contains(wrong_key), "{shown}");
    }
    // Nothing was done with the wrong key.
    assert_eq!(w.user_count().await, 1);
    assert!(w.messages(id).await.is_empty());
}

#[tokio::test]
async fn errors_never_show_the_api_key_even_when_authy_echoes_it() {
    let w = World::start().await;
    // The simulator repeats an unknown uuid in its message; this one is the
    // key (32 hex digits look like a uuid to the client).
    let echo = ApprovalUuid::parse(KEY).unwrap();
    let err = api_error(w.client.onetouch().get(&echo).await, 404, "60049");
    assert_eq!(err.message, "Approval request not found: [redacted]");
    assert_no_key(&err.error);

    let err = api_error(w.client.users().status(AuthyId(42)).await, 404, "60026");
    assert_no_key(&err.error);
    let shown = format!("{:?}", w.client);
    assert!(!shown.contains(KEY), "{shown}");
}
