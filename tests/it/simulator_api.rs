//! The simulator's Authy API over raw HTTP: every endpoint, every request
//! encoding of spec §1.3, and bad input that must change nothing.

use reqwest::StatusCode;
use serde_json::json;

mod harness;
mod onetouch;
mod phone_verification;
mod tokens;

pub(crate) use harness::{KEY, Sim, assert_error};

#[tokio::test]
async fn simulator_creates_users_from_every_encoding() {
    let s = Sim::start().await;
    // Form body with bracket keys (Ruby, Go, curl).
    let form = s.register("form@example.com", "987-654-3210", "1").await;
    // JSON body (Python, Java): strings or numbers.
    let (status, body) = s
        .post_json(
            "protected/json/users/new",
            json!({"user": {"email": "json@example.com", "cellphone": "300 123 4512", "country_code": 57},
                   "send_install_link_via_sms": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "User created successfully.");
    assert_eq!(body["success"], true);
    let json_id = body["user"]["id"].as_u64().unwrap();
    // Everything in the query of a POST with an empty body (PHP), key too.
    let response = s
        .http
        .post(s.url("protected/json/users/new"))
        .query(&[
            ("api_key", KEY),
            ("user[email]", "php@example.com"),
            ("user[cellphone]", "912.345.667"),
            ("user[country_code]", "351"),
            ("user[send_install_link_via_sms]", "1"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = Sim::read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let php_id = body["user"]["id"].as_u64().unwrap();
    // Key inside the form body (Go).
    let response = s
        .http
        .post(s.url("protected/json/users/new"))
        .form(&[
            ("api_key", KEY),
            ("user[email]", "go@example.com"),
            ("user[cellphone]", "2025550143"),
            ("user[country_code]", "1"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = Sim::read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let go_id = body["user"]["id"].as_u64().unwrap();

    let mut ids = vec![form, json_id, php_id, go_id];
    ids.dedup();
    assert_eq!(ids.len(), 4);
    // The same phone again, even written differently and with another
    // e-mail, is the same Authy ID.
    assert_eq!(
        s.register("other@example.com", "(987) 654 3210", "+1")
            .await,
        form
    );
    let users = s.users().await;
    assert_eq!(users.len(), 4);
    let first = users.iter().find(|u| u["authy_id"] == form).unwrap();
    assert_eq!(
        *first,
        json!({"authy_id": form, "email": "form@example.com", "country_code": 1,
               "phone_number": "9876543210", "app_installed": true})
    );
}

#[tokio::test]
async fn simulator_finds_the_key_anywhere_and_refuses_a_wrong_one() {
    let s = Sim::start().await;
    let details = s.url("protected/json/app/details");
    let ok = [
        s.http.get(&details).header("X-Authy-API-Key", KEY),
        s.http.get(&details).query(&[("api_key", KEY)]),
        // npm `authy`: a form body on a GET.
        s.http.get(&details).form(&[("api_key", KEY)]),
        s.http.get(&details).json(&json!({"api_key": KEY})),
    ];
    for request in ok {
        let (status, body) = Sim::read(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let refused = [
        s.http.get(&details),
        s.http.get(&details).header("X-Authy-API-Key", "wrong"),
        s.http.get(&details).query(&[("api_key", "")]),
        // The header is looked at first: a wrong header is not rescued.
        s.http
            .get(&details)
            .header("X-Authy-API-Key", "wrong")
            .query(&[("api_key", KEY)]),
        s.http
            .post(s.url("protected/json/users/new"))
            .form(&[("user[email]", "a@b.co")]),
    ];
    for request in refused {
        let got = Sim::read(request.send().await.unwrap()).await;
        assert_error(&got, 401, "60001", "Invalid API key");
    }
    assert!(s.users().await.is_empty());
}

/// Form fields of one request.
type Form<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn simulator_refuses_invalid_users_and_changes_nothing() {
    let s = Sim::start().await;
    let cases: [(Form, &[&str]); 6] = [
        (
            &[
                ("user[cellphone]", "987-654-3210"),
                ("user[country_code]", "1"),
            ],
            &["email"],
        ),
        (
            &[
                ("user[email]", "not-an-email"),
                ("user[cellphone]", "987-654-3210"),
                ("user[country_code]", "1"),
            ],
            &["email"],
        ),
        (
            &[
                ("user[email]", "a@b.co"),
                ("user[cellphone]", "12"),
                ("user[country_code]", "1"),
            ],
            &["cellphone"],
        ),
        (
            &[
                ("user[email]", "a@b.co"),
                ("user[cellphone]", "987-654-3210"),
                ("user[country_code]", "xx"),
            ],
            &["country_code"],
        ),
        (
            &[
                ("user[email]", "a@b.co"),
                ("user[cellphone]", "987-654-3210"),
            ],
            &["country_code"],
        ),
        (&[], &["email", "cellphone", "country_code"]),
    ];
    for (form, fields) in cases {
        let got = s.post_form("protected/json/users/new", form).await;
        assert_error(&got, 400, "60027", "User was not valid");
        let body = &got.1;
        assert_eq!(body["errors"]["message"], "User was not valid");
        for field in fields {
            assert_eq!(body[field], "is invalid", "{body}");
            assert_eq!(body["errors"][field], "is invalid", "{body}");
        }
    }
    // The spec's own example, byte for byte.
    let got = s
        .post_form(
            "protected/json/users/new",
            &[
                ("user[email]", "a@b.co"),
                ("user[cellphone]", "1"),
                ("user[country_code]", "1"),
            ],
        )
        .await;
    assert_eq!(
        got.1,
        json!({"message":"User was not valid","success":false,
               "errors":{"cellphone":"is invalid","message":"User was not valid"},
               "cellphone":"is invalid","error_code":"60027"})
    );
    // A body the simulator cannot read at all.
    let response = s
        .http
        .post(s.url("protected/json/users/new"))
        .header("X-Authy-API-Key", KEY)
        .header("content-type", "application/json")
        .body("{\"user\":")
        .send()
        .await
        .unwrap();
    assert_eq!(Sim::read(response).await.1["error_code"], "60002");
    assert!(s.users().await.is_empty());
}

#[tokio::test]
async fn simulator_answers_user_not_found_everywhere() {
    let s = Sim::start().await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    for unknown in ["999", "abc"] {
        let gets = [
            format!("protected/json/users/{unknown}/status"),
            format!("protected/json/sms/{unknown}?force=true"),
            format!("protected/json/call/{unknown}?force=true"),
            format!("protected/json/verify/1234567/{unknown}?force=true"),
        ];
        for path in gets {
            assert_error(&s.get(&path).await, 404, "60026", "User not found.");
        }
        let posts = [
            format!("protected/json/email/{unknown}"),
            format!("protected/json/users/{unknown}/remove"),
            format!("protected/json/users/{unknown}/delete"),
            format!("protected/json/users/delete/{unknown}"),
            format!("protected/json/users/{unknown}/register_activity"),
            format!("protected/json/users/{unknown}/secret"),
            format!("protected/json/users/{unknown}/update"),
            format!("onetouch/json/users/{unknown}/approval_requests"),
        ];
        for path in posts {
            let got = s
                .post_json(
                    &path,
                    json!({"type": "cookie_login", "email": "x@y.co", "message": "m"}),
                )
                .await;
            assert_error(&got, 404, "60026", "User not found.");
        }
    }
    assert_eq!(s.users().await.len(), 1);
    assert!(s.messages(id).await.is_empty());
}

#[tokio::test]
async fn simulator_reports_status_and_removes_users_by_every_alias() {
    let s = Sim::start().await;
    let id = s.register("someone@example.com", "555-123-1118", "1").await;
    // authy-client sends `{"user_ip":…}` as a JSON body on this GET.
    let response = s
        .http
        .get(s.url(&format!("protected/json/users/{id}/status")))
        .header("X-Authy-API-Key", KEY)
        .json(&json!({"user_ip": "10.0.0.1"}))
        .send()
        .await
        .unwrap();
    let (status, body) = Sim::read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "User status.");
    let st = &body["status"];
    assert_eq!(st["authy_id"], id);
    assert_eq!(st["confirmed"], false);
    assert_eq!(st["registered"], true);
    assert_eq!(st["country_code"], 1);
    assert_eq!(st["phone_number"], "XXX-XXX-1118");
    assert_eq!(st["email"], "someone@example.com");
    assert_eq!(st["devices"], json!(["android"]));
    assert_eq!(st["has_hard_token"], false);
    assert_eq!(st["account_disabled"], false);
    assert_eq!(st["deleted_devices"], json!([]));
    assert_eq!(st["detailed_devices"][0]["device_type"], "authy");

    let second = s.register("b@example.com", "555-123-1119", "1").await;
    let third = s.register("c@example.com", "555-123-1120", "1").await;
    let paths = [
        format!("protected/json/users/{id}/remove"),
        format!("protected/json/users/{second}/delete"),
        format!("protected/json/users/delete/{third}"),
    ];
    for path in paths {
        let (status, body) = s.post_json(&path, json!({"user_ip": "10.0.0.1"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            json!({"message": "User was added to remove.", "success": true})
        );
    }
    assert!(s.users().await.is_empty());
    let got = s.get(&format!("protected/json/users/{id}/status")).await;
    assert_error(&got, 404, "60026", "User not found.");
}

#[tokio::test]
async fn simulator_handles_activity_secret_update_and_registrations() {
    let s = Sim::start().await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    let activity = format!("protected/json/users/{id}/register_activity");
    let (status, body) = s
        .post_json(
            &activity,
            json!({"type": "password_reset", "user_ip": "10.0.0.1", "data": {"k": "v"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"message": "Activity was created.", "success": true})
    );
    let (status, _) = s
        .post_form(
            &activity,
            &[("type", "cookie_login"), ("data[reason]", "x")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let got = s.post_form(&activity, &[("user_ip", "10.0.0.1")]).await;
    assert_error(
        &got,
        400,
        "60004",
        "Invalid parameter: type - Parameter is required",
    );
    let got = s.post_form(&activity, &[("type", "dance")]).await;
    assert_eq!(got.1["error_code"], "60004");

    let (status, body) = s
        .post_json(
            &format!("protected/json/users/{id}/secret"),
            json!({"qr_size": 300, "label": "Me at App"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let qr = body["qr_code"].as_str().unwrap();
    assert!(qr.starts_with(&s.base), "{qr}");
    let otpauth = s.http.get(qr).send().await.unwrap().text().await.unwrap();
    assert!(otpauth.starts_with("otpauth://totp/"), "{otpauth}");
    assert!(otpauth.contains("digits=7&period=10"), "{otpauth}");

    let update = format!("protected/json/users/{id}/update");
    let (status, body) = s.post_form(&update, &[("email", "new@example.com")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"message": "User was updated successfully", "success": true})
    );
    let got = s.post_form(&update, &[("email", "nope")]).await;
    assert_error(&got, 400, "60027", "User was not valid");
    assert_eq!(s.users().await[0]["email"], "new@example.com");

    let got = s
        .get("protected/json/registrations/status?custom_user_id=u1")
        .await;
    assert_eq!(got.0, StatusCode::NOT_FOUND);
    assert_eq!(got.1["error_code"], "60035");
    let got = s.get("protected/json/registrations/status").await;
    assert_error(
        &got,
        400,
        "60004",
        "Invalid parameter: custom_user_id - Parameter is required",
    );
}

#[tokio::test]
async fn simulator_reports_app_details_and_stats() {
    let s = Sim::start().await;
    let id = s.register("a@example.com", "987-654-3210", "1").await;
    s.get(&format!("protected/json/sms/{id}?force=true")).await;
    let (status, body) = s.get("protected/json/app/details?user_ip=10.0.0.1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "Application information.");
    assert_eq!(body["app"]["name"], "Simulated App");
    for key in [
        "plan",
        "sms_enabled",
        "phone_calls_enabled",
        "app_id",
        "onetouch_enabled",
    ] {
        assert!(body["app"].get(key).is_some(), "{key}");
    }
    let (status, body) = s.get("protected/json/app/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "Monthly statistics.");
    assert_eq!(body["total_users"], 1);
    assert_eq!(body["count"], 1);
    let entry = body["stats"][0].as_object().unwrap();
    let mut keys: Vec<&str> = entry.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "api_calls_count",
            "auths_count",
            "calls_count",
            "month",
            "sms_count",
            "users_count",
            "year"
        ]
    );
    assert_eq!(entry["sms_count"], 1);
    assert_eq!(entry["users_count"], 1);
}

#[tokio::test]
async fn simulator_refuses_xml_and_unknown_paths_in_json() {
    let s = Sim::start().await;
    let got = s.get("protected/xml/app/details").await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST);
    assert_eq!(got.1["error_code"], "60002");
    assert!(got.1["message"].as_str().unwrap().contains("JSON only"));
    let got = s.get("onetouch/xml/approval_requests/x").await;
    assert_eq!(got.1["error_code"], "60002");
    let got = s.get("protected/json/nothing/here").await;
    assert_eq!(got.0, StatusCode::NOT_FOUND);
}
