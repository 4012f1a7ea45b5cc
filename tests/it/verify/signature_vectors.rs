//! Every `X-Twilio-Signature` vector of the shared file (computed with
//! twilio-python's `RequestValidator`) gives the library's answer here:
//! positives validate, negatives are refused, and signing reproduces each
//! expected signature from its parameters.

use serde_json::Value;
use tower_authy::verify::signature::{
    Algorithm, body_sha256, sign, string_to_sign, validate_form, validate_json,
};

fn vectors() -> Vec<Value> {
    let file: Value =
        serde_json::from_str(include_str!("../../data/twilio-signature-vectors.json")).unwrap();
    file["vectors"].as_array().unwrap().clone()
}

fn pairs(params: &Value) -> Vec<(String, String)> {
    params
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn algorithm(vector: &Value) -> Algorithm {
    match vector["algorithm"].as_str().unwrap() {
        "HMAC_SHA1" => Algorithm::HmacSha1,
        "HMAC_SHA256" => Algorithm::HmacSha256,
        other => panic!("unknown algorithm {other}"),
    }
}

#[test]
fn signing_reproduces_every_expected_signature() {
    let mut signed = 0;
    for vector in vectors() {
        let name = vector["name"].as_str().unwrap();
        let token = vector["auth_token"].as_str().unwrap().as_bytes();
        let url = vector["signed_url"].as_str().unwrap();
        let params = pairs(&vector["params"]);
        assert_eq!(
            string_to_sign(url, &params),
            vector["string_to_sign"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            sign(token, algorithm(&vector), url, &params),
            vector["expected_signature"].as_str().unwrap(),
            "{name}"
        );
        if let Some(hash) = vector.get("body_sha256_hex") {
            let body = vector["body"].as_str().unwrap();
            assert_eq!(
                body_sha256(body.as_bytes()),
                hash.as_str().unwrap(),
                "{name}"
            );
        }
        signed += 1;
    }
    assert_eq!(signed, 22);
}

#[test]
fn validation_gives_the_official_librarys_answer() {
    let (mut accepted, mut refused) = (0, 0);
    for vector in vectors() {
        let name = vector["name"].as_str().unwrap();
        let call = &vector["validate_call"];
        let token = call["auth_token"].as_str().unwrap().as_bytes();
        let url = call["url"].as_str().unwrap();
        let signature = call["signature"].as_str().unwrap();
        let result = match &call["params"] {
            Value::String(body) => {
                validate_json(token, algorithm(&vector), url, body.as_bytes(), signature)
            }
            params => validate_form(token, algorithm(&vector), url, &pairs(params), signature),
        };
        let expected = call["result"].as_bool().unwrap();
        assert_eq!(result.is_ok(), expected, "{name}: {result:?}");
        assert_eq!(vector["kind"] == "positive", expected, "{name}");
        if expected {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    assert_eq!((accepted, refused), (16, 6));
}

#[test]
fn a_json_body_needs_its_hash_in_the_signed_url() {
    let body = br#"{"property": "value"}"#;
    let url = "https://app.example/hook";
    let signature = sign::<&str, &str>(b"token", Algorithm::HmacSha1, url, &[]);
    // Signed, but the URL does not carry the body's hash.
    assert!(validate_json(b"token", Algorithm::HmacSha1, url, body, &signature).is_err());
    let hashed = format!("{url}?bodySHA256={}", body_sha256(body));
    let signature = sign::<&str, &str>(b"token", Algorithm::HmacSha1, &hashed, &[]);
    assert!(validate_json(b"token", Algorithm::HmacSha1, &hashed, body, &signature).is_ok());
    assert!(validate_json(b"token", Algorithm::HmacSha1, &hashed, b"{}", &signature).is_err());
}
