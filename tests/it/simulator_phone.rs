//! The simulator's virtual phone: the JSON control API, signed OneTouch
//! callbacks delivered to a test receiver (POST and GET), and the HTML page.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::any;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower_authy::Secret;
use tower_authy::simulator::{CallbackMethod, Simulator};
use tower_authy::webhook::signature;

use crate::common;
use crate::simulator_api::{KEY, Sim};

/// One request the callback receiver got.
#[derive(Debug)]
struct Received {
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
}

type Inbox = mpsc::UnboundedReceiver<Received>;

async fn record(
    State(tx): State<mpsc::UnboundedSender<Received>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> &'static str {
    // The simulator waits for this answer, so the request is in the inbox
    // before its approve/deny call returns.
    let _ = tx.send(Received {
        method,
        headers,
        uri,
        body,
    });
    "ok"
}

/// A callback receiver on a fresh port: its URL and its inbox.
async fn receiver() -> (String, Inbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let addr = common::serve(
        Router::new()
            .route("/authy/callback", any(record))
            .with_state(tx),
    )
    .await;
    (format!("http://{addr}/authy/callback"), rx)
}

async fn post_control(s: &Sim, path: &str) -> (StatusCode, Value) {
    Sim::read(s.http.post(s.url(path)).send().await.unwrap()).await
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers.get(name).unwrap().to_str().unwrap()
}

#[tokio::test]
async fn simulator_phone_lists_and_filters_users() {
    let s = Sim::start().await;
    let a = s.register("a@example.com", "987-654-3210", "1").await;
    let b = s.register("b@example.com", "300 123 4512", "57").await;
    let (_, all) = s.phone("phone/api/users").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (_, only_b) = s
        .phone("phone/api/users?country_code=57&phone_number=300-123-4512")
        .await;
    assert_eq!(
        only_b,
        json!([{"authy_id": b, "email": "b@example.com", "country_code": 57,
                "phone_number": "3001234512", "app_installed": true}])
    );
    let (_, only_a) = s.phone("phone/api/users?phone_number=9876543210").await;
    assert_eq!(only_a[0]["authy_id"], a);
    let (_, none) = s.phone("phone/api/users?country_code=44").await;
    assert_eq!(none, json!([]));

    let (status, body) = s.phone("phone/api/users/999/messages").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
    let (_, empty) = s.phone("phone/api/phones/1/9876543210/messages").await;
    assert_eq!(empty, json!([]));
}

