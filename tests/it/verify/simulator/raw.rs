//! The simulator's refusals, over plain HTTP (the client refuses most bad
//! inputs before sending them), and its paging.

use serde_json::Value;
use tower_authy::verify::NewService;

use super::{ACCOUNT, Sim, TOKEN};

async fn post(sim: &Sim, path: &str, form: &[(&str, &str)], auth: (&str, &str)) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .post(format!("{}/v2{path}", sim.base))
        .basic_auth(auth.0, Some(auth.1))
        .form(form)
        .send()
        .await
        .unwrap();
    (
        answer.status().as_u16(),
        answer.json().await.unwrap_or(Value::Null),
    )
}

async fn get(url: &str) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .get(url)
        .basic_auth(ACCOUNT, Some(TOKEN))
        .send()
        .await
        .unwrap();
    (
        answer.status().as_u16(),
        answer.json().await.unwrap_or(Value::Null),
    )
}

fn error(answer: &(u16, Value)) -> (u16, u64) {
    (answer.0, answer.1["code"].as_u64().unwrap_or(0))
}

#[tokio::test]
async fn bad_parameters_get_twilios_codes_and_change_nothing() {
    let sim = Sim::new().await;
    let me = (ACCOUNT, TOKEN);
    let verifications = format!("/Services/{}/Verifications", sim.service);
    for form in [
        vec![("To", "5017122661"), ("Channel", "sms")],
        vec![("To", "+15017122661"), ("Channel", "pigeon")],
        vec![("To", "+15017122661")],
        vec![("To", "not-an-email"), ("Channel", "email")],
    ] {
        let answer = post(&sim, &verifications, &form, me).await;
        assert_eq!(error(&answer), (400, 60200), "{form:?}: {answer:?}");
        assert!(
            answer.1["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid parameter: ")
        );
        assert_eq!(
            answer.1["more_info"],
            "https://www.twilio.com/docs/errors/60200"
        );
    }
    let locale = post(
        &sim,
        &verifications,
        &[("To", "+15017122661"), ("Channel", "sms"), ("Locale", "xx")],
        me,
    )
    .await;
    assert_eq!(error(&locale), (404, 20404));
    assert!(
        sim.codes("+15017122661").await.is_empty(),
        "nothing was sent"
    );

    let check = format!("/Services/{}/VerificationCheck", sim.service);
    let short = post(&sim, &check, &[("To", "+15017122661"), ("Code", "12")], me).await;
    assert_eq!(error(&short), (400, 60200));
    let none = post(
        &sim,
        &check,
        &[("To", "+15017122661"), ("Code", "123456")],
        me,
    )
    .await;
    assert_eq!(error(&none), (404, 20404));

    let unauthenticated = post(&sim, &verifications, &[], (ACCOUNT, "wrong")).await;
    assert_eq!(error(&unauthenticated), (401, 20003));
    let unknown = post(
        &sim,
        "/Services/VA99999999999999999999999999999999/Verifications",
        &[("To", "+15017122661"), ("Channel", "sms")],
        me,
    )
    .await;
    assert_eq!(error(&unknown), (404, 20404));

    let entities = format!("/Services/{}/Entities", sim.service);
    let identity = post(&sim, &entities, &[("Identity", "short")], me).await;
    assert_eq!(error(&identity), (400, 60306));
    let webhooks = format!("/Services/{}/Webhooks", sim.service);
    let events = post(
        &sim,
        &webhooks,
        &[
            ("FriendlyName", "x"),
            ("EventTypes", "challenge.expired"),
            ("WebhookUrl", "https://app.example.com/hook"),
        ],
        me,
    )
    .await;
    assert_eq!(error(&events), (400, 60306));
    let factor_type = post(
        &sim,
        &format!("{entities}/0123456789abcdef/Factors"),
        &[("FriendlyName", "x"), ("FactorType", "sms")],
        me,
    )
    .await;
    assert_eq!(factor_type.0, 400);
    let (status, body) = get(&format!("{}/v2/Nowhere", sim.base)).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(20404)));
}

#[tokio::test]
async fn lists_are_paged_and_the_client_follows_the_pages() {
    let sim = Sim::new().await;
    for name in ["Second", "Third", "Fourth"] {
        sim.client
            .services()
            .create(&NewService::new(name))
            .await
            .unwrap();
    }
    let (status, first) = get(&format!("{}/v2/Services?PageSize=2", sim.base)).await;
    assert_eq!(status, 200);
    assert_eq!(first["services"].as_array().unwrap().len(), 2);
    assert_eq!(first["meta"]["key"], "services");
    let next = first["meta"]["next_page_url"].as_str().unwrap().to_owned();
    let (_, second) = get(&next).await;
    assert_eq!(second["services"].as_array().unwrap().len(), 2);
    assert!(second["meta"]["next_page_url"].is_null());
    let all = sim.client.services().list().await.unwrap();
    assert_eq!(all.len(), 4);
    let sid = all[3].sid.clone();
    sim.client.services().delete(&sid).await.unwrap();
    assert!(
        sim.client
            .services()
            .fetch(&sid)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let bad = get(&format!("{}/v2/Services?PageSize=0", sim.base)).await;
    assert_eq!(bad.0, 400);
}
