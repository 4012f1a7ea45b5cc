//! OneTouch approval requests on the simulator: creation in every encoding,
//! the documented shape, expiry by the simulator clock, and the errors.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{KEY, Sim, assert_error};

async fn requests_of(s: &Sim, id: u64) -> Vec<Value> {
    let (status, body) = s
        .phone(&format!("phone/api/users/{id}/approval_requests"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

async fn fetch(s: &Sim, uuid: &str) -> Value {
    let (status, body) = s
        .get(&format!("onetouch/json/approval_requests/{uuid}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    body["approval_request"].clone()
}

fn is_iso8601(text: &str) -> bool {
    // 2017-02-10T01:09:52Z
    let b = text.as_bytes();
    b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
}

#[tokio::test]
async fn simulator_onetouch_requests_in_every_encoding() {
    let s = Sim::start().await;
    let id = s.register("one@example.com", "987-654-3210", "1").await;
    let path = format!("onetouch/json/users/{id}/approval_requests");

    // Form body with bracket keys (Ruby, Go).
    let (status, body) = s
        .post_form(
            &path,
            &[
                ("message", "Login requested"),
                ("details[Account Number]", "981266321"),
                ("hidden_details[ip]", "10.0.0.7"),
                ("logos[][res]", "default"),
                ("logos[][url]", "https://example.com/d.png"),
                ("seconds_to_expire", "120"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let form_uuid = body["approval_request"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(body["success"], true);

    // Python: JSON with null seconds_to_expire, empty details and logos.
    let (status, body) = s
        .post_json(
            &path,
            json!({"message": "Python", "details": {}, "hidden_details": {}, "logos": [], "seconds_to_expire": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let python_uuid = body["approval_request"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();

    // PHP: everything in the query of a POST, logos with indices.
    let response = s
        .http
        .post(s.url(&path))
        .query(&[
            ("api_key", KEY),
            ("message", "PHP"),
            ("details[Who]", "php"),
            ("logos[0][res]", "low"),
            ("logos[0][url]", "https://example.com/l.png"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = Sim::read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let listed = requests_of(&s, id).await;
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["uuid"], form_uuid.as_str());
    assert_eq!(listed[0]["status"], "pending");
    assert_eq!(listed[0]["message"], "Login requested");
    assert_eq!(listed[0]["details"], json!({"Account Number": "981266321"}));
    assert_eq!(listed[1]["details"], Value::Null);
    assert_eq!(listed[2]["details"], json!({"Who": "php"}));

    let got = fetch(&s, &python_uuid).await;
    let mut keys: Vec<&str> = got
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "_app_name",
            "_app_serial_id",
            "_authy_id",
            "_id",
            "_user_email",
            "app_id",
            "created_at",
            "notified",
            "processed_at",
            "seconds_to_expire",
            "status",
            "updated_at",
            "user_id",
            "uuid"
        ]
    );
    assert_eq!(got["_app_name"], "Simulated App");
    assert!(got["_app_serial_id"].is_u64());
    assert_eq!(got["_authy_id"], id);
    assert_eq!(got["_user_email"], "one@example.com");
    assert!(is_iso8601(got["created_at"].as_str().unwrap()), "{got}");
    assert!(is_iso8601(got["updated_at"].as_str().unwrap()), "{got}");
    assert_eq!(got["notified"], false);
    assert_eq!(got["processed_at"], Value::Null);
    assert_eq!(got["seconds_to_expire"], 86_400);
    assert_eq!(got["status"], "pending");
    assert_eq!(got["uuid"], python_uuid.as_str());
    assert_eq!(fetch(&s, &form_uuid).await["seconds_to_expire"], 120);
}

#[tokio::test]
async fn simulator_onetouch_requests_expire_by_the_simulator_clock() {
    let s = Sim::start().await;
    let id = s.register("one@example.com", "987-654-3210", "1").await;
    let path = format!("onetouch/json/users/{id}/approval_requests");
    let (_, body) = s
        .post_json(&path, json!({"message": "short", "seconds_to_expire": 60}))
        .await;
    let short = body["approval_request"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, body) = s
        .post_json(&path, json!({"message": "forever", "seconds_to_expire": 0}))
        .await;
    let forever = body["approval_request"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let default = s.approval(id, "a day").await;

    s.sim.advance_clock(Duration::from_secs(59));
    assert_eq!(fetch(&s, &short).await["status"], "pending");
    s.sim.advance_clock(Duration::from_secs(2));
    let got = fetch(&s, &short).await;
    assert_eq!(got["status"], "expired");
    assert!(is_iso8601(got["processed_at"].as_str().unwrap()), "{got}");
    assert_eq!(fetch(&s, &default).await["status"], "pending");

    s.sim.advance_clock(Duration::from_secs(86_400));
    assert_eq!(fetch(&s, &default).await["status"], "expired");
    s.sim.advance_clock(Duration::from_secs(365 * 86_400));
    assert_eq!(fetch(&s, &forever).await["status"], "pending");
}

#[tokio::test]
async fn simulator_onetouch_errors_change_nothing() {
    let s = Sim::start().await;
    let id = s.register("one@example.com", "987-654-3210", "1").await;
    let path = format!("onetouch/json/users/{id}/approval_requests");

    let got = s.post_json(&path, json!({"details": {"a": "b"}})).await;
    assert_error(
        &got,
        400,
        "60004",
        "Invalid parameter: message - Parameter is required",
    );
    let got = s
        .post_json(&path, json!({"message": "m", "seconds_to_expire": "soon"}))
        .await;
    assert_eq!(got.1["error_code"], "60004");
    assert!(requests_of(&s, id).await.is_empty());

    let unknown = "8d031630-d15b-0134-b0a8-0a77bbe8093e";
    let (status, body) = s
        .get(&format!("onetouch/json/approval_requests/{unknown}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"message": format!("Approval request not found: {unknown}"),
               "success": false, "errors": {}, "error_code": "60049"})
    );

    // Without the virtual app there is no device to push to.
    s.set_app(id, false).await;
    let got = s.post_json(&path, json!({"message": "m"})).await;
    assert_eq!(got.0, StatusCode::FORBIDDEN);
    assert_eq!(got.1["error_code"], "60050");
    assert_eq!(got.1["success"], false);
    assert!(requests_of(&s, id).await.is_empty());
}