#[tokio::test]
async fn simulator_phone_toggles_the_app_and_shows_its_token() {
    let s = Sim::start_with(Simulator::builder().with_app_installed_by_default(false)).await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    assert_eq!(s.users().await[0]["app_installed"], false);
    let (status, body) = s.phone(&format!("phone/api/users/{id}/token")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["error"].is_string());
    // No app: SMS is delivered unforced, and OneTouch is refused.
    let (_, body) = s.get(&format!("protected/json/sms/{id}")).await;
    assert_eq!(body["message"], "SMS token was sent");

    s.set_app(id, true).await;
    assert_eq!(s.users().await[0]["app_installed"], true);
    let token = s.soft_token(id).await;
    assert_eq!(token.len(), 7);
    let (_, body) = s.get(&format!("protected/json/sms/{id}")).await;
    assert_eq!(body["ignored"], true);
    let (_, status) = s.get(&format!("protected/json/users/{id}/status")).await;
    assert_eq!(status["status"]["registered"], true);

    s.set_app(id, false).await;
    let (_, status) = s.get(&format!("protected/json/users/{id}/status")).await;
    assert_eq!(status["status"]["registered"], false);
    assert_eq!(status["status"]["devices"], json!([]));
    let (status, _) = post_control(&s, "phone/api/users/999/app").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn simulator_phone_approve_delivers_a_signed_post_callback() {
    let (url, mut inbox) = receiver().await;
    let s = Sim::start_with(Simulator::builder().with_callback(url.clone(), CallbackMethod::Post))
        .await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    let path = format!("onetouch/json/users/{id}/approval_requests");
    let (_, body) = s
        .post_json(
            &path,
            json!({"message": "Log in?", "details": {"Location": "earth"},
                   "hidden_details": {"txn": "TR-1"},
                   "logos": [{"res": "default", "url": "https://example.com/d.png"}]}),
        )
        .await;
    let uuid = body["approval_request"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, answer) =
        post_control(&s, &format!("phone/api/approval_requests/{uuid}/approve")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"uuid": uuid, "status": "approved",
               "callback": {"url": url, "method": "POST", "status": 200}})
    );

    let got = inbox
        .try_recv()
        .expect("the callback arrived before the answer");
    assert_eq!(got.method, Method::POST);
    assert!(header(&got, "content-type").starts_with("application/json"));
    let payload: Value = serde_json::from_slice(&got.body).unwrap();
    let nonce = header(&got, "X-Authy-Signature-Nonce");
    assert!(nonce.parse::<u64>().is_ok(), "{nonce}");
    let signed = header(&got, "X-Authy-Signature");
    let key = Secret::new(KEY);
    assert_eq!(
        signature::verify(&key, nonce, "POST", &url, &payload, signed),
        Ok(())
    );
    assert!(
        signature::verify(&Secret::new("other"), nonce, "POST", &url, &payload, signed).is_err()
    );

    assert_eq!(payload["status"], "approved");
    assert_eq!(payload["uuid"], uuid.as_str());
    assert_eq!(payload["authy_id"], id);
    assert_eq!(payload["callback_action"], "approval_request_status");
    let transaction = &payload["approval_request"]["transaction"];
    assert_eq!(transaction["message"], "Log in?");
    assert_eq!(transaction["details"], json!({"Location": "earth"}));
    assert_eq!(transaction["hidden_details"], json!({"txn": "TR-1"}));
    assert_eq!(transaction["status"], "approved");
    assert_eq!(
        payload["approval_request"]["logos"],
        json!([{"res": "default", "url": "https://example.com/d.png"}])
    );
    assert!(payload["device"]["id"].is_u64());

    // The API sees the decision; a second decision is refused.
    let (_, body) = s
        .get(&format!("onetouch/json/approval_requests/{uuid}"))
        .await;
    assert_eq!(body["approval_request"]["status"], "approved");
    assert_eq!(body["approval_request"]["notified"], true);
    assert!(body["approval_request"]["processed_at"].is_string());
    for action in ["approve", "deny"] {
        let (status, body) =
            post_control(&s, &format!("phone/api/approval_requests/{uuid}/{action}")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["status"], "approved");
        assert!(body["error"].as_str().unwrap().contains("not pending"));
    }
    assert!(inbox.try_recv().is_err(), "no second callback");
    let (_, listed) = s
        .phone(&format!("phone/api/users/{id}/approval_requests"))
        .await;
    assert_eq!(listed[0]["status"], "approved");
}

