//! The callback signature checks against a raw HMAC of the same bytes: what
//! the canonical form, the decoding and the constant-time comparison add.

use std::hint::black_box;

use criterion::Criterion;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha1::Sha1;
use sha2::Sha256;
use tower_authy::Secret;
use tower_authy::verify::signature::{self as twilio, Algorithm};
use tower_authy::webhook::signature as authy;

const URL: &str = "https://app.example.com/2fa/callback";

fn authy_payload() -> serde_json::Value {
    json!({
        "authy_id": 1_234_567,
        "device_uuid": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "callback_action": "approval_request_status",
        "uuid": "b7e1c3a4-2f0d-4e5b-9a8c-7d6e5f4a3b2c",
        "status": "approved",
        "approval_request": {
            "transaction": {
                "details": {"Account": "alice", "IP": "203.0.113.7"},
                "device_details": {"os": "iOS", "app": "Authy"},
                "hidden_details": {"session": "s-42"},
                "message": "Sign in to Example",
                "reason": "",
                "requester_details": {},
                "status": "approved",
                "uuid": "b7e1c3a4-2f0d-4e5b-9a8c-7d6e5f4a3b2c",
                "created_at_time": 1_764_000_000,
                "customer_uuid": "c0ffee00-1111-2222-3333-444455556666",
            },
            "expiration_timestamp": 1_764_000_600,
        },
        "signature": "ignored by the canonical form's consumers",
    })
}

fn twilio_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AccountSid", "AC33333333333333333333333333333333"),
        ("ServiceSid", "VA44444444444444444444444444444444"),
        ("EntitySid", "YE55555555555555555555555555555555"),
        ("Identity", "alice"),
        ("ChallengeSid", "YC66666666666666666666666666666666"),
        ("FactorSid", "YF77777777777777777777777777777777"),
        ("Status", "approved"),
        ("Type", "factor.challenge.approved"),
    ]
}

pub fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("signature");

    let raw_key = "an Authy API key used as the HMAC key";
    let key = Secret::from(raw_key);
    let params = authy_payload();
    let nonce = "1764000000";
    let signature = authy::sign(&key, nonce, "POST", URL, &params).unwrap();
    let signed = authy::string_to_sign(nonce, "POST", URL, &params).unwrap();
    authy::verify(&key, nonce, "POST", URL, &params, &signature).expect("signed");
    group.bench_function("authy/raw_hmac_sha256", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(raw_key.as_bytes()).unwrap();
            mac.update(black_box(signed.as_bytes()));
            mac.finalize()
        });
    });
    group.bench_function("authy/verify", |b| {
        b.iter(|| authy::verify(&key, nonce, "POST", URL, black_box(&params), &signature));
    });

    let token = b"appVerifyAuthToken0123456789abcd";
    let pairs = twilio_params();
    let url = "https://app.example.com/2fa/verify/callback";
    let signature = twilio::sign(token, Algorithm::HmacSha1, url, &pairs);
    let signed = twilio::string_to_sign(url, &pairs);
    twilio::validate_form(token, Algorithm::HmacSha1, url, &pairs, &signature).expect("signed");
    group.bench_function("twilio/raw_hmac_sha1", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha1>::new_from_slice(token).unwrap();
            mac.update(black_box(signed.as_bytes()));
            mac.finalize()
        });
    });
    // Validation signs the URL with and without its port (as Twilio's
    // libraries do), both always, so about twice the raw figure is the floor.
    group.bench_function("twilio/validate_form", |b| {
        b.iter(|| {
            twilio::validate_form(
                token,
                Algorithm::HmacSha1,
                url,
                black_box(&pairs),
                &signature,
            )
        });
    });
    group.finish();
}
