//! Phone Verification (Verify v1) and Phone Intelligence on the simulator.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{KEY, Sim, assert_error};

async fn number_messages(s: &Sim, cc: &str, phone: &str) -> Vec<Value> {
    let (status, body) = s
        .phone(&format!("phone/api/phones/{cc}/{phone}/messages"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

#[tokio::test]
async fn simulator_phone_verification_resends_the_same_code_and_checks_it() {
    let s = Sim::start().await;
    // Python sends JSON with code_length always set.
    let start =
        json!({"via": "sms", "country_code": 1, "phone_number": "987-654-3210", "code_length": 4});
    let (status, body) = s
        .post_json("protected/json/phones/verification/start", start.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Text message sent to +1 987-654-3210.");
    assert_eq!(body["success"], true);
    assert!(body["carrier"].is_string());
    assert_eq!(body["is_cellphone"], true);
    assert_eq!(body["is_ported"], false);
    let seconds = body["seconds_to_expire"].as_u64().unwrap();
    assert!((590..=600).contains(&seconds), "{seconds}");
    let uuid = body["uuid"].as_str().unwrap().to_owned();

    let messages = number_messages(&s, "1", "9876543210").await;
    assert_eq!(messages.len(), 1);
    let code = messages[0]["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 4);

    // Within ten minutes a new start resends the same code (PHP: query).
    s.sim.advance_clock(Duration::from_secs(120));
    let response = s
        .http
        .post(s.url("protected/json/phones/verification/start"))
        .query(&[
            ("api_key", KEY),
            ("via", "call"),
            ("country_code", "1"),
            ("phone_number", "9876543210"),
            ("code_length", "4"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = Sim::read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Call to +1 987-654-3210 initiated.");
    assert_eq!(body["uuid"], uuid.as_str());
    let messages = number_messages(&s, "1", "987-654-3210").await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["code"], code.as_str());
    assert_eq!(messages[1]["channel"], "call");

    // Status by uuid (form body on a GET, as npm `authy` sends it) and by number.
    let response = s
        .http
        .get(s.url("protected/json/phones/verification/status"))
        .form(&[("api_key", KEY), ("uuid", uuid.as_str())])
        .send()
        .await
        .unwrap();
    let (status, body) = Sim::read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Phone Verification status.");
    assert_eq!(body["status"], "pending");
    let left = body["seconds_to_expire"].as_u64().unwrap();
    assert!((470..=480).contains(&left), "{left}");

    let check = "protected/json/phones/verification/check?country_code=1&phone_number=987-654-3210";
    let wrong = if code == "0000" { "1111" } else { "0000" };
    let got = s.get(&format!("{check}&verification_code={wrong}")).await;
    assert_error(&got, 401, "60022", "Verification code is incorrect");
    let (status, body) = s.get(&format!("{check}&verification_code={code}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"message": "Verification code is correct.", "success": true})
    );
    let (_, body) = s
        .get("protected/json/phones/verification/status?country_code=1&phone_number=9876543210")
        .await;
    assert_eq!(body["status"], "verified");
    let got = s.get(&format!("{check}&verification_code={code}")).await;
    assert_error(
        &got,
        404,
        "60023",
        "No pending verifications for +1 987-654-3210 found.",
    );
}

#[tokio::test]
async fn simulator_phone_verification_codes_expire_after_ten_minutes() {
    let s = Sim::start().await;
    let start = [
        ("via", "sms"),
        ("country_code", "44"),
        ("phone_number", "7700 900123"),
        ("code_length", "6"),
    ];
    let (status, body) = s
        .post_form("protected/json/phones/verification/start", &start)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let uuid = body["uuid"].as_str().unwrap().to_owned();
    let first = number_messages(&s, "44", "7700900123").await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(first.len(), 6);

    s.sim.advance_clock(Duration::from_secs(601));
    let (_, body) = s
        .get(&format!(
            "protected/json/phones/verification/status?uuid={uuid}"
        ))
        .await;
    assert_eq!(body["status"], "expired");
    assert_eq!(body["seconds_to_expire"], 0);
    let got = s
        .get(&format!(
            "protected/json/phones/verification/check?country_code=44&phone_number=7700900123&verification_code={first}"
        ))
        .await;
    assert_error(
        &got,
        404,
        "60023",
        "No pending verifications for +44 770-090-0123 found.",
    );
    // A start after expiry is a new verification.
    let (_, body) = s
        .post_form("protected/json/phones/verification/start", &start)
        .await;
    assert_ne!(body["uuid"], uuid.as_str());
    assert_eq!(number_messages(&s, "44", "7700900123").await.len(), 2);
}

#[tokio::test]
async fn simulator_phone_verification_refuses_bad_input_and_records_nothing() {
    let s = Sim::start().await;
    let start = "protected/json/phones/verification/start";
    let got = s
        .post_form(start, &[("via", "sms"), ("phone_number", "9876543210")])
        .await;
    assert_error(
        &got,
        400,
        "60004",
        "Invalid parameter: country_code - Parameter is required",
    );
    let got = s
        .post_form(
            start,
            &[
                ("via", "sms"),
                ("country_code", "xxx"),
                ("phone_number", "9876543210"),
            ],
        )
        .await;
    assert_error(
        &got,
        400,
        "60004",
        "Invalid parameter: country_code - 'xxx' is not a valid Integer",
    );
    let got = s
        .post_form(
            start,
            &[
                ("via", "sms"),
                ("country_code", "1"),
                ("phone_number", "12"),
            ],
        )
        .await;
    assert_error(&got, 400, "60033", "Phone number is invalid");
    let got = s
        .post_form(
            start,
            &[("country_code", "1"), ("phone_number", "9876543210")],
        )
        .await;
    assert_error(
        &got,
        400,
        "60004",
        "Invalid parameter: via - Parameter is required",
    );
    let got = s
        .post_form(
            start,
            &[
                ("via", "sms"),
                ("country_code", "1"),
                ("phone_number", "9876543210"),
                ("code_length", "3"),
            ],
        )
        .await;
    assert_eq!(got.1["error_code"], "60004");
    assert!(number_messages(&s, "1", "9876543210").await.is_empty());

    let got = s.get("protected/json/phones/verification/status").await;
    assert_error(
        &got,
        400,
        "60042",
        "Either uuid or country_code and phone number are required",
    );
    let got = s
        .get("protected/json/phones/verification/check?country_code=1&phone_number=9876543210")
        .await;
    assert_error(
        &got,
        400,
        "60004",
        "Invalid parameter: verification_code - Parameter is required",
    );
}

#[tokio::test]
async fn simulator_phone_info_answers_in_the_documented_shape() {
    let s = Sim::start().await;
    let (status, body) = s
        .get("protected/json/phones/info?country_code=1&phone_number=987-654-3210&user_ip=10.0.0.1")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["type"], "cellphone");
    assert_eq!(body["ported"], false);
    let message = body["message"].as_str().unwrap();
    // `Phone number information as of \d+-\d+-\d+ \d+:\d+:\d+ UTC`
    let date = message
        .strip_prefix("Phone number information as of ")
        .and_then(|rest| rest.strip_suffix(" UTC"))
        .unwrap_or_else(|| panic!("{message}"));
    let (day, time) = date.split_once(' ').unwrap();
    for (part, sep) in [(day, '-'), (time, ':')] {
        let pieces: Vec<&str> = part.split(sep).collect();
        assert_eq!(pieces.len(), 3, "{message}");
        assert!(
            pieces
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        );
    }
    let got = s.get("protected/json/phones/info?country_code=1").await;
    assert_error(
        &got,
        400,
        "60004",
        "Invalid parameter: phone_number - Parameter is required",
    );
}