#[tokio::test]
async fn simulator_phone_deny_delivers_a_signed_get_callback() {
    let (url, mut inbox) = receiver().await;
    let s =
        Sim::start_with(Simulator::builder().with_callback(url.clone(), CallbackMethod::Get)).await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    let path = format!("onetouch/json/users/{id}/approval_requests");
    let (_, body) = s
        .post_form(
            &path,
            &[
                ("message", "Approve transfer?"),
                ("details[amount]", "10 BTC"),
                ("details[username]", "Bill Smith"),
            ],
        )
        .await;
    let uuid = body["approval_request"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, answer) =
        post_control(&s, &format!("phone/api/approval_requests/{uuid}/deny")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "denied");
    assert_eq!(answer["callback"]["method"], "GET");
    assert_eq!(answer["callback"]["status"], 200);

    let got = inbox
        .try_recv()
        .expect("the callback arrived before the answer");
    assert_eq!(got.method, Method::GET);
    assert!(got.body.is_empty());
    let query = got.uri.query().unwrap();
    let params = signature::params_from_query(query).unwrap();
    // Authy's GET query is already in canonical order.
    assert_eq!(signature::canonical_params(&params).unwrap(), query);
    let nonce = header(&got, "X-Authy-Signature-Nonce");
    let signed = header(&got, "X-Authy-Signature");
    assert_eq!(
        signature::verify(&Secret::new(KEY), nonce, "GET", &url, &params, signed),
        Ok(())
    );
    assert_eq!(params["status"], "denied");
    assert_eq!(params["uuid"], uuid.as_str());
    assert_eq!(
        params["approval_request"]["transaction"]["details"]["amount"],
        "10 BTC"
    );

    let (_, body) = s
        .get(&format!("onetouch/json/approval_requests/{uuid}"))
        .await;
    assert_eq!(body["approval_request"]["status"], "denied");
    let (status, _) =
        post_control(&s, &format!("phone/api/approval_requests/{uuid}/approve")).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn simulator_phone_reports_callback_failures_and_missing_config() {
    // No callback configured: the decision still happens.
    let s = Sim::start().await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    let uuid = s.approval(id, "m").await;
    let (status, body) =
        post_control(&s, &format!("phone/api/approval_requests/{uuid}/approve")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["callback"], Value::Null);

    // A receiver that is gone: the outcome says so.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let url = format!("http://{closed}/cb");
    let s = Sim::start_with(Simulator::builder().with_callback(url.clone(), CallbackMethod::Post))
        .await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    let uuid = s.approval(id, "m").await;
    let (status, body) =
        post_control(&s, &format!("phone/api/approval_requests/{uuid}/approve")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "approved");
    assert_eq!(body["callback"]["url"], url.as_str());
    assert!(body["callback"]["error"].is_string(), "{body}");
    let (_, got) = s
        .get(&format!("onetouch/json/approval_requests/{uuid}"))
        .await;
    assert_eq!(got["approval_request"]["notified"], false);

    // Unknown and expired requests.
    let (status, _) = post_control(&s, "phone/api/approval_requests/nope/approve").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, body) = s
        .post_json(
            &format!("onetouch/json/users/{id}/approval_requests"),
            json!({"message": "quick", "seconds_to_expire": 5}),
        )
        .await;
    let quick = body["approval_request"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    s.sim.advance_clock(std::time::Duration::from_secs(6));
    let (status, body) =
        post_control(&s, &format!("phone/api/approval_requests/{quick}/deny")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["status"], "expired");
}

#[tokio::test]
async fn simulator_phone_page_renders_and_escapes_user_text() {
    let s = Sim::start().await;
    let id = s.register("a<b>@example.com", "987-654-3210", "1").await;
    s.get(&format!("protected/json/sms/{id}?force=true")).await;
    let code = s.messages(id).await[0]["code"].as_str().unwrap().to_owned();
    let (_, body) = s
        .post_json(
            &format!("onetouch/json/users/{id}/approval_requests"),
            json!({"message": "<script>alert(1)</script>", "details": {"Who": "<img src=x>"}}),
        )
        .await;
    let uuid = body["approval_request"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = s.http.get(s.url("phone")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    // Auto-escaping writes `/` as `&#x2f;`, which browsers read back as `/`.
    let links = html.replace("&#x2f;", "/");
    assert!(html.contains(&format!("Authy ID {id}")));
    assert!(html.contains(&code), "the SMS code is shown");
    assert!(links.contains(&format!(
        "/simulator/phone/api/approval_requests/{uuid}/approve"
    )));
    assert!(links.contains(&format!(
        "/simulator/phone/api/approval_requests/{uuid}/deny"
    )));
    assert!(links.contains(&format!("/simulator/phone/api/users/{id}/app")));
    assert!(html.contains("&lt;script&gt;alert(1)"));
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("&lt;img src=x&gt;"));
    assert!(!html.contains("<img src=x>"));
    assert!(html.contains("a&lt;b&gt;@example.com"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing external"
    );

    // Newest code first.
    s.get(&format!("protected/json/call/{id}?force=true")).await;
    let newer = s.messages(id).await[1]["code"].as_str().unwrap().to_owned();
    let html = s
        .http
        .get(s.url("phone"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.find(&newer).unwrap() < html.find(&code).unwrap());
}

#[tokio::test]
async fn simulator_phone_form_posts_come_back_to_the_page() {
    let s = Sim::start().await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    let uuid = s.approval(id, "m").await;
    let browser = |path: String| {
        s.http
            .post(s.url(&path))
            .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .header("content-type", "application/x-www-form-urlencoded")
    };
    let response = browser(format!("phone/api/approval_requests/{uuid}/approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/simulator/phone");
    let (_, listed) = s
        .phone(&format!("phone/api/users/{id}/approval_requests"))
        .await;
    assert_eq!(listed[0]["status"], "approved");

    // The uninstall form: POST with _method=DELETE.
    let response = browser(format!("phone/api/users/{id}/app"))
        .body("_method=DELETE")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.users().await[0]["app_installed"], false);
    let response = browser(format!("phone/api/users/{id}/app"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.users().await[0]["app_installed"], true);
}

#[tokio::test]
async fn simulator_phone_two_racing_approvals_decide_once() {
    let (url, mut inbox) = receiver().await;
    let s = Sim::start_with(Simulator::builder().with_callback(url, CallbackMethod::Post)).await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    let uuid = s.approval(id, "m").await;
    let approve = format!("phone/api/approval_requests/{uuid}/approve");
    let deny = format!("phone/api/approval_requests/{uuid}/deny");
    let (a, b) = tokio::join!(post_control(&s, &approve), post_control(&s, &deny));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    assert!(inbox.try_recv().is_ok());
    assert!(inbox.try_recv().is_err(), "exactly one callback");
}
